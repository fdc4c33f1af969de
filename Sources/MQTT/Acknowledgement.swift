/// PUBACK (§3.4), PUBREC (§3.5), PUBREL (§3.6) and PUBCOMP (§3.7): one shape — a packet
/// identifier and, in MQTT 5, a reason code and properties — so one codec.
public struct Acknowledgement: Sendable, Hashable {
    public var type: PacketType
    public var packetId: UInt16
    /// MQTT 5 only; 3.1.1 has no reason code on these packets.
    public var reasonCode: ReasonCode
    public var properties: Properties

    public init(_ type: PacketType, packetId: UInt16, reasonCode: ReasonCode = .success, properties: Properties = Properties()) {
        self.type = type
        self.packetId = packetId
        self.reasonCode = reasonCode
        self.properties = properties
    }

    /// §3.4.2.1, §3.5.2.1: PUBACK and PUBREC; §3.6.2.1, §3.7.2.1: PUBREL and PUBCOMP.
    static func isValid(_ code: UInt8, for type: PacketType) -> Bool {
        switch type {
        case .puback, .pubrec: return [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99].contains(code)
        default: return code == 0x00 || code == 0x92
        }
    }

    var propertyContext: Properties.Context {
        switch type {
        case .puback: return .puback
        case .pubrec: return .pubrec
        case .pubrel: return .pubrel
        default: return .pubcomp
        }
    }

    static func decode(_ type: PacketType, _ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> Acknowledgement {
        let id = try reader.readUInt16("packet identifier")
        guard id != 0 else { throw .zeroPacketIdentifier(type: type) }
        var ack = Acknowledgement(type, packetId: id)
        if version == .v5 && !reader.isAtEnd {
            // The reason code and the properties may be left out (§3.4.2.1, §3.4.2.2.1).
            let code = try reader.readUInt8("reason code")
            guard isValid(code, for: type) else { throw .malformedPacket("\(type) reason code \(ReasonCode(code))") }
            ack.reasonCode = ReasonCode(code)
            if !reader.isAtEnd { ack.properties = try Properties.decode(&reader, for: ack.propertyContext) }
        }
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: type) }
        return ack
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        Self.encode(type, packetId: packetId, reasonCode: version == .v5 ? reasonCode : .success, properties: version == .v5 ? properties : Properties(), into: &buffer)
    }

    /// The shortest form: 2 bytes for Success without properties (both versions), 3 with
    /// another reason code, more with properties.
    static func encode(_ type: PacketType, packetId: UInt16, reasonCode: ReasonCode = .success, properties: Properties = Properties(), into buffer: inout [UInt8]) {
        buffer.append(type.rawValue << 4 | (type.requiredFlags ?? 0))
        if properties.isEmpty {
            if reasonCode == .success {
                buffer.append(2)
                buffer.appendUInt16(packetId)
            } else {
                buffer.append(3)
                buffer.appendUInt16(packetId)
                buffer.append(reasonCode.rawValue)
            }
            return
        }
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        body.append(reasonCode.rawValue)
        properties.encode(into: &body)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}

/// A reason code and properties, the whole body of DISCONNECT (§3.14) and AUTH (§3.15) in
/// MQTT 5; a 3.1.1 DISCONNECT has no body.
public struct Disconnect: Sendable, Hashable {
    public var reasonCode: ReasonCode
    public var properties: Properties

    public init(reasonCode: ReasonCode = .normalDisconnection, properties: Properties = Properties()) {
        self.reasonCode = reasonCode
        self.properties = properties
    }

    /// §3.14.2.1 (DISCONNECT), §3.15.2.1 (AUTH).
    static func isValid(_ code: UInt8, for type: PacketType) -> Bool {
        if type == .auth { return code == 0x00 || code == 0x18 || code == 0x19 }
        return [
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A,
            0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
        ].contains(code)
    }

    static func decode(_ type: PacketType, _ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> Disconnect {
        var result = Disconnect()
        if version == .v5 && !reader.isAtEnd {
            // Remaining Length 0: Normal disconnection / Success, no properties (§3.14.2.1).
            let code = try reader.readUInt8("reason code")
            guard isValid(code, for: type) else { throw .malformedPacket("\(type) reason code \(ReasonCode(code))") }
            result.reasonCode = ReasonCode(code)
            if !reader.isAtEnd { result.properties = try Properties.decode(&reader, for: type == .auth ? .auth : .disconnect) }
        }
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: type) }
        return result
    }

    func encode(_ type: PacketType, into buffer: inout [UInt8], version: ProtocolVersion) {
        buffer.append(type.rawValue << 4)
        guard version == .v5, reasonCode != .success || !properties.isEmpty else {
            buffer.append(0)
            return
        }
        var body: [UInt8] = [reasonCode.rawValue]
        if !properties.isEmpty { properties.encode(into: &body) }
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
