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

    mutating func readUInt32(_ field: String) throws(MQTTError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated(field: field) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    /// A Variable Byte Integer (§1.5.5): at most four bytes; a fourth with the continuation
    /// bit set is malformed ([MQTT-1.5.5-1]).
    mutating func readVariableByteInteger(_ field: String) throws(MQTTError) -> Int {
        var value = 0
        var shift = 0
        for _ in 0..<4 {
            let byte = try readUInt8(field)
            value |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw .malformedPacket("\(field): Variable Byte Integer longer than 4 bytes")
    }

    /// The next `count` bytes.
    mutating func readBytes(_ count: Int, _ field: String) throws(MQTTError) -> UnsafeRawBufferPointer {
        guard remaining >= count else { throw .truncated(field: field) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
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

    @inlinable
    mutating func appendUInt32(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
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
