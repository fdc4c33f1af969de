import Foundation
import HydrantTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// MQTT 5 against the daemon with real clients (issue #13): paho-mqtt's v5 client and
/// `mosquitto_pub`/`mosquitto_sub -V 5`, unchanged.
@Suite(.timeLimit(.minutes(3))) struct MQTT5EndToEndTests {
    @Test(arguments: ["properties", "options", "aliases", "shared", "willdelay"])
    func paho5(_ check: String) throws {
        let daemon = try Daemon(logLevel: "info")
        let result = try E2E.paho5(check, daemon)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("ok "), "\(result.stdout)")
        #expect(try daemon.stop() == 0)
    }

    @Test func receiveMaximumExceededWithARawClient() throws {
        let daemon = try Daemon(["--receive-maximum", "3"], logLevel: "info")
        let result = try E2E.paho5("receive-maximum", daemon)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(daemon.log.contains("Receive Maximum"))
        #expect(try daemon.stop() == 0)
    }

    /// Session expiry measured across a restart: the 1 s session is gone after the
    /// daemon was down 2.5 s, the 600 s one is still there.
    @Test func sessionExpiryAcrossADaemonRestart() throws {
        let data = try TemporaryDirectory(prefix: "hydrant-e2e5")
        defer { data.remove() }
        let first = try Daemon(logLevel: "info", dataDirectory: data)
        let setup = try E2E.paho5("session-setup", first)
        #expect(setup.status == 0, "\(setup.stdout)\(setup.stderr)")
        #expect(try first.stop() == 0)
        Thread.sleep(forTimeInterval: 2.5)
        let second = try Daemon(logLevel: "info", dataDirectory: data)
        let check = try E2E.paho5("session-check", second)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(second.log.contains("sessions expired while the broker was down count=1"))
        #expect(try second.stop() == 0)
    }

    @Test func mosquittoClientsWithUserPropertiesExpiryAndResponseTopic() throws {
        let daemon = try Daemon()
        let sub = try E2E.subscriber(daemon, ["-V", "5", "-t", "m5/#", "-F", "%t|%p|%P|%E|%R|%C", "-C", "1", "-W", "10"], filter: "m5/#")
        try E2E.publish(daemon, [
            "-V", "5", "-t", "m5/1", "-m", "hello", "-q", "1",
            "-D", "publish", "user-property", "site", "7",
            "-D", "publish", "message-expiry-interval", "60",
            "-D", "publish", "response-topic", "m5/replies",
            "-D", "publish", "content-type", "text/plain",
        ])
        try sub.waitForExit(timeout: 15)
        let line = sub.stdoutLines.first ?? ""
        let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(fields.count == 6, "\(line)")
        if fields.count == 6 {
            #expect(fields[0] == "m5/1" && fields[1] == "hello")
            #expect(fields[2] == "site:7")
            #expect((Int(fields[3]) ?? 0) > 50 && (Int(fields[3]) ?? 0) <= 60)
            #expect(fields[4] == "m5/replies")
            #expect(fields[5] == "text/plain")
        }
        #expect(try daemon.stop() == 0)
    }

    /// Three `mosquitto_sub -V 5` in one shared group: six messages, two each.
    @Test func mosquittoSharedSubscriptionAcrossThreeClients() throws {
        let daemon = try Daemon()
        var members: [ChildProcess] = []
        for index in 0..<3 {
            members.append(try E2E.subscriber(daemon, ["-V", "5", "-i", "member-\(index)", "-t", "$share/g/jobs", "-C", "2", "-W", "15"], filter: "$share/g/jobs"))
        }
        for n in 0..<6 { try E2E.publish(daemon, ["-V", "5", "-t", "jobs", "-m", "job-\(n)", "-q", "1"]) }
        var all: [String] = []
        for member in members {
            try member.waitForExit(timeout: 20)
            #expect(member.stdoutLines.count == 2, "\(member.stdoutLines)")
            all += member.stdoutLines
        }
        #expect(Set(all) == Set((0..<6).map { "job-\($0)" }))
        #expect(try daemon.stop() == 0)
    }

    /// mosquitto_sub -V 5 with a session expiry: offline QoS 1 messages are kept for it.
    @Test func mosquittoSessionExpiryKeepsOfflineMessages() throws {
        let daemon = try Daemon()
        let setup = try E2E.subscribe(daemon, ["-V", "5", "-i", "keeper", "-c", "-x", "300", "-q", "1", "-t", "keep/#", "-E"])
        #expect(setup.status == 0, "\(setup.stderr)")
        try E2E.publish(daemon, ["-V", "5", "-t", "keep/1", "-m", "while-away", "-q", "1"])
        let back = try E2E.subscribe(daemon, ["-V", "5", "-i", "keeper", "-c", "-x", "300", "-q", "1", "-t", "keep/#", "-C", "1", "-W", "10"])
        #expect(back.stdoutLines == ["while-away"])
        #expect(try daemon.stop() == 0)
    }
}
