import Foundation
import HydrantTesting
import Testing

/// The article's flow (../shared/mqtt-iot-core-article.txt) with the stock Mosquitto clients.
@Suite(.timeLimit(.minutes(1))) struct MosquittoClientTests {
    @Test func articleTopicsAndWildcards() throws {
        let daemon = try Daemon()
        let status = try E2E.subscriber(daemon, ["-t", "factory/+/machine/+/status", "-v", "-C", "2", "-W", "20"], filter: "factory/+/machine/+/status")
        let factory = try E2E.subscriber(daemon, ["-t", "factory/#", "-v", "-C", "3", "-W", "20"], filter: "factory/#")
        let exact = try E2E.subscriber(daemon, ["-t", "factory/1/machine/2/status", "-v", "-C", "1", "-W", "20"], filter: "factory/1/machine/2/status")
        for (topic, message) in [
            ("factory/1/machine/2/status", "{\"state\":\"running\"}"),
            ("factory/1/machine/1/alerts", "{\"severity\":4}"),
            ("office/7/machine/23/status", "{\"state\":\"idle\"}"),
            ("factory/2/machine/3/status", "{\"state\":\"stopped\"}"),
        ] {
            try E2E.publish(daemon, ["-t", topic, "-m", message, "-q", "1"])
        }
        for sub in [status, factory, exact] { try sub.waitForExit(timeout: 20) }
        #expect(status.stdoutLines == [
            "factory/1/machine/2/status {\"state\":\"running\"}",
            "factory/2/machine/3/status {\"state\":\"stopped\"}",
        ])
        #expect(factory.stdoutLines == [
            "factory/1/machine/2/status {\"state\":\"running\"}",
            "factory/1/machine/1/alerts {\"severity\":4}",
            "factory/2/machine/3/status {\"state\":\"stopped\"}",
        ])
        #expect(exact.stdoutLines == ["factory/1/machine/2/status {\"state\":\"running\"}"])
        #expect(try daemon.stop() == 0)
    }

    @Test(arguments: ["0", "1", "2"])
    func eachQoSEndToEnd(_ qos: String) throws {
        let daemon = try Daemon()
        let sub = try E2E.subscriber(daemon, ["-t", "q/#", "-q", qos, "-F", "%t %q %p", "-C", "20", "-W", "20"], filter: "q/#")
        for index in 0..<20 { try E2E.publish(daemon, ["-t", "q/\(index)", "-m", "m\(index)", "-q", qos]) }
        try sub.waitForExit(timeout: 20)
        #expect(sub.stdoutLines == (0..<20).map { "q/\($0) \(qos) m\($0)" })
        #expect(try daemon.stop() == 0)
    }

    @Test func retainedSetOverwriteAndClear() throws {
        let daemon = try Daemon()
        try E2E.publish(daemon, ["-t", "factory/1/machine/2/status", "-m", "on", "-r", "-q", "1"])
        try E2E.publish(daemon, ["-t", "factory/1/machine/2/status", "-m", "off", "-r", "-q", "1"])
        let first = try E2E.subscribe(daemon, ["-t", "factory/+/machine/+/status", "-F", "%t %r %p", "-C", "1", "-W", "5"])
        #expect(first.stdoutLines == ["factory/1/machine/2/status 1 off"])
        try E2E.publish(daemon, ["-t", "factory/1/machine/2/status", "-n", "-r", "-q", "1"])
        let second = try E2E.subscribe(daemon, ["-t", "factory/#", "-F", "%t %r %p", "-W", "1"])
        #expect(second.stdoutLines.isEmpty)
        #expect(try daemon.stop() == 0)
    }

    @Test func persistentSessionGetsWhatItMissed() throws {
        let daemon = try Daemon()
        let setup = try E2E.subscribe(daemon, ["-i", "alert-logger", "-c", "-q", "1", "-t", "factory/+/machine/+/alerts", "-W", "1"])
        #expect(setup.stdoutLines.isEmpty)
        for index in 1...3 {
            try E2E.publish(daemon, ["-t", "factory/\(index)/machine/1/alerts", "-m", "alert \(index)", "-q", "1"])
        }
        let back = try E2E.subscribe(daemon, ["-i", "alert-logger", "-c", "-q", "1", "-t", "factory/+/machine/+/alerts", "-C", "3", "-W", "10"], timeout: 15)
        #expect(back.stdoutLines == ["alert 1", "alert 2", "alert 3"])
        #expect(daemon.log.contains("client connected client=alert-logger") && daemon.log.contains("session_present=true"))
        #expect(try daemon.stop() == 0)
    }

    @Test func willOnKill() throws {
        let daemon = try Daemon()
        let watcher = try E2E.subscriber(daemon, ["-t", "wills/#", "-v", "-C", "1", "-W", "20"], filter: "wills/#")
        let device = try E2E.subscriber(daemon, ["-i", "device-9", "-t", "commands/device-9", "--will-topic", "wills/device-9", "--will-payload", "device-9 lost", "--will-qos", "1"], filter: "commands/device-9")
        device.kill(SIGKILL)
        try watcher.waitForExit(timeout: 20)
        #expect(watcher.stdoutLines == ["wills/device-9 device-9 lost"])
        #expect(try daemon.stop() == 0)
    }

    @Test func sysTopics() throws {
        let daemon = try Daemon(["--sys-interval", "1"])
        let sys = try E2E.subscribe(daemon, ["-t", "$SYS/broker/#", "-v", "-C", "12", "-W", "10"], timeout: 15)
        let topics = Set(sys.stdoutLines.map { String($0.split(separator: " ", maxSplits: 1)[0]) })
        for name in ["version", "uptime", "clients/connected", "clients/total", "messages/received", "messages/sent",
                     "publish/messages/dropped", "publish/messages/resent", "subscriptions/count", "load/bytes/received", "load/bytes/sent"] {
            #expect(topics.contains("$SYS/broker/" + name), "\(name) missing from \(topics)")
        }
        #expect(sys.stdout.contains("$SYS/broker/retained messages/count"))
        #expect(try daemon.stop() == 0)
    }
}
