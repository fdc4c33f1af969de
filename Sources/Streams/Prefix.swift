import UTC

/// A Firehose S3 prefix expression (Firehose "Custom prefixes for Amazon S3 objects"):
/// literal text, `!{timestamp:<pattern>}` (UTC), `!{partitionKeyFromQuery:<key>}`,
/// `!{firehose:random-string}` and, in error prefixes, `!{firehose:error-output-type}`.
public struct Prefix: Sendable {
    enum Part: Sendable {
        case text(String)
        case timestamp(TimePattern)
        case partitionKey(String)
        case randomString
        case errorOutputType
    }

    /// Hive style, so DuckDB, Athena, Trino and Spark read the lake with hive partitioning.
    public static let defaultTimePartitions = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"

    let parts: [Part]
    /// The expression after defaults were applied.
    public let source: String
    /// `partitionKeyFromQuery` names, in order of first use.
    public let partitionKeys: [String]

    /// Parses `text` (nil: the default `<stream>/year=…/hour=HH/`). A prefix without a
    /// timestamp gets the default time partitions appended; a trailing `/` is added so every
    /// prefix names a directory.
    public init(_ text: String?, stream: String, errorPrefix: Bool = false) throws(StreamError) {
        var expression = text ?? "\(stream)/"
        if !expression.hasSuffix("/") { expression += "/" }
        var parts = try Prefix.parse(expression, errorPrefix: errorPrefix)
        if !parts.contains(where: { if case .timestamp = $0 { return true } else { return false } }) {
            expression += Prefix.defaultTimePartitions
            parts = try Prefix.parse(expression, errorPrefix: errorPrefix)
        }
        self.parts = parts
        self.source = expression
        var keys: [String] = []
        for case let .partitionKey(key) in parts where !keys.contains(key) { keys.append(key) }
        self.partitionKeys = keys
    }

    private static func parse(_ expression: String, errorPrefix: Bool) throws(StreamError) -> [Part] {
        var parts: [Part] = []
        var text = ""
        var rest = Substring(expression)
        while let open = rest.firstRange(of: "!{") {
            text += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw .invalidSetting(path: "prefix", message: "unterminated !{ in '\(expression)'")
            }
            let inner = rest[open.upperBound..<close]
            if !text.isEmpty { parts.append(.text(text)) }
            text = ""
            parts.append(try part(String(inner), expression: expression, errorPrefix: errorPrefix))
            rest = rest[rest.index(after: close)...]
        }
        text += rest
        if !text.isEmpty { parts.append(.text(text)) }
        for case let .text(literal) in parts {
            try checkLiteral(literal, expression: expression)
        }
        return parts
    }

    private static func part(_ inner: String, expression: String, errorPrefix: Bool) throws(StreamError) -> Part {
        guard let colon = inner.firstIndex(of: ":") else {
            throw .invalidSetting(path: "prefix", message: "'!{\(inner)}' needs a namespace (timestamp:, partitionKeyFromQuery:, firehose:)")
        }
        let namespace = inner[..<colon]
        let argument = String(inner[inner.index(after: colon)...])
        switch namespace {
        case "timestamp":
            guard let pattern = TimePattern(argument), !argument.isEmpty else {
                throw .invalidSetting(path: "prefix", message: "invalid timestamp pattern '\(argument)'")
            }
            return .timestamp(pattern)
        case "partitionKeyFromQuery":
            guard !argument.isEmpty else { throw .invalidSetting(path: "prefix", message: "partitionKeyFromQuery needs a key name") }
            return .partitionKey(argument)
        case "firehose":
            switch argument {
            case "random-string": return .randomString
            case "error-output-type" where errorPrefix: return .errorOutputType
            case "error-output-type":
                throw .invalidSetting(path: "prefix", message: "!{firehose:error-output-type} is only allowed in errorOutputPrefix")
            default: throw .invalidSetting(path: "prefix", message: "unknown !{firehose:\(argument)}")
            }
        default:
            throw .invalidSetting(path: "prefix", message: "unknown namespace '\(namespace)' in '!{\(inner)}'")
        }
    }

    /// Literal parts can never leave the lake directory.
    private static func checkLiteral(_ literal: String, expression: String) throws(StreamError) {
        if expression.hasPrefix("/") { throw .invalidSetting(path: "prefix", message: "prefix must be relative, got '\(expression)'") }
        for segment in literal.split(separator: "/", omittingEmptySubsequences: false) where segment == ".." || segment == "." {
            throw .invalidSetting(path: "prefix", message: "'\(segment)' path segment in '\(expression)'")
        }
        if literal.contains("\\") || literal.utf8.contains(0) {
            throw .invalidSetting(path: "prefix", message: "backslash or NUL in '\(expression)'")
        }
    }

    /// The directory (relative to the lake root) for a file whose oldest record arrived at
    /// `arrivalMillis`; every timestamp in the prefix sees that same instant. Partition
    /// values are sanitized by the caller (`PartitionValue`).
    public func render(arrivalMillis: Int64, partitionValues: [String], errorOutputType: String = "", randomString: () -> String = Prefix.randomString) -> String {
        var out = ""
        for part in parts {
            switch part {
            case let .text(text): out += text
            case let .timestamp(pattern): out += pattern.format(millis: arrivalMillis)
            case let .partitionKey(key):
                let index = partitionKeys.firstIndex(of: key)!
                out += index < partitionValues.count ? partitionValues[index] : PartitionValue.emptyPlaceholder
            case .randomString: out += randomString()
            case .errorOutputType: out += PartitionValue.sanitize(errorOutputType)
            }
        }
        // Empty segments ("a//b") would collapse on disk; keep paths canonical.
        while out.contains("//") { out = out.replacingOccurrences(of: "//", with: "/") }
        return out
    }

    /// Firehose's 11-character random string.
    public static func randomString() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<11).map { _ in alphabet.randomElement()! })
    }
}

extension String {
    /// Foundation's replacingOccurrences, without Foundation.
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Partition values made safe as one path segment: a payload can never write outside the
/// lake directory. Hive's conventions: special bytes percent-encoded, empty values as
/// `__HIVE_DEFAULT_PARTITION__`.
public enum PartitionValue {
    public static let emptyPlaceholder = "__HIVE_DEFAULT_PARTITION__"
    static let maxBytes = 200

    public static func sanitize(_ value: String) -> String {
        if value.isEmpty { return emptyPlaceholder }
        if value == "." { return "%2E" }
        if value == ".." { return "%2E%2E" }
        var out: [UInt8] = []
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            switch byte {
            case 0..<0x20, 0x7F, UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "%"), UInt8(ascii: "="),
                UInt8(ascii: "\""), UInt8(ascii: "#"), UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: ":"):
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default:
                out.append(byte)
            }
        }
        if out.count > maxBytes {
            // File names stop at 255 bytes: keep a readable head and a hash of the whole.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
            for byte in value.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            var head = Array(out.prefix(maxBytes - 17))
            while let last = head.last, last & 0xC0 == 0x80 { head.removeLast() }  // whole UTF-8 characters only
            if let last = head.last, last >= 0xC0 { head.removeLast() }
            return String(decoding: head, as: UTF8.self) + "~" + String(hash, radix: 16)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
