import CJSON

/// What a validation-only scan tells about a document, for callers that need the bytes
/// checked but not a tape (a rule splicing fields into an object payload): the grammar,
/// UTF-8, escapes and depth are checked by the same scanner, with the same errors, as
/// `JSONDocument`; nothing is stored.
public struct JSONShape: Sendable {
    /// The document is an object.
    public let isObject: Bool
    public let isEmptyObject: Bool
    /// One of the probed names is a top-level key of the object.
    public let hasProbedKey: Bool

    /// Throws the error `JSONDocument(bytes, options:)` would throw.
    public init(_ bytes: [UInt8], probing probe: Probe = Probe([]), options: JSONParser.Options = .init()) throws(JSONError) {
        // The C scanner (SSE2 over strings, no tape, ~3× fewer instructions) answers for
        // valid documents; errors, escaped top-level keys and comments take the Swift path.
        if !options.allowComments, let shape = Self.fast(bytes, probing: probe, maxDepth: options.maxDepth) {
            self = shape
            return
        }
        let outcome = bytes.withUnsafeBytes { raw -> Result<(kind: TapeEntry.Kind, entries: Int, hit: Bool), JSONError> in
            var scanner = TapeScanner(bytes: raw, options: options, locations: nil, tapeless: true)
            scanner.probe = probe.names
            do throws(JSONError) {
                try scanner.scanDocument()
            } catch {
                return .failure(error)
            }
            return .success((scanner.topKind, scanner.entries, scanner.probeHit))
        }
        let (kind, entries, hit) = try outcome.get()
        isObject = kind == .object
        isEmptyObject = isObject && entries == 1
        hasProbedKey = isObject && hit
    }

    private init(isObject: Bool, isEmptyObject: Bool, hasProbedKey: Bool) {
        self.isObject = isObject
        self.isEmptyObject = isEmptyObject
        self.hasProbedKey = hasProbedKey
    }

    /// The shape from `hy_json_validate`, or nil when the Swift scanner must answer.
    private static func fast(_ bytes: [UInt8], probing probe: Probe, maxDepth: Int) -> JSONShape? {
        var shape = hy_json_shape()
        let valid = bytes.withUnsafeBufferPointer { document in
            probe.joined.withUnsafeBufferPointer { names in
                probe.lengths.withUnsafeBufferPointer { lengths in
                    hy_json_validate(document.baseAddress, document.count, Int32(clamping: maxDepth), names.baseAddress, lengths.baseAddress, Int32(lengths.count), &shape)
                }
            }
        }
        guard valid == 1, shape.escaped_top_key == 0 else { return nil }
        let isObject = shape.top_kind == UInt8(ascii: "{")
        return JSONShape(isObject: isObject, isEmptyObject: isObject && shape.top_members == 0, hasProbedKey: isObject && shape.probe_hit != 0)
    }

    /// Top-level keys to look for, prepared once (the probe runs for every message).
    public struct Probe: Sendable {
        let names: [[UInt8]]
        let joined: [UInt8]
        let lengths: [Int]

        public init(_ names: [String]) {
            self.names = names.map { Array($0.utf8) }
            joined = self.names.flatMap { $0 }
            lengths = self.names.map(\.count)
        }
    }
}
