/// PUBLISH (§3.3).
public struct Publish: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: QoS
    public var retain: Bool
    public var dup: Bool
    /// Present exactly when `qos` > 0 (§2.3.1).
    public var packetId: UInt16?

    public init(
        topic: String, payload: [UInt8], qos: QoS = .atMostOnce, retain: Bool = false,
        dup: Bool = false, packetId: UInt16? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetId = packetId
    }

    static func decode(flags: UInt8, _ reader: inout ByteReader) throws(MQTTError) -> Publish {
        guard let qos = QoS(rawValue: (flags >> 1) & 0x03) else { throw .invalidQoS }  // [MQTT-3.3.1-4]
        let dup = flags & 0x08 != 0
        // [MQTT-3.3.1-2]: DUP must be 0 for QoS 0 messages.
        if qos == .atMostOnce && dup { throw .protocolViolation("DUP flag set on a QoS 0 PUBLISH") }
        let topic = try reader.readString("topic name")
        try Topic.validateName(topic)
        var packetId: UInt16?
        if qos != .atMostOnce {
            let id = try reader.readUInt16("packet identifier")
            guard id != 0 else { throw .zeroPacketIdentifier(type: .publish) }
            packetId = id
        }
        let payload = Array(reader.readRest())
        return Publish(topic: topic, payload: payload, qos: qos, retain: flags & 0x01 != 0, dup: dup, packetId: packetId)
    }

    func encode(into buffer: inout [UInt8]) {
        Publish.encode(
            topic: topic, payload: payload, qos: qos, retain: retain, dup: dup,
            packetId: packetId ?? 0, into: &buffer)
    }

    /// Encodes a PUBLISH from its parts without building a `Publish` value; the broker's
    /// fan-out path calls this once per delivery.
    @inlinable
    public static func encode(
        topic: String, payload: [UInt8], qos: QoS, retain: Bool, dup: Bool, packetId: UInt16,
        into buffer: inout [UInt8]
    ) {
        let topicLength = topic.utf8.count
        let remaining = 2 + topicLength + (qos == .atMostOnce ? 0 : 2) + payload.count
        var header = PacketType.publish.rawValue << 4 | qos.rawValue << 1
        if retain { header |= 0x01 }
        if dup { header |= 0x08 }
        buffer.reserveCapacity(buffer.count + 1 + RemainingLength.width(of: remaining) + remaining)
        buffer.append(header)
        RemainingLength.append(remaining, to: &buffer)
        buffer.appendUInt16(UInt16(truncatingIfNeeded: topicLength))
        buffer.append(contentsOf: topic.utf8)
        if qos != .atMostOnce { buffer.appendUInt16(packetId) }
        buffer.append(contentsOf: payload)
    }
}
