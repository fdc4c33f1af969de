/// The MQTT protocol level carried in CONNECT (§3.1.2.2): 3.1.1 (level 4) or 5.0 (level 5).
/// One codec for both; every packet's decoder and encoder takes the connection's version.
public enum ProtocolVersion: UInt8, Sendable, Hashable, CustomStringConvertible {
    case v311 = 4
    case v5 = 5

    public var protocolName: String { "MQTT" }

    public var description: String {
        switch self {
        case .v311: return "3.1.1"
        case .v5: return "5.0"
        }
    }
}

/// Quality of service levels (§4.3).
public enum QoS: UInt8, Sendable, Hashable, Comparable, CustomStringConvertible {
    case atMostOnce = 0
    case atLeastOnce = 1
    case exactlyOnce = 2

    public static func < (lhs: QoS, rhs: QoS) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
