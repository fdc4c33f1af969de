/// UNSUBSCRIBE (§3.10).
public struct Unsubscribe: Sendable, Hashable {
    public var packetId: UInt16
    public var filters: [String]

    public init(packetId: UInt16, filters: [String]) {
        self.packetId = packetId
        self.filters = filters
    }

    static func decode(_ reader: inout ByteReader) throws(MQTTError) -> Unsubscribe {
        let id = try reader.readUInt16("packet identifier")
        guard id != 0 else { throw .zeroPacketIdentifier(type: .unsubscribe) }
        var filters: [String] = []
        while !reader.isAtEnd {
            filters.append(try reader.readString("topic filter"))
        }
        guard !filters.isEmpty else { throw .emptyTopicFilterList(type: .unsubscribe) }  // [MQTT-3.10.3-2]
        return Unsubscribe(packetId: id, filters: filters)
    }

    func encode(into buffer: inout [UInt8]) {
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        for filter in filters { body.appendMQTTString(filter) }
        buffer.append(PacketType.unsubscribe.rawValue << 4 | 0b0010)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
