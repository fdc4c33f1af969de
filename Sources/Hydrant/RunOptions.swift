import Broker

/// Options of `hydrant run`.
public struct RunOptions: Sendable, Equatable {
    public static let usage = """
        usage: hydrant run [--config hydrant.json] [--host 127.0.0.1] [--port 1883] [--data ./data] [--pipelines ./Pipelines] [--migrations ./Migrations]
                   [--log-level info]
                           [--sys-interval 10] [--max-packet-size 1048576] [--max-inflight 1000]
                           [--max-queued 1000] [--max-connections 10000] [--max-write-buffer 1048576]
                           [--shutdown-timeout 30] [--no-persistence] [--max-keepalive 65535]
                           [--max-topic-levels 200] [--max-topic-alias 10] [--receive-maximum 65535] [--allow-anonymous]
                           [--password-file FILE] [--acl-file FILE] [--policies PATH]
                           [--max-connect-packet 65536] [--max-connections-per-second-per-address 0]
        """

    public var broker = BrokerConfig()
    public var dataDirectory = "./data"
    public var pipelinesDirectory = "./Pipelines"
    /// Whether --pipelines was given (a missing default directory just means no rules).
    public var pipelinesGiven = false
    public var migrationsDirectory = "./Migrations"
    public var migrationsGiven = false
    public var logLevel = Logger.Level.info
    /// SIGTERM/SIGINT: seconds for acknowledging what is owed, flushing streams and
    /// persisting state before the process exits regardless (journals replay at next start).
    public var shutdownTimeout = 30
    /// Keep broker state (persistent sessions, retained messages) on disk under
    /// `<data>/state`; `--no-persistence` keeps it in memory only, as Mosquitto's
    /// `persistence false` (stream journals are not affected).
    public var persistence = true
    /// Accept clients without credentials on listeners other machines can reach (Mosquitto
    /// 2.0's `allow_anonymous`): off by default, so such a listener refuses to start.
    public var allowAnonymous = false
    /// A password file in mosquitto_passwd's format: clients must give a user name and its
    /// password (anonymous ones only with `allowAnonymous`).
    public var passwordFile: String?
    /// An ACL file in Mosquitto's `acl_file` format (read, write and subscribe checks).
    public var aclFile: String?
    /// IoT Core policy documents and their attachments (a file or a directory).
    public var policies: String?
    /// `--config FILE`: read first; the other flags override it.
    public var configFile: String?

    public init() {}

    /// The flags over `base` (the configuration file's values, or the defaults).
    public static func parse(_ arguments: [String], base: RunOptions = RunOptions()) throws(UsageError) -> RunOptions {
        var options = base
        var parser = ArgumentParser(arguments, usage: usage)
        while let flag = try parser.nextFlag() {
            switch flag {
            case "--host": options.broker.host = try parser.value(for: flag)
            case "--port": options.broker.port = try parser.integer(for: flag, in: 0...65_535)
            case "--data": options.dataDirectory = try parser.value(for: flag)
            case "--migrations":
                options.migrationsDirectory = try parser.value(for: flag)
                options.migrationsGiven = true
            case "--pipelines":
                options.pipelinesDirectory = try parser.value(for: flag)
                options.pipelinesGiven = true
            case "--log-level":
                let name = try parser.value(for: flag)
                guard let level = Logger.Level(name: name) else {
                    throw parser.error("--log-level must be debug, info, warning or error, got '\(name)'")
                }
                options.logLevel = level
            case "--sys-interval": options.broker.sysInterval = try parser.integer(for: flag, in: 0...86_400)
            case "--max-packet-size":
                // 5 bytes of fixed header + the largest remaining length (§2.2.3).
                options.broker.maxPacketSize = try parser.integer(for: flag, in: 16...268_435_460)
            case "--max-inflight": options.broker.maxInflight = try parser.integer(for: flag, in: 1...65_535)
            case "--max-queued": options.broker.maxQueuedMessages = try parser.integer(for: flag, in: 0...100_000_000)
            case "--max-connections": options.broker.maxConnections = try parser.integer(for: flag, in: 1...10_000_000)
            case "--max-write-buffer": options.broker.maxWriteBuffer = try parser.integer(for: flag, in: 1024...1 << 30)
            case "--shutdown-timeout": options.shutdownTimeout = try parser.integer(for: flag, in: 1...3600)
            case "--no-persistence": options.persistence = false
            case "--config": options.configFile = try parser.value(for: flag)
            case "--allow-anonymous": options.allowAnonymous = true
            case "--password-file": options.passwordFile = try parser.value(for: flag)
            case "--acl-file": options.aclFile = try parser.value(for: flag)
            case "--policies": options.policies = try parser.value(for: flag)
            case "--max-connect-packet": options.broker.maxConnectPacket = try parser.integer(for: flag, in: 16...268_435_460)
            case "--max-connections-per-second-per-address": options.broker.maxConnectionsPerSecondPerAddress = try parser.integer(for: flag, in: 0...1_000_000)
            case "--max-keepalive": options.broker.maxKeepAlive = try parser.integer(for: flag, in: 1...65_535)
            case "--max-topic-levels": options.broker.maxTopicLevels = try parser.integer(for: flag, in: 1...65_535)
            case "--max-topic-alias": options.broker.maxTopicAlias = try parser.integer(for: flag, in: 0...65_535)
            case "--receive-maximum": options.broker.receiveMaximum = try parser.integer(for: flag, in: 1...65_535)
            default: throw parser.error("unknown option '\(flag)'")
            }
        }
        if options.broker.host.isEmpty { throw parser.error("--host must not be empty") }
        // A --host/--port flag names the one listener, replacing the file's list.
        if arguments.contains(where: { $0 == "--host" || $0.hasPrefix("--host=") || $0 == "--port" || $0.hasPrefix("--port=") }) { options.broker.listeners = [] }
        options.broker.shutdownGrace = min(10, Double(options.shutdownTimeout) / 3)
        return options
    }

    /// `hydrant run`'s arguments: the configuration file named by `--config` first, then
    /// the flags over it.
    public static func resolve(_ arguments: [String]) throws -> RunOptions {
        let flags = try parse(arguments)
        guard let path = flags.configFile else { return flags }
        var base = RunOptions()
        try ConfigFile.load(path, into: &base)
        return try parse(arguments, base: base)
    }

    /// Listeners other machines can reach while nothing authenticates clients: the daemon
    /// refuses to start on them unless `allowAnonymous` says so (Mosquitto 2.0's default).
    public var anonymousExposure: [BrokerConfig.Listener] {
        guard !allowAnonymous, passwordFile == nil else { return [] }
        return broker.effectiveListeners.filter { !Self.isLoopback($0.host) }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The problems of configuration-file bytes (the fuzz target; empty when valid).
    public static func checkConfig(bytes: [UInt8]) -> [String] {
        var file = ConfigFile(path: "fuzz.json", bytes: bytes)
        var options = RunOptions()
        file.apply(to: &options)
        return file.problems
    }
}
