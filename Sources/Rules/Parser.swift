import JSON
import MQTT

/// Recursive-descent parser for `SELECT … FROM '<filter>' [WHERE …]`. Precedence, lowest
/// first: OR, AND, NOT, comparison, `||`, `+ -`, `* / %`, unary minus, postfix `.x` `[i]`.
public struct Parser {
    private let tokens: [Token]
    private let source: String
    private var position = 0

    private init(tokens: [Token], source: String) {
        self.tokens = tokens
        self.source = source
    }

    /// Parses a whole rule statement.
    public static func parseStatement(_ sql: String) throws(SQLError) -> Statement {
        var parser = Parser(tokens: try Lexer.tokenize(sql), source: sql)
        return try parser.statement()
    }

    /// Parses a lone expression (templates and tests).
    public static func parseExpression(_ text: String) throws(SQLError) -> Expression {
        var parser = Parser(tokens: try Lexer.tokenize(text), source: text)
        let expression = try parser.expression()
        try parser.expectEnd()
        return expression
    }

    private var current: Token { tokens[position] }

    private mutating func advance() -> Token {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    private func error(_ message: String, at token: Token? = nil) -> SQLError {
        SQLError(offset: (token ?? current).offset, message: message)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case let .identifier(name), let .quotedIdentifier(name): return "'\(name)'"
        case let .string(text): return "string '\(text)'"
        case let .integer(value): return "\(value)"
        case let .decimal(value): return "\(value)"
        case let .keyword(keyword): return keyword.rawValue.uppercased()
        case let .symbol(symbol): return "'\(symbol)'"
        case .end: return "end of statement"
        }
    }

    private mutating func accept(_ keyword: Keyword) -> Bool {
        if case .keyword(keyword) = current.kind {
            _ = advance()
            return true
        }
        return false
    }

    private mutating func accept(symbol: String) -> Bool {
        if case .symbol(symbol) = current.kind {
            _ = advance()
            return true
        }
        return false
    }

    private mutating func expect(_ keyword: Keyword) throws(SQLError) {
        guard accept(keyword) else { throw error("expected \(keyword.rawValue.uppercased()), found \(describe(current))") }
    }

    private mutating func expect(symbol: String) throws(SQLError) {
        guard accept(symbol: symbol) else { throw error("expected '\(symbol)', found \(describe(current))") }
    }

    private mutating func expectEnd() throws(SQLError) {
        guard current.kind == .end else { throw error("unexpected \(describe(current))") }
    }

    private mutating func statement() throws(SQLError) -> Statement {
        try expect(.select)
        let projection: Projection
        if accept(.value) {
            projection = .value(try expression())
        } else {
            var items: [Projection.Item] = []
            repeat {
                items.append(try selectItem())
            } while accept(symbol: ",")
            projection = .items(items)
        }
        try expect(.from)
        let filterToken = current
        guard case let .string(filter) = advance().kind else {
            throw error("expected a quoted topic filter after FROM, found \(describe(filterToken))", at: filterToken)
        }
        do {
            try Topic.validateFilter(filter)
        } catch {
            throw SQLError(offset: filterToken.offset, message: "\(error)")
        }
        var condition: Expression?
        if accept(.where) { condition = try expression() }
        try expectEnd()
        return Statement(projection: projection, topicFilter: filter, condition: condition, sql: source)
    }

    private mutating func selectItem() throws(SQLError) -> Projection.Item {
        if case .symbol("*") = current.kind {
            _ = advance()
            return .all
        }
        let start = current.offset
        let expression = try expression()
        let end = current.offset
        if accept(.as) {
            let aliasToken = advance()
            switch aliasToken.kind {
            case let .identifier(name), let .quotedIdentifier(name), let .string(name):
                return .expression(expression, name: name)
            case let .keyword(keyword):
                return .expression(expression, name: keyword.rawValue)
            default:
                throw error("expected a name after AS, found \(describe(aliasToken))", at: aliasToken)
            }
        }
        return .expression(expression, name: defaultName(expression, start: start, end: end))
    }

    /// An unaliased field keeps its own name (`a.b.c` → `c`); anything else is named by
    /// its SQL text.
    private func defaultName(_ expression: Expression, start: Int, end: Int) -> String {
        switch expression {
        case let .field(name), let .member(_, name): return name
        default:
            let characters = Array(source)
            return String(characters[start..<min(end, characters.count)]).trimmingWhitespace()
        }
    }

    mutating func expression() throws(SQLError) -> Expression { try orExpression() }

    private mutating func orExpression() throws(SQLError) -> Expression {
        var left = try andExpression()
        while accept(.or) { left = .binary(.or, left, try andExpression()) }
        return left
    }

    private mutating func andExpression() throws(SQLError) -> Expression {
        var left = try notExpression()
        while accept(.and) { left = .binary(.and, left, try notExpression()) }
        return left
    }

    private mutating func notExpression() throws(SQLError) -> Expression {
        if accept(.not) { return .unary(.not, try notExpression()) }
        return try comparison()
    }

    private mutating func comparison() throws(SQLError) -> Expression {
        let left = try concatenation()
        let operators: [String: BinaryOperator] = ["=": .equal, "<>": .notEqual, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual]
        if case let .symbol(symbol) = current.kind, let op = operators[symbol] {
            _ = advance()
            return .binary(op, left, try concatenation())
        }
        return left
    }

    private mutating func concatenation() throws(SQLError) -> Expression {
        var left = try additive()
        while accept(symbol: "||") { left = .binary(.concat, left, try additive()) }
        return left
    }

    private mutating func additive() throws(SQLError) -> Expression {
        var left = try multiplicative()
        while true {
            if accept(symbol: "+") {
                left = .binary(.add, left, try multiplicative())
            } else if accept(symbol: "-") {
                left = .binary(.subtract, left, try multiplicative())
            } else {
                return left
            }
        }
    }

    private mutating func multiplicative() throws(SQLError) -> Expression {
        var left = try unary()
        while true {
            if accept(symbol: "*") {
                left = .binary(.multiply, left, try unary())
            } else if accept(symbol: "/") {
                left = .binary(.divide, left, try unary())
            } else if accept(symbol: "%") {
                left = .binary(.modulo, left, try unary())
            } else {
                return left
            }
        }
    }

    private mutating func unary() throws(SQLError) -> Expression {
        if accept(symbol: "-") {
            let operand = try unary()
            switch operand {
            case let .literal(.int(value)): return .literal(.int(-value))
            case let .literal(.double(value)): return .literal(.double(-value))
            default: return .unary(.negate, operand)
            }
        }
        return try postfix()
    }

    private mutating func postfix() throws(SQLError) -> Expression {
        var base = try primary()
        while true {
            if accept(symbol: ".") {
                let nameToken = advance()
                switch nameToken.kind {
                case let .identifier(name), let .quotedIdentifier(name): base = .member(base, name)
                case let .keyword(keyword): base = .member(base, keyword.rawValue)
                default: throw error("expected a field name after '.', found \(describe(nameToken))", at: nameToken)
                }
            } else if accept(symbol: "[") {
                let index = try expression()
                try expect(symbol: "]")
                base = .subscripted(base, index)
            } else {
                return base
            }
        }
    }

    private mutating func primary() throws(SQLError) -> Expression {
        let token = advance()
        switch token.kind {
        case let .integer(value): return .literal(.int(value))
        case let .decimal(value): return .literal(.double(value))
        case let .string(text): return .literal(.string(text))
        case .keyword(.true): return .literal(.bool(true))
        case .keyword(.false): return .literal(.bool(false))
        case .keyword(.null): return .literal(.null)
        case .keyword(.case): return try caseExpression()
        case .symbol("*"): return .payload
        case .symbol("("):
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .symbol("{"): return try objectLiteral()
        case .symbol("["): return try arrayLiteral()
        case let .quotedIdentifier(name): return .field(name)
        case let .identifier(name):
            if accept(symbol: "(") { return try call(name, at: token) }
            return .field(name)
        default:
            throw error("expected an expression, found \(describe(token))", at: token)
        }
    }

    private mutating func call(_ name: String, at token: Token) throws(SQLError) -> Expression {
        let lowered = name.lowercased()
        if lowered == "cast" {
            let value = try expression()
            try expect(.as)
            let typeToken = advance()
            guard case let .identifier(typeName) = typeToken.kind, let type = CastType(rawValue: typeName.lowercased()) else {
                throw error("expected String, Int, Decimal or Boolean after AS, found \(describe(typeToken))", at: typeToken)
            }
            try expect(symbol: ")")
            return .cast(value, type)
        }
        guard let function = Functions.table[lowered] else {
            throw error("unknown function '\(name)'", at: token)
        }
        var arguments: [Expression] = []
        if !accept(symbol: ")") {
            repeat {
                arguments.append(try expression())
            } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        guard function.arity.contains(arguments.count) else {
            let expected = function.arity.lowerBound == function.arity.upperBound
                ? "\(function.arity.lowerBound)" : "\(function.arity.lowerBound) to \(function.arity.upperBound)"
            throw error("\(lowered)() takes \(expected) argument\(function.arity.upperBound == 1 ? "" : "s"), got \(arguments.count)", at: token)
        }
        return .call(FunctionCall(name: lowered, arguments: arguments, offset: token.offset, definition: function))
    }

    private mutating func caseExpression() throws(SQLError) -> Expression {
        var subject: Expression?
        if case .keyword(.when) = current.kind {} else { subject = try expression() }
        var branches: [(Expression, Expression)] = []
        while accept(.when) {
            let condition = try expression()
            try expect(.then)
            branches.append((condition, try expression()))
        }
        guard !branches.isEmpty else { throw error("expected WHEN, found \(describe(current))") }
        var otherwise: Expression?
        if accept(.else) { otherwise = try expression() }
        try expect(.end)
        return .caseWhen(subject: subject, branches: branches, otherwise: otherwise)
    }

    private mutating func objectLiteral() throws(SQLError) -> Expression {
        var fields: [(String, Expression)] = []
        if accept(symbol: "}") { return .object(fields) }
        repeat {
            let keyToken = advance()
            let key: String
            switch keyToken.kind {
            case let .string(text), let .identifier(text), let .quotedIdentifier(text): key = text
            default: throw error("expected an object key, found \(describe(keyToken))", at: keyToken)
            }
            try expect(symbol: ":")
            fields.append((key, try expression()))
        } while accept(symbol: ",")
        try expect(symbol: "}")
        return .object(fields)
    }

    private mutating func arrayLiteral() throws(SQLError) -> Expression {
        var elements: [Expression] = []
        if accept(symbol: "]") { return .array(elements) }
        repeat {
            elements.append(try expression())
        } while accept(symbol: ",")
        try expect(symbol: "]")
        return .array(elements)
    }
}
