/// A rule's SQL (or `${}` template) that does not parse: the message and the character
/// offset in the SQL text, so callers can put a caret under it.
public struct SQLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(message) (at character \(offset + 1))" }

    /// The SQL with a caret under the error position, for terminals and logs.
    public func pointing(into sql: String) -> String {
        let prefix = sql.prefix(offset)
        let column = prefix.count
        return "\(sql)\n\(String(repeating: " ", count: column))^ \(message)"
    }
}

/// Why a rule could not produce its output for one message; the message goes to the
/// rule's errorAction with this text.
public struct RuleEvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
