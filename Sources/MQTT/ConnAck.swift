/// CONNACK (§3.2 of 3.1.1 and of 5.0).
public struct ConnAck: Sendable, Hashable {
    /// Connect return codes of 3.1.1 (§3.2.2.3, table 3.1).
    public enum ReturnCode: UInt8, Sendable, Hashable {
        case accepted = 0
        case unacceptableProtocolVersion = 1
        case identifierRejected = 2
        case serverUnavailable = 3
        case badUsernameOrPassword = 4
        case notAuthorized = 5

        /// The 5.0 reason code with the same meaning.
        public var reasonCode: ReasonCode {
            switch self {
            case .accepted: return .success
            case .unacceptableProtocolVersion: return .unsupportedProtocolVersion
            case .identifierRejected: return .clientIdentifierNotValid
            case .serverUnavailable: return .serverUnavailable
            case .badUsernameOrPassword: return .badUserNameOrPassword
            case .notAuthorized: return .notAuthorized
            }
        }
    }

    /// 5.0 CONNACK reason codes (§3.2.2.2); anything else from a server is malformed.
    static let validReasonCodes: Set<UInt8> = [
        0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
    ]

    public var sessionPresent: Bool
    /// The outcome; a 3.1.1 connection carries it as the nearest return code.
    public var reasonCode: ReasonCode
    /// 5.0 CONNACK properties (§3.2.2.3).
    public var properties: Properties

    public init(sessionPresent: Bool, returnCode: ReturnCode) {
        self.sessionPresent = sessionPresent
        self.reasonCode = returnCode.reasonCode
        self.properties = Properties()
    }

    public init(sessionPresent: Bool, reasonCode: ReasonCode, properties: Properties = Properties()) {
        self.sessionPresent = sessionPresent
        self.reasonCode = reasonCode
        self.properties = properties
    }

    /// The 3.1.1 return code for `reasonCode` (5.0-only refusals map to the closest one).
    public var returnCode: ReturnCode {
        switch reasonCode {
        case .success: return .accepted
        case .unsupportedProtocolVersion: return .unacceptableProtocolVersion
        case .clientIdentifierNotValid: return .identifierRejected
        case .badUserNameOrPassword: return .badUsernameOrPassword
        case .notAuthorized, .banned, .badAuthenticationMethod: return .notAuthorized
        default: return .serverUnavailable
        }
    }

    static func decode(_ reader: inout ByteReader, version: ProtocolVersion) throws(MQTTError) -> ConnAck {
        let flags = try reader.readUInt8("acknowledge flags")
        guard flags & 0xFE == 0 else { throw .protocolViolation("reserved CONNACK flags set") }
        let code = try reader.readUInt8("return code")
        if version == .v5 {
            guard validReasonCodes.contains(code) else { throw .malformedPacket("CONNACK reason code \(ReasonCode(code))") }
            let properties = try Properties.decode(&reader, for: .connack)
            guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: .connack) }
            return ConnAck(sessionPresent: flags & 1 == 1, reasonCode: ReasonCode(code), properties: properties)
        }
        guard let returnCode = ReturnCode(rawValue: code) else {
            throw .protocolViolation("unknown CONNACK return code \(code)")
        }
        guard reader.isAtEnd else { throw .unexpectedTrailingBytes(type: .connack) }
        return ConnAck(sessionPresent: flags & 1 == 1, returnCode: returnCode)
    }

    func encode(into buffer: inout [UInt8], version: ProtocolVersion) {
        guard version == .v5 else {
            buffer.append(contentsOf: [PacketType.connack.rawValue << 4, 2, sessionPresent ? 1 : 0, returnCode.rawValue])
            return
        }
        var body: [UInt8] = [sessionPresent ? 1 : 0, reasonCode.rawValue]
        properties.encode(into: &body)
        buffer.append(PacketType.connack.rawValue << 4)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }
}
