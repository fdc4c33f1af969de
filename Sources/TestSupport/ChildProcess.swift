import CSystem
import Foundation
import Synchronization

/// A child process whose stdout and stderr are collected in the background, with
/// bounded waits (every end-to-end test bounds its time).
public final class ChildProcess: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case timedOut(String, seconds: Double, output: String)

        public var description: String {
            switch self {
            case let .notFound(name):
                return "\(name) not found on PATH (.ci/run installs the test tools: mosquitto-clients, paho-mqtt)"
            case let .timedOut(what, seconds, output): return "\(what) did not happen within \(seconds)s; output so far:\n\(output)"
            }
        }
    }

    private let process: Process
    private let out = Locked<[UInt8]>([])
    private let err = Locked<[UInt8]>([])
    private let done = Locked<Bool>(false)
    /// End of file seen on stdout / stderr: every byte the child wrote is collected.
    private let outClosed = Locked<Bool>(false)
    private let errClosed = Locked<Bool>(false)
    public let name: String

    /// Starts `executable` (a path, or a name looked up on PATH) with `arguments`.
    public init(_ executable: String, _ arguments: [String], stdin: [UInt8]? = nil) throws {
        let path = try ChildProcess.locate(executable)
        name = (executable as NSString).lastPathComponent
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = Pipe()
        process.standardInput = inPipe
        // Pipes are created without close-on-exec: a child that a parallel test spawns now
        // would inherit these ends and hold them open (a daemon, for minutes), so this
        // child's end of file would never be seen. The child itself gets them through dup2,
        // which clears the flag.
        for pipe in [outPipe, errPipe, inPipe] {
            _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        }
        Self.collect(outPipe, into: out, closed: outClosed)
        Self.collect(errPipe, into: err, closed: errClosed)
        process.terminationHandler = { [done] _ in done.withLock { $0 = true } }
        // The child inherits this thread's signal mask; a blocked SIGALRM would disable
        // mosquitto_sub -W, for one.
        _ = hy_unblock_all_signals()
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin)) }
        try? inPipe.fileHandleForWriting.close()
    }

    /// Appends what the child writes to `pipe` to `buffer`, on a thread of its own that
    /// reads until end of file, then sets `closed`. (FileHandle's readabilityHandler was
    /// used first: under load it reported an empty read before the end, and a 20 KB output
    /// came back cut at 8 or 16 KB in 12 of 150 runs.)
    private static func collect(_ pipe: Pipe, into buffer: Locked<[UInt8]>, closed: Locked<Bool>) {
        let reader = PipeReader(pipe)
        Thread {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(reader.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.withLock { $0.append(contentsOf: chunk[0..<count]) }
                } else if count < 0 && (errno == EINTR || errno == EAGAIN) {
                    var wait = pollfd(fd: reader.fd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&wait, 1, 100)
                } else {
                    break
                }
            }
            closed.withLock { $0 = true }
        }.start()
    }

    public static func locate(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure.notFound(executable)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { !done.withLock { $0 } }
    public var stdout: String { String(decoding: out.withLock { $0 }, as: UTF8.self) }
    public var stderr: String { String(decoding: err.withLock { $0 }, as: UTF8.self) }
    public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Exit status (or the terminating signal); valid once `waitForExit` returned.
    public var status: Int32 { process.terminationStatus }
    public var terminatedBySignal: Bool { process.terminationReason == .uncaughtSignal }

    /// Waits for the process to end; throws (after killing it) when it takes too long.
    public func waitForExit(timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline {
                kill(SIGKILL)
                throw Failure.timedOut("\(name) exiting", seconds: timeout, output: stdout + stderr)
            }
            usleep(10_000)
        }
        // Until both readers saw end of file (bounded: a process that inherited a write end
        // in the instant before it was marked close-on-exec would keep it open).
        let settle = Date().addingTimeInterval(3)
        while !(outClosed.withLock { $0 } && errClosed.withLock { $0 }) && Date() < settle {
            usleep(2_000)
        }
    }

    /// Polls until `condition` holds for the collected output.
    public func waitFor(_ what: String, timeout: Double = 10, _ condition: (ChildProcess) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            if Date() > deadline { throw Failure.timedOut(what, seconds: timeout, output: stdout + stderr) }
            usleep(10_000)
        }
    }

    public func kill(_ signal: Int32) {
        if isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// Runs to completion and returns the process (status, stdout, stderr).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], timeout: Double = 10, stdin: [UInt8]? = nil) throws -> ChildProcess {
        let child = try ChildProcess(executable, arguments, stdin: stdin)
        try child.waitForExit(timeout: timeout)
        return child
    }

    deinit { kill(SIGKILL) }
}

/// Keeps a pipe (and so its read descriptor) alive for the thread reading it.
private final class PipeReader: @unchecked Sendable {
    let pipe: Pipe
    var fd: Int32 { pipe.fileHandleForReading.fileDescriptor }

    init(_ pipe: Pipe) { self.pipe = pipe }
}
