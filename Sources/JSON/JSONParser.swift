#if canImport(Glibc)
import Glibc
#endif

/// A byte-level RFC 8259 parser. No Foundation on the hot path: telemetry payloads are
/// parsed straight from the MQTT payload bytes.
///
/// Parsing is two steps (simdjson's shape): one validating pass writes a flat tape of
/// value positions (`JSONDocument`), and values become `JSONValue`s only when asked for.
/// A rule that reads three fields of a payload materializes three values, not the tree.
public struct JSONParser: Sendable {
    public struct Options: Sendable {
        /// Allows `//` and `/* */` comments (pipeline files, not payloads).
        public var allowComments = false
        /// Maximum nesting of arrays and objects.
        public var maxDepth = 256

        public init(allowComments: Bool = false, maxDepth: Int = 256) {
            self.allowComments = allowComments
            self.maxDepth = maxDepth
        }
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    public func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try JSONDocument(bytes, options: options).value
    }

    public func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Parses and records where each value starts: `"rules[0].sql"` → byte offset (keys
    /// under `"rules[0].sql#key"`). The pipeline loader turns those into file:line:col.
    public func parseWithLocations(_ bytes: [UInt8]) throws(JSONError) -> (JSONValue, [String: Int]) {
        var locations: [String: Int] = [:]
        let document = try JSONDocument(bytes, options: options, locations: &locations)
        return (document.value, locations)
    }
}

/// One value's place on the tape.
struct TapeEntry {
    enum Kind: UInt8 {
        case object, array, string, integer, double, `true`, `false`, null
    }

    var kind: Kind
    /// Strings: bit 0 = has escapes.
    var flags: UInt8
    /// Byte offset: first content byte of a string, first byte of anything else.
    var start: UInt32
    /// Strings: offset of the closing quote. Containers: tape index after the last
    /// descendant (the next sibling). Numbers: offset after the last digit.
    var end: UInt32
    /// Numbers: the Int64 or Double bit pattern.
    var bits: UInt64
}

/// A validated JSON text and its tape. Values are materialized on demand.
public struct JSONDocument: Sendable {
    let bytes: [UInt8]
    let tape: [TapeEntry]

    public init(_ bytes: [UInt8], options: JSONParser.Options = .init()) throws(JSONError) {
        var none: [String: Int]? = nil
        self = try JSONDocument(bytes, options: options, recording: &none)
    }

    init(_ bytes: [UInt8], options: JSONParser.Options, locations: inout [String: Int]) throws(JSONError) {
        var recording: [String: Int]? = [:]
        self = try JSONDocument(bytes, options: options, recording: &recording)
        locations = recording ?? [:]
    }

    private init(_ bytes: [UInt8], options: JSONParser.Options, recording: inout [String: Int]?) throws(JSONError) {
        self.bytes = bytes
        let outcome = bytes.withUnsafeBytes { raw -> Result<[TapeEntry], JSONError> in
            var scanner = TapeScanner(bytes: raw, options: options, locations: recording)
            do throws(JSONError) {
                try scanner.scanDocument()
            } catch {
                return .failure(error)
            }
            recording = scanner.locations
            return .success(scanner.tape)
        }
        tape = try outcome.get()
    }

    /// Whether the document is an object, and whether it has any member.
    public var isObject: Bool { tape[0].kind == .object }
    public var isEmptyObject: Bool { tape[0].kind == .object && tape[0].end <= 1 }

    /// The whole document as a `JSONValue`.
    public var value: JSONValue { bytes.withUnsafeBytes { materialize(0, $0) } }

    /// A top-level field of an object document (the last one, if the key repeats), or nil.
    public func field(_ key: String) -> JSONValue? {
        guard tape[0].kind == .object else { return nil }
        if let found = key.utf8.withContiguousStorageIfAvailable({ lookup(key, $0) }) { return found }
        var contiguous = key
        return contiguous.withUTF8 { lookup(key, $0) }
    }

    private func lookup(_ key: String, _ keyBytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        bytes.withUnsafeBytes { raw -> JSONValue? in
            var found: Int?
            var index = 1
            let end = Int(tape[0].end)
            while index < end {
                let keyEntry = tape[index]
                if keyEntry.flags & 1 == 0 {
                    let length = Int(keyEntry.end - keyEntry.start)
                    if length == keyBytes.count && (length == 0 || memcmp(raw.baseAddress! + Int(keyEntry.start), keyBytes.baseAddress!, length) == 0) {
                        found = index + 1
                    }
                } else if case let .string(text) = materialize(index, raw), text == key {
                    found = index + 1
                }
                index = next(index + 1)
            }
            return found.map { materialize($0, raw) }
        }
    }

    /// Whether two key entries spell the same key.
    private func sameKey(_ a: Int, _ b: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        let x = tape[a]
        let y = tape[b]
        if x.flags & 1 == 0 && y.flags & 1 == 0 {
            let length = Int(x.end - x.start)
            guard length == Int(y.end - y.start) else { return false }
            return memcmp(raw.baseAddress! + Int(x.start), raw.baseAddress! + Int(y.start), length) == 0
        }
        return materialize(a, raw) == materialize(b, raw)
    }

    /// Tape index of the value after the one at `index`.
    private func next(_ index: Int) -> Int {
        switch tape[index].kind {
        case .object, .array: return Int(tape[index].end)
        default: return index + 1
        }
    }

    private func materialize(_ index: Int, _ raw: UnsafeRawBufferPointer) -> JSONValue {
        let entry = tape[index]
        switch entry.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .integer: return .int(Int64(bitPattern: entry.bits))
        case .double: return .double(Double(bitPattern: entry.bits))
        case .string:
            let slice = UnsafeRawBufferPointer(rebasing: raw[Int(entry.start)..<Int(entry.end)])
            if entry.flags & 1 == 0 { return .string(String(decoding: slice, as: UTF8.self)) }
            return .string(String(decoding: TapeScanner.unescape(slice), as: UTF8.self))
        case .array:
            var elements: [JSONValue] = []
            var child = index + 1
            while child < Int(entry.end) {
                elements.append(materialize(child, raw))
                child = next(child)
            }
            return .array(elements)
        case .object:
            var keys: [String] = []
            var values: [JSONValue] = []
            var keyEntries: [Int] = []
            var positions: [String: Int]?
            var child = index + 1
            while child < Int(entry.end) {
                // Duplicate keys: last value wins, first position kept. Small objects compare
                // raw key bytes (length first); large ones switch to a hash lookup.
                let value = materialize(child + 1, raw)
                guard case let .string(name) = materialize(child, raw) else { break }
                let existing = positions != nil ? positions![name] : keyEntries.firstIndex { sameKey($0, child, raw) }
                if let existing {
                    values[existing] = value
                } else {
                    keys.append(name)
                    values.append(value)
                    keyEntries.append(child)
                    if positions != nil {
                        positions![name] = keys.count - 1
                    } else if keys.count > 16 {
                        positions = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
                    }
                }
                child = next(child + 1)
            }
            return .object(JSONObject(uniqueKeys: keys, values: values))
        }
    }
}
