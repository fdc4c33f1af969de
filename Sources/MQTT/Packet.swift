/// One MQTT control packet. Each case's layout and rules live in the file named after it.
public enum Packet: Sendable, Hashable {
    case connect(Connect)
    case connack(ConnAck)
    case publish(Publish)
    case puback(packetId: UInt16)
    case pubrec(packetId: UInt16)
    case pubrel(packetId: UInt16)
    case pubcomp(packetId: UInt16)
    case subscribe(Subscribe)
    case suback(SubAck)
    case unsubscribe(Unsubscribe)
    case unsuback(packetId: UInt16)
    case pingreq
    case pingresp
    case disconnect

    public var type: PacketType {
        switch self {
        case .connect: return .connect
        case .connack: return .connack
        case .publish: return .publish
        case .puback: return .puback
        case .pubrec: return .pubrec
        case .pubrel: return .pubrel
        case .pubcomp: return .pubcomp
        case .subscribe: return .subscribe
        case .suback: return .suback
        case .unsubscribe: return .unsubscribe
        case .unsuback: return .unsuback
        case .pingreq: return .pingreq
        case .pingresp: return .pingresp
        case .disconnect: return .disconnect
        }
    }

    /// Appends the packet's wire form to `buffer`.
    public func encode(into buffer: inout [UInt8], version: ProtocolVersion = .v311) {
        switch self {
        case let .connect(p): p.encode(into: &buffer)
        case let .connack(p): p.encode(into: &buffer)
        case let .publish(p): p.encode(into: &buffer)
        case let .puback(id): Acknowledgement.encode(.puback, packetId: id, into: &buffer)
        case let .pubrec(id): Acknowledgement.encode(.pubrec, packetId: id, into: &buffer)
        case let .pubrel(id): Acknowledgement.encode(.pubrel, packetId: id, into: &buffer)
        case let .pubcomp(id): Acknowledgement.encode(.pubcomp, packetId: id, into: &buffer)
        case let .subscribe(p): p.encode(into: &buffer)
        case let .suback(p): p.encode(into: &buffer)
        case let .unsubscribe(p): p.encode(into: &buffer)
        case let .unsuback(id): Acknowledgement.encode(.unsuback, packetId: id, into: &buffer)
        case .pingreq: EmptyPacket.encode(.pingreq, into: &buffer)
        case .pingresp: EmptyPacket.encode(.pingresp, into: &buffer)
        case .disconnect: EmptyPacket.encode(.disconnect, into: &buffer)
        }
    }

    /// The packet's wire form as a new array.
    public func encoded(version: ProtocolVersion = .v311) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer, version: version)
        return buffer
    }
}
