/// SUBACK (§3.9).
public struct SubAck: Sendable, Hashable {
    /// Return code 0x80: the subscription was refused (§3.9.3).
    public static let failure: UInt8 = 0x80

    public var packetId: UInt16
    /// Granted QoS (0, 1, 2) or `failure`, one per requested filter, in order ([MQTT-3.9.3-1]).
    public var returnCodes: [UInt8]

    public init(packetId: UInt16, returnCodes: [UInt8]) {
        self.packetId = packetId
        self.returnCodes = returnCodes
    }

    static func decode(_ reader: inout ByteReader) throws(MQTTError) -> SubAck {
        let id = try reader.readUInt16("packet identifier")
        var codes: [UInt8] = []
        while !reader.isAtEnd {
            let code = try reader.readUInt8("return code")
            guard code <= 2 || code == failure else { throw .protocolViolation("SUBACK return code \(code)") }
            codes.append(code)
        }
        return SubAck(packetId: id, returnCodes: codes)
    }

    func encode(into buffer: inout [UInt8]) {
        buffer.append(PacketType.suback.rawValue << 4)
        RemainingLength.append(2 + returnCodes.count, to: &buffer)
        buffer.appendUInt16(packetId)
        buffer.append(contentsOf: returnCodes)
    }
}
