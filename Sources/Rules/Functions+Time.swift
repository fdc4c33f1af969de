import Foundation
import JSON
import UTC

/// `parse_time(pattern, epochMillis[, zone])` and `time_to_epoch(text, pattern)` with
/// Joda/Java pattern letters: yyyy yy MM M MMM dd d HH H hh h mm m ss s SSS a Z ZZ, 'quoted'.
/// Zones: UTC, fixed offsets (+05:30) and IANA names (through Foundation's TimeZone, off
/// the per-message path only when a rule names a zone).
extension Functions {
    static let timeFunctions: [(String, FunctionDefinition)] = [
        pure("parse_time", 2...3) { arguments in
            guard let pattern = string(arguments[0]), let millis = Conversions.integer(arguments[1]) else { return nil }
            let zone = arguments.count == 3 ? string(arguments[2]) : "UTC"
            guard let zone, let offset = zoneOffsetSeconds(zone, at: millis) else { return nil }
            return TimePattern(pattern).map { .string($0.format(millis: millis, offsetSeconds: offset)) }
        },
        pure("time_to_epoch", 2...2) { arguments in
            guard let text = string(arguments[0]), let pattern = string(arguments[1]),
                let millis = TimePattern(pattern)?.parse(text)
            else { return nil }
            return .int(millis)
        },
    ]
}

/// The UTC offset of a zone name at an instant: UTC, fixed offsets (+05:30), or IANA names
/// through Foundation's TimeZone (only when a rule names a zone).
func zoneOffsetSeconds(_ zone: String, at millis: Int64) -> Int? {
    switch zone.uppercased() {
    case "UTC", "GMT", "Z", "ZULU": return 0
    default: break
    }
    let chars = Array(zone)
    if let sign = chars.first, sign == "+" || sign == "-" {
        let digits = chars.dropFirst().filter { $0 != ":" }
        guard digits.count == 4 || digits.count == 2, digits.allSatisfy(\.isNumber), let value = Int(String(digits)) else { return nil }
        let seconds = digits.count == 2 ? value * 3600 : (value / 100) * 3600 + (value % 100) * 60
        return sign == "-" ? -seconds : seconds
    }
    guard let timeZone = TimeZone(identifier: zone) else { return nil }
    return timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(millis) / 1000))
}
