/// UTF-8 strings as MQTT defines them (§1.5.3): well-formed UTF-8 (which already excludes
/// the surrogates U+D800…U+DFFF, [MQTT-1.5.3-1]) and no U+0000 ([MQTT-1.5.3-2]).
public enum MQTTString {
    /// Decodes and validates; nil when the bytes are not an MQTT string.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> String? {
        // Fast path: topic names are nearly always ASCII, which needs no decoding work.
        var ascii = true
        for byte in bytes {
            if byte == 0 { return nil }
            if byte >= 0x80 { ascii = false }
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    public static func decode(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { decode($0) }
    }
}
