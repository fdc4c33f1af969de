import HydrantTesting
import Testing

/// paho-mqtt (Python) against the daemon, unchanged client code.
@Suite(.timeLimit(.minutes(2))) struct PahoTests {
    @Test func qos2ExactlyOnce() throws {
        let daemon = try Daemon(logLevel: "info")
        let result = try E2E.paho("qos2", daemon, ["500"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("received=500 duplicates=0 missing=0 qos2=True"))
        #expect(try daemon.stop() == 0)
    }

    @Test func persistentSession() throws {
        let daemon = try Daemon()
        let result = try E2E.paho("persistent", daemon)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try daemon.stop() == 0)
    }

    @Test func sessionTakeover() throws {
        let daemon = try Daemon()
        let result = try E2E.paho("takeover", daemon)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(daemon.log.contains("session taken over"))
        #expect(try daemon.stop() == 0)
    }

    @Test func willWithQoSAndRetain() throws {
        let daemon = try Daemon()
        let result = try E2E.paho("will", daemon)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let retained = try E2E.subscribe(daemon, ["-t", "factory/1/machine/9/status", "-F", "%r %p", "-C", "1", "-W", "5"])
        #expect(retained.stdoutLines == ["1 offline"])
        #expect(try daemon.stop() == 0)
    }
}
