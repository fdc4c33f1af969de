import JSON
import MQTT

/// One incoming message as rules see it. The payload is validated as JSON at most once,
/// on first use, and only if a rule reads it (so `encode(*, 'base64')` works on any bytes);
/// values are materialized from the document as they are read.
public final class MessageContext {
    public let topic: String
    public let payload: [UInt8]
    public let clientId: String
    public let username: String?
    /// Arrival time in milliseconds since the epoch (`timestamp()`).
    public let timestamp: Int64
    /// The MQTT 5 properties it was published with (`get_mqtt_property`, `get_user_properties`).
    public let properties: Properties
    private var document: JSONDocument?
    private var parseError: JSONError?
    private var whole: JSONValue?

    public init(topic: String, payload: [UInt8], clientId: String = "", username: String? = nil, timestamp: Int64, properties: Properties = Properties()) {
        self.properties = properties
        self.topic = topic
        self.payload = payload
        self.clientId = clientId
        self.username = username
        self.timestamp = timestamp
    }

    /// Parses the payload once; afterwards `document` is set, or the reason it is not JSON.
    private func parse() throws(RuleEvaluationError) {
        if document != nil { return }
        document = try scanPayload { () throws(JSONError) in try JSONDocument(payload) }
    }

    /// Runs `scan` over the payload unless an earlier scan found it is not JSON; a failure
    /// is remembered, so the payload is never scanned twice to fail twice.
    private func scanPayload<T>(_ scan: () throws(JSONError) -> T) throws(RuleEvaluationError) -> T {
        if parseError == nil {
            do throws(JSONError) {
                return try scan()
            } catch {
                parseError = error
            }
        }
        throw RuleEvaluationError("payload is not valid JSON: \(parseError!)")
    }

    /// The payload's validated document (parsed once), or the reason it is not JSON.
    public func jsonDocument() throws(RuleEvaluationError) -> JSONDocument {
        try parse()
        return document!
    }

    /// The payload checked as JSON without building a document, with its top-level shape
    /// and whether one of `names` is a top-level key — for a spliced rule whose added
    /// fields need only the topic. Same errors as `jsonDocument()`; a parsed document is
    /// not kept (call `jsonDocument()` when values are needed).
    public func payloadShape(probing names: JSONShape.Probe) throws(RuleEvaluationError) -> JSONShape {
        try scanPayload { () throws(JSONError) in try JSONShape(payload, probing: names) }
    }

    /// Whether the payload was parsed already (by a WHERE clause or a field).
    public var hasDocument: Bool { document != nil }

    /// The whole payload as JSON, or the reason it is not.
    public func json() throws(RuleEvaluationError) -> JSONValue {
        if let whole { return whole }
        try parse()
        let value = document!.value
        whole = value
        return value
    }

    /// A top-level payload field (Undefined when missing or the payload is not an object).
    public func field(_ name: String) throws(RuleEvaluationError) -> JSONValue? {
        try parse()
        return document!.field(name)
    }

    /// `topic(n)`: the n-th level, 1-based. A scan of the UTF-8 bytes, no split array:
    /// rules call this for every message.
    public func topicLevel(_ index: Int) -> String? {
        guard index >= 1 else { return nil }
        var text = topic
        return text.withUTF8 { bytes -> String? in
            var level = 1
            var start = 0
            for position in 0...bytes.count where position == bytes.count || bytes[position] == UInt8(ascii: "/") {
                if level == index {
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                }
                level += 1
                start = position + 1
            }
            return nil
        }
    }
}
