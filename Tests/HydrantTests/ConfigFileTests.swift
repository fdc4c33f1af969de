import Broker
import Foundation
import Testing

@testable import Hydrant

/// `hydrant run --config FILE` (issue #14): every flag has a key, flags override the file,
/// unknown keys and bad values are errors with file:line:col.
@Suite struct ConfigFileTests {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "hydrant-config-\(UUID().uuidString).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func problems(_ text: String) throws -> [String] {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try RunOptions.resolve(["--config", path])
            return []
        } catch let error as ConfigErrors {
            return error.problems.map { $0.replacingOccurrences(of: path, with: "c.json") }
        }
    }

    @Test func everyKeyIsRead() throws {
        let path = try write("""
            // The daemon's settings; flags override them.
            {
              "host": "127.0.0.2", "port": 1884, "data": "/tmp/d", "pipelines": "/tmp/p", "migrations": "/tmp/m",
              "logLevel": "debug", "sysInterval": 0, "maxPacketSize": 2048, "maxInflight": 5, "maxQueued": 7,
              "maxConnections": 9, "maxWriteBuffer": 4096, "shutdownTimeout": 12, "persistence": false,
              "maxKeepalive": 60, "maxTopicLevels": 8, "maxTopicAlias": 0, "receiveMaximum": 20, "allowAnonymous": true
            }
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = try RunOptions.resolve(["--config", path])
        #expect(options.broker.host == "127.0.0.2" && options.broker.port == 1884)
        #expect(options.dataDirectory == "/tmp/d" && options.pipelinesDirectory == "/tmp/p" && options.migrationsDirectory == "/tmp/m")
        #expect(options.pipelinesGiven && options.migrationsGiven)
        #expect(options.logLevel == .debug && options.broker.sysInterval == 0)
        #expect(options.broker.maxPacketSize == 2048 && options.broker.maxInflight == 5 && options.broker.maxQueuedMessages == 7)
        #expect(options.broker.maxConnections == 9 && options.broker.maxWriteBuffer == 4096 && options.shutdownTimeout == 12)
        #expect(options.persistence == false && options.allowAnonymous)
        #expect(options.broker.maxKeepAlive == 60 && options.broker.maxTopicLevels == 8 && options.broker.maxTopicAlias == 0 && options.broker.receiveMaximum == 20)
        // Flags override the file.
        let overridden = try RunOptions.resolve(["--config", path, "--max-inflight", "9", "--log-level=error"])
        #expect(overridden.broker.maxInflight == 9 && overridden.logLevel == .error)
        #expect(overridden.broker.maxQueuedMessages == 7)
    }

    @Test func listenersAndTheFlagsThatReplaceThem() throws {
        let path = try write(#"{"listeners": [{"host": "127.0.0.1", "port": 1883}, {"port": 1884, "protocol": "mqtt"}]}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = try RunOptions.resolve(["--config", path])
        #expect(options.broker.effectiveListeners == [.init(host: "127.0.0.1", port: 1883), .init(host: "127.0.0.1", port: 1884)])
        let one = try RunOptions.resolve(["--config", path, "--port", "2000"])
        #expect(one.broker.effectiveListeners == [.init(host: "127.0.0.1", port: 2000)])
    }

    @Test func problemsAreReportedWithTheirPosition() throws {
        #expect(try problems("{\n  \"maxInflihgt\": 5\n}").first?.hasPrefix("c.json:2:3: unknown key 'maxInflihgt'") == true)
        #expect(try problems(#"{"port": 70000}"#) == ["c.json:1:10: port must be an integer in 0...65535, got 70000"])
        #expect(try problems(#"{"persistence": "no"}"#) == [#"c.json:1:17: persistence must be true or false, got "no""#])
        #expect(try problems(#"{"logLevel": "loud"}"#) == ["c.json:1:14: logLevel must be debug, info, warning or error, got 'loud'"])
        #expect(try problems("{\"port\": 1,}") == ["c.json:1:12: invalid JSON: expected a key string"] || (try problems("{\"port\": 1,}")).first?.hasPrefix("c.json:1:") == true)
        #expect(try problems("[1]") == ["c.json:1:1: a configuration file holds a JSON object"])
        #expect(try problems(#"{"listeners": [{"port": 1, "tls": {}}]}"#).first?.contains("TLS listeners are not available in this version yet") == true)
        #expect(try problems(#"{"listeners": [{"port": 1, "protocol": "quic"}]}"#).first?.contains(#"protocol must be "mqtt" or "websocket", got "quic""#) == true)
        #expect(try problems(#"{"listeners": []}"#).first?.contains("listeners must be a non-empty array") == true)
        #expect(try problems(#"{"policies": ""}"#) == ["c.json:1:14: policies must be a non-empty string"])
        #expect(try problems(#"{"passwordFile": 7}"#) == ["c.json:1:18: passwordFile must be a non-empty string"])
        // Several problems at once, in file order.
        #expect(try problems(#"{"port": -1, "sysInterval": "x", "nope": 1}"#).count == 3)
    }

    @Test func aMissingFileIsAnError() {
        #expect(throws: ConfigErrors.self) { try RunOptions.resolve(["--config", "/nonexistent/hydrant.json"]) }
        #expect(HydrantCommand.main(["run", "--config", "/nonexistent/hydrant.json"]) == 1)
    }

    /// Mosquitto 2.0's safe default: no anonymous clients from other machines unless asked.
    @Test func listenersOthersCanReachNeedAllowAnonymous() throws {
        #expect(try RunOptions.resolve([]).anonymousExposure.isEmpty)
        #expect(try RunOptions.resolve(["--host", "0.0.0.0"]).anonymousExposure == [.init(host: "0.0.0.0", port: 1883)])
        #expect(try RunOptions.resolve(["--host", "0.0.0.0", "--allow-anonymous"]).anonymousExposure.isEmpty)
        #expect(try RunOptions.resolve(["--host", "::1"]).anonymousExposure.isEmpty)
        #expect(HydrantCommand.main(["run", "--host", "0.0.0.0", "--port", "0"]) == 1)
    }

    /// The commented example the README points to loads, with the defaults it documents.
    @Test func theShippedExampleLoads() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/hydrant.example.json").path
        let options = try RunOptions.resolve(["--config", example])
        let defaults = try RunOptions.resolve([])
        #expect(options.broker.effectiveListeners == defaults.broker.effectiveListeners)
        #expect(options.broker.maxInflight == defaults.broker.maxInflight && options.broker.maxQueuedMessages == defaults.broker.maxQueuedMessages)
        #expect(options.broker.receiveMaximum == defaults.broker.receiveMaximum && options.shutdownTimeout == defaults.shutdownTimeout)
        #expect(options.anonymousExposure.isEmpty)
    }
}
