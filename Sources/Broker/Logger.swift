import CSystem
import UTC

#if canImport(Glibc)
import Glibc
#endif

/// One line per event on stderr: `2026-11-28T00:22:00.123Z INFO connected client=c1 …`.
/// Payloads are never logged at info level or above.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case debug, info, warning, error

        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var label: String {
            switch self {
            case .debug: return "DEBUG"
            case .info: return "INFO"
            case .warning: return "WARN"
            case .error: return "ERROR"
            }
        }
    }

    public var level: Level

    public init(level: Level = .info) {
        self.level = level
    }

    @inlinable
    public func isEnabled(_ level: Level) -> Bool { level >= self.level }

    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }

    public func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        var seconds: Int64 = 0
        var nanos: Int32 = 0
        hy_realtime(&seconds, &nanos)
        var line = CivilTime.iso8601(seconds: seconds, milliseconds: Int(nanos / 1_000_000))
        line += " "
        line += level.label
        line += " "
        line += message()
        line += "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            _ = write(2, raw.baseAddress, raw.count)
        }
    }
}
