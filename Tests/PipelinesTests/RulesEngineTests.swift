import Broker
import Foundation
import HydrantTesting
import JSON
import MQTT
import Pipelines
import Streams
import Testing

/// The rules engine on a real broker (the in-process harness) and real delivery streams:
/// rules filter and reshape what clients publish, republish and stream actions, IoT Core's
/// error records, the hop limit, and the metrics.
@Suite struct RulesEngineTests {
    final class Running: Sendable {
        let broker: BrokerHarness
        let engine: RulesEngine
        let streams: [String: DeliveryStream]
        let directory: TemporaryDirectory

        init(_ pipeline: String) throws {
            let set = try PipelineLoader.load(files: [(path: "p.json", bytes: Array(pipeline.utf8))])
            directory = try TemporaryDirectory(prefix: "hydrant-engine")
            var streams: [String: DeliveryStream] = [:]
            for definition in set.streams {
                streams[definition.name] = try DeliveryStream(
                    config: definition.config, lakeRoot: directory.path + "/lake", journalRoot: directory.path + "/journal", log: { _ in })
            }
            self.streams = streams
            let injector = MessageInjector()
            engine = RulesEngine(pipelines: set, injector: injector, streams: streams, logger: Logger(level: .error))
            broker = try BrokerHarness(tap: engine, injector: injector)
        }

        func metric(_ name: String) -> String? { engine.sysTopics().first { $0.0 == name }?.1 }

        /// Stops the broker, flushes the streams and returns every lake line of `stream`.
        func stopAndReadLake(_ stream: String) -> [String] {
            broker.stop()
            for stream in streams.values { stream.shutdown(timeout: 10) }
            let root = directory.path + "/lake/" + stream
            let files = (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".ndjson") }
            return files.flatMap { file in
                ((try? String(contentsOfFile: root + "/" + file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            }
        }

        deinit {
            broker.stop()
            for stream in streams.values { stream.shutdown(timeout: 10) }
            directory.remove()
        }
    }

    @Test func republishesReshapedRecordsAndCountsThem() throws {
        let running = try Running("""
            {"rules": [{"name": "hot", "sql": "SELECT temp, topic(2) AS device FROM 'sensors/+/reading' WHERE temp > 25",
                        "actions": [{"republish": {"topic": "alerts/${topic(2)}", "qos": 1}}]}]}
            """)
        let sub = try running.broker.client("sub")
        try sub.subscribe("alerts/#", qos: .atLeastOnce)
        let pub = try running.broker.client("pub")
        try pub.publish("sensors/d1/reading", "{\"temp\": 20}", qos: .atLeastOnce)  // filtered by WHERE
        try pub.publish("sensors/d1/reading", "{\"temp\": 30, \"unit\": \"C\"}", qos: .atLeastOnce)
        let alert = try sub.receivePublish()
        #expect(alert.topic == "alerts/d1")
        #expect(alert.text == "{\"temp\":30,\"device\":\"d1\"}")
        #expect(alert.qos == .atLeastOnce)
        try sub.expectNothing()
        #expect(running.metric("hydrant/rules/hot/matched") == "2")
        #expect(running.metric("hydrant/rules/hot/passed") == "1")
        #expect(running.metric("hydrant/rules/hot/outputs") == "1")
        #expect(running.metric("hydrant/rules/hot/failed") == "0")
    }

    @Test func disabledRulesAndOtherTopicsDoNotRun() throws {
        let running = try Running("""
            {"rules": [{"name": "off", "sql": "SELECT * FROM 'a/#'", "disabled": true, "actions": [{"republish": {"topic": "out"}}]},
                       {"name": "on", "sql": "SELECT * FROM 'b/+'", "actions": [{"republish": {"topic": "out"}}]}]}
            """)
        let sub = try running.broker.client("sub")
        try sub.subscribe("out")
        let pub = try running.broker.client("pub")
        try pub.publish("a/1", "{}", qos: .atLeastOnce)
        try pub.publish("b/1/deeper", "{}", qos: .atLeastOnce)
        try pub.publish("$SYS/b/1", "{}", qos: .atLeastOnce)  // '+' does not match a '$' level
        try sub.expectNothing()
        try pub.publish("b/1", "{\"n\": 1}", qos: .atLeastOnce)
        #expect(try sub.receivePublish().text == "{\"n\":1}")
        #expect(running.engine.ruleCount == 1)
    }

    /// Two rules republishing onto each other's filter (a loop the loader cannot see in
    /// one rule) stop after `maxHops` and count a failure.
    @Test func republishLoopStopsAtTheHopLimit() throws {
        let running = try Running("""
            {"rules": [{"name": "to_b", "sql": "SELECT * FROM 'a/#'", "actions": [{"republish": {"topic": "b/x"}}]},
                       {"name": "to_a", "sql": "SELECT * FROM 'b/#'", "actions": [{"republish": {"topic": "a/x"}}]}]}
            """)
        let sub = try running.broker.client("sub")
        try sub.subscribe([("a/#", .atMostOnce), ("b/#", .atMostOnce)])
        let pub = try running.broker.client("pub")
        try pub.publish("a/start", "{\"x\": 1}")
        var topics: [String] = []
        for _ in 0...RulesEngine.maxHops { topics.append(try sub.receivePublish().topic) }
        try sub.expectNothing()
        #expect(topics == ["a/start"] + (1...RulesEngine.maxHops).map { $0 % 2 == 1 ? "b/x" : "a/x" })
        // The message of hop 8 is on a/x: rule to_b refuses to republish it.
        #expect(running.metric("hydrant/rules/to_b/failed") == "1")
        #expect(running.metric("hydrant/rules/to_a/failed") == "0")
    }

    /// IoT Core's error record: rule name, topic, client, the original payload in base64,
    /// and what failed.
    @Test func failedRuleHandsIoTCoreErrorRecordToTheErrorAction() throws {
        let running = try Running("""
            {"rules": [{"name": "parse", "sql": "SELECT temp FROM 'in/#'", "actions": [{"republish": {"topic": "out"}}],
                        "errorAction": {"republish": {"topic": "errors"}}}]}
            """)
        let sub = try running.broker.client("sub")
        try sub.subscribe([("out", .atMostOnce), ("errors", .atMostOnce)])
        let pub = try running.broker.client("device-7")
        try pub.publish("in/x", "not json", qos: .atLeastOnce)
        let error = try sub.receivePublish()
        #expect(error.topic == "errors")
        let record = try JSONParser().parse(error.text)
        #expect(record["ruleName"] == "parse")
        #expect(record["topic"] == "in/x")
        #expect(record["clientId"] == "device-7")
        #expect(record["base64OriginalPayload"] == .string(Base64.encode(Array("not json".utf8))))
        #expect(record["failures"]?[0]?["failedAction"] == "rule")
        try sub.expectNothing()
        #expect(running.metric("hydrant/rules/parse/failed") == "1")
    }

    /// The PUBACK waits for the stream's journal; each record lands in the lake once.
    @Test func streamActionWritesEachAcknowledgedRecordOnce() throws {
        let running = try Running("""
            {"rules": [{"name": "keep", "sql": "SELECT *, topic(2) AS device FROM 'tele/+'", "actions": [{"stream": "lake"}]}],
             "streams": [{"name": "lake", "destination": {"lake": {"prefix": "lake/"}}, "buffering": {"intervalSeconds": 60}}]}
            """)
        let pub = try running.broker.client("pub")
        for n in 0..<50 { try pub.publish("tele/d\(n % 3)", "{\"n\": \(n)}", qos: .atLeastOnce) }
        let stream = try #require(running.streams["lake"])
        #expect(stream.metrics.recordsIn.load(ordering: .relaxed) == 50, "every PUBACK came after its record was journaled")
        let lines = running.stopAndReadLake("lake")
        let numbers = lines.compactMap { line -> Int64? in
            guard case let .int(n)? = (try? JSONParser().parse(line))?["n"] else { return nil }
            return n
        }
        #expect(numbers.sorted() == Array(0..<50))
        #expect(lines.contains("{\"n\": 7,\"device\":\"d1\"}"), "spliced: the payload's bytes kept, the rule's field added")
    }

    /// A QoS 2 PUBLISH resent before PUBREL (same packet id, DUP) reaches the stream once.
    @Test func resentQoS2PublishReachesTheStreamOnce() throws {
        let running = try Running("""
            {"rules": [{"name": "keep", "sql": "SELECT * FROM 'q2/#'", "actions": [{"stream": "lake"}]}],
             "streams": [{"name": "lake", "destination": {"lake": {"prefix": "lake/"}}, "buffering": {"intervalSeconds": 60}}]}
            """)
        let pub = try running.broker.client("pub")
        let publish = Publish(topic: "q2/a", payload: Array("{\"once\": true}".utf8), qos: .exactlyOnce, packetId: 7)
        pub.send(.publish(publish))
        _ = try pub.receive("PUBREC 7") { $0 == .pubrec(packetId: 7) }
        var resent = publish
        resent.dup = true
        pub.send(.publish(resent))
        _ = try pub.receive("PUBREC 7 again") { $0 == .pubrec(packetId: 7) }
        pub.send(.pubrel(packetId: 7))
        _ = try pub.receive("PUBCOMP 7") { $0 == .pubcomp(packetId: 7) }
        #expect(running.stopAndReadLake("lake") == ["{\"once\": true}"])
    }

    /// IoT Core's republish headers become the MQTT 5 properties of the republished
    /// message; the rule reads the incoming ones with get_mqtt_property/get_user_properties.
    @Test func republishHeadersAndMQTT5PropertyFunctions() throws {
        let running = try Running("""
            {"rules": [{"name": "reply", "sql": "SELECT get_user_properties('site') AS sites, get_mqtt_property('content_type') AS type FROM 'req/+'",
                        "actions": [{"republish": {"topic": "resp/${topic(2)}", "qos": 1, "headers": {
                            "payloadFormatIndicator": "UTF8_DATA", "contentType": "application/json",
                            "responseTopic": "req/${topic(2)}", "correlationData": "${encode(clientid(), 'base64')}",
                            "messageExpiry": "120", "userProperties": [{"key": "from", "value": "${clientid()}"}]}}}]}]}
            """)
        let (sub, _) = try running.broker.client5("sub")
        try sub.subscribe("resp/#", qos: .atLeastOnce)
        let (pub, _) = try running.broker.client5("dev-9")
        var properties = Properties()
        properties.userProperties = [.init("site", "7")]
        properties.contentType = "text/csv"
        try pub.publish("req/7", "{}", qos: .atLeastOnce, properties: properties)
        let reply = try sub.receivePublish()
        #expect(reply.topic == "resp/7")
        #expect(reply.text == "{\"sites\":[\"7\"],\"type\":\"text/csv\"}")
        #expect(reply.properties.payloadFormatIndicator == 1)
        #expect(reply.properties.contentType == "application/json")
        #expect(reply.properties.responseTopic == "req/7")
        #expect(reply.properties.correlationData == Array("dev-9".utf8))
        #expect((reply.properties.messageExpiryInterval ?? 0) > 110)
        #expect(reply.properties.userProperties == [.init("from", "dev-9")])
    }
}
