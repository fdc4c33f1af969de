/// PINGREQ (§3.12) and PINGRESP (§3.13): a fixed header and no body, in both versions.
enum EmptyPacket {
    static func decode(_ type: PacketType, _ reader: inout ByteReader) throws(MQTTError) -> Packet {
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: type) }
        return type == .pingreq ? .pingreq : .pingresp
    }

    static func encode(_ type: PacketType, into buffer: inout [UInt8]) {
        buffer.append(type.rawValue << 4)
        buffer.append(0)
    }
}
