#if canImport(Glibc)
import Glibc
#endif

/// Java/Joda-style date patterns: yyyy yy MM M MMM dd d HH H hh h mm m ss s SSS a E Z ZZ X,
/// 'quoted' literals. Formats a time at a fixed UTC offset and parses text back to epoch ms.
public struct TimePattern: Sendable {
    enum Piece: Equatable, Sendable {
        case literal(String)
        case field(Character, Int)
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let dayNames = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    let pieces: [Piece]

    public init?(_ pattern: String) {
        var pieces: [Piece] = []
        let chars = Array(pattern)
        var index = 0
        while index < chars.count {
            let c = chars[index]
            if c == "'" {
                var text = ""
                index += 1
                while index < chars.count, chars[index] != "'" {
                    text.append(chars[index])
                    index += 1
                }
                guard index < chars.count else { return nil }
                index += 1
                pieces.append(.literal(text.isEmpty ? "'" : text))
            } else if "yMdHhmsSaZEX".contains(c) {
                var count = 0
                while index < chars.count, chars[index] == c {
                    count += 1
                    index += 1
                }
                pieces.append(.field(c, count))
            } else if c.isLetter {
                return nil
            } else {
                pieces.append(.literal(String(c)))
                index += 1
            }
        }
        self.pieces = pieces
    }


    public func format(millis: Int64, offsetSeconds: Int = 0) -> String {
        let local = millis + Int64(offsetSeconds) * 1000
        let seconds = local >= 0 ? local / 1000 : (local - 999) / 1000
        let ms = Int(local - seconds * 1000)
        let f = CivilTime(seconds: seconds)
        var out = ""
        for piece in pieces {
            switch piece {
            case let .literal(text): out += text
            case let .field(letter, count):
                switch letter {
                case "y": out += count == 2 ? CivilTime.pad(f.year % 100, 2) : CivilTime.pad(f.year, count)
                case "M":
                    if count >= 3 { out += Self.monthNames[f.month - 1] } else { out += CivilTime.pad(f.month, count) }
                case "d": out += CivilTime.pad(f.day, count)
                case "H": out += CivilTime.pad(f.hour, count)
                case "h": out += CivilTime.pad(f.hour % 12 == 0 ? 12 : f.hour % 12, count)
                case "m": out += CivilTime.pad(f.minute, count)
                case "s": out += CivilTime.pad(f.second, count)
                case "S": out += String(CivilTime.pad(ms, 3).prefix(count))
                case "a": out += f.hour < 12 ? "AM" : "PM"
                case "E":
                    let days = Int((seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400) % 7)
                    out += Self.dayNames[(days + 7) % 7]
                default:  // Z, X: the zone offset
                    if offsetSeconds == 0 && letter == "X" {
                        out += "Z"
                    } else {
                        let sign = offsetSeconds < 0 ? "-" : "+"
                        let magnitude = abs(offsetSeconds)
                        out += sign + CivilTime.pad(magnitude / 3600, 2) + (count >= 2 || letter == "X" ? ":" : "") + CivilTime.pad(magnitude % 3600 / 60, 2)
                    }
                }
            }
        }
        return out
    }

    /// Parses text written in this pattern; fields not in the pattern default to the epoch.
    public func parse(_ text: String) -> Int64? {
        let chars = Array(text)
        var index = 0
        var year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0, offset = 0
        var pm: Bool?
        func number(maxDigits: Int) -> Int? {
            var digits = ""
            var sign = 1
            if index < chars.count, chars[index] == "-" {
                sign = -1
                index += 1
            }
            while index < chars.count, chars[index].isASCII, chars[index].isNumber, digits.count < maxDigits {
                digits.append(chars[index])
                index += 1
            }
            return Int(digits).map { $0 * sign }
        }
        for (position, piece) in pieces.enumerated() {
            switch piece {
            case let .literal(literal):
                for c in literal {
                    guard index < chars.count, chars[index] == c else { return nil }
                    index += 1
                }
            case let .field(letter, count):
                // A numeric field followed directly by another field takes exactly its width.
                let adjacent = position + 1 < pieces.count && { if case .field = pieces[position + 1] { return true } else { return false } }()
                let width = adjacent ? max(count, letter == "y" && count == 4 ? 4 : count) : 9
                switch letter {
                case "y":
                    guard let v = number(maxDigits: count == 2 ? 2 : width) else { return nil }
                    year = count == 2 ? 2000 + v : v
                case "M":
                    if count >= 3 {
                        guard index + 3 <= chars.count, let m = Self.monthNames.firstIndex(of: String(chars[index..<index + 3])) else { return nil }
                        month = m + 1
                        index += 3
                    } else {
                        guard let v = number(maxDigits: adjacent ? 2 : width) else { return nil }
                        month = v
                    }
                case "d": guard let v = number(maxDigits: adjacent ? 2 : width) else { return nil }; day = v
                case "H", "h": guard let v = number(maxDigits: adjacent ? 2 : width) else { return nil }; hour = v
                case "m": guard let v = number(maxDigits: adjacent ? 2 : width) else { return nil }; minute = v
                case "s": guard let v = number(maxDigits: adjacent ? 2 : width) else { return nil }; second = v
                case "S":
                    let start = index
                    guard let v = number(maxDigits: adjacent ? count : 9) else { return nil }
                    let digits = index - start
                    millis = digits <= 3 ? v * [1, 100, 10, 1][digits] : v / Int(pow(10.0, Double(digits - 3)))
                case "a":
                    guard index + 2 <= chars.count else { return nil }
                    let marker = String(chars[index..<index + 2]).uppercased()
                    guard marker == "AM" || marker == "PM" else { return nil }
                    pm = marker == "PM"
                    index += 2
                case "E":
                    while index < chars.count, chars[index].isLetter { index += 1 }
                default:
                    if index < chars.count, chars[index] == "Z" {
                        index += 1
                        offset = 0
                    } else {
                        guard index < chars.count, chars[index] == "+" || chars[index] == "-" else { return nil }
                        let negative = chars[index] == "-"
                        index += 1
                        guard let h = number(maxDigits: 2) else { return nil }
                        if index < chars.count, chars[index] == ":" { index += 1 }
                        guard let m = number(maxDigits: 2) else { return nil }
                        offset = (h * 3600 + m * 60) * (negative ? -1 : 1)
                    }
                }
            }
        }
        guard index == chars.count else { return nil }
        if let pm {
            if pm && hour < 12 { hour += 12 }
            if !pm && hour == 12 { hour = 0 }
        }
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else {
            return nil
        }
        let seconds = CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second).secondsSinceEpoch - Int64(offset)
        return seconds * 1000 + Int64(millis)
    }

}
