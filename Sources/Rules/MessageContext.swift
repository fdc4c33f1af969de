import JSON

/// One incoming message as rules see it. The payload is parsed as JSON at most once, on
/// first use, and only if the rule reads a field (so `encode(*, 'base64')` works on any bytes).
public final class MessageContext {
    public let topic: String
    public let payload: [UInt8]
    public let clientId: String
    public let username: String?
    /// Arrival time in milliseconds since the epoch (`timestamp()`).
    public let timestamp: Int64
    private var parsed: Result<JSONValue, JSONError>?
    private var levels: [Substring]?

    public init(topic: String, payload: [UInt8], clientId: String = "", username: String? = nil, timestamp: Int64) {
        self.topic = topic
        self.payload = payload
        self.clientId = clientId
        self.username = username
        self.timestamp = timestamp
    }

    /// The payload as JSON, or the reason it is not.
    public func json() throws(RuleEvaluationError) -> JSONValue {
        if parsed == nil {
            parsed = payload.withUnsafeBytes { raw in
                Result { () throws(JSONError) -> JSONValue in try JSONParser().parse(raw) }
            }
        }
        switch parsed! {
        case let .success(value): return value
        case let .failure(error): throw RuleEvaluationError("payload is not valid JSON: \(error)")
        }
    }

    /// `topic(n)`: the n-th level, 1-based.
    public func topicLevel(_ index: Int) -> String? {
        if levels == nil { levels = topic.split(separator: "/", omittingEmptySubsequences: false) }
        guard index >= 1, index <= levels!.count else { return nil }
        return String(levels![index - 1])
    }
}
