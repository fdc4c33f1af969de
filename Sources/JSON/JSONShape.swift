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
    public init(_ bytes: [UInt8], probing names: [[UInt8]] = [], options: JSONParser.Options = .init()) throws(JSONError) {
        let outcome = bytes.withUnsafeBytes { raw -> Result<(kind: TapeEntry.Kind, entries: Int, hit: Bool), JSONError> in
            var scanner = TapeScanner(bytes: raw, options: options, locations: nil, tapeless: true)
            scanner.probe = names
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
}
