/// Reads big-endian MQTT fields from a packet body. `read*` advances; a short read throws
/// `truncated` naming the field instead of trapping.
struct ByteReader: ~Copyable {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.offset = 0
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func readUInt8(_ field: String) throws(MQTTError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(field: field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16(_ field: String) throws(MQTTError) -> UInt16 {
        guard remaining >= 2 else { throw .truncated(field: field) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    /// Two-byte length prefix followed by that many bytes (§1.5.3 "Binary Data" shape).
    mutating func readBinary(_ field: String) throws(MQTTError) -> UnsafeRawBufferPointer {
        let length = Int(try readUInt16(field))
        guard remaining >= length else { throw .truncated(field: field) }
        defer { offset += length }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
    }

    /// A length-prefixed UTF-8 string, validated per §1.5.3.
    mutating func readString(_ field: String) throws(MQTTError) -> String {
        let raw = try readBinary(field)
        guard let string = MQTTString.decode(raw) else { throw .invalidString(field: field) }
        return string
    }

    /// Everything left in the body.
    mutating func readRest() -> UnsafeRawBufferPointer {
        defer { offset = bytes.count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset...])
    }
}

/// Wire helpers for building packets.
extension Array where Element == UInt8 {
    @inlinable
    mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends a UTF-8 string with its two-byte length prefix. Callers validate lengths.
    @inlinable
    mutating func appendMQTTString(_ string: String) {
        appendUInt16(UInt16(truncatingIfNeeded: string.utf8.count))
        append(contentsOf: string.utf8)
    }

    @inlinable
    mutating func appendMQTTBinary(_ bytes: [UInt8]) {
        appendUInt16(UInt16(truncatingIfNeeded: bytes.count))
        append(contentsOf: bytes)
    }
}
