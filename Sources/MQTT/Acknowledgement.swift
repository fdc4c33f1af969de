/// PUBACK (§3.4), PUBREC (§3.5), PUBREL (§3.6), PUBCOMP (§3.7) and UNSUBACK (§3.11): five
/// packets with one shape, a two-byte packet identifier and nothing else, so one codec.
enum Acknowledgement {
    static func decode(_ type: PacketType, _ reader: inout ByteReader) throws(MQTTError) -> Packet {
        let id = try reader.readUInt16("packet identifier")
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: type) }
        guard id != 0 else { throw .zeroPacketIdentifier(type: type) }
        switch type {
        case .puback: return .puback(packetId: id)
        case .pubrec: return .pubrec(packetId: id)
        case .pubrel: return .pubrel(packetId: id)
        case .pubcomp: return .pubcomp(packetId: id)
        default: return .unsuback(packetId: id)
        }
    }

    static func encode(_ type: PacketType, packetId: UInt16, into buffer: inout [UInt8]) {
        buffer.append(type.rawValue << 4 | (type.requiredFlags ?? 0))
        buffer.append(2)
        buffer.appendUInt16(packetId)
    }
}
