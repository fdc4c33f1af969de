/// SUBACK (§3.9).
public struct SubAck: Sendable, Hashable {
    /// Return code 0x80: the subscription was refused (§3.9.3 of 3.1.1; 5.0's Unspecified error).
    public static let failure: UInt8 = 0x80
    /// 5.0 SUBACK reason codes (§3.9.3).
    static let validReasonCodes: Set<UInt8> = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2]

    public var packetId: UInt16
    /// Granted QoS (0, 1, 2) or a failure code, one per requested filter, in order
    /// ([MQTT-3.9.3-1]); 3.1.1 knows only `failure` among the failures.
    public var returnCodes: [UInt8]
    /// MQTT 5: Reason String, User Properties.
    public var properties: Properties

    public init(packetId: UInt16, returnCodes: [UInt8], properties: Properties = Properties()) {
        self.packetId = packetId
        self.returnCodes = returnCodes
        self.properties = properties
    }

    static func decode(_ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> SubAck {
        let id = try reader.readUInt16("packet identifier")
        let properties = version == .v5 ? try Properties.decode(&reader, for: .suback) : Properties()
        var codes: [UInt8] = []
        while !reader.isAtEnd {
            let code = try reader.readUInt8("return code")
            if version == .v5 {
                guard validReasonCodes.contains(code) else { throw .malformedPacket("SUBACK reason code \(ReasonCode(code))") }
            } else {
                guard code <= 2 || code == failure else { throw .protocolViolation("SUBACK return code \(code)") }
            }
            codes.append(code)
        }
        return SubAck(packetId: id, returnCodes: codes, properties: properties)
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        var body: [UInt8] = []
        body.appendUInt16(packetId)
        if version == .v5 { properties.encode(into: &body) }
        // 3.1.1 has one failure code: 5.0's refusals become 0x80.
        body.append(contentsOf: version == .v5 ? returnCodes : returnCodes.map { $0 >= 0x80 ? Self.failure : $0 })
        buffer.append(PacketType.suback.rawValue << 4)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
