/// CONNECT (§3.1): the first packet a client sends.
public struct Connect: Sendable, Hashable {
    public struct Will: Sendable, Hashable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: QoS
        public var retain: Bool
        /// MQTT 5 will properties (§3.1.3.2): Will Delay Interval, the message's properties.
        public var properties: Properties

        public init(topic: String, payload: [UInt8], qos: QoS = .atMostOnce, retain: Bool = false, properties: Properties = Properties()) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
            self.properties = properties
        }
    }

    public var version: ProtocolVersion
    public var clientId: String
    /// Clean Session (3.1.1), Clean Start (5.0, §3.1.2.4).
    public var cleanSession: Bool
    public var keepAlive: UInt16
    public var will: Will?
    public var username: String?
    public var password: [UInt8]?
    /// MQTT 5 CONNECT properties (§3.1.2.11).
    public var properties: Properties

    public init(
        version: ProtocolVersion = .v311, clientId: String, cleanSession: Bool = true,
        keepAlive: UInt16 = 60, will: Will? = nil, username: String? = nil, password: [UInt8]? = nil,
        properties: Properties = Properties()
    ) {
        self.version = version
        self.clientId = clientId
        self.cleanSession = cleanSession
        self.keepAlive = keepAlive
        self.will = will
        self.username = username
        self.password = password
        self.properties = properties
    }

    static func decode(_ reader: inout ByteReader, maxTopicLevels: Int = Int.max) throws(MQTTError) -> Connect {
        let name = try reader.readString("protocol name")
        let level = try reader.readUInt8("protocol level")
        // [MQTT-3.1.2-2]: an unsupported level gets CONNACK 0x01; the rest of the packet
        // may be in another version's format, so nothing more is read.
        guard name == "MQTT", let version = ProtocolVersion(rawValue: level) else {
            throw .unacceptableProtocol(name: name, level: level)
        }
        let flags = try reader.readUInt8("connect flags")
        // [MQTT-3.1.2-3]: the reserved flag must be zero.
        guard flags & 0x01 == 0 else { throw .invalidConnectFlags("reserved bit 0 is set") }
        let hasUsername = flags & 0x80 != 0
        let hasPassword = flags & 0x40 != 0
        let willRetain = flags & 0x20 != 0
        let willQoSBits = (flags >> 3) & 0x03
        let hasWill = flags & 0x04 != 0
        let cleanSession = flags & 0x02 != 0
        guard let willQoS = QoS(rawValue: willQoSBits) else { throw .invalidQoS }
        if !hasWill {
            // [MQTT-3.1.2-13], [MQTT-3.1.2-15]
            guard willQoSBits == 0, !willRetain else {
                throw .invalidConnectFlags("will QoS or retain set without the will flag")
            }
        }
        // [MQTT-3.1.2-22]: no password without a user name (3.1.1; 5.0 allows it, §3.1.2.9).
        guard hasUsername || !hasPassword || version == .v5 else { throw .invalidConnectFlags("password flag without user name flag") }
        let keepAlive = try reader.readUInt16("keep alive")
        let properties = version == .v5 ? try Properties.decode(&reader, for: .connect) : Properties()
        let clientId = try reader.readString("client identifier")
        var will: Will?
        if hasWill {
            let willProperties = version == .v5 ? try Properties.decode(&reader, for: .will) : Properties()
            let topic = try reader.readString("will topic")
            try Topic.validateName(topic, maxLevels: maxTopicLevels)
            let payload = try reader.readBinary("will message")
            will = Will(topic: topic, payload: Array(payload), qos: willQoS, retain: willRetain, properties: willProperties)
        }
        let username = hasUsername ? try reader.readString("user name") : nil
        let password = hasPassword ? Array(try reader.readBinary("password")) : nil
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: .connect) }
        return Connect(
            version: version, clientId: clientId, cleanSession: cleanSession, keepAlive: keepAlive,
            will: will, username: username, password: password, properties: properties)
    }

    func encode(into buffer: inout [UInt8]) {
        var body: [UInt8] = []
        body.appendMQTTString(version.protocolName)
        body.append(version.rawValue)
        var flags: UInt8 = cleanSession ? 0x02 : 0
        if let will {
            flags |= 0x04 | (will.qos.rawValue << 3) | (will.retain ? 0x20 : 0)
        }
        if username != nil { flags |= 0x80 }
        if password != nil { flags |= 0x40 }
        body.append(flags)
        body.appendUInt16(keepAlive)
        if version == .v5 { properties.encode(into: &body) }
        body.appendMQTTString(clientId)
        if let will {
            if version == .v5 { will.properties.encode(into: &body) }
            body.appendMQTTString(will.topic)
            body.appendMQTTBinary(will.payload)
        }
        if let username { body.appendMQTTString(username) }
        if let password { body.appendMQTTBinary(password) }
        buffer.append(PacketType.connect.rawValue << 4)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
