/// One MQTT control packet, 3.1.1 or 5.0. Each case's layout and rules live in the file
/// named after it; the version decides the wire form (`encode(into:version:)`).
public enum Packet: Sendable, Hashable {
    case connect(Connect)
    case connack(ConnAck)
    case publish(Publish)
    /// PUBACK, PUBREC, PUBREL or PUBCOMP (`Acknowledgement.type`).
    case ack(Acknowledgement)
    case subscribe(Subscribe)
    case suback(SubAck)
    case unsubscribe(Unsubscribe)
    case unsuback(UnsubAck)
    case pingreq
    case pingresp
    case disconnect(Disconnect)
    /// MQTT 5 only.
    case auth(Disconnect)

    public static func puback(packetId: UInt16) -> Packet { .ack(Acknowledgement(.puback, packetId: packetId)) }
    public static func pubrec(packetId: UInt16) -> Packet { .ack(Acknowledgement(.pubrec, packetId: packetId)) }
    public static func pubrel(packetId: UInt16) -> Packet { .ack(Acknowledgement(.pubrel, packetId: packetId)) }
    public static func pubcomp(packetId: UInt16) -> Packet { .ack(Acknowledgement(.pubcomp, packetId: packetId)) }
    public static func unsuback(packetId: UInt16) -> Packet { .unsuback(UnsubAck(packetId: packetId)) }
    /// DISCONNECT without a reason (3.1.1's only form; 5.0's Normal disconnection).
    public static var disconnect: Packet { .disconnect(Disconnect()) }

    public var type: PacketType {
        switch self {
        case .connect: return .connect
        case .connack: return .connack
        case .publish: return .publish
        case let .ack(ack): return ack.type
        case .subscribe: return .subscribe
        case .suback: return .suback
        case .unsubscribe: return .unsubscribe
        case .unsuback: return .unsuback
        case .pingreq: return .pingreq
        case .pingresp: return .pingresp
        case .disconnect: return .disconnect
        case .auth: return .auth
        }
    }

    /// Appends the packet's wire form for `version` to `buffer`. CONNECT carries its own
    /// version.
    public func encode(into buffer: inout [UInt8], version: ProtocolVersion = .v311) {
        switch self {
        case let .connect(p): p.encode(into: &buffer)
        case let .connack(p): p.encode(into: &buffer, version: version)
        case let .publish(p): p.encode(into: &buffer, version: version)
        case let .ack(p): p.encode(into: &buffer, version: version)
        case let .subscribe(p): p.encode(into: &buffer, version: version)
        case let .suback(p): p.encode(into: &buffer, version: version)
        case let .unsubscribe(p): p.encode(into: &buffer, version: version)
        case let .unsuback(p): p.encode(into: &buffer, version: version)
        case .pingreq: EmptyPacket.encode(.pingreq, into: &buffer)
        case .pingresp: EmptyPacket.encode(.pingresp, into: &buffer)
        case let .disconnect(p): p.encode(.disconnect, into: &buffer, version: version)
        case let .auth(p): p.encode(.auth, into: &buffer, version: version)
        }
    }

    /// The packet's wire form as a new array.
    public func encoded(version: ProtocolVersion = .v311) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer, version: version)
        return buffer
    }
}
