/// PINGREQ (§3.12), PINGRESP (§3.13) and DISCONNECT (§3.14): a fixed header and no body.
enum EmptyPacket {
    static func decode(_ type: PacketType, _ reader: inout ByteReader) throws(MQTTError) -> Packet {
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: type) }
        switch type {
        case .pingreq: return .pingreq
        case .pingresp: return .pingresp
        default: return .disconnect
        }
    }

    static func encode(_ type: PacketType, into buffer: inout [UInt8]) {
        buffer.append(type.rawValue << 4)
        buffer.append(0)
    }
}
