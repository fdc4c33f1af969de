/// The fixed header's variable-length "Remaining Length" (§2.2.3): 7 bits per byte, at
/// most four bytes, so at most 268,435,455.
public enum RemainingLength {
    public static let maximum = 268_435_455

    public enum Parse: Equatable {
        /// `value` bytes follow a length field of `width` bytes.
        case complete(value: Int, width: Int)
        case needMoreData
    }

    /// Parses from the start of `bytes` (the byte after the packet type).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(MQTTError) -> Parse {
        var value = 0
        var multiplier = 1
        for index in 0..<4 {
            guard index < bytes.count else { return .needMoreData }
            let byte = bytes[index]
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { return .complete(value: value, width: index + 1) }
            multiplier *= 128
        }
        // [MQTT-2.2.3]: a fourth byte with the continuation bit set is malformed. rumqttd and
        // Mosquitto give up here too instead of waiting for more bytes.
        throw .malformedRemainingLength
    }

    @inlinable
    public static func append(_ length: Int, to buffer: inout [UInt8]) {
        var value = length
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value > 0 { byte |= 0x80 }
            buffer.append(byte)
        } while value > 0
    }

    @inlinable
    public static func width(of length: Int) -> Int {
        switch length {
        case ..<128: return 1
        case ..<16_384: return 2
        case ..<2_097_152: return 3
        default: return 4
        }
    }
}
