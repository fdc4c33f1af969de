/// PUBLISH (§3.3).
public struct Publish: Sendable, Hashable {
    /// Empty only in an MQTT 5 PUBLISH that names its topic by a Topic Alias (§3.3.2.3.4).
    public var topic: String
    public var payload: [UInt8]
    public var qos: QoS
    public var retain: Bool
    public var dup: Bool
    /// Present exactly when `qos` > 0 (§2.3.1).
    public var packetId: UInt16?
    /// MQTT 5 PUBLISH properties (§3.3.2.3).
    public var properties: Properties

    public init(
        topic: String, payload: [UInt8], qos: QoS = .atMostOnce, retain: Bool = false,
        dup: Bool = false, packetId: UInt16? = nil, properties: Properties = Properties()
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetId = packetId
        self.properties = properties
    }

    static func decode(flags: UInt8, _ reader: inout ByteReader, version: ProtocolVersion, maxTopicLevels: Int = Int.max) throws(MQTTError) -> Publish {
        guard let qos = QoS(rawValue: (flags >> 1) & 0x03) else { throw .invalidQoS }  // [MQTT-3.3.1-4]
        let dup = flags & 0x08 != 0
        // [MQTT-3.3.1-2]: DUP must be 0 for QoS 0 messages.
        if qos == .atMostOnce && dup { throw .protocolViolation("DUP flag set on a QoS 0 PUBLISH") }
        let topic = try reader.readString("topic name")
        // 5.0: an empty name is the Topic Alias's (checked once the properties are read).
        if !(version == .v5 && topic.isEmpty) { try Topic.validateName(topic, maxLevels: maxTopicLevels) }
        var packetId: UInt16?
        if qos != .atMostOnce {
            let id = try reader.readUInt16("packet identifier")
            guard id != 0 else { throw .zeroPacketIdentifier(type: .publish) }
            packetId = id
        }
        var properties = Properties()
        if version == .v5 {
            properties = try Properties.decode(&reader, for: .publish)
            // [MQTT-3.3.2-8]: no name and no alias is a protocol error.
            if topic.isEmpty && properties.topicAlias == nil { throw .protocolViolation("PUBLISH with an empty topic name and no Topic Alias") }
        }
        let payload = Array(reader.readRest())
        return Publish(topic: topic, payload: payload, qos: qos, retain: flags & 0x01 != 0, dup: dup, packetId: packetId, properties: properties)
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        guard version == .v5 else {
            Publish.encode(topic: topic, payload: payload, qos: qos, retain: retain, dup: dup, packetId: packetId ?? 0, into: &buffer)
            return
        }
        let body = properties.encodedBody
        Publish.encode(
            topic: topic, payload: payload, qos: qos, retain: retain, dup: dup, packetId: packetId ?? 0, propertiesLength: body.count, into: &buffer
        ) { $0.append(contentsOf: body) }
    }

    /// An MQTT 5 PUBLISH whose property list (`propertiesLength` bytes, length prefix not
    /// included) `writeProperties` appends in place: the broker's fan-out to 5.0 clients.
    @inlinable
    public static func encode(
        topic: String, payload: [UInt8], qos: QoS, retain: Bool, dup: Bool, packetId: UInt16, propertiesLength: Int,
        into buffer: inout [UInt8], writeProperties: (inout [UInt8]) -> Void
    ) {
        encodeParts(topic: topic, payload: payload, qos: qos, retain: retain, dup: dup, packetId: packetId, propertiesLength: propertiesLength, into: &buffer, writeProperties)
    }

    /// Encodes a 3.1.1 PUBLISH from its parts without building a `Publish` value; the
    /// broker's fan-out path calls this once per delivery.
    @inlinable
    public static func encode(topic: String, payload: [UInt8], qos: QoS, retain: Bool, dup: Bool, packetId: UInt16, into buffer: inout [UInt8]) {
        encodeParts(topic: topic, payload: payload, qos: qos, retain: retain, dup: dup, packetId: packetId, propertiesLength: nil, into: &buffer) { _ in }
    }

    /// The one PUBLISH writer: fixed header, topic, packet id, the MQTT 5 property list when
    /// `propertiesLength` is given (3.1.1: none), payload.
    @inlinable
    static func encodeParts(
        topic: String, payload: [UInt8], qos: QoS, retain: Bool, dup: Bool, packetId: UInt16, propertiesLength: Int?,
        into buffer: inout [UInt8], _ writeProperties: (inout [UInt8]) -> Void
    ) {
        let topicLength = topic.utf8.count
        let properties = propertiesLength.map { RemainingLength.width(of: $0) + $0 } ?? 0
        let remaining = 2 + topicLength + (qos == .atMostOnce ? 0 : 2) + properties + payload.count
        var header = PacketType.publish.rawValue << 4 | qos.rawValue << 1
        if retain { header |= 0x01 }
        if dup { header |= 0x08 }
        buffer.reserveCapacity(buffer.count + 1 + RemainingLength.width(of: remaining) + remaining)
        buffer.append(header)
        RemainingLength.append(remaining, to: &buffer)
        buffer.appendUInt16(UInt16(truncatingIfNeeded: topicLength))
        buffer.append(contentsOf: topic.utf8)
        if qos != .atMostOnce { buffer.appendUInt16(packetId) }
        if let propertiesLength {
            RemainingLength.append(propertiesLength, to: &buffer)
            writeProperties(&buffer)
        }
        buffer.append(contentsOf: payload)
    }
}
