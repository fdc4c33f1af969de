import Durable

/// Errors of delivery streams: configuration problems (reported at load with the path of
/// the offending setting) and I/O failures of the lake writer and the journal.
public enum StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stream setting is invalid; `path` is relative to the stream object (e.g. `buffering.sizeMiB`).
    case invalidSetting(path: String, message: String)
    /// A file system or journal failure.
    case durable(DurableError)

    /// A file system call failed.
    static func io(operation: String, path: String, errno: Int32) -> StreamError {
        .durable(.io(operation: operation, path: path, errno: errno))
    }

    /// Runs a `DurableError`-throwing call in a `StreamError` context.
    static func wrap<T>(_ body: () throws(DurableError) -> T) throws(StreamError) -> T {
        do {
            return try body()
        } catch {
            throw .durable(error)
        }
    }

    public var description: String {
        switch self {
        case let .invalidSetting(path, message): return "\(path): \(message)"
        case let .durable(error): return error.description
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
