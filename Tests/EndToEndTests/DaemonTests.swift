import Foundation
import HydrantTesting
import MQTT
import Testing

/// The daemon as a process: CLI contract, signals, logs, and raw protocol violations.
@Suite(.timeLimit(.minutes(1))) struct DaemonTests {
    @Test func versionAndHelp() throws {
        let version = try ChildProcess.run(Daemon.executablePath, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("hydrant "))
        let help = try ChildProcess.run(Daemon.executablePath, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("usage: hydrant run"))
    }

    @Test(arguments: [
        (["run", "--port", "abc"], "--port must be an integer"),
        (["run", "--port"], "--port needs a value"),
        (["run", "--bogus"], "unknown option '--bogus'"),
        (["run", "--log-level", "loud"], "--log-level must be"),
        (["fly"], "unknown command 'fly'"),
        ([], "usage: hydrant"),
    ])
    func usageErrorsExit2(_ arguments: [String], _ message: String) throws {
        let result = try ChildProcess.run(Daemon.executablePath, arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message))
        #expect(result.stderr.contains("usage: hydrant"))
    }

    /// `--config` with two listeners: a client on one reaches a subscriber on the other.
    @Test func configFileWithTwoListeners() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-config")
        defer { directory.remove() }
        let config = directory.path + "/hydrant.json"
        try FileManager.default.createDirectory(atPath: directory.path + "/none", withIntermediateDirectories: true)
        try """
            // Two plain listeners on ephemeral loopback ports.
            {
              "listeners": [{"host": "127.0.0.1", "port": 0}, {"host": "127.0.0.1", "port": 0, "protocol": "mqtt"}],
              "data": "\(directory.path)/data", "pipelines": "\(directory.path)/none", "migrations": "\(directory.path)/none",
              "logLevel": "info"
            }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try ChildProcess(Daemon.executablePath, ["run", "--config", config])
        var ports: [Int] = []
        try process.waitFor("two listeners", timeout: 20) { child in
            ports = child.stderr.components(separatedBy: "listening address=127.0.0.1:").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
            return ports.count == 2 || !child.isRunning
        }
        try #require(ports.count == 2, "\(process.stderr)")
        let sub = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(ports[0])", "-t", "both/#", "-C", "1", "-W", "10"])
        Thread.sleep(forTimeInterval: 0.5)
        let pub = try ChildProcess.run("mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(ports[1])", "-t", "both/1", "-m", "across", "-q", "1"], timeout: 10)
        #expect(pub.status == 0, "\(pub.stderr)")
        try sub.waitForExit(timeout: 15)
        #expect(sub.stdoutLines == ["across"])
        process.kill(SIGTERM)
        try process.waitForExit(timeout: 30)
        #expect(process.status == 0)
    }

    /// Mosquitto 2.0's safe default: a listener other machines can reach, no authentication,
    /// no allowAnonymous → the daemon does not start, and says how to fix it.
    @Test func anonymousListenerOnOtherInterfacesIsRefused() throws {
        let result = try ChildProcess.run(Daemon.executablePath, ["run", "--host", "0.0.0.0", "--port", "0"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is reachable from other machines"))
        #expect(result.stderr.contains("allowAnonymous"))
        let badConfig = try ChildProcess.run(Daemon.executablePath, ["run", "--config", "/nonexistent/hydrant.json"])
        #expect(badConfig.status == 1)
        #expect(badConfig.stderr.contains("cannot read the configuration file"))
    }

    @Test func portInUseExits1WithTheAddress() throws {
        let daemon = try Daemon()
        let second = try ChildProcess.run(Daemon.executablePath, ["run", "--port", "\(daemon.port)", "--data", daemon.dataDirectory.path])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(daemon.port)"))
        #expect(try daemon.stop() == 0)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalsStopCleanly(_ signal: Int32) throws {
        let daemon = try Daemon()
        let client = try TestClient(port: daemon.port)
        try client.connect(clientId: "connected-at-shutdown")
        daemon.process.kill(signal)
        try daemon.process.waitForExit(timeout: 10)
        #expect(daemon.process.status == 0)
        #expect(!daemon.process.terminatedBySignal)
        #expect(daemon.log.contains("broker stopped connections_closed=1"))
        #expect(client.waitForClose())
    }

    @Test func logsNameClientsButNeverPayloads() throws {
        let daemon = try Daemon(logLevel: "info")
        try E2E.publish(daemon, ["-i", "sensor-42", "-t", "factory/1/machine/2/status", "-m", "SECRET-PAYLOAD-TEXT", "-q", "1"])
        try daemon.stop()
        #expect(daemon.log.contains("client connected client=sensor-42"))
        #expect(!daemon.log.contains("SECRET-PAYLOAD-TEXT"))
        for line in daemon.log.split(separator: "\n") {
            #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) "#, options: .regularExpression) != nil, "\(line)")
        }
    }

    struct Violation: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let logged: String
        var testDescription: String { name }
    }

    /// Raw bytes a broken client might send (Mosquitto's 13-malformed-* idea): each closes
    /// that connection with a logged reason, and the daemon keeps serving.
    @Test(arguments: [
        Violation(name: "garbage", bytes: [0xFF, 0xFF, 0xFF], logged: "reserved packet type 15"),
        Violation(name: "HTTP request", bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8), logged: "invalid fixed header flags"),
        Violation(name: "5-byte length", bytes: [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], logged: "malformed remaining length"),
        Violation(name: "oversized", bytes: [0x10, 0xFF, 0xFF, 0xFF, 0x7F], logged: "exceeds the maximum"),
        Violation(name: "publish before connect", bytes: [0x30, 0x03, 0, 1, 0x61], logged: "first packet is PUBLISH, not CONNECT"),
        Violation(name: "bad protocol name", bytes: [0x10, 0x0D, 0, 4] + Array("MQTX".utf8) + [4, 2, 0, 60, 0, 1, 0x61], logged: "unacceptable protocol MQTX"),
    ])
    func protocolViolations(_ violation: Violation) throws {
        let daemon = try Daemon()
        let bad = try TestClient(port: daemon.port)
        bad.sendRaw(violation.bytes)
        #expect(bad.waitForClose())
        try daemon.process.waitFor("the violation in the log", timeout: 5) { _ in daemon.log.contains(violation.logged) }
        let sub = try E2E.subscriber(daemon, ["-t", "still/up", "-C", "1", "-W", "10"], filter: "still/up")
        try E2E.publish(daemon, ["-t", "still/up", "-m", "yes"])
        try sub.waitForExit(timeout: 10)
        #expect(sub.stdoutLines == ["yes"])
        #expect(try daemon.stop() == 0)
    }

    @Test func keepaliveTimeoutAgainstTheDaemon() throws {
        let daemon = try Daemon()
        let client = try TestClient(port: daemon.port)
        try client.connect(clientId: "silent", keepAlive: 1)
        #expect(client.waitForClose(timeout: 4))
        try daemon.process.waitFor("the keepalive log line", timeout: 5) { _ in
            daemon.log.contains("client disconnected client=silent reason=\"keepalive timeout")
        }
        #expect(try daemon.stop() == 0)
    }
}

/// Broker state that survives `kill -9` (issue #7 starts here: retained messages).
@Suite(.timeLimit(.minutes(1))) struct DurableStateTests {
    @Test func retainedMessagesSurviveKillNine() throws {
        let data = try TemporaryDirectory(prefix: "hydrant-retained")
        defer { data.remove() }
        let first = try Daemon([], logLevel: "info", dataDirectory: data)
        try E2E.publish(first, ["-t", "factory/1/machine/2/status", "-m", "{\"state\":\"stopped\"}", "-r", "-q", "1"])
        try E2E.publish(first, ["-t", "factory/1/machine/3/status", "-m", "{\"state\":\"running\"}", "-r", "-q", "1"])
        try E2E.publish(first, ["-t", "factory/1/machine/3/status", "-n", "-r", "-q", "1"])
        first.process.kill(SIGKILL)
        try first.process.waitForExit(timeout: 10)
        let second = try Daemon([], logLevel: "info", dataDirectory: data)
        #expect(second.log.contains("retained messages restored count=1"))
        let sub = try E2E.subscribe(second, ["-t", "factory/+/machine/+/status", "-v", "-F", "%t %r %p", "-W", "1"])
        #expect(sub.stdoutLines == ["factory/1/machine/2/status 1 {\"state\":\"stopped\"}"])
        #expect(try second.stop() == 0)
    }
}

/// The fuzz targets (issue #14) replay their seed corpus without trapping.
@Suite(.timeLimit(.minutes(1))) struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../FuzzCorpus").path

    @Test(arguments: ["mqtt311", "mqtt5", "json", "sql", "pipeline", "config", "acl", "policy"])
    func seedsReplay(_ target: String) throws {
        let binary = (Daemon.executablePath as NSString).deletingLastPathComponent + "/hydrant-fuzz"
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus + "/" + target).sorted().map { Self.corpus + "/" + target + "/" + $0 }
        try #require(!files.isEmpty)
        let result = try ChildProcess.run(binary, [target] + files, timeout: 30)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("replayed \(files.count) input"))
    }
}
