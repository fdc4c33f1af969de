/// SUBSCRIBE (§3.8).
public struct Subscribe: Sendable, Hashable {
    public struct Request: Sendable, Hashable {
        public var filter: String
        public var qos: QoS
        /// MQTT 5 subscription options (§3.8.3.1); 3.1.1 requests leave them off.
        public var noLocal: Bool
        public var retainAsPublished: Bool
        /// 0: send retained messages on subscribe; 1: only for a new subscription; 2: never.
        public var retainHandling: UInt8

        public init(filter: String, qos: QoS, noLocal: Bool = false, retainAsPublished: Bool = false, retainHandling: UInt8 = 0) {
            self.filter = filter
            self.qos = qos
            self.noLocal = noLocal
            self.retainAsPublished = retainAsPublished
            self.retainHandling = retainHandling
        }

        var optionsByte: UInt8 {
            qos.rawValue | (noLocal ? 0x04 : 0) | (retainAsPublished ? 0x08 : 0) | retainHandling << 4
        }
    }

    public var packetId: UInt16
    /// Filters are decoded as valid UTF-8 but not checked against §4.7 here: the broker
    /// answers an invalid filter with 0x80 (0x8F in 5.0) in SUBACK rather than closing the
    /// connection.
    public var requests: [Request]
    /// MQTT 5: Subscription Identifier and User Properties (§3.8.2.1).
    public var properties: Properties

    public init(packetId: UInt16, requests: [Request], properties: Properties = Properties()) {
        self.packetId = packetId
        self.requests = requests
        self.properties = properties
    }

    static func decode(_ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> Subscribe {
        let id = try reader.readUInt16("packet identifier")
        guard id != 0 else { throw .zeroPacketIdentifier(type: .subscribe) }
        let properties = version == .v5 ? try Properties.decode(&reader, for: .subscribe) : Properties()
        var requests: [Request] = []
        while !reader.isAtEnd {
            let filter = try reader.readString("topic filter")
            let options = try reader.readUInt8(version == .v5 ? "subscription options" : "requested QoS")
            // [MQTT-3.8.3-4] (3.1.1: bits 2-7; 5.0 [MQTT-3.8.3-5]: bits 6-7) must be zero.
            guard options & (version == .v5 ? 0xC0 : 0xFC) == 0 else { throw .invalidSubscriptionOptions(options) }
            guard let qos = QoS(rawValue: options & 0x03) else { throw .invalidQoS }
            let retainHandling = (options >> 4) & 0x03
            // §3.8.3.1: Retain Handling 3 is a protocol error.
            guard retainHandling != 3 else { throw .protocolViolation("Retain Handling 3 in SUBSCRIBE") }
            requests.append(Request(filter: filter, qos: qos, noLocal: options & 0x04 != 0, retainAsPublished: options & 0x08 != 0, retainHandling: retainHandling))
        }
        guard !requests.isEmpty else { throw .emptyTopicFilterList(type: .subscribe) }  // [MQTT-3.8.3-3]
        return Subscribe(packetId: id, requests: requests, properties: properties)
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        if version == .v5 { properties.encode(into: &body) }
        for request in requests {
            body.appendMQTTString(request.filter)
            body.append(version == .v5 ? request.optionsByte : request.qos.rawValue)
        }
        buffer.append(PacketType.subscribe.rawValue << 4 | 0b0010)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
