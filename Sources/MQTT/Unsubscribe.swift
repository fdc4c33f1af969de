/// UNSUBSCRIBE (§3.10).
public struct Unsubscribe: Sendable, Hashable {
    public var packetId: UInt16
    public var filters: [String]
    /// MQTT 5: User Properties (§3.10.2.1).
    public var properties: Properties

    public init(packetId: UInt16, filters: [String], properties: Properties = Properties()) {
        self.packetId = packetId
        self.filters = filters
        self.properties = properties
    }

    static func decode(_ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> Unsubscribe {
        let id = try reader.readUInt16("packet identifier")
        guard id != 0 else { throw .zeroPacketIdentifier(type: .unsubscribe) }
        let properties = version == .v5 ? try Properties.decode(&reader, for: .unsubscribe) : Properties()
        var filters: [String] = []
        while !reader.isAtEnd {
            filters.append(try reader.readString("topic filter"))
        }
        guard !filters.isEmpty else { throw .emptyTopicFilterList(type: .unsubscribe) }  // [MQTT-3.10.3-2]
        return Unsubscribe(packetId: id, filters: filters, properties: properties)
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        if version == .v5 { properties.encode(into: &body) }
        for filter in filters { body.appendMQTTString(filter) }
        buffer.append(PacketType.unsubscribe.rawValue << 4 | 0b0010)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}

/// UNSUBACK (§3.11): the packet identifier; in 5.0 also a reason code per filter.
public struct UnsubAck: Sendable, Hashable {
    /// 5.0 UNSUBACK reason codes (§3.11.3).
    static let validReasonCodes: Set<UInt8> = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91]

    public var packetId: UInt16
    /// 5.0 only, one per filter in order (0x00 Success, 0x11 No subscription existed, …).
    public var reasonCodes: [UInt8]
    public var properties: Properties

    public init(packetId: UInt16, reasonCodes: [UInt8] = [], properties: Properties = Properties()) {
        self.packetId = packetId
        self.reasonCodes = reasonCodes
        self.properties = properties
    }

    static func decode(_ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> UnsubAck {
        let id = try reader.readUInt16("packet identifier")
        guard id != 0 else { throw .zeroPacketIdentifier(type: .unsuback) }
        guard version == .v5 else {
            guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: .unsuback) }
            return UnsubAck(packetId: id)
        }
        let properties = try Properties.decode(&reader, for: .unsuback)
        var codes: [UInt8] = []
        while !reader.isAtEnd {
            let code = try reader.readUInt8("reason code")
            guard validReasonCodes.contains(code) else { throw .malformedPacket("UNSUBACK reason code \(ReasonCode(code))") }
            codes.append(code)
        }
        return UnsubAck(packetId: id, reasonCodes: codes, properties: properties)
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        guard version == .v5 else {
            Acknowledgement.encode(.unsuback, packetId: packetId, into: &buffer)
            return
        }
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        properties.encode(into: &body)
        body.append(contentsOf: reasonCodes)
        buffer.append(PacketType.unsuback.rawValue << 4)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
