import JSON
import Pipelines
import Rules
import Testing

private func load(_ files: [(String, String)]) throws(PipelineErrors) -> PipelineSet {
    try PipelineLoader.load(files: files.map { (path: $0.0, bytes: Array($0.1.utf8)) })
}

private func problems(_ text: String, file: String = "p.json") -> [String] {
    do {
        _ = try load([(file, text)])
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

@Suite struct PipelineLoaderTests {
    static let valid = """
        // Everything the format allows, with comments.
        {
          "rules": [{
            "name": "machine_alerts",
            "description": "alerts of every machine",
            "sql": "SELECT *, topic(2) AS factory, topic(4) AS machine FROM 'factory/+/machine/+/alerts' WHERE severity >= 3",
            "actions": [{ "stream": "alerts" }, { "republish": { "topic": "ops/alerts/${topic(4)}", "qos": 1 } }],
            "errorAction": { "stream": "rule-errors" },
            "disabled": false,
            "batchMode": false,
            "tests": [{ "topic": "factory/1/machine/2/alerts", "payload": {"severity": 4}, "expect": [{"severity": 4, "factory": "1", "machine": "2"}] }]
          }],
          "streams": [
            { "name": "alerts", "destination": { "lake": { "prefix": "alerts/" } }, "buffering": { "sizeMiB": 5, "intervalSeconds": 60 } },
            { "name": "rule-errors", "destination": { "lake": { "prefix": "rule-errors/" } } }
          ]
        }
        """

    @Test func republishHeadersAreValidatedWithTheirPosition() throws {
        func rule(_ headers: String) -> String {
            "{\"sql\": \"SELECT * FROM 'a'\", \"actions\": [{\"republish\": {\"topic\": \"b\", \"headers\": \(headers)}}]}"
        }
        #expect(problems(rule(#"{"contentType": "text/plain", "messageExpiry": "60", "userProperties": [{"key": "k", "value": "${topic()}"}]}"#)).isEmpty)
        #expect(problems(rule(#"{"payloadFormatIndicator": "UTF9"}"#)) == ["p.json:1:109: payloadFormatIndicator must be UTF8_DATA or UNSPECIFIED_BYTES, got 'UTF9'"])
        #expect(problems(rule(#"{"messageExpiry": "soon"}"#)) == ["p.json:1:100: messageExpiry must be a number of seconds, got 'soon'"])
        #expect(problems(rule(#"{"responseTopic": "a/+"}"#)) == ["p.json:1:100: responseTopic 'a/+' is not a topic name"])
        #expect(problems(rule(#"{"correlationData": "***"}"#)) == ["p.json:1:102: correlationData must be base64"])
        #expect(problems(rule(#"{"userProperties": [{"key": "k"}]}"#)) == ["p.json:1:102: a user property needs both key and value"])
        #expect(problems(rule(#"{"colour": "red"}"#)).first?.contains("unknown key 'colour'") == true)
    }

    @Test func loadsTheDesignExample() throws {
        let set = try load([("p.json", Self.valid)])
        #expect(set.rules.count == 1)
        #expect(set.streams.map(\.name) == ["alerts", "rule-errors"])
        let rule = try #require(set.rules.first)
        #expect(rule.name == "machine_alerts")
        #expect(rule.statement.topicFilter == "factory/+/machine/+/alerts")
        #expect(rule.actions.map(\.kind) == ["stream", "republish"])
        #expect(rule.errorAction?.resource == "rule-errors")
        #expect(rule.tests.count == 1)
        #expect(rule.location.description == "p.json:3:13")
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let expected: [String]
        var testDescription: String { name }
    }

    @Test(arguments: [
        Bad(name: "invalid JSON", text: "{\n  \"rules\": [\n    {\"name\": \"a\",}\n  ]\n}", expected: ["p.json:3:18: invalid JSON: expected a string key in object"]),
        Bad(name: "not an object", text: "[1]", expected: ["p.json:1:1: a pipeline file holds a JSON object"]),
        Bad(name: "unknown top-level key", text: "{\"rulez\": []}", expected: ["p.json:1:2: unknown key 'rulez' in pipeline (allowed: rules, streams)"]),
        Bad(name: "bad SQL with caret", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FORM 'x'\", \"actions\": []}]}",
            expected: ["p.json:1:43: invalid SQL: expected FROM, found 'FORM'\n    SELECT * FORM 'x'\n             ^ expected FROM, found 'FORM'"]),
        Bad(name: "missing sql and actions", text: "{\"rules\": [{\"name\": \"r\"}]}",
            expected: ["p.json:1:12: missing required 'sql'", "p.json:1:12: missing required 'actions'"]),
        Bad(name: "unknown stream", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": [{\"stream\": \"nope\"}]}], \"streams\": [{\"name\": \"s\", \"destination\": {\"lake\": {}}}]}",
            expected: ["p.json:1:77: unknown stream 'nope' (known: s)"]),
        Bad(name: "bad template", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": [{\"republish\": {\"topic\": \"x/${topic(\"}}]}]}",
            expected: ["p.json:1:93: invalid topic template: unterminated ${ in template"]),
        Bad(name: "republish loop", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a/#'\", \"actions\": [{\"republish\": {\"topic\": \"a/b\"}}]}]}",
            expected: ["p.json:1:92: republish topic 'a/b' matches the rule's own FROM 'a/#': the rule would loop"]),
        Bad(name: "republish qos 2", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": [{\"republish\": {\"topic\": \"b\", \"qos\": 2}}]}]}",
            expected: ["p.json:1:102: republish qos must be 0 or 1"]),
        Bad(name: "unknown action", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": [{\"lambda\": {}}]}]}",
            expected: ["p.json:1:66: unknown or malformed action 'lambda' (expected stream: \"name\", republish: {topic, qos}, firehose: {deliveryStreamName} or s3: {bucketName})"]),
        Bad(name: "bad rule name", text: "{\"rules\": [{\"name\": \"has space\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": []}]}",
            expected: ["p.json:1:21: rule name 'has space' must be 1-128 letters, digits, '_' or '-'"]),
        Bad(name: "stream without destination", text: "{\"streams\": [{\"name\": \"s\", \"destination\": {\"s3\": {}}}]}",
            expected: ["p.json:1:43: a stream needs a destination: {\"lake\": {…}} or {\"sqlite\": {\"table\": …}}"]),
        Bad(name: "stream buffering out of range", text: "{\"streams\": [{\"name\": \"s\", \"destination\": {\"lake\": {}}, \"buffering\": {\"sizeMiB\": 0, \"intervalSeconds\": 901}}]}",
            expected: ["p.json:1:82: 'sizeMiB' must be an integer in 1...128", "p.json:1:104: 'intervalSeconds' must be an integer in 0...900"]),
        Bad(name: "stream bad prefix", text: "{\"streams\": [{\"name\": \"s\", \"destination\": {\"lake\": {\"prefix\": \"../x/\", \"compression\": \"zip\"}}}]}",
            expected: ["p.json:1:87: compression must be \"none\" or \"gzip\"", "p.json:1:63: '..' path segment in '../x/'"]),
        Bad(name: "disabled not boolean", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": [], \"disabled\": \"no\"}]}",
            expected: ["p.json:1:81: 'disabled' must be true or false"]),
        Bad(name: "test case without expectation", text: "{\"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": [], \"tests\": [{\"topic\": \"a\", \"payload\": {}}]}]}",
            expected: ["p.json:1:79: a test case needs 'expect': [records…] (or 'expectError')"]),
    ])
    func reportsFileLineColumn(_ bad: Bad) {
        #expect(problems(bad.text) == bad.expected)
    }

    @Test func allProblemsOfAllFilesTogetherAndDuplicateNames() {
        let a = "{\"rules\": [{\"name\": \"dup\", \"sql\": \"SELECT * FROM 'a'\", \"actions\": []}], \"streams\": [{\"name\": \"s\", \"destination\": {\"lake\": {}}}]}"
        let b = "{\"rules\": [{\"name\": \"dup\", \"sql\": \"SELECT * FROM 'b'\", \"actions\": []}, {\"name\": \"x\", \"sql\": \"oops\", \"actions\": []}],\n \"streams\": [{\"name\": \"s\", \"destination\": {\"sqlite\": {\"table\": \"t\"}}}]}"
        do {
            _ = try load([("a.json", a), ("b.json", b)])
            Issue.record("expected problems")
        } catch {
            let text = error.problems.map(\.description)
            #expect(text.count == 3)
            #expect(text.contains("b.json:1:12: duplicate rule name 'dup' (first defined at a.json:1:12)"))
            #expect(text.contains("b.json:2:14: duplicate stream name 's' (first defined at a.json:1:85)"))
            #expect(text.contains { $0.hasPrefix("b.json:1:94: invalid SQL: expected SELECT") })
        }
    }

    @Test func awsCreateTopicRulePayloads() throws {
        let bare = """
            {"sql": "SELECT * FROM 'factory/+/machine/+/status'", "ruleDisabled": false, "awsIotSqlVersion": "2016-03-23",
             "actions": [{"firehose": {"deliveryStreamName": "status", "roleArn": "arn:aws:iam::1:role/x", "separator": "\\n"}},
                         {"republish": {"topic": "mirror/${topic()}", "qos": 0}}],
             "errorAction": {"s3": {"bucketName": "errors", "key": "x"}}}
            """
        let request = """
            {"ruleName": "from_cli", "topicRulePayload": {"sql": "SELECT VALUE readings FROM 'x/#'", "actions": [{"firehose": {"deliveryStreamName": "status"}}]}}
            """
        let streams = "{\"streams\": [{\"name\": \"status\", \"destination\": {\"lake\": {}}}, {\"name\": \"errors\", \"destination\": {\"lake\": {}}}]}"
        let set = try load([("dir/status_rule.json", bare), ("dir/request.json", request), ("dir/streams.json", streams)])
        #expect(set.rules.map(\.name) == ["status_rule", "from_cli"])
        #expect(set.rules[0].actions.map(\.resource) == ["status", "mirror/${topic()}"])
        #expect(set.rules[0].errorAction?.resource == "errors")
        #expect(problems("{\"sql\": \"SELECT * FROM 'a'\", \"actions\": [], \"awsIotSqlVersion\": \"2015-10-08\"}") ==
                ["p.json:1:65: only awsIotSqlVersion 2016-03-23 is supported, got '2015-10-08'"])
    }
}
