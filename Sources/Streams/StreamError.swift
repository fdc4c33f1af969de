/// Errors of delivery streams: configuration problems (reported at load with the path of
/// the offending setting) and I/O failures of the lake writer and the journal.
public enum StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stream setting is invalid; `path` is relative to the stream object (e.g. `buffering.sizeMiB`).
    case invalidSetting(path: String, message: String)
    /// A file system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A journal segment has a frame that does not check out (reported, then truncated).
    case corruptJournal(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalidSetting(path, message): return "\(path): \(message)"
        case let .io(operation, path, code): return "\(operation) \(path): \(String(cString: strerror(code)))"
        case let .corruptJournal(path, offset, reason): return "corrupt journal \(path) at byte \(offset): \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
