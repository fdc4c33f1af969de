import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The `hydrant` daemon built next to the test bundle, started on an ephemeral port.
public final class Daemon: Sendable {
    public let process: ChildProcess
    public let port: Int
    public let dataDirectory: TemporaryDirectory

    /// The executable SwiftPM built beside the running test binary.
    public static var executablePath: String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (testBinary as NSString).deletingLastPathComponent
        // The test binary may sit inside a bundle directory (…/HydrantPackageTests.xctest).
        while !directory.isEmpty && directory != "/" {
            let candidate = directory + "/hydrant"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return "hydrant"
    }

    /// Whether `stop()` and deinit delete the data directory (false to restart on it).
    private let ownsData: Bool

    public init(_ extraArguments: [String] = [], logLevel: String = "debug", dataDirectory existing: TemporaryDirectory? = nil) throws {
        ownsData = existing == nil
        dataDirectory = try existing ?? TemporaryDirectory(prefix: "hydrant-e2e")
        process = try ChildProcess(
            Daemon.executablePath,
            ["run", "--host", "127.0.0.1", "--port", "0", "--data", dataDirectory.path, "--log-level", logLevel] + extraArguments)
        var found: Int?
        try process.waitFor("the daemon to listen", timeout: 20) { child in
            found = Daemon.listeningPort(in: child.stderr)
            return found != nil || !child.isRunning
        }
        guard let port = found else {
            throw ChildProcess.Failure.timedOut("the daemon to listen", seconds: 20, output: process.stderr)
        }
        self.port = port
    }

    static func listeningPort(in log: String) -> Int? {
        guard let range = log.range(of: "listening address=127.0.0.1:") else { return nil }
        let digits = log[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    public var log: String { process.stderr }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    public func stop() throws -> Int32 {
        process.kill(SIGTERM)
        try process.waitForExit(timeout: 30)
        if ownsData { dataDirectory.remove() }
        return process.status
    }

    deinit {
        process.kill(SIGKILL)
        if ownsData { dataDirectory.remove() }
    }
}
