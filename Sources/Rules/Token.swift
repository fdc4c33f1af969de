/// Lexical tokens of the IoT SQL dialect.
enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case quotedIdentifier(String)
    case string(String)
    case integer(Int64)
    case decimal(Double)
    case keyword(Keyword)
    case symbol(String)
    case end
}

enum Keyword: String, Sendable, CaseIterable {
    case select, from, `where`, `as`, value, and, or, not, `case`, when, then, `else`, end, `true`, `false`, null
}

struct Token: Sendable {
    let kind: TokenKind
    /// Character offset in the source.
    let offset: Int
}

/// Splits SQL text into tokens. Keywords are case-insensitive; strings are single-quoted
/// (`''` or `\'` for a quote); identifiers may be double-quoted or backquoted.
struct Lexer {
    private let characters: [Character]
    private var index = 0

    init(_ text: String) {
        characters = Array(text)
    }

    static func tokenize(_ text: String) throws(SQLError) -> [Token] {
        var lexer = Lexer(text)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private mutating func next() throws(SQLError) -> Token {
        while index < characters.count, characters[index].isWhitespace { index += 1 }
        guard index < characters.count else { return Token(kind: .end, offset: index) }
        let start = index
        let c = characters[index]
        if c.isLetter || c == "_" {
            while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                index += 1
            }
            let word = String(characters[start..<index])
            if let keyword = Keyword(rawValue: word.lowercased()) {
                return Token(kind: .keyword(keyword), offset: start)
            }
            return Token(kind: .identifier(word), offset: start)
        }
        if c.isASCII && c.isNumber {
            return try number(from: start)
        }
        switch c {
        case "'":
            return Token(kind: .string(try quoted(from: start, quote: "'")), offset: start)
        case "\"", "`":
            return Token(kind: .quotedIdentifier(try quoted(from: start, quote: c)), offset: start)
        case "<", ">", "!", "|":
            index += 1
            if index < characters.count {
                let pair = String([c, characters[index]])
                if ["<=", ">=", "<>", "!=", "||"].contains(pair) {
                    index += 1
                    return Token(kind: .symbol(pair), offset: start)
                }
            }
            guard c == "<" || c == ">" else { throw SQLError(offset: start, message: "unexpected character '\(c)'") }
            return Token(kind: .symbol(String(c)), offset: start)
        case "+", "-", "*", "/", "%", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":":
            index += 1
            return Token(kind: .symbol(String(c)), offset: start)
        default:
            throw SQLError(offset: start, message: "unexpected character '\(c)'")
        }
    }

    private mutating func number(from start: Int) throws(SQLError) -> Token {
        while index < characters.count, characters[index].isASCII, characters[index].isNumber { index += 1 }
        var isDecimal = false
        if index + 1 < characters.count, characters[index] == ".", characters[index + 1].isASCII, characters[index + 1].isNumber {
            isDecimal = true
            index += 1
            while index < characters.count, characters[index].isASCII, characters[index].isNumber { index += 1 }
        }
        if index < characters.count, characters[index] == "e" || characters[index] == "E" {
            var probe = index + 1
            if probe < characters.count, characters[probe] == "+" || characters[probe] == "-" { probe += 1 }
            if probe < characters.count, characters[probe].isASCII, characters[probe].isNumber {
                isDecimal = true
                index = probe
                while index < characters.count, characters[index].isASCII, characters[index].isNumber { index += 1 }
            }
        }
        let text = String(characters[start..<index])
        if !isDecimal, let value = Int64(text) { return Token(kind: .integer(value), offset: start) }
        guard let value = Double(text) else { throw SQLError(offset: start, message: "invalid number '\(text)'") }
        return Token(kind: .decimal(value), offset: start)
    }

    private mutating func quoted(from start: Int, quote: Character) throws(SQLError) -> String {
        index += 1
        var text = ""
        while index < characters.count {
            let c = characters[index]
            if c == "\\", index + 1 < characters.count, characters[index + 1] == quote || characters[index + 1] == "\\" {
                text.append(characters[index + 1])
                index += 2
                continue
            }
            if c == quote {
                if index + 1 < characters.count, characters[index + 1] == quote {
                    text.append(quote)
                    index += 2
                    continue
                }
                index += 1
                return text
            }
            text.append(c)
            index += 1
        }
        throw SQLError(offset: start, message: quote == "'" ? "unterminated string" : "unterminated quoted identifier")
    }
}
