import Broker
import Foundation
import JSON

/// Problems of a configuration file, each as `file:line:col: message`.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// `hydrant run --config FILE`: JSON with comments, one key per `run` flag in camelCase
/// plus the listeners and security keys. Every problem is reported with its position;
/// unknown keys are errors (a misspelt key must not silently fall back to a default).
/// Flags given on the command line override the file.
struct ConfigFile {
    let path: String
    private let bytes: [UInt8]
    private var locations: [String: Int] = [:]
    private var lineStarts: [Int] = [0]
    private(set) var problems: [String] = []

    static let keys: [String] = [
        "host", "port", "listeners", "data", "pipelines", "migrations", "logLevel", "sysInterval", "maxPacketSize", "maxInflight", "maxQueued",
        "maxConnections", "maxWriteBuffer", "shutdownTimeout", "persistence", "maxKeepalive", "maxTopicLevels", "maxTopicAlias", "receiveMaximum",
        "allowAnonymous", "passwordFile", "aclFile", "policies", "maxConnectPacket", "maxConnectionsPerSecondPerAddress",
    ]

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        for (index, byte) in bytes.enumerated() where byte == 0x0A { lineStarts.append(index + 1) }
    }

    /// Reads `path` into `options` (the file's values; flags are applied afterwards).
    static func load(_ path: String, into options: inout RunOptions) throws(ConfigErrors) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors(problems: ["\(path): cannot read the configuration file"])
        }
        var file = ConfigFile(path: path, bytes: Array(data))
        file.apply(to: &options)
        guard file.problems.isEmpty else { throw ConfigErrors(problems: file.problems) }
    }

    private func position(_ offset: Int) -> String {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        let start = lineStarts[low]
        let column = String(decoding: bytes[start..<max(start, min(offset, bytes.count))], as: UTF8.self).count + 1
        return "\(path):\(low + 1):\(column)"
    }

    private mutating func problem(_ key: String, _ message: String, atKey: Bool = false) {
        let offset = (atKey ? locations[key + "#key"] : nil) ?? locations[key] ?? 0
        problems.append("\(position(offset)): \(message)")
    }

    mutating func apply(to options: inout RunOptions) {
        let root: JSONValue
        do {
            (root, locations) = try JSONParser(options: .init(allowComments: true)).parseWithLocations(bytes)
        } catch {
            problems.append("\(position(error.offset)): invalid JSON: \(error.message)")
            return
        }
        guard case let .object(top) = root else {
            problems.append("\(position(0)): a configuration file holds a JSON object")
            return
        }
        for (key, _) in top where !Self.keys.contains(key) {
            problem(key, "unknown key '\(key)' (known: \(Self.keys.joined(separator: ", ")))", atKey: true)
        }
        func string(_ key: String) -> String? {
            guard let value = top[key] else { return nil }
            guard case let .string(text) = value, !text.isEmpty else {
                problem(key, "\(key) must be a non-empty string")
                return nil
            }
            return text
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) -> Int? {
            guard let value = top[key] else { return nil }
            guard case let .int(number) = value, range.contains(Int(number)) else {
                problem(key, "\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), got \(value.serialized())")
                return nil
            }
            return Int(number)
        }
        func boolean(_ key: String) -> Bool? {
            guard let value = top[key] else { return nil }
            guard case let .bool(flag) = value else {
                problem(key, "\(key) must be true or false, got \(value.serialized())")
                return nil
            }
            return flag
        }
        if let host = string("host") { options.broker.host = host }
        if let port = integer("port", 0...65_535) { options.broker.port = port }
        if let data = string("data") { options.dataDirectory = data }
        if let pipelines = string("pipelines") {
            options.pipelinesDirectory = pipelines
            options.pipelinesGiven = true
        }
        if let migrations = string("migrations") {
            options.migrationsDirectory = migrations
            options.migrationsGiven = true
        }
        if let name = string("logLevel") {
            if let level = Logger.Level(name: name) { options.logLevel = level } else { problem("logLevel", "logLevel must be debug, info, warning or error, got '\(name)'") }
        }
        if let value = integer("sysInterval", 0...86_400) { options.broker.sysInterval = value }
        if let value = integer("maxPacketSize", 16...268_435_460) { options.broker.maxPacketSize = value }
        if let value = integer("maxInflight", 1...65_535) { options.broker.maxInflight = value }
        if let value = integer("maxQueued", 0...100_000_000) { options.broker.maxQueuedMessages = value }
        if let value = integer("maxConnections", 1...10_000_000) { options.broker.maxConnections = value }
        if let value = integer("maxWriteBuffer", 1024...(1 << 30)) { options.broker.maxWriteBuffer = value }
        if let value = integer("shutdownTimeout", 1...3600) { options.shutdownTimeout = value }
        if let value = boolean("persistence") { options.persistence = value }
        if let value = integer("maxKeepalive", 1...65_535) { options.broker.maxKeepAlive = value }
        if let value = integer("maxTopicLevels", 1...65_535) { options.broker.maxTopicLevels = value }
        if let value = integer("maxTopicAlias", 0...65_535) { options.broker.maxTopicAlias = value }
        if let value = integer("receiveMaximum", 1...65_535) { options.broker.receiveMaximum = value }
        if let value = boolean("allowAnonymous") { options.allowAnonymous = value }
        if let value = integer("maxConnectPacket", 16...268_435_460) { options.broker.maxConnectPacket = value }
        if let value = integer("maxConnectionsPerSecondPerAddress", 0...1_000_000) { options.broker.maxConnectionsPerSecondPerAddress = value }
        if let value = string("passwordFile") { options.passwordFile = value }
        if let value = string("aclFile") { options.aclFile = value }
        if let value = string("policies") { options.policies = value }
        if let value = top["listeners"] { readListeners(value, into: &options) }
    }

    private mutating func readListeners(_ value: JSONValue, into options: inout RunOptions) {
        guard case let .array(items) = value, !items.isEmpty else {
            problem("listeners", "listeners must be a non-empty array of {\"host\", \"port\"}")
            return
        }
        var listeners: [BrokerConfig.Listener] = []
        for (index, item) in items.enumerated() {
            let path = "listeners[\(index)]"
            guard case let .object(listener) = item else {
                problem(path, "a listener is an object {\"host\", \"port\", \"protocol\", \"tls\"}")
                continue
            }
            for (key, _) in listener where !["host", "port", "protocol", "tls"].contains(key) {
                problem(path + "." + key, "unknown key '\(key)' in a listener (known: host, port, protocol, tls)", atKey: true)
            }
            var host = "127.0.0.1"
            if let value = listener["host"] {
                if case let .string(text) = value, !text.isEmpty { host = text } else { problem(path + ".host", "host must be a non-empty string") }
            }
            var port = 1883
            if let value = listener["port"] {
                if case let .int(number) = value, (0...65_535).contains(Int(number)) {
                    port = Int(number)
                } else {
                    problem(path + ".port", "port must be an integer in 0...65535, got \(value.serialized())")
                }
            }
            switch listener["protocol"] {
            case nil, .string("mqtt")?: break
            case .string("websocket")?: problem(path + ".protocol", "websocket listeners are not available in this version yet (issue #16)")
            case let other?: problem(path + ".protocol", "protocol must be \"mqtt\" or \"websocket\", got \(other.serialized())")
            }
            if listener["tls"] != nil { problem(path + ".tls", "TLS listeners are not available in this version yet (issue #14, in progress)") }
            listeners.append(BrokerConfig.Listener(host: host, port: port))
        }
        options.broker.listeners = listeners
    }
}
