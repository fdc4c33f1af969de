/// MQTT 5.0 properties (§2.2.2): a Variable Byte Integer length, then identifier/value pairs.
/// One value type for every packet; which identifiers a packet may carry is checked on
/// decode against `Properties.allowed` (§2.2.2.2, table 2-4). An empty set costs one
/// nil pointer, so 3.1.1 traffic and MQTT 5 packets without properties pay nothing for it.
@dynamicMemberLookup
public struct Properties: Sendable, Hashable {
    /// A User Property (0x26): a UTF-8 string pair; several, in order, with repeats (§3.3.2.3.7).
    public struct UserProperty: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The values; nil (or empty) where the property is absent.
    public struct Values: Sendable, Hashable {
        public var payloadFormatIndicator: UInt8?
        public var messageExpiryInterval: UInt32?
        public var contentType: String?
        public var responseTopic: String?
        public var correlationData: [UInt8]?
        public var subscriptionIdentifiers: [Int] = []
        public var sessionExpiryInterval: UInt32?
        public var assignedClientIdentifier: String?
        public var serverKeepAlive: UInt16?
        public var authenticationMethod: String?
        public var authenticationData: [UInt8]?
        public var requestProblemInformation: UInt8?
        public var willDelayInterval: UInt32?
        public var requestResponseInformation: UInt8?
        public var responseInformation: String?
        public var serverReference: String?
        public var reasonString: String?
        public var receiveMaximum: UInt16?
        public var topicAliasMaximum: UInt16?
        public var topicAlias: UInt16?
        public var maximumQoS: UInt8?
        public var retainAvailable: UInt8?
        public var userProperties: [UserProperty] = []
        public var maximumPacketSize: UInt32?
        public var wildcardSubscriptionAvailable: UInt8?
        public var subscriptionIdentifierAvailable: UInt8?
        public var sharedSubscriptionAvailable: UInt8?

        public init() {}

        @usableFromInline static let empty = Values()
    }

    /// Property identifiers (§2.2.2.2).
    public enum Identifier: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case payloadFormatIndicator = 0x01
        case messageExpiryInterval = 0x02
        case contentType = 0x03
        case responseTopic = 0x08
        case correlationData = 0x09
        case subscriptionIdentifier = 0x0B
        case sessionExpiryInterval = 0x11
        case assignedClientIdentifier = 0x12
        case serverKeepAlive = 0x13
        case authenticationMethod = 0x15
        case authenticationData = 0x16
        case requestProblemInformation = 0x17
        case willDelayInterval = 0x18
        case requestResponseInformation = 0x19
        case responseInformation = 0x1A
        case serverReference = 0x1C
        case reasonString = 0x1F
        case receiveMaximum = 0x21
        case topicAliasMaximum = 0x22
        case topicAlias = 0x23
        case maximumQoS = 0x24
        case retainAvailable = 0x25
        case userProperty = 0x26
        case maximumPacketSize = 0x27
        case wildcardSubscriptionAvailable = 0x28
        case subscriptionIdentifierAvailable = 0x29
        case sharedSubscriptionAvailable = 0x2A

        public var description: String {
            switch self {
            case .payloadFormatIndicator: return "Payload Format Indicator"
            case .messageExpiryInterval: return "Message Expiry Interval"
            case .contentType: return "Content Type"
            case .responseTopic: return "Response Topic"
            case .correlationData: return "Correlation Data"
            case .subscriptionIdentifier: return "Subscription Identifier"
            case .sessionExpiryInterval: return "Session Expiry Interval"
            case .assignedClientIdentifier: return "Assigned Client Identifier"
            case .serverKeepAlive: return "Server Keep Alive"
            case .authenticationMethod: return "Authentication Method"
            case .authenticationData: return "Authentication Data"
            case .requestProblemInformation: return "Request Problem Information"
            case .willDelayInterval: return "Will Delay Interval"
            case .requestResponseInformation: return "Request Response Information"
            case .responseInformation: return "Response Information"
            case .serverReference: return "Server Reference"
            case .reasonString: return "Reason String"
            case .receiveMaximum: return "Receive Maximum"
            case .topicAliasMaximum: return "Topic Alias Maximum"
            case .topicAlias: return "Topic Alias"
            case .maximumQoS: return "Maximum QoS"
            case .retainAvailable: return "Retain Available"
            case .userProperty: return "User Property"
            case .maximumPacketSize: return "Maximum Packet Size"
            case .wildcardSubscriptionAvailable: return "Wildcard Subscription Available"
            case .subscriptionIdentifierAvailable: return "Subscription Identifier Available"
            case .sharedSubscriptionAvailable: return "Shared Subscription Available"
            }
        }
    }

    /// Where a property list sits: a packet, or the will properties of CONNECT.
    public enum Context: Sendable, Hashable, CustomStringConvertible {
        case connect, connack, publish, will, puback, pubrec, pubrel, pubcomp
        case subscribe, suback, unsubscribe, unsuback, disconnect, auth

        /// The packet the list is in (will properties: CONNECT's).
        public var packetType: PacketType {
            switch self {
            case .connect, .will: return .connect
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
            case .disconnect: return .disconnect
            case .auth: return .auth
            }
        }

        public var description: String { self == .will ? "will properties" : packetType.description }
    }

    /// §2.2.2.2, table 2-4: where each property may appear. Anywhere else the packet is
    /// malformed.
    public static func allowed(_ identifier: Identifier, in context: Context) -> Bool {
        switch identifier {
        case .payloadFormatIndicator, .messageExpiryInterval, .contentType, .responseTopic, .correlationData:
            return context == .publish || context == .will
        case .subscriptionIdentifier: return context == .publish || context == .subscribe
        case .sessionExpiryInterval: return context == .connect || context == .connack || context == .disconnect
        case .assignedClientIdentifier, .serverKeepAlive, .responseInformation, .maximumQoS, .retainAvailable,
            .wildcardSubscriptionAvailable, .subscriptionIdentifierAvailable, .sharedSubscriptionAvailable:
            return context == .connack
        case .authenticationMethod, .authenticationData: return context == .connect || context == .connack || context == .auth
        case .requestProblemInformation, .requestResponseInformation: return context == .connect
        case .willDelayInterval: return context == .will
        case .serverReference: return context == .connack || context == .disconnect
        case .reasonString:
            switch context {
            case .connack, .puback, .pubrec, .pubrel, .pubcomp, .suback, .unsuback, .disconnect, .auth: return true
            default: return false
            }
        case .receiveMaximum, .topicAliasMaximum, .maximumPacketSize: return context == .connect || context == .connack
        case .topicAlias: return context == .publish
        case .userProperty: return true
        }
    }

    @usableFromInline
    final class Box: @unchecked Sendable {
        @usableFromInline var values: Values
        @usableFromInline init(_ values: Values) { self.values = values }
    }

    /// Copy-on-write storage; nil for an empty set.
    @usableFromInline var box: Box?

    public init() {}

    public init(_ values: Values) {
        box = values == .empty ? nil : Box(values)
    }

    public var values: Values { box?.values ?? .empty }
    /// No property set (one nil check in the common case: nothing was ever set).
    @inlinable
    public var isEmpty: Bool { box == nil || box!.values == .empty }

    /// Reads one value in place (inlinable, so a literal key path folds into a field
    /// access: the broker reads properties on every MQTT 5 PUBLISH).
    @inlinable
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<Values, T>) -> T {
        get {
            if let box { return box.values[keyPath: keyPath] }
            return Values.empty[keyPath: keyPath]
        }
        set {
            if box == nil {
                box = Box(.empty)
            } else if !isKnownUniquelyReferenced(&box!) {
                box = Box(box!.values)
            }
            box!.values[keyPath: keyPath] = newValue
        }
    }

    public static func == (lhs: Properties, rhs: Properties) -> Bool { lhs.values == rhs.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(values) }

    // MARK: Decoding

    /// Reads a property list (length included) for `context`. Unknown identifiers, one not
    /// allowed here, or a value not of its type: malformed (0x81, §2.2.2.2); a property
    /// repeated where it may appear once or a value out of its range: protocol error (0x82).
    static func decode(_ reader: inout ByteReader, for context: Context) throws(MQTTError) -> Properties {
        let length = try reader.readVariableByteInteger("property length")
        guard length > 0 else { return Properties() }
        var list = ByteReader(try reader.readBytes(length, "properties of \(context)"))
        var values = Values()
        var seen: UInt64 = 0
        while !list.isAtEnd {
            let raw = try list.readVariableByteInteger("property identifier")
            guard raw <= 0xFF, let identifier = Identifier(rawValue: UInt8(raw)) else {
                throw .malformedPacket("unknown property identifier 0x\(String(raw, radix: 16)) in \(context)")
            }
            guard allowed(identifier, in: context) else {
                throw .malformedPacket("\(identifier) is not allowed in \(context)")
            }
            let bit = UInt64(1) << UInt64(identifier.rawValue)
            let repeatable = identifier == .userProperty || (identifier == .subscriptionIdentifier && context == .publish)
            guard seen & bit == 0 || repeatable else { throw .protocolViolation("\(identifier) more than once in \(context)") }
            seen |= bit
            let field = identifier.description
            switch identifier {
            case .payloadFormatIndicator: values.payloadFormatIndicator = try boolean(&list, field)
            case .messageExpiryInterval: values.messageExpiryInterval = try list.readUInt32(field)
            case .contentType: values.contentType = try list.readString(field)
            case .responseTopic: values.responseTopic = try list.readString(field)
            case .correlationData: values.correlationData = Array(try list.readBinary(field))
            case .subscriptionIdentifier:
                let id = try list.readVariableByteInteger(field)
                guard id != 0 else { throw .protocolViolation("Subscription Identifier 0 in \(context)") }  // [MQTT-3.8.2.1.2]
                values.subscriptionIdentifiers.append(id)
            case .sessionExpiryInterval: values.sessionExpiryInterval = try list.readUInt32(field)
            case .assignedClientIdentifier: values.assignedClientIdentifier = try list.readString(field)
            case .serverKeepAlive: values.serverKeepAlive = try list.readUInt16(field)
            case .authenticationMethod: values.authenticationMethod = try list.readString(field)
            case .authenticationData: values.authenticationData = Array(try list.readBinary(field))
            case .requestProblemInformation: values.requestProblemInformation = try boolean(&list, field)
            case .willDelayInterval: values.willDelayInterval = try list.readUInt32(field)
            case .requestResponseInformation: values.requestResponseInformation = try boolean(&list, field)
            case .responseInformation: values.responseInformation = try list.readString(field)
            case .serverReference: values.serverReference = try list.readString(field)
            case .reasonString: values.reasonString = try list.readString(field)
            case .receiveMaximum:
                let value = try list.readUInt16(field)
                guard value != 0 else { throw .protocolViolation("Receive Maximum 0 in \(context)") }  // §3.1.2.11.3
                values.receiveMaximum = value
            case .topicAliasMaximum: values.topicAliasMaximum = try list.readUInt16(field)
            case .topicAlias: values.topicAlias = try list.readUInt16(field)
            case .maximumQoS: values.maximumQoS = try boolean(&list, field)
            case .retainAvailable: values.retainAvailable = try boolean(&list, field)
            case .userProperty:
                let key = try list.readString("User Property name")
                let value = try list.readString("User Property value")
                values.userProperties.append(UserProperty(key, value))
            case .maximumPacketSize:
                let value = try list.readUInt32(field)
                guard value != 0 else { throw .protocolViolation("Maximum Packet Size 0 in \(context)") }  // §3.1.2.11.4
                values.maximumPacketSize = value
            case .wildcardSubscriptionAvailable: values.wildcardSubscriptionAvailable = try boolean(&list, field)
            case .subscriptionIdentifierAvailable: values.subscriptionIdentifierAvailable = try boolean(&list, field)
            case .sharedSubscriptionAvailable: values.sharedSubscriptionAvailable = try boolean(&list, field)
            }
        }
        return Properties(values)
    }

    /// Properties from `encodedBody` bytes (stored messages): nil if they do not decode as
    /// properties `context` may carry.
    public init?(encodedBody body: [UInt8], for context: Context) {
        var framed: [UInt8] = []
        RemainingLength.append(body.count, to: &framed)
        framed.append(contentsOf: body)
        let decoded = framed.withUnsafeBytes { raw -> Properties? in
            var reader = ByteReader(raw)
            guard let properties = try? Properties.decode(&reader, for: context), reader.isAtEnd else { return nil }
            return properties
        }
        guard let decoded else { return nil }
        self = decoded
    }

    /// A Byte property whose only values are 0 and 1 (anything else: protocol error).
    private static func boolean(_ reader: inout ByteReader, _ field: String) throws(MQTTError) -> UInt8 {
        let value = try reader.readUInt8(field)
        guard value <= 1 else { throw .protocolViolation("\(field) is \(value), not 0 or 1") }
        return value
    }

    // MARK: Encoding

    /// Appends the property list, length first. Identifiers in ascending order.
    public func encode(into buffer: inout [UInt8]) {
        guard let box else {
            buffer.append(0)
            return
        }
        var body: [UInt8] = []
        Self.encodeBody(box.values, into: &body)
        RemainingLength.append(body.count, to: &buffer)
        buffer.append(contentsOf: body)
    }

    /// The identifier/value pairs without the length prefix.
    public var encodedBody: [UInt8] {
        var body: [UInt8] = []
        if let box { Self.encodeBody(box.values, into: &body) }
        return body
    }

    /// The bytes `encode` appends.
    public var encodedCount: Int {
        guard let box else { return 1 }
        var body: [UInt8] = []
        Self.encodeBody(box.values, into: &body)
        return RemainingLength.width(of: body.count) + body.count
    }

    private static func encodeBody(_ v: Values, into out: inout [UInt8]) {
        func byte(_ id: Identifier, _ value: UInt8?) {
            guard let value else { return }
            out.append(id.rawValue)
            out.append(value)
        }
        func two(_ id: Identifier, _ value: UInt16?) {
            guard let value else { return }
            out.append(id.rawValue)
            out.appendUInt16(value)
        }
        func four(_ id: Identifier, _ value: UInt32?) {
            guard let value else { return }
            out.append(id.rawValue)
            out.appendUInt32(value)
        }
        func string(_ id: Identifier, _ value: String?) {
            guard let value else { return }
            out.append(id.rawValue)
            out.appendMQTTString(value)
        }
        func binary(_ id: Identifier, _ value: [UInt8]?) {
            guard let value else { return }
            out.append(id.rawValue)
            out.appendMQTTBinary(value)
        }
        byte(.payloadFormatIndicator, v.payloadFormatIndicator)
        four(.messageExpiryInterval, v.messageExpiryInterval)
        string(.contentType, v.contentType)
        string(.responseTopic, v.responseTopic)
        binary(.correlationData, v.correlationData)
        for id in v.subscriptionIdentifiers {
            out.append(Identifier.subscriptionIdentifier.rawValue)
            RemainingLength.append(id, to: &out)
        }
        four(.sessionExpiryInterval, v.sessionExpiryInterval)
        string(.assignedClientIdentifier, v.assignedClientIdentifier)
        two(.serverKeepAlive, v.serverKeepAlive)
        string(.authenticationMethod, v.authenticationMethod)
        binary(.authenticationData, v.authenticationData)
        byte(.requestProblemInformation, v.requestProblemInformation)
        four(.willDelayInterval, v.willDelayInterval)
        byte(.requestResponseInformation, v.requestResponseInformation)
        string(.responseInformation, v.responseInformation)
        string(.serverReference, v.serverReference)
        string(.reasonString, v.reasonString)
        two(.receiveMaximum, v.receiveMaximum)
        two(.topicAliasMaximum, v.topicAliasMaximum)
        two(.topicAlias, v.topicAlias)
        byte(.maximumQoS, v.maximumQoS)
        byte(.retainAvailable, v.retainAvailable)
        for property in v.userProperties {
            out.append(Identifier.userProperty.rawValue)
            out.appendMQTTString(property.key)
            out.appendMQTTString(property.value)
        }
        four(.maximumPacketSize, v.maximumPacketSize)
        byte(.wildcardSubscriptionAvailable, v.wildcardSubscriptionAvailable)
        byte(.subscriptionIdentifierAvailable, v.subscriptionIdentifierAvailable)
        byte(.sharedSubscriptionAvailable, v.sharedSubscriptionAvailable)
    }
}
