import JSON
import Rules
import Testing

/// `SELECT *, … AS …` spliced from the payload's bytes: the same record as the tree path,
/// or nil where only the tree path is right.
@Suite struct SpliceTests {
    static func context(_ payload: String, topic: String = "factory/7/machine/3/status") -> MessageContext {
        MessageContext(topic: topic, payload: Array(payload.utf8), clientId: "c", timestamp: 1_732_752_000_123)
    }

    static let cases: [(sql: String, payload: String, line: String?)] = [
        ("SELECT *, topic(2) AS factory FROM 'factory/+/machine/+/status'", #"{"temp": 71.5}"#, #"{"temp": 71.5,"factory":"7"}"#),
        ("SELECT *, topic(2) AS factory, topic(4) AS machine FROM 'factory/#'", #"{"a":1}"#, #"{"a":1,"factory":"7","machine":"3"}"#),
        ("SELECT *, topic(2) AS factory FROM 'factory/#'", "{}", #"{"factory":"7"}"#),
        ("SELECT *, topic(2) AS factory FROM 'factory/#'", "{ }", #"{"factory":"7"}"#),
        ("SELECT *, topic(2) AS factory FROM 'factory/#'", #"  {"a":[1,{"b":"}"}]}  "#, #"  {"a":[1,{"b":"}"}],"factory":"7"}"#),
        ("SELECT *, topic(2) AS factory FROM 'factory/#'", #"{"a":1   }"#, #"{"a":1,"factory":"7"}"#),
        ("SELECT *, nosuch AS missing, temp * 2 AS double FROM 'factory/#'", #"{"temp":2}"#, #"{"temp":2,"double":4}"#),
        ("SELECT * FROM 'factory/#'", #"{"a": "x"} "#, #"{"a": "x"}"#),
        ("SELECT *, 'é\"' AS quote FROM 'factory/#'", #"{"a":1}"#, #"{"a":1,"quote":"é\""}"#),
        // Only the tree path is right for these:
        ("SELECT *, topic(2) AS temp FROM 'factory/#'", #"{"temp":1}"#, nil),  // the alias overrides a payload field
        ("SELECT *, topic(2) AS temp FROM 'factory/#'", #"{"a":{"x":1},"te\u006dp":1}"#, nil),  // the same, key escaped
        ("SELECT *, topic(2) AS factory FROM 'factory/#'", "{\"a\":\n1}", nil),  // a raw line break would split the NDJSON line
        ("SELECT *, topic(2) AS factory FROM 'factory/#'", "[1,2]", nil),  // not an object
    ]

    @Test(arguments: cases)
    func splicesLikeTheTreePath(_ sql: String, _ payload: String, _ expected: String?) throws {
        let statement = try Parser.parseStatement(sql)
        let fields = try #require(statement.spliceFields)
        let outcome = try statement.evaluateSpliced(Self.context(payload), fields: fields)
        let topicOnly = MessageContext(topic: "factory/7/machine/3/status", payload: [], timestamp: 0)
        let suffix = statement.spliceSuffix(topicOnly, fields: fields)
        guard let expected else {
            #expect(outcome == nil)
            if let suffix { #expect(try statement.evaluateSpliced(Self.context(payload), fields: fields, suffix: suffix) == nil) }
            return
        }
        guard case let .line(line, _)? = outcome else {
            Issue.record("expected a spliced line, got \(String(describing: outcome))")
            return
        }
        #expect(String(decoding: line, as: UTF8.self) == expected)
        // The same record the general path builds.
        guard case let .records(records) = try statement.evaluate(Self.context(payload)) else {
            Issue.record("general path filtered")
            return
        }
        #expect(try JSONParser().parse(line) == records.first)
        // The topic-only fields made once per topic (and a validation-only scan of the
        // payload) give the same line.
        if let suffix {
            guard case let .line(cached, _)? = try statement.evaluateSpliced(Self.context(payload), fields: fields, suffix: suffix) else {
                Issue.record("the suffix path did not splice")
                return
            }
            #expect(cached == line)
        }
    }

    /// Which added fields are the same for every message on a topic (made once per topic).
    static let topicOnlyCases: [(sql: String, topicOnly: Bool)] = [
        ("SELECT *, topic(2) AS f FROM 'x/#'", true),
        ("SELECT *, topic() AS t, 'k' AS k, 1 + 2 AS n FROM 'x/#'", true),
        ("SELECT *, upper(topic(2)) || '-' || lower(topic(3)) AS f FROM 'x/#'", true),
        ("SELECT *, CASE topic(2) WHEN 'a' THEN 1 ELSE 2 END AS f FROM 'x/#'", true),
        ("SELECT *, cast(topic(2) AS int) AS f, {'a': topic(1)} AS o, [topic(1)] AS l FROM 'x/#'", true),
        ("SELECT *, temp AS f FROM 'x/#'", false),
        ("SELECT *, topic(2) AS f, temp * 2 AS g FROM 'x/#'", false),
        ("SELECT *, clientid() AS c FROM 'x/#'", false),
        ("SELECT *, timestamp() AS t FROM 'x/#'", false),
        ("SELECT *, newuuid() AS u FROM 'x/#'", false),
        ("SELECT *, topic(temp) AS f FROM 'x/#'", false),
        ("SELECT *, encode(*, 'base64') AS b FROM 'x/#'", false),
    ]

    @Test(arguments: topicOnlyCases)
    func topicOnlyFieldsAreMadeOncePerTopic(_ sql: String, _ topicOnly: Bool) throws {
        let statement = try Parser.parseStatement(sql)
        let fields = try #require(statement.spliceFields)
        let suffix = statement.spliceSuffix(MessageContext(topic: "x/a/b", payload: [], timestamp: 0), fields: fields)
        #expect((suffix != nil) == topicOnly)
    }

    @Test func whereAndErrorsBehaveAsInTheTreePath() throws {
        let statement = try Parser.parseStatement("SELECT *, topic(2) AS f FROM 'factory/#' WHERE temp > 50")
        let fields = try #require(statement.spliceFields)
        guard case .filtered? = try statement.evaluateSpliced(Self.context(#"{"temp": 10}"#), fields: fields) else {
            Issue.record("WHERE false must filter")
            return
        }
        #expect(throws: RuleEvaluationError.self) { _ = try statement.evaluateSpliced(Self.context("garbled"), fields: fields) }
    }

    @Test func onlySelectStarWithNamedFieldsSplices() throws {
        #expect(try Parser.parseStatement("SELECT a FROM 'x'").spliceFields == nil)
        #expect(try Parser.parseStatement("SELECT a, * FROM 'x'").spliceFields == nil)
        #expect(try Parser.parseStatement("SELECT *, a AS b, c AS b FROM 'x'").spliceFields == nil)
        #expect(try Parser.parseStatement("SELECT VALUE temp FROM 'x'").spliceFields == nil)
        #expect(try Parser.parseStatement("SELECT *, a AS b FROM 'x'").spliceFields?.map(\.name) == ["b"])
    }
}
