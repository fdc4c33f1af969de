import MQTT
import Testing

/// A packet as a test argument, described by its type and size (not its payload bytes).
struct PacketCase: Sendable, CustomTestStringConvertible {
    let packet: Packet
    var testDescription: String { "\(packet.type) (\(packet.encoded().count) bytes)" }
}

@Suite struct CodecRoundTripTests {
    static let packets: [PacketCase] = [Packet](arrayLiteral: 
        .connect(Connect(clientId: "c1")),
        .connect(Connect(clientId: "", cleanSession: true, keepAlive: 0)),
        .connect(Connect(
            clientId: "dev-7", cleanSession: false, keepAlive: 300,
            will: .init(topic: "factory/1/machine/2/status", payload: Array("offline".utf8), qos: .exactlyOnce, retain: true),
            username: "user", password: [0, 1, 2, 255])),
        .connect(Connect(clientId: "u", username: "only-user")),
        .connack(ConnAck(sessionPresent: true, returnCode: .accepted)),
        .connack(ConnAck(sessionPresent: false, returnCode: .identifierRejected)),
        .publish(Publish(topic: "factory/1/machine/2/status", payload: Array("{\"t\":1}".utf8))),
        .publish(Publish(topic: "a", payload: [], qos: .atLeastOnce, retain: true, dup: true, packetId: 7)),
        .publish(Publish(topic: "ü/漢字", payload: [0, 0xFF], qos: .exactlyOnce, packetId: 65_535)),
        .publish(Publish(topic: "big", payload: Array(repeating: 0x41, count: 200_000), qos: .atLeastOnce, packetId: 1)),
        .puback(packetId: 1), .pubrec(packetId: 2), .pubrel(packetId: 3), .pubcomp(packetId: 4),
        .subscribe(Subscribe(packetId: 9, requests: [.init(filter: "a/+", qos: .atMostOnce), .init(filter: "#", qos: .exactlyOnce)])),
        .suback(SubAck(packetId: 9, returnCodes: [0, 1, 2, 0x80])),
        .unsubscribe(Unsubscribe(packetId: 10, filters: ["a/+", "b"])),
        .unsuback(packetId: 10),
        .pingreq, .pingresp, .disconnect
    ).map(PacketCase.init)

    @Test(arguments: packets)
    func roundTrip(_ example: PacketCase) throws {
        let packet = example.packet
        let bytes = packet.encoded()
        #expect(try PacketDecoder().decode(bytes) == .packet(packet, consumed: bytes.count))
    }

    @Test(arguments: packets)
    func everyPrefixNeedsMoreData(_ example: PacketCase) throws {
        let bytes = example.packet.encoded()
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 64)) {
            #expect(try PacketDecoder().decode(Array(bytes[0..<length])) == .needMoreData)
        }
    }

    @Test func twoPacketsInOneBuffer() throws {
        let bytes = Packet.pingreq.encoded() + Packet.puback(packetId: 5).encoded()
        #expect(try PacketDecoder().decode(bytes) == .packet(.pingreq, consumed: 2))
        #expect(try PacketDecoder().decode(Array(bytes[2...])) == .packet(.puback(packetId: 5), consumed: 4))
    }

    @Test(arguments: [(0, [0x00] as [UInt8]), (127, [0x7F]), (128, [0x80, 0x01]), (16_383, [0xFF, 0x7F]),
                      (16_384, [0x80, 0x80, 0x01]), (2_097_151, [0xFF, 0xFF, 0x7F]), (2_097_152, [0x80, 0x80, 0x80, 0x01]),
                      (268_435_455, [0xFF, 0xFF, 0xFF, 0x7F])])
    func remainingLengthTable(_ value: Int, _ encoded: [UInt8]) throws {
        var buffer: [UInt8] = []
        RemainingLength.append(value, to: &buffer)
        #expect(buffer == encoded)
        #expect(RemainingLength.width(of: value) == encoded.count)
        let parsed = try encoded.withUnsafeBytes { (raw) throws(MQTTError) in try RemainingLength.parse(raw) }
        #expect(parsed == .complete(value: value, width: encoded.count))
    }
}

struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let error: MQTTError
    var testDescription: String { name }
}

/// CONNECT bytes with the given flags and client id, for the malformed table.
private func connectBytes(flags: UInt8, clientId: [UInt8] = Array("c".utf8), tail: [UInt8] = [], level: UInt8 = 4, name: String = "MQTT") -> [UInt8] {
    var body: [UInt8] = [0, UInt8(name.utf8.count)] + Array(name.utf8) + [level, flags, 0, 60]
    body += [0, UInt8(clientId.count)] + clientId + tail
    return [0x10, UInt8(body.count)] + body
}

@Suite struct MalformedPacketTests {
    @Test(arguments: [
        MalformedCase(name: "five-byte remaining length", bytes: [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], error: .malformedRemainingLength),
        MalformedCase(name: "reserved type 0", bytes: [0x00, 0x00], error: .reservedPacketType(0)),
        MalformedCase(name: "reserved type 15", bytes: [0xF0, 0x00], error: .reservedPacketType(15)),
        MalformedCase(name: "SUBSCRIBE with flags 0", bytes: [0x80, 0x06, 0, 1, 0, 1, 0x61, 0], error: .invalidFixedHeaderFlags(type: .subscribe, flags: 0)),
        MalformedCase(name: "UNSUBSCRIBE with flags 0", bytes: [0xA0, 0x05, 0, 1, 0, 1, 0x61], error: .invalidFixedHeaderFlags(type: .unsubscribe, flags: 0)),
        MalformedCase(name: "PUBREL with flags 0", bytes: [0x60, 0x02, 0, 1], error: .invalidFixedHeaderFlags(type: .pubrel, flags: 0)),
        MalformedCase(name: "PINGREQ with flags", bytes: [0xC1, 0x00], error: .invalidFixedHeaderFlags(type: .pingreq, flags: 1)),
        MalformedCase(name: "PUBLISH QoS 3", bytes: [0x36, 0x05, 0, 1, 0x61, 0, 1], error: .invalidQoS),
        MalformedCase(name: "PUBLISH QoS 0 with DUP", bytes: [0x38, 0x03, 0, 1, 0x61], error: .protocolViolation("DUP flag set on a QoS 0 PUBLISH")),
        MalformedCase(name: "PUBLISH wildcard topic", bytes: [0x30, 0x03, 0, 1, 0x23], error: .invalidTopic("wildcard in topic name '#'")),
        MalformedCase(name: "PUBLISH empty topic", bytes: [0x30, 0x02, 0, 0], error: .invalidTopic("topic name is empty")),
        MalformedCase(name: "PUBLISH truncated topic", bytes: [0x30, 0x03, 0, 5, 0x61], error: .truncated(field: "topic name")),
        MalformedCase(name: "PUBLISH QoS 1 without packet id", bytes: [0x32, 0x03, 0, 1, 0x61], error: .truncated(field: "packet identifier")),
        MalformedCase(name: "PUBLISH packet id 0", bytes: [0x32, 0x05, 0, 1, 0x61, 0, 0], error: .zeroPacketIdentifier(type: .publish)),
        MalformedCase(name: "PUBLISH invalid UTF-8 topic", bytes: [0x30, 0x04, 0, 2, 0xC3, 0x28], error: .invalidString(field: "topic name")),
        MalformedCase(name: "PUBLISH surrogate in topic", bytes: [0x30, 0x05, 0, 3, 0xED, 0xA0, 0x80], error: .invalidString(field: "topic name")),
        MalformedCase(name: "PUBLISH U+0000 in topic", bytes: [0x30, 0x05, 0, 3, 0x61, 0x00, 0x62], error: .invalidString(field: "topic name")),
        MalformedCase(name: "PUBACK too long", bytes: [0x40, 0x03, 0, 1, 0], error: .unexpectedTrailingBytes(type: .puback)),
        MalformedCase(name: "PUBACK too short", bytes: [0x40, 0x01, 0], error: .truncated(field: "packet identifier")),
        MalformedCase(name: "PINGREQ with body", bytes: [0xC0, 0x01, 0], error: .unexpectedTrailingBytes(type: .pingreq)),
        MalformedCase(name: "DISCONNECT with body", bytes: [0xE0, 0x01, 0], error: .unexpectedTrailingBytes(type: .disconnect)),
        MalformedCase(name: "SUBSCRIBE without filters", bytes: [0x82, 0x02, 0, 1], error: .emptyTopicFilterList(type: .subscribe)),
        MalformedCase(name: "SUBSCRIBE QoS 3", bytes: [0x82, 0x06, 0, 1, 0, 1, 0x61, 3], error: .invalidQoS),
        MalformedCase(name: "SUBSCRIBE reserved option bits", bytes: [0x82, 0x06, 0, 1, 0, 1, 0x61, 0x04], error: .invalidSubscriptionOptions(4)),
        MalformedCase(name: "SUBSCRIBE missing QoS byte", bytes: [0x82, 0x05, 0, 1, 0, 1, 0x61], error: .truncated(field: "requested QoS")),
        MalformedCase(name: "SUBSCRIBE packet id 0", bytes: [0x82, 0x06, 0, 0, 0, 1, 0x61, 0], error: .zeroPacketIdentifier(type: .subscribe)),
        MalformedCase(name: "SUBSCRIBE invalid UTF-8 filter", bytes: [0x82, 0x06, 0, 1, 0, 1, 0xFF, 0], error: .invalidString(field: "topic filter")),
        MalformedCase(name: "UNSUBSCRIBE without filters", bytes: [0xA2, 0x02, 0, 1], error: .emptyTopicFilterList(type: .unsubscribe)),
        MalformedCase(name: "CONNECT reserved flag", bytes: connectBytes(flags: 0x03), error: .invalidConnectFlags("reserved bit 0 is set")),
        MalformedCase(name: "CONNECT will QoS 3", bytes: connectBytes(flags: 0x1E), error: .invalidQoS),
        MalformedCase(name: "CONNECT will QoS without will", bytes: connectBytes(flags: 0x0A), error: .invalidConnectFlags("will QoS or retain set without the will flag")),
        MalformedCase(name: "CONNECT will retain without will", bytes: connectBytes(flags: 0x22), error: .invalidConnectFlags("will QoS or retain set without the will flag")),
        MalformedCase(name: "CONNECT password without user", bytes: connectBytes(flags: 0x42), error: .invalidConnectFlags("password flag without user name flag")),
        MalformedCase(name: "CONNECT protocol level 3", bytes: connectBytes(flags: 0x02, level: 3), error: .unacceptableProtocol(name: "MQTT", level: 3)),
        MalformedCase(name: "CONNECT protocol level 6", bytes: connectBytes(flags: 0x02, level: 6), error: .unacceptableProtocol(name: "MQTT", level: 6)),
        MalformedCase(name: "CONNECT protocol name MQIsdp", bytes: connectBytes(flags: 0x02, level: 3, name: "MQIsdp"), error: .unacceptableProtocol(name: "MQIsdp", level: 3)),
        MalformedCase(name: "CONNECT truncated client id", bytes: [0x10, 0x0D, 0, 4, 0x4D, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 5, 0x61], error: .truncated(field: "client identifier")),
        MalformedCase(name: "CONNECT invalid UTF-8 client id", bytes: connectBytes(flags: 0x02, clientId: [0xFE]), error: .invalidString(field: "client identifier")),
        MalformedCase(name: "CONNECT trailing bytes", bytes: connectBytes(flags: 0x02, tail: [1]), error: .unexpectedTrailingBytes(type: .connect)),
        MalformedCase(name: "CONNECT will topic with wildcard", bytes: connectBytes(flags: 0x06, tail: [0, 1, 0x2B, 0, 0]), error: .invalidTopic("wildcard in topic name '+'")),
    ])
    func malformed(_ example: MalformedCase) {
        #expect(throws: example.error) { try PacketDecoder().decode(example.bytes) }
    }

    @Test func sizeLimitCheckedBeforeBodyArrives() {
        // Only the fixed header of a 10 MB PUBLISH: rejected without waiting for the body.
        var header: [UInt8] = [0x30]
        RemainingLength.append(10_000_000, to: &header)
        #expect(throws: MQTTError.packetTooLarge(size: 1 + 4 + 10_000_000, limit: 1024)) {
            try PacketDecoder(maxPacketSize: 1024).decode(header)
        }
    }

    @Test func partialRemainingLengthNeedsMoreData() throws {
        #expect(try PacketDecoder().decode([0x30, 0xFF]) == .needMoreData)
        #expect(try PacketDecoder().decode([0x30, 0xFF, 0xFF, 0xFF]) == .needMoreData)
    }

    @Test func errorsMapToMQTT5ReasonCodes() {
        #expect(MQTTError.packetTooLarge(size: 2, limit: 1).reasonCode == 0x95)
        #expect(MQTTError.invalidQoS.reasonCode == 0x81)
        #expect(MQTTError.protocolViolation("x").reasonCode == 0x82)
    }
}

@Suite struct StringTests {
    @Test(arguments: [
        ([0x61, 0x62] as [UInt8], "ab" as String?),
        ([0xC3, 0xBC], "ü"),
        ([0xF0, 0x9F, 0x98, 0x80], "😀"),
        ([0xC3], nil),
        ([0xED, 0xA0, 0x80], nil),  // U+D800, a surrogate
        ([0xC0, 0xAF], nil),  // overlong "/"
        ([0x61, 0x00], nil),
        ([0xF4, 0x90, 0x80, 0x80], nil),  // beyond U+10FFFF
    ])
    func decode(_ bytes: [UInt8], _ expected: String?) {
        #expect(MQTTString.decode(bytes) == expected)
    }
}
