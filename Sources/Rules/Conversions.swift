import JSON

/// IoT SQL's implicit conversions (AWS IoT "Data types → Conversions"). `nil` is Undefined.
enum Conversions {
    enum Number {
        case int(Int64)
        case decimal(Double)

        var double: Double {
            switch self {
            case let .int(value): return Double(value)
            case let .decimal(value): return value
            }
        }

        var json: JSONValue {
            switch self {
            case let .int(value): return .int(value)
            case let .decimal(value): return value.isFinite ? .double(value) : .null
            }
        }
    }

    /// Int and Decimal as they are; a numeric String converted; everything else Undefined.
    static func number(_ value: JSONValue?) -> Number? {
        switch value {
        case let .int(v)?: return .int(v)
        case let .double(v)?: return .decimal(v)
        case let .string(text)?:
            let trimmed = text.trimmingWhitespace()
            if let int = Int64(trimmed) { return .int(int) }
            if let double = Double(trimmed), double.isFinite { return .decimal(double) }
            return nil
        default: return nil
        }
    }

    static func integer(_ value: JSONValue?) -> Int64? {
        switch number(value) {
        case let .int(v)?: return v
        case let .decimal(v)?:
            guard v.isFinite, v.rounded(.towardZero) >= -9.2e18, v.rounded(.towardZero) <= 9.2e18 else { return nil }
            return Int64(v.rounded(.towardZero))
        case nil: return nil
        }
    }

    static func double(_ value: JSONValue?) -> Double? { number(value)?.double }

    /// Text of a value as `||`, `concat` and `${}` templates use it: strings bare, other
    /// values as JSON.
    static func string(_ value: JSONValue?) -> String? {
        switch value {
        case nil: return nil
        case let .string(text)?: return text
        case let .double(v)? where v.isFinite && v == v.rounded() && abs(v) < 1e15: return String(v)
        case let value?: return value.serialized()
        }
    }

    static func boolean(_ value: JSONValue?) -> Bool? {
        switch value {
        case let .bool(v)?: return v
        case let .string(text)?:
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default: return nil
            }
        default: return nil
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
