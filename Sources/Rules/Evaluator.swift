import JSON

/// Evaluates expressions with IoT SQL semantics: a missing field is Undefined (`nil`),
/// Undefined propagates through operators and is omitted from output, comparisons with
/// Undefined are not true, and wrong-typed function arguments give Undefined.
public enum Evaluator {
    public static func evaluate(_ expression: Expression, _ context: MessageContext) throws(RuleEvaluationError) -> JSONValue? {
        switch expression {
        case let .literal(value):
            return value
        case .payload:
            return try context.json()
        case let .field(name):
            return try context.field(name)
        case let .member(base, name):
            return try evaluate(base, context)?[name]
        case let .subscripted(base, indexExpression):
            let container = try evaluate(base, context)
            switch try evaluate(indexExpression, context) {
            case let .int(index)?:
                guard case let .array(array)? = container else { return nil }
                let position = index < 0 ? Int64(array.count) + index : index
                return position >= 0 && position < array.count ? array[Int(position)] : nil
            case let .string(key)?:
                return container?[key]
            default:
                return nil
            }
        case let .object(fields):
            var object = JSONObject()
            for (key, valueExpression) in fields {
                if let value = try evaluate(valueExpression, context) { object[key] = value }
            }
            return .object(object)
        case let .array(elements):
            var array: [JSONValue] = []
            for element in elements {
                if let value = try evaluate(element, context) { array.append(value) }
            }
            return .array(array)
        case let .unary(op, operand):
            let value = try evaluate(operand, context)
            switch op {
            case .not:
                guard case let .bool(flag)? = value else { return nil }
                return .bool(!flag)
            case .negate:
                switch Conversions.number(value) {
                case let .int(v)?: return v == Int64.min ? .double(-Double(v)) : .int(-v)
                case let .decimal(v)?: return .double(-v)
                case nil: return nil
                }
            }
        case let .binary(op, left, right):
            return try binary(op, left, right, context)
        case let .call(call):
            // encode(*, …) works on the raw bytes, JSON or not.
            if call.name == "encode", case .payload = call.arguments[0] {
                guard case let .string(kind)? = try evaluate(call.arguments[1], context), kind.lowercased() == "base64" else { return nil }
                return .string(Base64.encode(context.payload))
            }
            var values: [JSONValue?] = []
            values.reserveCapacity(call.arguments.count)
            for argument in call.arguments { values.append(try evaluate(argument, context)) }
            return try call.definition.body(values, context)
        case let .cast(operand, type):
            return Functions.cast(try evaluate(operand, context), to: type)
        case let .caseWhen(subject, branches, otherwise):
            var subjectValue: JSONValue?
            if let subject { subjectValue = try evaluate(subject, context) }
            for (condition, result) in branches {
                let matched: Bool
                if subject != nil {
                    matched = compare(.equal, subjectValue, try evaluate(condition, context)) == .bool(true)
                } else {
                    matched = try evaluate(condition, context) == .bool(true)
                }
                if matched { return try evaluate(result, context) }
            }
            guard let otherwise else { return nil }
            return try evaluate(otherwise, context)
        }
    }

    private static func binary(_ op: BinaryOperator, _ left: Expression, _ right: Expression, _ context: MessageContext) throws(RuleEvaluationError) -> JSONValue? {
        switch op {
        case .and:
            let l = try evaluate(left, context)
            if l == .bool(false) { return .bool(false) }
            let r = try evaluate(right, context)
            if r == .bool(false) { return .bool(false) }
            return l == .bool(true) && r == .bool(true) ? .bool(true) : nil
        case .or:
            let l = try evaluate(left, context)
            if l == .bool(true) { return .bool(true) }
            let r = try evaluate(right, context)
            if r == .bool(true) { return .bool(true) }
            return l == .bool(false) && r == .bool(false) ? .bool(false) : nil
        case .concat:
            guard let l = Conversions.string(try evaluate(left, context)),
                let r = Conversions.string(try evaluate(right, context))
            else { return nil }
            return .string(l + r)
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            return compare(op, try evaluate(left, context), try evaluate(right, context))
        case .add, .subtract, .multiply, .divide, .modulo:
            return arithmetic(op, try evaluate(left, context), try evaluate(right, context))
        }
    }

    static func arithmetic(_ op: BinaryOperator, _ left: JSONValue?, _ right: JSONValue?) -> JSONValue? {
        guard let l = Conversions.number(left), let r = Conversions.number(right) else { return nil }
        if case let .int(a) = l, case let .int(b) = r {
            let result: (Int64, Bool)
            switch op {
            case .add: result = a.addingReportingOverflow(b)
            case .subtract: result = a.subtractingReportingOverflow(b)
            case .multiply: result = a.multipliedReportingOverflow(by: b)
            case .divide:
                guard b != 0 else { return nil }
                result = a.dividedReportingOverflow(by: b)
            default:
                guard b != 0 else { return nil }
                result = a.remainderReportingOverflow(dividingBy: b)
            }
            // An Int that overflows continues as a Decimal rather than wrapping.
            if !result.1 { return .int(result.0) }
        }
        let a = l.double
        let b = r.double
        let value: Double
        switch op {
        case .add: value = a + b
        case .subtract: value = a - b
        case .multiply: value = a * b
        case .divide:
            guard b != 0 else { return nil }
            value = a / b
        default:
            guard b != 0 else { return nil }
            value = a.truncatingRemainder(dividingBy: b)
        }
        return value.isFinite ? .double(value) : nil
    }

    /// Comparison: numbers numerically (numeric strings converted when the other side is
    /// a number), strings by code point, booleans and null by equality, arrays and
    /// objects by structural equality. Undefined on either side gives Undefined.
    static func compare(_ op: BinaryOperator, _ left: JSONValue?, _ right: JSONValue?) -> JSONValue? {
        guard let left, let right else { return nil }
        let order: Int?
        switch (left, right) {
        case let (.string(a), .string(b)):
            order = a == b ? 0 : (a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1)
        case (.int, _), (.double, _), (_, .int), (_, .double):
            guard let a = Conversions.number(left), let b = Conversions.number(right) else {
                order = nil
                break
            }
            if case let .int(x) = a, case let .int(y) = b {
                order = x == y ? 0 : (x < y ? -1 : 1)
            } else {
                order = a.double == b.double ? 0 : (a.double < b.double ? -1 : 1)
            }
        default:
            order = left == right ? 0 : nil
            if order == nil {
                switch op {
                case .equal: return .bool(false)
                case .notEqual: return .bool(true)
                default: return nil
                }
            }
        }
        guard let order else {
            switch op {
            case .equal: return .bool(false)
            case .notEqual: return .bool(true)
            default: return nil
            }
        }
        switch op {
        case .equal: return .bool(order == 0)
        case .notEqual: return .bool(order != 0)
        case .less: return .bool(order < 0)
        case .lessOrEqual: return .bool(order <= 0)
        case .greater: return .bool(order > 0)
        default: return .bool(order >= 0)
        }
    }
}
