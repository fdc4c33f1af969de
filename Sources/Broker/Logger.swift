import CSystem

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
        var line = UTCTimestamp.iso8601(seconds: seconds, milliseconds: Int(nanos / 1_000_000))
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

/// UTC calendar arithmetic without DateFormatter (Howard Hinnant's days-from-civil).
public enum UTCTimestamp {
    public struct Fields: Sendable, Hashable {
        public var year, month, day, hour, minute, second: Int
    }

    public static func fields(seconds: Int64) -> Fields {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        return Fields(
            year: year, month: month, day: day, hour: secondOfDay / 3600,
            minute: secondOfDay / 60 % 60, second: secondOfDay % 60)
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSSZ`
    public static func iso8601(seconds: Int64, milliseconds: Int) -> String {
        let f = fields(seconds: seconds)
        var s = pad(f.year, 4)
        s += "-" + pad(f.month, 2) + "-" + pad(f.day, 2)
        s += "T" + pad(f.hour, 2) + ":" + pad(f.minute, 2) + ":" + pad(f.second, 2)
        s += "." + pad(milliseconds, 3) + "Z"
        return s
    }

    public static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
