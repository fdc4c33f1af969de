import JSON
import Rules
import Testing

let telemetry = #"{"device":"d3","temp":21.5,"hum":40,"status":"running","severity":4,"tags":["a","b"],"pos":{"x":1,"y":{"z":"deep"}},"n":null,"numstr":"7","list":[{"v":1},{"v":2}]}"#

func context(_ payload: String = telemetry, topic: String = "factory/1/machine/2/status", clientId: String = "dev-1") -> MessageContext {
    MessageContext(topic: topic, payload: Array(payload.utf8), clientId: clientId, username: "alice", timestamp: 1_732_752_000_123)
}

/// Evaluates an expression against the telemetry payload; nil is Undefined.
func eval(_ expression: String, _ ctx: MessageContext = context()) throws -> JSONValue? {
    try Evaluator.evaluate(Parser.parseExpression(expression), ctx)
}

func run(_ sql: String, _ ctx: MessageContext = context(), batchMode: Bool = false) throws -> Statement.Outcome {
    try Parser.parseStatement(sql).evaluate(ctx, batchMode: batchMode)
}

struct ExprCase: Sendable, CustomTestStringConvertible {
    let expression: String
    let expected: JSONValue?
    init(_ expression: String, _ expected: JSONValue?) {
        self.expression = expression
        self.expected = expected
    }
    var testDescription: String { expression }
}

@Suite struct EvaluatorTests {
    @Test(arguments: [
        ExprCase("temp", 21.5),
        ExprCase("pos.y.z", "deep"),
        ExprCase("tags[1]", "b"),
        ExprCase("tags[-1]", "b"),
        ExprCase("tags[5]", nil),
        ExprCase("list[1].v", 2),
        ExprCase("pos['x']", 1),
        ExprCase("missing", nil),
        ExprCase("missing.deeper", nil),
        ExprCase("n", .null),
        ExprCase("1 + 2", 3),
        ExprCase("1 + 2.5", 3.5),
        ExprCase("7 / 2", 3),
        ExprCase("7.0 / 2", 3.5),
        ExprCase("7 % 3", 1),
        ExprCase("1 / 0", nil),
        ExprCase("-temp", -21.5),
        ExprCase("numstr + 1", 8),
        ExprCase("'abc' + 1", nil),
        ExprCase("missing + 1", nil),
        ExprCase("9223372036854775807 + 1", 9_223_372_036_854_775_808.0),
        ExprCase("2 * 3 + 4", 10),
        ExprCase("2 * (3 + 4)", 14),
        ExprCase("temp > 20", true),
        ExprCase("temp > 20 AND hum < 30", false),
        ExprCase("temp > 20 OR hum < 30", true),
        ExprCase("NOT (temp > 20)", false),
        ExprCase("missing > 1", nil),
        ExprCase("missing = 1", nil),
        ExprCase("NOT missing", nil),
        ExprCase("missing AND false", false),
        ExprCase("missing OR true", true),
        ExprCase("missing AND true", nil),
        ExprCase("numstr = 7", true),
        ExprCase("status = 'running'", true),
        ExprCase("status <> 'running'", false),
        ExprCase("status != 'idle'", true),
        ExprCase("'a' < 'b'", true),
        ExprCase("1 = 1.0", true),
        ExprCase("n = null", true),
        ExprCase("tags = ['a', 'b']", true),
        ExprCase("status = 1", false),
        ExprCase("true < false", nil),
        ExprCase("'x' || temp || true", "x21.5true"),
        ExprCase("'x' || missing", nil),
        ExprCase("{'a': temp, 'b': missing, 'c': [1, missing, 'z']}", ["a": 21.5, "c": [1, "z"]]),
        ExprCase("CASE status WHEN 'idle' THEN 0 WHEN 'running' THEN 1 ELSE -1 END", 1),
        ExprCase("CASE status WHEN 'idle' THEN 0 END", nil),
        ExprCase("CASE WHEN temp > 30 THEN 'hot' WHEN temp > 20 THEN 'warm' ELSE 'cold' END", "warm"),
        ExprCase("CASE WHEN missing THEN 1 ELSE 2 END", 2),
        ExprCase("cast(temp AS Int)", 21),
        ExprCase("cast(temp AS String)", "21.5"),
        ExprCase("cast('12' AS Decimal)", 12.0),
        ExprCase("cast(1 AS Boolean)", true),
        ExprCase("cast('false' AS Boolean)", false),
        ExprCase("cast(true AS Int)", 1),
        ExprCase("cast('x' AS Int)", nil),
    ])
    func evaluates(_ example: ExprCase) throws {
        #expect(try eval(example.expression) == example.expected)
    }

    @Test func selectStarWithAliases() throws {
        let outcome = try run("SELECT *, topic(2) AS factory, topic(4) AS machine FROM 'factory/+/machine/+/status' WHERE severity >= 3")
        guard case let .records(records) = outcome, let record = records.first else { Issue.record("\(outcome)"); return }
        #expect(record["factory"] == "1")
        #expect(record["machine"] == "2")
        #expect(record["device"] == "d3")
        #expect(records.count == 1)
    }

    @Test func whereFalseFilters() throws {
        #expect(try run("SELECT * FROM '#' WHERE temp > 100") == .filtered)
        #expect(try run("SELECT * FROM '#' WHERE missing > 1") == .filtered)
    }

    @Test func whereCannotSeeAliases() throws {
        #expect(try run("SELECT temp AS t FROM '#' WHERE t > 1") == .filtered)
    }

    @Test func selectNamesAndUndefinedOmission() throws {
        let outcome = try run("SELECT device, pos.y.z, missing, temp * 2 AS double_temp, upper(status) FROM '#'")
        #expect(outcome == .records([["device": "d3", "z": "deep", "double_temp": 43.0, "upper(status)": "RUNNING"]]))
    }

    @Test func selectValue() throws {
        #expect(try run("SELECT VALUE temp FROM '#'") == .records([21.5]))
        #expect(try run("SELECT VALUE missing FROM '#'") == .records([]))
    }

    @Test func batchModeFansOutArrays() throws {
        let ctx = context(#"{"readings":[{"t":1},{"t":2},{"t":3}]}"#)
        #expect(try run("SELECT VALUE readings FROM '#'", ctx, batchMode: true) == .records([["t": 1], ["t": 2], ["t": 3]]))
        #expect(try run("SELECT VALUE readings FROM '#'", ctx, batchMode: false) == .records([[["t": 1], ["t": 2], ["t": 3]]]))
    }

    @Test func nonJSONPayloads() throws {
        let binary = MessageContext(topic: "cam/1", payload: [0xFF, 0x00, 0x10], clientId: "c", timestamp: 0)
        #expect(try run("SELECT encode(*, 'base64') AS data, topic() AS t FROM 'cam/+'", binary) == .records([["data": "/wAQ", "t": "cam/1"]]))
        #expect(throws: RuleEvaluationError.self) { try run("SELECT temp FROM 'cam/+'", binary) }
        #expect(throws: RuleEvaluationError.self) { try run("SELECT * FROM 'cam/+' WHERE temp > 1", binary) }
        let text = MessageContext(topic: "t", payload: Array("hello".utf8), clientId: "c", timestamp: 0)
        #expect(throws: RuleEvaluationError("payload is not valid JSON: unexpected character 'h', expected a value at byte 0")) {
            try run("SELECT * FROM 't'", text)
        }
    }

    @Test func templates() throws {
        let template = try Template("ops/alerts/${topic(4)}/${device}/${missing}")
        #expect(try template.render(context()) == "ops/alerts/2/d3/")
        #expect(try Template("plain").isConstant)
        #expect(throws: SQLError(offset: 4, message: "unterminated ${ in template")) { try Template("abc/${topic(2)") }
        #expect(throws: SQLError.self) { try Template("a/${upper(}") }
    }
}

@Suite struct ParserTests {
    struct Bad: Sendable, CustomTestStringConvertible {
        let sql: String
        let offset: Int
        let message: String
        var testDescription: String { sql }
    }

    @Test(arguments: [
        Bad(sql: "SELEC * FROM 'a'", offset: 0, message: "expected SELECT, found 'SELEC'"),
        Bad(sql: "SELECT * FORM 'a'", offset: 9, message: "expected FROM, found 'FORM'"),
        Bad(sql: "SELECT * FROM a", offset: 14, message: "expected a quoted topic filter after FROM, found 'a'"),
        Bad(sql: "SELECT * FROM 'a/#/b'", offset: 14, message: "invalid topic: '#' must be the whole last level in 'a/#/b'"),
        Bad(sql: "SELECT * FROM 'a' WHERE", offset: 23, message: "expected an expression, found end of statement"),
        Bad(sql: "SELECT temp > FROM 'a'", offset: 14, message: "expected an expression, found FROM"),
        Bad(sql: "SELECT nosuch(1) FROM 'a'", offset: 7, message: "unknown function 'nosuch'"),
        Bad(sql: "SELECT upper(a, b) FROM 'a'", offset: 7, message: "upper() takes 1 argument, got 2"),
        Bad(sql: "SELECT topic(1, 2) FROM 'a'", offset: 7, message: "topic() takes 0 to 1 argument, got 2"),
        Bad(sql: "SELECT 'abc FROM 'a'", offset: 19, message: "unterminated string"),
        Bad(sql: "SELECT a FROM 'a' WHERE a # 1", offset: 26, message: "unexpected character '#'"),
        Bad(sql: "SELECT cast(a AS Float) FROM 'a'", offset: 17, message: "expected String, Int, Decimal or Boolean after AS, found 'Float'"),
        Bad(sql: "SELECT CASE WHEN a THEN 1 FROM 'x'", offset: 26, message: "expected END, found FROM"),
        Bad(sql: "SELECT * FROM 'a' extra", offset: 18, message: "unexpected 'extra'"),
        Bad(sql: "SELECT {'a' 1} FROM 'a'", offset: 12, message: "expected ':', found 1"),
    ])
    func errorsHavePositions(_ bad: Bad) {
        #expect(throws: SQLError(offset: bad.offset, message: bad.message)) { try Parser.parseStatement(bad.sql) }
    }

    @Test func caretPointsAtTheError() {
        let error = SQLError(offset: 9, message: "expected FROM, found 'FORM'")
        #expect(error.pointing(into: "SELECT * FORM 'a'") == "SELECT * FORM 'a'\n         ^ expected FROM, found 'FORM'")
    }

    @Test(arguments: [
        "select * from 'a/b'",
        "SELECT VALUE readings FROM 'factory/+/machine/+/status'",
        "SELECT a.b.c, a.list[0], get(x, 'k'), {'k': v}, [a, b] FROM '#' WHERE NOT a = 1 AND b <> 2 OR c != 3",
        "SELECT \"odd-name\" AS n, `weird key` FROM 'x'",
        "SELECT 'it''s' AS s, 'back\\'slash' AS t FROM 'x'",
        "SELECT 1e3 AS big, -2.5 AS neg, 10 % 3 AS m FROM 'x'",
    ])
    func parses(_ sql: String) throws {
        _ = try Parser.parseStatement(sql)
    }

    @Test func stringEscapes() throws {
        #expect(try run("SELECT 'it''s' AS s, 'a\\'b' AS t FROM 'x'") == .records([["s": "it's", "t": "a'b"]]))
    }
}

@Suite struct TopicFilterIndexTests {
    /// The article's filters as FROM clauses, against its second topic list.
    @Test func articleFilters() {
        let index = TopicFilterIndex<String>()
        for filter in ["factory/+/machine/+/status", "+/+/machine/+/alerts", "factory/+/machine/#", "factory/#", "#", "office/#", "factory/1/machine/#"] {
            index.insert(filter, filter)
        }
        #expect(Set(index.match("factory/1/machine/1/status")) == ["factory/+/machine/+/status", "factory/+/machine/#", "factory/#", "#", "factory/1/machine/#"])
        #expect(Set(index.match("factory/1/machine/1/alerts")) == ["+/+/machine/+/alerts", "factory/+/machine/#", "factory/#", "#", "factory/1/machine/#"])
        #expect(Set(index.match("factory/1/vehicle/1/alerts")) == ["factory/#", "#"])
        #expect(Set(index.match("office/2/machine/16/alerts")) == ["+/+/machine/+/alerts", "office/#", "#"])
        #expect(Set(index.match("factory")) == ["factory/#", "#"])
        #expect(index.match("$SYS/broker/uptime").isEmpty)
        #expect(index.count == 7)
    }
}
