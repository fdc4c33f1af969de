import Broker

/// Options of `hydrant run`.
public struct RunOptions: Sendable, Equatable {
    public static let usage = """
        usage: hydrant run [--host 127.0.0.1] [--port 1883] [--data ./data] [--pipelines ./Pipelines] [--migrations ./Migrations]
                   [--log-level info]
                           [--sys-interval 10] [--max-packet-size 1048576] [--max-inflight 1000]
                           [--max-queued 1000] [--max-connections 10000] [--max-write-buffer 1048576]
                           [--shutdown-timeout 30] [--no-persistence] [--max-keepalive 65535]
                           [--max-topic-levels 200] [--max-topic-alias 10] [--receive-maximum 65535]
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

    public init() {}

    public static func parse(_ arguments: [String]) throws(UsageError) -> RunOptions {
        var options = RunOptions()
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
            case "--max-keepalive": options.broker.maxKeepAlive = try parser.integer(for: flag, in: 1...65_535)
            case "--max-topic-levels": options.broker.maxTopicLevels = try parser.integer(for: flag, in: 1...65_535)
            case "--max-topic-alias": options.broker.maxTopicAlias = try parser.integer(for: flag, in: 0...65_535)
            case "--receive-maximum": options.broker.receiveMaximum = try parser.integer(for: flag, in: 1...65_535)
            default: throw parser.error("unknown option '\(flag)'")
            }
        }
        if options.broker.host.isEmpty { throw parser.error("--host must not be empty") }
        options.broker.shutdownGrace = min(10, Double(options.shutdownTimeout) / 3)
        return options
    }
}
