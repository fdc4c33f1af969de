import Foundation
import HydrantTesting
import Testing

/// Passwords end to end (issue #14): `hydrant passwd` writes a file the daemon and Debian's
/// mosquitto both accept; right and wrong credentials with the stock clients.
@Suite(.timeLimit(.minutes(2))) struct PasswordEndToEndTests {
    @Test func hydrantPasswdFileWorksInHydrantAndInMosquitto() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-pw")
        defer { directory.remove() }
        let file = directory.path + "/passwd"
        let made = try ChildProcess.run(Daemon.executablePath, ["passwd", "-c", file, "sensor-1", "--password", "s3cret pass"])
        #expect(made.status == 0, "\(made.stderr)")
        _ = try ChildProcess.run(Daemon.executablePath, ["passwd", file, "viewer", "--password", "look"])
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.split(separator: "\n").map { $0.split(separator: ":")[0] } == ["sensor-1", "viewer"])
        #expect(text.contains(":$7$101$"))

        let daemon = try Daemon(["--password-file", file])
        let sub = try E2E.subscriber(daemon, ["-u", "viewer", "-P", "look", "-t", "pw/#", "-C", "1", "-W", "10"], filter: "pw/#")
        try E2E.publish(daemon, ["-u", "sensor-1", "-P", "s3cret pass", "-t", "pw/1", "-m", "ok", "-q", "1"])
        try sub.waitForExit(timeout: 15)
        #expect(sub.stdoutLines == ["ok"])
        for arguments in [["-u", "sensor-1", "-P", "wrong"], ["-u", "nobody", "-P", "x"], []] {
            let refused = try ChildProcess.run("mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(daemon.port)", "-t", "pw/2", "-m", "no"] + arguments, timeout: 10)
            #expect(refused.status != 0, "\(arguments) was accepted")
            #expect(refused.stderr.lowercased().contains("not authorised") || refused.stderr.lowercased().contains("not authorized"), "\(refused.stderr)")
        }
        let refusedV5 = try ChildProcess.run("mosquitto_pub", ["-V", "5", "-h", "127.0.0.1", "-p", "\(daemon.port)", "-t", "pw/2", "-m", "no", "-u", "sensor-1", "-P", "wrong"], timeout: 10)
        #expect(refusedV5.status != 0)
        #expect(refusedV5.stderr.lowercased().contains("bad user name or password"), "\(refusedV5.stderr)")
        #expect(daemon.log.contains("bad user name or password"))
        #expect(try daemon.stop() == 0)

        // The same file in mosquitto (password_file): it accepts the right password only.
        let port = 18_870 + Int.random(in: 0..<20)
        let config = directory.path + "/mosquitto.conf"
        try "listener \(port) 127.0.0.1\nallow_anonymous false\npassword_file \(file)\npersistence false\nuser root\n".write(toFile: config, atomically: true, encoding: .utf8)
        let mosquitto = try ChildProcess("mosquitto", ["-c", config])
        defer { mosquitto.kill(SIGTERM) }
        Thread.sleep(forTimeInterval: 0.5)
        let accepted = try ChildProcess.run("mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(port)", "-u", "sensor-1", "-P", "s3cret pass", "-t", "x", "-m", "y"], timeout: 10)
        #expect(accepted.status == 0, "mosquitto refused a file written by hydrant passwd: \(accepted.stderr) \(mosquitto.stderr)")
        let wrong = try ChildProcess.run("mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(port)", "-u", "sensor-1", "-P", "nope", "-t", "x", "-m", "y"], timeout: 10)
        #expect(wrong.status != 0)
    }

    /// Passwords and an ACL file together, with the stock clients: a denied subscription is
    /// refused in SUBACK, a denied publish never reaches anyone.
    @Test func aclFileWithPasswords() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-acl")
        defer { directory.remove() }
        let passwords = directory.path + "/passwd"
        _ = try ChildProcess.run(Daemon.executablePath, ["passwd", "-c", passwords, "sensor", "--password", "p1"])
        _ = try ChildProcess.run(Daemon.executablePath, ["passwd", passwords, "viewer", "--password", "p2"])
        let acl = directory.path + "/acl"
        try "user sensor\ntopic write sensors/%u/#\npattern write sensors/%u/#\nuser viewer\ntopic read sensors/#\n".write(toFile: acl, atomically: true, encoding: .utf8)
        let daemon = try Daemon(["--password-file", passwords, "--acl-file", acl])
        let sub = try E2E.subscriber(daemon, ["-u", "viewer", "-P", "p2", "-t", "sensors/#", "-C", "1", "-W", "10", "-v"], filter: "sensors/#")
        // sensor may write only below sensors/sensor/: the first is dropped, the second arrives.
        try E2E.publish(daemon, ["-u", "viewer", "-P", "p2", "-t", "sensors/sensor/t", "-m", "viewer may not write", "-q", "1"])
        try E2E.publish(daemon, ["-u", "sensor", "-P", "p1", "-t", "sensors/sensor/t", "-m", "21.5", "-q", "1"])
        try sub.waitForExit(timeout: 15)
        #expect(sub.stdoutLines == ["sensors/sensor/t 21.5"])
        // A filter the viewer may never read is refused in SUBACK (mosquitto_sub says so).
        for version in ["311", "5"] {
            let denied = try E2E.subscribe(daemon, ["-V", version, "-u", "viewer", "-P", "p2", "-t", "admin/#", "-W", "2"])
            #expect((denied.stdout + denied.stderr).contains("All subscription requests were denied"), "\(denied.stdout)\(denied.stderr)")
        }
        #expect(try daemon.stop() == 0)
    }

    /// SIGHUP re-reads the ACL while a subscriber stays connected: the new rules apply to its
    /// next delivery; a broken file is refused and the rules in use stay.
    @Test func sighupReloadsTheACLWithoutDroppingConnections() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-hup")
        defer { directory.remove() }
        let acl = directory.path + "/acl"
        // b/# may be subscribed (b/public is readable) but b/1 not read yet.
        try "topic readwrite a/#\ntopic write b/#\ntopic read b/public\n".write(toFile: acl, atomically: true, encoding: .utf8)
        let daemon = try Daemon(["--acl-file", acl])
        let sub = try E2E.subscriber(daemon, ["-t", "a/#", "-t", "b/#", "-v", "-C", "2", "-W", "20"], filter: "b/#")
        try E2E.publish(daemon, ["-t", "a/1", "-m", "before", "-q", "1"])
        try E2E.publish(daemon, ["-t", "b/1", "-m", "not readable yet", "-q", "1"])
        // Now b may be read and a may not; a broken file first, which must change nothing.
        try "topic read a/#/b\n".write(toFile: acl, atomically: true, encoding: .utf8)
        daemon.process.kill(SIGHUP)
        try daemon.process.waitFor("the refused reload", timeout: 10) { _ in daemon.log.contains("SIGHUP: access files not reloaded") }
        try "topic write a/#\ntopic readwrite b/#\n".write(toFile: acl, atomically: true, encoding: .utf8)
        daemon.process.kill(SIGHUP)
        try daemon.process.waitFor("the reload", timeout: 10) { _ in daemon.log.contains("SIGHUP: access files reloaded") }
        try E2E.publish(daemon, ["-t", "a/2", "-m", "hidden now", "-q", "1"])
        try E2E.publish(daemon, ["-t", "b/2", "-m", "after", "-q", "1"])
        try sub.waitForExit(timeout: 20)
        #expect(sub.stdoutLines == ["a/1 before", "b/2 after"])
        #expect(try daemon.stop() == 0)
    }

    @Test func aBadPasswordFileStopsTheDaemonWithItsLine() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-pw")
        defer { directory.remove() }
        let file = directory.path + "/passwd"
        try "# users\nalice:not-a-hash\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(Daemon.executablePath, ["run", "--port", "0", "--data", directory.path + "/data", "--password-file", file])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file):2: the hash of user 'alice'"))
    }
}
