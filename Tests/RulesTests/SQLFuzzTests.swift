import Rules
import Testing

/// Truncated and mutated SQL never traps the lexer or parser.
@Suite struct SQLFuzzTests {
    @Test func everyPrefixAndMutation() {
        let sql = "SELECT *, topic(2) AS f, CASE WHEN a.b[0] > 1.5e3 THEN 'x''y' ELSE {'k': [1, -2]} END AS c, cast(d AS Int) FROM 'factory/+/machine/#' WHERE NOT (e <> 'z' OR g || \"h\" = `i`)"
        let characters = Array(sql)
        var complete: [String] = []
        for length in 0...characters.count {
            let prefix = String(characters[0..<length])
            if (try? Parser.parseStatement(prefix)) != nil { complete.append(prefix) }
        }
        let replacements: [Character] = ["(", ")", "'", "\"", "`", "[", "]", "{", "}", ",", ".", "-", "|", "#", " ", "9", "ü"]
        for index in characters.indices {
            for replacement in replacements {
                var mutated = characters
                mutated[index] = replacement
                _ = try? Parser.parseStatement(String(mutated))
            }
        }
        // Complete: the statement without WHERE (with or without a trailing space), WHERE
        // cut inside NOT where "N" and "NO" read as field names, and the whole statement.
        #expect(complete.count == 5)
        #expect(complete.contains(sql))
        #expect(complete.allSatisfy { $0 == sql || $0.hasSuffix("#'") || $0.hasSuffix("#' ") || $0.hasSuffix("WHERE N") || $0.hasSuffix("WHERE NO") }, "\(complete)")
    }
}
