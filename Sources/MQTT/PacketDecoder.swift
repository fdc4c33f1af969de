/// Frames and decodes packets from a byte stream.
public struct PacketDecoder: Sendable {
    public enum Result: Sendable, Hashable {
        /// One packet; `consumed` bytes (fixed header included) belong to it.
        case packet(Packet, consumed: Int)
        /// The buffer holds no complete packet yet.
        case needMoreData
    }

    public var version: ProtocolVersion
    /// Largest accepted packet, fixed header included.
    public var maxPacketSize: Int

    public init(version: ProtocolVersion = .v311, maxPacketSize: Int = RemainingLength.maximum + 5) {
        self.version = version
        self.maxPacketSize = maxPacketSize
    }

    /// Decodes the packet at the start of `bytes`. The size limit is checked from the
    /// fixed header alone, before the body is buffered (as rumqttd does).
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(MQTTError) -> Result {
        guard let first = bytes.first else { return .needMoreData }
        let typeBits = first >> 4
        let flags = first & 0x0F
        guard let type = PacketType(rawValue: typeBits) else { throw .reservedPacketType(typeBits) }
        if let required = type.requiredFlags, flags != required {
            throw .invalidFixedHeaderFlags(type: type, flags: flags)
        }
        let length: Int
        let width: Int
        switch try RemainingLength.parse(UnsafeRawBufferPointer(rebasing: bytes[1...])) {
        case .needMoreData: return .needMoreData
        case let .complete(value, w):
            length = value
            width = w
        }
        let total = 1 + width + length
        guard total <= maxPacketSize else { throw .packetTooLarge(size: total, limit: maxPacketSize) }
        guard bytes.count >= total else { return .needMoreData }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[(1 + width)..<total]))
        let packet = try Self.decodeBody(type: type, flags: flags, &reader)
        return .packet(packet, consumed: total)
    }

    /// Convenience for tests and tools: decodes from an array.
    public func decode(_ bytes: [UInt8]) throws(MQTTError) -> Result {
        let outcome = bytes.withUnsafeBytes { raw in Swift.Result { () throws(MQTTError) -> Result in try decode(raw) } }
        return try outcome.get()
    }

    private static func decodeBody(type: PacketType, flags: UInt8, _ reader: inout ByteReader) throws(MQTTError) -> Packet {
        switch type {
        case .connect: return .connect(try Connect.decode(&reader))
        case .connack: return .connack(try ConnAck.decode(&reader))
        case .publish: return .publish(try Publish.decode(flags: flags, &reader))
        case .puback, .pubrec, .pubrel, .pubcomp, .unsuback: return try Acknowledgement.decode(type, &reader)
        case .subscribe: return .subscribe(try Subscribe.decode(&reader))
        case .suback: return .suback(try SubAck.decode(&reader))
        case .unsubscribe: return .unsubscribe(try Unsubscribe.decode(&reader))
        case .pingreq, .pingresp, .disconnect: return try EmptyPacket.decode(type, &reader)
        }
    }
}
