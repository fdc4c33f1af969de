/// CONNACK (§3.2).
public struct ConnAck: Sendable, Hashable {
    /// Connect return codes (§3.2.2.3, table 3.1).
    public enum ReturnCode: UInt8, Sendable, Hashable {
        case accepted = 0
        case unacceptableProtocolVersion = 1
        case identifierRejected = 2
        case serverUnavailable = 3
        case badUsernameOrPassword = 4
        case notAuthorized = 5
    }

    public var sessionPresent: Bool
    public var returnCode: ReturnCode

    public init(sessionPresent: Bool, returnCode: ReturnCode) {
        self.sessionPresent = sessionPresent
        self.returnCode = returnCode
    }

    static func decode(_ reader: inout ByteReader) throws(MQTTError) -> ConnAck {
        let flags = try reader.readUInt8("acknowledge flags")
        guard flags & 0xFE == 0 else { throw .protocolViolation("reserved CONNACK flags set") }
        let code = try reader.readUInt8("return code")
        guard let returnCode = ReturnCode(rawValue: code) else {
            throw .protocolViolation("unknown CONNACK return code \(code)")
        }
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: .connack) }
        return ConnAck(sessionPresent: flags & 1 == 1, returnCode: returnCode)
    }

    func encode(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: [PacketType.connack.rawValue << 4, 2, sessionPresent ? 1 : 0, returnCode.rawValue])
    }
}
