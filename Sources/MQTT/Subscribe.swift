/// SUBSCRIBE (§3.8).
public struct Subscribe: Sendable, Hashable {
    public struct Request: Sendable, Hashable {
        public var filter: String
        public var qos: QoS

        public init(filter: String, qos: QoS) {
            self.filter = filter
            self.qos = qos
        }
    }

    public var packetId: UInt16
    /// Filters are decoded as valid UTF-8 but not checked against §4.7 here: the broker
    /// answers an invalid filter with 0x80 in SUBACK rather than closing the connection.
    public var requests: [Request]

    public init(packetId: UInt16, requests: [Request]) {
        self.packetId = packetId
        self.requests = requests
    }

    static func decode(_ reader: inout ByteReader) throws(MQTTError) -> Subscribe {
        let id = try reader.readUInt16("packet identifier")
        guard id != 0 else { throw .zeroPacketIdentifier(type: .subscribe) }
        var requests: [Request] = []
        while !reader.isAtEnd {
            let filter = try reader.readString("topic filter")
            let options = try reader.readUInt8("requested QoS")
            guard options & 0xFC == 0 else { throw .invalidSubscriptionOptions(options) }  // [MQTT-3.8.3-4]
            guard let qos = QoS(rawValue: options) else { throw .invalidQoS }
            requests.append(Request(filter: filter, qos: qos))
        }
        guard !requests.isEmpty else { throw .emptyTopicFilterList(type: .subscribe) }  // [MQTT-3.8.3-3]
        return Subscribe(packetId: id, requests: requests)
    }

    func encode(into buffer: inout [UInt8]) {
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        for request in requests {
            body.appendMQTTString(request.filter)
            body.append(request.qos.rawValue)
        }
        buffer.append(PacketType.subscribe.rawValue << 4 | 0b0010)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
