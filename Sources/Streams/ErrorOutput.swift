import JSON

/// Firehose-style error records for a stream's error output (both stages make them).
enum ErrorOutput {
    /// An error record (errorCode, errorMessage, the record or its raw bytes) and its
    /// target: the error output, under its error-output type.
    static func envelope(
        _ item: StreamRecord, type: String, code: String, message: String, raw: [UInt8]?, attempts: Int = 0
    ) -> (target: StreamTarget, line: [UInt8]) {
        var object = JSONObject()
        object["errorCode"] = .string(code)
        object["errorMessage"] = .string(message)
        object["rule"] = .string(item.rule)
        object["topic"] = .string(item.topic)
        object["clientId"] = .string(item.clientId)
        object["attemptsMade"] = .int(Int64(attempts))
        object["arrivalTimestamp"] = .int(item.arrivalMillis)
        if let raw { object["rawData"] = .string(Base64.encode(raw)) } else { object["record"] = item.value }
        var line: [UInt8] = []
        JSONValue.object(object).serialize(into: &line)
        line.append(0x0A)
        return (.error(type: type), line)
    }
}
