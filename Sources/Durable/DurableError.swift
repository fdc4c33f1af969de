#if canImport(Glibc)
import Glibc
#endif

/// Failures of the files Hydrant keeps durable (journals, lake objects, broker state).
public enum DurableError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A file system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A journal segment has a frame that does not check out (reported, then truncated).
    case corruptJournal(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .io(operation, path, code): return "\(operation) \(path): \(String(cString: strerror(code)))"
        case let .corruptJournal(path, offset, reason): return "corrupt journal \(path) at byte \(offset): \(reason)"
        }
    }
}
