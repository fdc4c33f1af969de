import Foundation
import HydrantTesting

/// Paths and client commands shared by the end-to-end tests.
enum E2E {
    static let pahoScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/paho_check.py").path

    /// mosquitto_sub in the background, already subscribed when this returns (the daemon's
    /// debug log confirms the subscription).
    static func subscriber(_ daemon: Daemon, _ arguments: [String], filter: String) throws -> ChildProcess {
        let before = daemon.log.components(separatedBy: "filter=\(filter) ").count
        let sub = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(daemon.port)"] + arguments)
        try daemon.process.waitFor("subscription to \(filter)", timeout: 10) { _ in
            daemon.log.components(separatedBy: "filter=\(filter) ").count > before || !sub.isRunning
        }
        return sub
    }

    static func publish(_ daemon: Daemon, _ arguments: [String]) throws {
        let pub = try ChildProcess.run("mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(daemon.port)"] + arguments, timeout: 10)
        guard pub.status == 0 else { throw ChildProcess.Failure.timedOut("mosquitto_pub \(arguments) succeeding", seconds: 10, output: pub.stderr) }
    }

    /// mosquitto_sub run to completion (bounded by its own -W and `timeout`).
    static func subscribe(_ daemon: Daemon, _ arguments: [String], timeout: Double = 15) throws -> ChildProcess {
        try ChildProcess.run("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(daemon.port)"] + arguments, timeout: timeout)
    }

    /// Whether this machine lets a test mount a tmpfs (the full-disk test needs one); probed
    /// once by mounting and unmounting one.
    static let canMountTmpfs: Bool = {
        guard let directory = try? TemporaryDirectory(prefix: "hydrant-tmpfs-probe") else { return false }
        defer { directory.remove() }
        guard let mount = try? ChildProcess.run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", directory.path]), mount.status == 0 else { return false }
        _ = try? ChildProcess.run("umount", [directory.path])
        return true
    }()

    static let paho5Script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/paho5_check.py").path

    /// One check of paho5_check.py (paho-mqtt's MQTT 5 client) against `daemon`.
    static func paho5(_ check: String, _ daemon: Daemon) throws -> ChildProcess {
        try ChildProcess.run("python3", [paho5Script, check, "\(daemon.port)"], timeout: 60)
    }

    static func paho(_ check: String, _ daemon: Daemon, _ extra: [String] = []) throws -> ChildProcess {
        try ChildProcess.run("python3", [pahoScript, check, "\(daemon.port)"] + extra, timeout: 60)
    }
}
