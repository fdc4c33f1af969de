@testable import Hydrant
import Testing

@Suite struct RulesCommandTests {
    func run(_ arguments: [String]) -> (Int32, String, String) {
        var out: [String] = []
        var err: [String] = []
        let code = RulesCommand.main(arguments, out: { out.append($0) }, err: { err.append($0) })
        return (code, out.joined(separator: "\n"), err.joined(separator: "\n"))
    }

    @Test func evalPrintsNDJSON() {
        let (code, out, _) = run(["eval", "--sql", "SELECT VALUE readings FROM 'x/#'", "--topic", "x/1", "--payload", "{\"readings\":[{\"t\":1},{\"t\":2}]}", "--batch-mode"])
        #expect(code == 0)
        #expect(out == "{\"t\":1}\n{\"t\":2}")
    }

    @Test func evalNoMatchPrintsNothing() {
        let (code, out, _) = run(["eval", "--sql", "SELECT * FROM 'x' WHERE temp > 50", "--topic", "x", "--payload", "{\"temp\":1}"])
        #expect(code == 0)
        #expect(out.isEmpty)
    }

    @Test func evalBadSQLExits1WithCaret() {
        let (code, _, err) = run(["eval", "--sql", "SELECT * FROM x", "--topic", "x", "--payload", "{}"])
        #expect(code == 1)
        #expect(err == "invalid SQL: expected a quoted topic filter after FROM, found 'x'\nSELECT * FROM x\n              ^ expected a quoted topic filter after FROM, found 'x'")
    }

    @Test func evalNonJSONExits1() {
        let (code, _, err) = run(["eval", "--sql", "SELECT temp FROM 'x'", "--topic", "x", "--payload", "not json"])
        #expect(code == 1)
        #expect(err.hasPrefix("rule failed: payload is not valid JSON"))
    }

    @Test func usageErrorsExit2() {
        #expect(run(["eval", "--sql", "SELECT * FROM 'x'"]).0 == 2)
        #expect(run(["frobnicate"]).0 == 2)
        #expect(run([]).0 == 2)
    }
}
