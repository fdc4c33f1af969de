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
    /// PUBLISH topic names (and will topics) deeper than this are a protocol violation.
    public var maxTopicLevels: Int

    public init(version: ProtocolVersion = .v311, maxPacketSize: Int = RemainingLength.maximum + 5, maxTopicLevels: Int = Int.max) {
        self.version = version
        self.maxPacketSize = maxPacketSize
        self.maxTopicLevels = maxTopicLevels
    }

    /// Decodes the packet at the start of `bytes` as this decoder's version.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(MQTTError) -> Result {
        try decode(bytes, version: version)
    }

    /// Decodes the packet at the start of `bytes` as `version` (a connection's, once its
    /// CONNECT said which; CONNECT itself carries its level). The size limit is checked
    /// from the fixed header alone, before the body is buffered (as rumqttd does).
    public func decode(_ bytes: UnsafeRawBufferPointer, version: ProtocolVersion) throws(MQTTError) -> Result {
        guard let first = bytes.first else { return .needMoreData }
        let typeBits = first >> 4
        let flags = first & 0x0F
        // AUTH (15) exists only in 5.0; 0 is reserved in both.
        guard let type = PacketType(rawValue: typeBits), type != .auth || version == .v5 else { throw .reservedPacketType(typeBits) }
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
        let packet = try Self.decodeBody(type: type, flags: flags, &reader, version: version, maxTopicLevels: maxTopicLevels)
        return .packet(packet, consumed: total)
    }

    /// Convenience for tests and tools: decodes from an array.
    public func decode(_ bytes: [UInt8]) throws(MQTTError) -> Result {
        try decode(bytes, version: version)
    }

    public func decode(_ bytes: [UInt8], version: ProtocolVersion) throws(MQTTError) -> Result {
        let outcome = bytes.withUnsafeBytes { raw in Swift.Result { () throws(MQTTError) -> Result in try decode(raw, version: version) } }
        return try outcome.get()
    }

    private static func decodeBody(type: PacketType, flags: UInt8, _ reader: inout ByteReader, version: ProtocolVersion, maxTopicLevels: Int) throws(MQTTError) -> Packet {
        switch type {
        case .connect: return .connect(try Connect.decode(&reader, maxTopicLevels: maxTopicLevels))
        case .connack: return .connack(try ConnAck.decode(&reader, version: version))
        case .publish: return .publish(try Publish.decode(flags: flags, &reader, version: version, maxTopicLevels: maxTopicLevels))
        case .puback, .pubrec, .pubrel, .pubcomp: return .ack(try Acknowledgement.decode(type, &reader, version: version))
        case .subscribe: return .subscribe(try Subscribe.decode(&reader, version: version))
        case .suback: return .suback(try SubAck.decode(&reader, version: version))
        case .unsubscribe: return .unsubscribe(try Unsubscribe.decode(&reader, version: version))
        case .unsuback: return .unsuback(try UnsubAck.decode(&reader, version: version))
        case .pingreq, .pingresp: return try EmptyPacket.decode(type, &reader)
        case .disconnect: return .disconnect(try Disconnect.decode(.disconnect, &reader, version: version))
        case .auth: return .auth(try Disconnect.decode(.auth, &reader, version: version))
        }
    }
}
