import Foundation
import HydrantTesting
import Testing

/// Rules in a running daemon, fed and read by unchanged MQTT clients.
@Suite(.timeLimit(.minutes(1))) struct RulesEndToEndTests {
    static let pipeline = """
        // Alerts of every machine, reshaped and republished; failures to an error topic.
        {
          "rules": [{
            "name": "machine_alerts",
            "sql": "SELECT severity, topic(2) AS factory, topic(4) AS machine, upper(kind) AS kind FROM 'factory/+/machine/+/alerts' WHERE severity >= 3",
            "actions": [{ "republish": { "topic": "ops/alerts/${topic(2)}/${topic(4)}", "qos": 1 } }],
            "errorAction": { "republish": { "topic": "rule-errors/machine_alerts" } },
            "tests": [
              { "topic": "factory/1/machine/7/alerts", "payload": {"severity": 4, "kind": "heat"}, "expect": [{"severity": 4, "factory": "1", "machine": "7", "kind": "HEAT"}] },
              { "topic": "factory/1/machine/7/alerts", "payload": {"severity": 1}, "expect": [] },
              { "topic": "factory/1/machine/7/alerts", "payload": "not json", "expectError": "not valid JSON" }
            ]
          }, {
            "name": "raw_images",
            "sql": "SELECT encode(*, 'base64') AS data, topic(2) AS camera FROM 'camera/+/image'",
            "actions": [{ "republish": { "topic": "ops/images" } }]
          }]
        }
        """

    func writePipeline(_ text: String, name: String = "factory.json") throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "hydrant-pipelines")
        try text.write(toFile: directory.path + "/" + name, atomically: true, encoding: .utf8)
        return directory
    }

    @Test func republishesReshapedRecordsAndRoutesErrors() throws {
        let pipelines = try writePipeline(Self.pipeline)
        defer { pipelines.remove() }
        let daemon = try Daemon(["--pipelines", pipelines.path, "--sys-interval", "1"])
        #expect(daemon.log.contains("pipelines loaded"))
        let alerts = try E2E.subscriber(daemon, ["-t", "ops/#", "-v", "-C", "2", "-W", "20"], filter: "ops/#")
        let errors = try E2E.subscriber(daemon, ["-t", "rule-errors/#", "-C", "2", "-W", "20"], filter: "rule-errors/#")
        try E2E.publish(daemon, ["-t", "factory/1/machine/7/alerts", "-m", "{\"severity\": 1, \"kind\": \"noise\"}", "-q", "1"])
        try E2E.publish(daemon, ["-i", "press-7", "-t", "factory/1/machine/7/alerts", "-m", "{\"severity\": 4, \"kind\": \"heat\"}", "-q", "1"])
        try E2E.publish(daemon, ["-i", "press-7", "-t", "factory/1/machine/7/alerts", "-m", "definitely not json"])
        try E2E.publish(daemon, ["-i", "press-7", "-t", "factory/1/machine/7/alerts", "-m", "{\"severity\": 5,"])
        try E2E.publish(daemon, ["-t", "camera/3/image", "-m", "\u{01}\u{02}binary"])
        try alerts.waitForExit(timeout: 20)
        try errors.waitForExit(timeout: 20)
        #expect(alerts.stdoutLines == [
            "ops/alerts/1/7 {\"severity\":4,\"factory\":\"1\",\"machine\":\"7\",\"kind\":\"HEAT\"}",
            "ops/images {\"data\":\"AQJiaW5hcnk=\",\"camera\":\"3\"}",
        ])
        #expect(errors.stdoutLines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(errors.stdoutLines[0].utf8)) as? [String: Any]
        #expect(first?["ruleName"] as? String == "machine_alerts")
        #expect(first?["clientId"] as? String == "press-7")
        #expect(first?["topic"] as? String == "factory/1/machine/7/alerts")
        #expect(first?["base64OriginalPayload"] as? String == Data("definitely not json".utf8).base64EncodedString())
        let failure = (first?["failures"] as? [[String: Any]])?.first
        #expect((failure?["errorMessage"] as? String)?.contains("payload is not valid JSON") == true)
        #expect(errors.stdoutLines[1].contains("payload is not valid JSON: unterminated object at byte 15"))
        // Counters in $SYS: 4 matched, 1 filtered, 2 failed, 1 output.
        let sys = try E2E.subscribe(daemon, ["-t", "$SYS/hydrant/rules/machine_alerts/#", "-v", "-C", "4", "-W", "5"])
        #expect(Set(sys.stdoutLines) == [
            "$SYS/hydrant/rules/machine_alerts/matched 4", "$SYS/hydrant/rules/machine_alerts/passed 1",
            "$SYS/hydrant/rules/machine_alerts/failed 2", "$SYS/hydrant/rules/machine_alerts/outputs 1",
        ])
        #expect(daemon.log.contains("rule failed rule=machine_alerts client=press-7"))
        #expect(try daemon.stop() == 0)
    }

    @Test func republishChainsStopAtTheHopLimit() throws {
        // Two rules feeding each other through dynamic topics (the loader cannot see the
        // loop): the chain stops after 8 republications and the refusal is counted.
        let pipelines = try writePipeline("""
            {"rules": [
              {"name": "ping", "sql": "SELECT * FROM 'loop/a'", "actions": [{"republish": {"topic": "loop/${'b'}"}}]},
              {"name": "pong", "sql": "SELECT * FROM 'loop/b'", "actions": [{"republish": {"topic": "loop/${'a'}"}}]}
            ]}
            """)
        defer { pipelines.remove() }
        let daemon = try Daemon(["--pipelines", pipelines.path, "--sys-interval", "1"])
        let watcher = try E2E.subscriber(daemon, ["-t", "loop/#", "-v", "-W", "3"], filter: "loop/#")
        try E2E.publish(daemon, ["-t", "loop/a", "-m", "{\"n\": 1}"])
        try watcher.waitForExit(timeout: 10)
        #expect(watcher.stdoutLines.count == 9)
        try daemon.process.waitFor("the refusal in the log", timeout: 5) { _ in daemon.log.contains("republish refused: message already republished 8 times") }
        let failed = try E2E.subscribe(daemon, ["-t", "$SYS/hydrant/rules/+/failed", "-v", "-C", "2", "-W", "5"])
        #expect(Set(failed.stdoutLines) == ["$SYS/hydrant/rules/ping/failed 1", "$SYS/hydrant/rules/pong/failed 0"])
        #expect(try daemon.stop() == 0)
    }

    @Test func pahoPublishesJSONAndGetsTheTransformedMessage() throws {
        let pipelines = try writePipeline(Self.pipeline)
        defer { pipelines.remove() }
        let daemon = try Daemon(["--pipelines", pipelines.path])
        let sub = try E2E.subscriber(daemon, ["-t", "ops/alerts/#", "-q", "1", "-C", "1", "-W", "20"], filter: "ops/alerts/#")
        let script = "import paho.mqtt.publish as p; p.single('factory/9/machine/3/alerts', '{\"severity\": 3, \"kind\": \"jam\"}', qos=1, hostname='127.0.0.1', port=\(daemon.port))"
        let paho = try ChildProcess.run("python3", ["-c", script], timeout: 20)
        #expect(paho.status == 0, "\(paho.stderr)")
        try sub.waitForExit(timeout: 20)
        #expect(sub.stdoutLines == ["{\"severity\":3,\"factory\":\"9\",\"machine\":\"3\",\"kind\":\"JAM\"}"])
        #expect(try daemon.stop() == 0)
    }

    @Test func invalidPipelineStopsStartupNamingEachProblem() throws {
        let pipelines = try writePipeline("{\n  \"rules\": [{\"name\": \"r\", \"sql\": \"SELECT * FORM 'x'\", \"actions\": [{\"stream\": \"none\"}]}]\n}", name: "broken.json")
        defer { pipelines.remove() }
        let result = try ChildProcess.run(Daemon.executablePath, ["run", "--port", "0", "--pipelines", pipelines.path, "--data", pipelines.path + "/data"], timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr.contains("broken.json:2:44: invalid SQL: expected FROM, found 'FORM'"))
        #expect(result.stderr.contains("broken.json:2:78: unknown stream 'none'"))
        #expect(result.stderr.contains("not starting: 2 problems"))
    }

    @Test func sqliteStreamIntoAMissingTableStopsStartup() throws {
        let pipelines = try writePipeline("""
            {"rules": [{"name": "to_table", "sql": "SELECT * FROM 'a/#'", "actions": [{"stream": "table"}]}],
             "streams": [{"name": "table", "destination": {"sqlite": {"table": "nowhere"}}}]}
            """)
        defer { pipelines.remove() }
        let result = try ChildProcess.run(Daemon.executablePath, ["run", "--port", "0", "--pipelines", pipelines.path, "--data", pipelines.path + "/data", "--migrations", pipelines.path], timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr.contains("not starting: stream 'table'"))
        #expect(result.stderr.contains("no such table: nowhere (create it in Migrations/)"))
    }

    @Test func rulesTestCommandRunsTheCasesInTheFiles() throws {
        let pipelines = try writePipeline(Self.pipeline)
        defer { pipelines.remove() }
        let pass = try ChildProcess.run(Daemon.executablePath, ["rules", "test", "--pipelines", pipelines.path], timeout: 20)
        #expect(pass.status == 0, "\(pass.stdout)")
        #expect(pass.stdoutLines.filter { $0.hasPrefix("PASS machine_alerts #") }.count == 3)
        #expect(pass.stdoutLines.last == "3 passed, 0 failed")
        let failing = Self.pipeline.replacingOccurrences(of: "\"kind\": \"HEAT\"}]", with: "\"kind\": \"heat\"}]")
        let broken = try writePipeline(failing)
        defer { broken.remove() }
        let fail = try ChildProcess.run(Daemon.executablePath, ["rules", "test", "--pipelines", broken.path], timeout: 20)
        #expect(fail.status == 1)
        #expect(fail.stdout.contains("FAIL machine_alerts #1 (\(broken.path)/factory.json:"))
        let validate = try ChildProcess.run(Daemon.executablePath, ["rules", "validate", "--pipelines", pipelines.path], timeout: 20)
        #expect(validate.status == 0)
        #expect(validate.stdout.contains("ok: 2 rules, 0 streams in 1 files"))
    }

    @Test func evalCommand() throws {
        let result = try ChildProcess.run(Daemon.executablePath, ["rules", "eval", "--sql", "SELECT temp, topic(2) AS f FROM 'x/+/y' WHERE temp > 50", "--topic", "x/7/y", "--payload", "{\"temp\": 60}"])
        #expect(result.status == 0)
        #expect(result.stdout == "{\"temp\":60,\"f\":\"7\"}\n")
        let bad = try ChildProcess.run(Daemon.executablePath, ["rules", "eval", "--sql", "SELECT FROM 'x'", "--topic", "x", "--payload", "{}"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("^ expected an expression, found FROM"))
    }
}

/// The example pipeline shipped in Pipelines/ stays valid and its test cases pass.
@Suite(.timeLimit(.minutes(1))) struct ShippedPipelineTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func examplePipelineTestsPass() throws {
        let result = try ChildProcess.run(Daemon.executablePath, ["rules", "test", "--pipelines", Self.repository + "/Pipelines"], timeout: 20)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdoutLines.last == "6 passed, 0 failed")
    }

    @Test func daemonRunsTheExamplePipeline() throws {
        let data = try TemporaryDirectory(prefix: "hydrant-example")
        defer { data.remove() }
        let daemon = try Daemon(["--pipelines", Self.repository + "/Pipelines"], dataDirectory: data)
        let ops = try E2E.subscriber(daemon, ["-t", "ops/#", "-v", "-C", "2", "-W", "20"], filter: "ops/#")
        try E2E.publish(daemon, ["-t", "factory/1/machine/2/alerts", "-m", "{\"severity\": 5, \"code\": \"FIRE\"}", "-q", "1"])
        try E2E.publish(daemon, ["-t", "factory/2/machine/7/status", "-m", "{\"state\": \"idle\"}", "-q", "1"])
        try ops.waitForExit(timeout: 20)
        #expect(ops.stdoutLines.count == 2)
        #expect(ops.stdoutLines.first?.hasPrefix("ops/alerts/factory/1 {\"severity\":5,\"code\":\"FIRE\",\"factory\":\"1\",\"machine\":\"2\",\"received_at\":") == true)
        #expect(ops.stdoutLines.last == "ops/state/2/7 {\"factory\":\"2\",\"machine\":\"7\",\"state\":\"idle\",\"code\":0}")
        try E2E.publish(daemon, ["-t", "factory/3/machine/1/status", "-m", "garbled", "-q", "1"])
        #expect(try daemon.stop() == 0)
        // Status and alerts in the lake, partitioned by factory and hour; the garbled
        // message as an IoT error record in rule-errors.
        let lake = data.path + "/lake"
        let files = FileManager.default.enumerator(atPath: lake)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".ndjson") } ?? []
        #expect(files.contains { $0.hasPrefix("machine-status/factory=2/dt=") && $0.contains("/hour=") })
        #expect(files.contains { $0.hasPrefix("machine-alerts/factory=1/dt=") })
        #expect(files.contains { $0.hasPrefix("rule-errors/dt=") })
    }
}
