import MQTT
import Testing

/// The MQTT 5.0 side of the codec: properties on every packet that has them (§2.2.2), the
/// placement table, repeats, value ranges, Variable Byte Integers, reason codes, and the
/// short forms of acknowledgements and DISCONNECT.
@Suite struct MQTT5CodecTests {
    typealias Identifier = Properties.Identifier
    typealias Context = Properties.Context

    static let contexts: [Context] = [.connect, .connack, .publish, .will, .puback, .pubrec, .pubrel, .pubcomp, .subscribe, .suback, .unsubscribe, .unsuback, .disconnect, .auth]

    /// A valid value for `identifier`, set on `properties`.
    static func set(_ identifier: Identifier, on p: inout Properties) {
        switch identifier {
        case .payloadFormatIndicator: p.payloadFormatIndicator = 1
        case .messageExpiryInterval: p.messageExpiryInterval = 3600
        case .contentType: p.contentType = "application/json"
        case .responseTopic: p.responseTopic = "reply/to/me"
        case .correlationData: p.correlationData = [0, 1, 0xFF]
        case .subscriptionIdentifier: p.subscriptionIdentifiers = [268_435_455]
        case .sessionExpiryInterval: p.sessionExpiryInterval = 0xFFFF_FFFF
        case .assignedClientIdentifier: p.assignedClientIdentifier = "hydrant-1"
        case .serverKeepAlive: p.serverKeepAlive = 30
        case .authenticationMethod: p.authenticationMethod = "SCRAM-SHA-1"
        case .authenticationData: p.authenticationData = [9, 8]
        case .requestProblemInformation: p.requestProblemInformation = 0
        case .willDelayInterval: p.willDelayInterval = 5
        case .requestResponseInformation: p.requestResponseInformation = 1
        case .responseInformation: p.responseInformation = "resp/"
        case .serverReference: p.serverReference = "other:1883"
        case .reasonString: p.reasonString = "because"
        case .receiveMaximum: p.receiveMaximum = 20
        case .topicAliasMaximum: p.topicAliasMaximum = 10
        case .topicAlias: p.topicAlias = 3
        case .maximumQoS: p.maximumQoS = 1
        case .retainAvailable: p.retainAvailable = 0
        case .userProperty: p.userProperties = [.init("a", "1"), .init("a", "2"), .init("ü", "")]
        case .maximumPacketSize: p.maximumPacketSize = 1 << 20
        case .wildcardSubscriptionAvailable: p.wildcardSubscriptionAvailable = 1
        case .subscriptionIdentifierAvailable: p.subscriptionIdentifierAvailable = 1
        case .sharedSubscriptionAvailable: p.sharedSubscriptionAvailable = 1
        }
    }

    /// Every property `context` may carry, each with a valid value.
    static func full(_ context: Context) -> Properties {
        var properties = Properties()
        for identifier in Identifier.allCases where Properties.allowed(identifier, in: context) { set(identifier, on: &properties) }
        return properties
    }

    /// A 5.0 packet of `context` carrying `properties`.
    static func packet(_ context: Context, _ properties: Properties) -> Packet {
        switch context {
        case .connect: return .connect(Connect(version: .v5, clientId: "c", properties: properties))
        case .will: return .connect(Connect(version: .v5, clientId: "c", will: .init(topic: "w", payload: [1], properties: properties)))
        case .connack: return .connack(ConnAck(sessionPresent: true, reasonCode: .success, properties: properties))
        case .publish: return .publish(Publish(topic: "t/1", payload: [1, 2], qos: .atLeastOnce, packetId: 4, properties: properties))
        case .puback: return .ack(Acknowledgement(.puback, packetId: 1, reasonCode: .noMatchingSubscribers, properties: properties))
        case .pubrec: return .ack(Acknowledgement(.pubrec, packetId: 1, properties: properties))
        case .pubrel: return .ack(Acknowledgement(.pubrel, packetId: 1, reasonCode: .packetIdentifierNotFound, properties: properties))
        case .pubcomp: return .ack(Acknowledgement(.pubcomp, packetId: 1, properties: properties))
        case .subscribe:
            return .subscribe(Subscribe(packetId: 2, requests: [.init(filter: "a/#", qos: .exactlyOnce, noLocal: true, retainAsPublished: true, retainHandling: 2)], properties: properties))
        case .suback: return .suback(SubAck(packetId: 2, returnCodes: [0x02, 0x8F, 0xA2], properties: properties))
        case .unsubscribe: return .unsubscribe(Unsubscribe(packetId: 3, filters: ["a/#"], properties: properties))
        case .unsuback: return .unsuback(UnsubAck(packetId: 3, reasonCodes: [0x00, 0x11], properties: properties))
        case .disconnect: return .disconnect(Disconnect(reasonCode: .disconnectWithWillMessage, properties: properties))
        case .auth: return .auth(Disconnect(reasonCode: .continueAuthentication, properties: properties))
        }
    }

    static func decode(_ bytes: [UInt8]) throws(MQTTError) -> Packet? {
        guard case let .packet(packet, consumed) = try PacketDecoder().decode(bytes, version: .v5), consumed == bytes.count else { return nil }
        return packet
    }

    @Test(arguments: contexts)
    func everyAllowedPropertyRoundTrips(_ context: Context) throws {
        for properties in [Properties(), Self.full(context)] {
            let packet = Self.packet(context, properties)
            #expect(try Self.decode(packet.encoded(version: .v5)) == packet, "\(context) with \(properties.isEmpty ? "no" : "every") property")
        }
    }

    /// The property list of `context`'s packet replaced by `list` (identifier/value bytes).
    static func bytes(_ context: Context, withList list: [UInt8]) -> [UInt8] {
        var marker = Properties()
        marker.reasonString = "MARK"  // a list we can find: 0x1F, 0, 4, "MARK"
        var allowedMarker = marker
        if !Properties.allowed(.reasonString, in: context) {
            allowedMarker = Properties()
            allowedMarker.userProperties = [.init("MARK", "")]
        }
        var encoded = Self.packet(context, allowedMarker).encoded(version: .v5)
        var oldList: [UInt8] = []
        allowedMarker.encode(into: &oldList)
        var newList: [UInt8] = []
        RemainingLength.append(list.count, to: &newList)
        newList += list
        let start = (0...(encoded.count - oldList.count)).first { Array(encoded[$0..<$0 + oldList.count]) == oldList }!
        encoded.replaceSubrange(start..<start + oldList.count, with: newList)
        // Fix the fixed header's remaining length (the body changed size).
        let (lengthValue, width): (Int, Int) = {
            guard case let .complete(value, width) = try! encoded.withUnsafeBytes({ try RemainingLength.parse(UnsafeRawBufferPointer(rebasing: $0[1...])) }) else { fatalError() }
            return (value, width)
        }()
        var header: [UInt8] = []
        RemainingLength.append(lengthValue - oldList.count + newList.count, to: &header)
        encoded.replaceSubrange(1..<1 + width, with: header)
        return encoded
    }

    /// One property's identifier and value bytes.
    static func listEntry(_ identifier: Identifier) -> [UInt8] {
        var properties = Properties()
        set(identifier, on: &properties)
        if identifier == .userProperty { properties.userProperties = [.init("k", "v")] }
        var list: [UInt8] = []
        properties.encode(into: &list)
        return Array(list.dropFirst())  // the one-byte length
    }

    @Test(arguments: contexts)
    func misplacedPropertiesAreMalformed(_ context: Context) throws {
        for identifier in Identifier.allCases where !Properties.allowed(identifier, in: context) {
            let bytes = Self.bytes(context, withList: Self.listEntry(identifier))
            #expect(throws: MQTTError.malformedPacket("\(identifier) is not allowed in \(context)")) { try Self.decode(bytes) }
            #expect(MQTTError.malformedPacket("").reasonCode == 0x81)
        }
    }

    @Test(arguments: contexts)
    func repeatedPropertiesAreProtocolErrors(_ context: Context) throws {
        for identifier in Identifier.allCases where Properties.allowed(identifier, in: context) {
            let entry = Self.listEntry(identifier)
            let bytes = Self.bytes(context, withList: entry + entry)
            if identifier == .userProperty || (identifier == .subscriptionIdentifier && context == .publish) {
                let packet = try #require(try Self.decode(bytes), "\(identifier) may repeat in \(context)")
                #expect(packet.type != .auth || context == .auth)
            } else {
                #expect(throws: MQTTError.protocolViolation("\(identifier) more than once in \(context)")) { try Self.decode(bytes) }
            }
        }
    }

    @Test func unknownIdentifierIsMalformed() {
        #expect(throws: MQTTError.malformedPacket("unknown property identifier 0x4 in PUBACK")) {
            try Self.decode(Self.bytes(.puback, withList: [0x04, 0]))
        }
    }

    struct ValueCase: Sendable, CustomTestStringConvertible {
        let context: Context
        let list: [UInt8]
        let error: MQTTError
        var testDescription: String { "\(error)" }
    }

    @Test(arguments: [
        ValueCase(context: .connect, list: [0x21, 0, 0], error: .protocolViolation("Receive Maximum 0 in CONNECT")),
        ValueCase(context: .connect, list: [0x27, 0, 0, 0, 0], error: .protocolViolation("Maximum Packet Size 0 in CONNECT")),
        ValueCase(context: .subscribe, list: [0x0B, 0], error: .protocolViolation("Subscription Identifier 0 in SUBSCRIBE")),
        ValueCase(context: .publish, list: [0x01, 2], error: .protocolViolation("Payload Format Indicator is 2, not 0 or 1")),
        ValueCase(context: .connect, list: [0x17, 2], error: .protocolViolation("Request Problem Information is 2, not 0 or 1")),
        ValueCase(context: .connect, list: [0x19, 7], error: .protocolViolation("Request Response Information is 7, not 0 or 1")),
        ValueCase(context: .connack, list: [0x24, 2], error: .protocolViolation("Maximum QoS is 2, not 0 or 1")),
        // A Variable Byte Integer of five bytes (§1.5.5).
        ValueCase(context: .subscribe, list: [0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], error: .malformedPacket("Subscription Identifier: Variable Byte Integer longer than 4 bytes")),
        ValueCase(context: .puback, list: [0x1F, 0, 5, 0x61], error: .truncated(field: "Reason String")),
        ValueCase(context: .puback, list: [0x1F, 0, 1, 0xFF], error: .invalidString(field: "Reason String")),
        ValueCase(context: .publish, list: [0x26, 0, 1, 0x61], error: .truncated(field: "User Property value")),
    ])
    func badValues(_ example: ValueCase) {
        #expect(throws: example.error) { try Self.decode(Self.bytes(example.context, withList: example.list)) }
    }

    @Test func propertyLengthBeyondThePacketIsTruncated() {
        // PUBACK id 1, reason 0, property length 9 but nothing follows.
        #expect(throws: MQTTError.truncated(field: "properties of PUBACK")) { try Self.decode([0x40, 0x04, 0, 1, 0, 9]) }
        // A property length of five bytes.
        #expect(throws: MQTTError.malformedPacket("property length: Variable Byte Integer longer than 4 bytes")) {
            try Self.decode([0x40, 0x08, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        }
    }

    @Test func acknowledgementsAndDisconnectUseTheShortForms() throws {
        #expect(Packet.puback(packetId: 7).encoded(version: .v5) == [0x40, 2, 0, 7])
        #expect(Packet.ack(Acknowledgement(.pubrec, packetId: 7, reasonCode: .noMatchingSubscribers)).encoded(version: .v5) == [0x50, 3, 0, 7, 0x10])
        #expect(Packet.disconnect.encoded(version: .v5) == [0xE0, 0])
        #expect(Packet.disconnect(Disconnect(reasonCode: .sessionTakenOver)).encoded(version: .v5) == [0xE0, 1, 0x8E])
        // All three forms decode (§3.4.2.1: reason code and properties may be omitted).
        #expect(try Self.decode([0x40, 2, 0, 7]) == .puback(packetId: 7))
        #expect(try Self.decode([0x40, 3, 0, 7, 0x00]) == .puback(packetId: 7))
        #expect(try Self.decode([0x40, 4, 0, 7, 0x00, 0]) == .puback(packetId: 7))
        #expect(try Self.decode([0x62, 3, 0, 7, 0x92]) == .ack(Acknowledgement(.pubrel, packetId: 7, reasonCode: .packetIdentifierNotFound)))
        #expect(try Self.decode([0xE0, 0]) == .disconnect)
        #expect(try Self.decode([0xE0, 1, 0x04]) == .disconnect(Disconnect(reasonCode: .disconnectWithWillMessage)))
        // 3.1.1 never carries a reason code: a 5.0-only value is not sent.
        #expect(Packet.ack(Acknowledgement(.puback, packetId: 7, reasonCode: .payloadFormatInvalid)).encoded(version: .v311) == [0x40, 2, 0, 7])
    }

    struct ReasonCase: Sendable, CustomTestStringConvertible {
        let bytes: [UInt8]
        let error: MQTTError
        var testDescription: String { "\(error)" }
    }

    @Test(arguments: [
        ReasonCase(bytes: [0x40, 3, 0, 1, 0x05], error: .malformedPacket("PUBACK reason code 0x05 reason code")),
        ReasonCase(bytes: [0x62, 3, 0, 1, 0x10], error: .malformedPacket("PUBREL reason code 0x10 No matching subscribers")),
        ReasonCase(bytes: [0xE0, 1, 0x01], error: .malformedPacket("DISCONNECT reason code 0x01 Granted QoS 1")),
        ReasonCase(bytes: [0xF0, 1, 0x04], error: .malformedPacket("AUTH reason code 0x04 Disconnect with Will Message")),
        ReasonCase(bytes: [0x90, 4, 0, 1, 0, 0x03], error: .malformedPacket("SUBACK reason code 0x03 reason code")),
        ReasonCase(bytes: [0xB0, 4, 0, 1, 0, 0x10], error: .malformedPacket("UNSUBACK reason code 0x10 No matching subscribers")),
        ReasonCase(bytes: [0x20, 3, 0, 0x01, 0], error: .malformedPacket("CONNACK reason code 0x01 Granted QoS 1")),
    ])
    func unknownReasonCodesAreMalformed(_ example: ReasonCase) {
        #expect(throws: example.error) { try Self.decode(example.bytes) }
    }

    @Test func publishTopicAliasAndEmptyTopic() throws {
        var aliased = Properties()
        aliased.topicAlias = 1
        let packet = Packet.publish(Publish(topic: "", payload: [1], properties: aliased))
        #expect(try Self.decode(packet.encoded(version: .v5)) == packet)
        #expect(throws: MQTTError.protocolViolation("PUBLISH with an empty topic name and no Topic Alias")) {
            try Self.decode([0x30, 3, 0, 0, 0])
        }
        // 3.1.1 keeps refusing an empty name.
        #expect(throws: MQTTError.invalidTopic("topic name is empty")) { try PacketDecoder().decode([0x30, 2, 0, 0]) }
    }

    @Test func subscriptionOptions() throws {
        // Options byte: QoS 1, No Local, Retain As Published, Retain Handling 1 = 0b0001_1101.
        let request = Subscribe.Request(filter: "a", qos: .atLeastOnce, noLocal: true, retainAsPublished: true, retainHandling: 1)
        let bytes = Packet.subscribe(Subscribe(packetId: 1, requests: [request])).encoded(version: .v5)
        #expect(bytes == [0x82, 7, 0, 1, 0, 0, 1, 0x61, 0x1D])
        #expect(try Self.decode(bytes) == .subscribe(Subscribe(packetId: 1, requests: [request])))
        #expect(throws: MQTTError.invalidSubscriptionOptions(0x40)) { try Self.decode([0x82, 7, 0, 1, 0, 0, 1, 0x61, 0x40]) }
        #expect(throws: MQTTError.protocolViolation("Retain Handling 3 in SUBSCRIBE")) { try Self.decode([0x82, 7, 0, 1, 0, 0, 1, 0x61, 0x30]) }
        // In 3.1.1 those bits stay reserved.
        #expect(throws: MQTTError.invalidSubscriptionOptions(0x04)) { try PacketDecoder().decode([0x82, 6, 0, 1, 0, 1, 0x61, 0x04]) }
    }

    @Test func authIsReservedIn311() {
        #expect(throws: MQTTError.reservedPacketType(15)) { try PacketDecoder().decode([0xF0, 0]) }
        #expect((try? Self.decode([0xF0, 0])) == .some(.auth(Disconnect())))
    }

    @Test func passwordWithoutUserNameIsAllowedIn5() throws {
        let connect = Connect(version: .v5, clientId: "c", password: [1])
        #expect(try Self.decode(Packet.connect(connect).encoded()) == .connect(connect))
    }

    @Test func connackMapsReasonCodesTo311ReturnCodes() {
        #expect(Packet.connack(ConnAck(sessionPresent: false, reasonCode: .badAuthenticationMethod)).encoded(version: .v311) == [0x20, 2, 0, 5])
        #expect(Packet.connack(ConnAck(sessionPresent: false, reasonCode: .badUserNameOrPassword)).encoded(version: .v311) == [0x20, 2, 0, 4])
        #expect(Packet.connack(ConnAck(sessionPresent: true, reasonCode: .success)).encoded(version: .v5) == [0x20, 3, 1, 0, 0])
    }
}
