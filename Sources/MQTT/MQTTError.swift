/// Every way an MQTT byte stream can be rejected by the codec or the protocol rules.
/// The broker closes the network connection on any of these (MQTT 3.1.1 §4.8: "the
/// Server MUST close the Network Connection"), except `unacceptableProtocol`, which is
/// answered with CONNACK 0x01 first (§3.1.2.2, [MQTT-3.1.2-2]).
public enum MQTTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The variable-length "Remaining Length" used a fifth byte (§2.2.3).
    case malformedRemainingLength
    /// The announced packet length exceeds the configured maximum; checked from the fixed
    /// header alone, before the body is buffered.
    case packetTooLarge(size: Int, limit: Int)
    /// Packet type 0 or 15, reserved in 3.1.1 (§2.2.1).
    case reservedPacketType(UInt8)
    /// The fixed header's low nibble is not what §2.2.2 prescribes for this packet type.
    case invalidFixedHeaderFlags(type: PacketType, flags: UInt8)
    /// A QoS field held the reserved value 3 ([MQTT-3.3.1-4], [MQTT-3.8.3-4]).
    case invalidQoS
    /// The body ended before the named field was complete.
    case truncated(field: String)
    /// The body continues after the last field of a fixed-size packet.
    case unexpectedTrailingBytes(type: PacketType)
    /// A UTF-8 string field is not well-formed UTF-8 or contains U+0000 ([MQTT-1.5.3-1/2]).
    case invalidString(field: String)
    /// A topic name or filter breaks §4.7 (wildcards in a name, `#` not last, empty, …).
    case invalidTopic(String)
    /// CONNECT with a protocol name or level this broker does not speak.
    case unacceptableProtocol(name: String, level: UInt8)
    /// CONNECT flags break §3.1.2.3–§3.1.2.9 (reserved bit, will QoS without will flag, …).
    case invalidConnectFlags(String)
    /// A packet identifier of 0 where a non-zero one is required ([MQTT-2.3.1-1]).
    case zeroPacketIdentifier(type: PacketType)
    /// SUBSCRIBE or UNSUBSCRIBE without any topic filter ([MQTT-3.8.3-3], [MQTT-3.10.3-2]).
    case emptyTopicFilterList(type: PacketType)
    /// The reserved bits of a SUBSCRIBE option byte were set ([MQTT-3.8.3-4]).
    case invalidSubscriptionOptions(UInt8)
    /// MQTT 5: a packet that breaks the format — an unknown or misplaced property, a bad
    /// Variable Byte Integer, an unknown reason code (0x81, §2.2.2.2, §1.5.5).
    case malformedPacket(String)
    /// A well-formed packet that is not allowed here (second CONNECT, CONNACK from a client, …).
    case protocolViolation(String)

    /// The MQTT 5.0 reason code for this error (§2.4 of 5.0); in 3.1.1 it is only logged,
    /// because 3.1.1 has no way to send it.
    public var reasonCode: UInt8 {
        switch self {
        case .packetTooLarge: return 0x95
        case .unacceptableProtocol: return 0x84
        case .invalidTopic: return 0x90
        case .protocolViolation, .zeroPacketIdentifier, .emptyTopicFilterList: return 0x82
        default: return 0x81
        }
    }

    public var description: String {
        switch self {
        case .malformedRemainingLength: return "malformed remaining length (more than 4 bytes)"
        case let .packetTooLarge(size, limit): return "packet of \(size) bytes exceeds the maximum of \(limit)"
        case let .reservedPacketType(type): return "reserved packet type \(type)"
        case let .invalidFixedHeaderFlags(type, flags): return "invalid fixed header flags 0x\(String(flags, radix: 16)) for \(type)"
        case .invalidQoS: return "invalid QoS 3"
        case let .truncated(field): return "packet ends inside \(field)"
        case let .unexpectedTrailingBytes(type): return "unexpected bytes after the end of \(type)"
        case let .invalidString(field): return "\(field) is not valid UTF-8 or contains U+0000"
        case let .invalidTopic(reason): return "invalid topic: \(reason)"
        case let .unacceptableProtocol(name, level): return "unacceptable protocol \(name) level \(level)"
        case let .invalidConnectFlags(reason): return "invalid CONNECT flags: \(reason)"
        case let .zeroPacketIdentifier(type): return "\(type) with packet identifier 0"
        case let .emptyTopicFilterList(type): return "\(type) without topic filters"
        case let .invalidSubscriptionOptions(byte): return "reserved bits set in subscription options 0x\(String(byte, radix: 16))"
        case let .malformedPacket(reason): return "malformed packet: \(reason)"
        case let .protocolViolation(reason): return "protocol violation: \(reason)"
        }
    }
}
