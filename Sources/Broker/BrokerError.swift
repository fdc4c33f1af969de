/// Errors starting or running a broker (protocol errors caused by clients are
/// `MQTTError`s and only ever close that client's connection).
public enum BrokerError: Error, Sendable, CustomStringConvertible {
    /// The listening socket could not be created or bound.
    case listenFailed(host: String, port: Int, errno: Int32)
    /// Broker state on disk could not be opened or written.
    case state(String)
    /// epoll or eventfd could not be created.
    case systemCallFailed(String, errno: Int32)

    public var description: String {
        switch self {
        case let .listenFailed(host, port, code):
            return "cannot listen on \(host):\(port): \(SystemError.message(code))"
        case let .state(message):
            return "broker state: \(message)"
        case let .systemCallFailed(call, code):
            return "\(call) failed: \(SystemError.message(code))"
        }
    }
}

enum SystemError {
    static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

#if canImport(Glibc)
import Glibc
#endif
