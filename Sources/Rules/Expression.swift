import JSON

/// An immutable IoT SQL expression tree.
public indirect enum Expression: Sendable {
    case literal(JSONValue)
    /// `*` as a value: the whole payload (inside `encode(*, …)` and `SELECT VALUE *`).
    case payload
    /// A top-level payload field.
    case field(String)
    /// `base.name`
    case member(Expression, String)
    /// `base[index]`
    case subscripted(Expression, Expression)
    case object([(String, Expression)])
    case array([Expression])
    case unary(UnaryOperator, Expression)
    case binary(BinaryOperator, Expression, Expression)
    /// A function call, resolved when parsed.
    case call(FunctionCall)
    case cast(Expression, CastType)
    /// `CASE subject WHEN v THEN r … ELSE e END` (subject set) or `CASE WHEN cond THEN r …`.
    case caseWhen(subject: Expression?, branches: [(Expression, Expression)], otherwise: Expression?)
}

/// A call of a library function; the definition is looked up once, at parse time.
public struct FunctionCall: Sendable {
    public let name: String
    public let arguments: [Expression]
    /// Where the call starts in the SQL.
    public let offset: Int
    let definition: FunctionDefinition
}

public enum UnaryOperator: String, Sendable {
    case negate = "-"
    case not = "NOT"
}

public enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%"
    case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and = "AND", or = "OR", concat = "||"
}

public enum CastType: String, Sendable, CaseIterable {
    case string = "string", int = "int", decimal = "decimal", boolean = "boolean"
}

/// `SELECT <items>` or `SELECT VALUE <expr>`.
public enum Projection: Sendable {
    public enum Item: Sendable {
        /// `*`: every field of the payload.
        case all
        case expression(Expression, name: String)
    }

    case items([Item])
    case value(Expression)
}

/// A parsed rule statement.
public struct Statement: Sendable {
    public let projection: Projection
    public let topicFilter: String
    public let condition: Expression?
    public let sql: String
}
