/// The MQTT protocol level carried in CONNECT (§3.1.2.2). The codec takes it as a parameter
/// so MQTT 5.0 (level 5) can be added without touching the 3.1.1 paths.
public enum ProtocolVersion: UInt8, Sendable, Hashable, CustomStringConvertible {
    case v311 = 4

    public var protocolName: String { "MQTT" }

    public var description: String {
        switch self {
        case .v311: return "3.1.1"
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
