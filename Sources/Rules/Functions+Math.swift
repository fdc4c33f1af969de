import JSON

#if canImport(Glibc)
import Glibc
#endif

extension Functions {
    /// A function of one number with a Decimal result.
    static func decimal(_ name: String, _ body: @escaping @Sendable (Double) -> Double) -> (String, FunctionDefinition) {
        pure(name, 1...1) { arguments in
            guard let x = Conversions.double(arguments[0]) else { return nil }
            let result = body(x)
            return result.isFinite ? .double(result) : nil
        }
    }

    /// A Decimal rounded to an Int (ceil, floor, round); Ints pass through.
    static func rounding(_ name: String, _ rule: FloatingPointRoundingRule) -> (String, FunctionDefinition) {
        pure(name, 1...1) { arguments in
            switch Conversions.number(arguments[0]) {
            case let .int(v)?: return .int(v)
            case let .decimal(v)?:
                let rounded = v.rounded(rule)
                guard rounded.isFinite, abs(rounded) < 9.2e18 else { return nil }
                return .int(Int64(rounded))
            case nil: return nil
            }
        }
    }

    static func bitwise(_ name: String, _ body: @escaping @Sendable (Int64, Int64) -> Int64) -> (String, FunctionDefinition) {
        pure(name, 2...2) { arguments in
            guard case let .int(a)? = arguments[0], case let .int(b)? = arguments[1] else { return nil }
            return .int(body(a, b))
        }
    }

    static let mathFunctions: [(String, FunctionDefinition)] = [
        pure("abs", 1...1) { arguments in
            switch Conversions.number(arguments[0]) {
            case let .int(v)?: return v == Int64.min ? .double(-Double(v)) : .int(Swift.abs(v))
            case let .decimal(v)?: return .double(Swift.abs(v))
            case nil: return nil
            }
        },
        rounding("ceil", .up),
        rounding("floor", .down),
        rounding("round", .toNearestOrAwayFromZero),
        pure("trunc", 2...2) { arguments in
            guard let number = Conversions.number(arguments[0]), let digits = Conversions.integer(arguments[1]), (0...15).contains(digits) else { return nil }
            if case .int = number { return number.json }
            let scale = pow(10.0, Double(digits))
            return .double((number.double * scale).rounded(.towardZero) / scale)
        },
        pure("mod", 2...2) { arguments in Evaluator.arithmetic(.modulo, arguments[0], arguments[1]) },
        pure("power", 2...2) { arguments in
            guard let base = Conversions.double(arguments[0]), let exponent = Conversions.double(arguments[1]) else { return nil }
            let result = pow(base, exponent)
            return result.isFinite ? .double(result) : nil
        },
        decimal("sqrt") { $0 >= 0 ? $0.squareRoot() : .nan },
        decimal("ln") { $0 > 0 ? log($0) : .nan },
        pure("log", 1...2) { arguments in
            // log(x) is base 10; log(b, x) takes the base first.
            let base = arguments.count == 2 ? Conversions.double(arguments[0]) : 10
            guard let base, let x = Conversions.double(arguments.last!), x > 0, base > 0, base != 1 else { return nil }
            return .double(log(x) / log(base))
        },
        decimal("exp") { exp($0) },
        pure("sign", 1...1) { arguments in
            switch Conversions.number(arguments[0]) {
            case let .int(v)?: return .int(v.signum())
            case let .decimal(v)?: return .int(v > 0 ? 1 : (v < 0 ? -1 : 0))
            case nil: return nil
            }
        },
        pure("nanvl", 2...2) { arguments in
            switch arguments[0] {
            case let .double(v)? where v.isNaN: return arguments[1]
            case let .string(text)? where text.lowercased() == "nan": return arguments[1]
            default: return arguments[0]
            }
        },
        decimal("sin") { sin($0) },
        decimal("cos") { cos($0) },
        decimal("tan") { tan($0) },
        decimal("asin") { asin($0) },
        decimal("acos") { acos($0) },
        decimal("atan") { atan($0) },
        pure("atan2", 2...2) { arguments in
            guard let y = Conversions.double(arguments[0]), let x = Conversions.double(arguments[1]) else { return nil }
            return .double(atan2(y, x))
        },
        bitwise("bitand") { $0 & $1 },
        bitwise("bitor") { $0 | $1 },
        bitwise("bitxor") { $0 ^ $1 },
        pure("bitnot", 1...1) { arguments in
            guard case let .int(v)? = arguments[0] else { return nil }
            return .int(~v)
        },
    ]
}
