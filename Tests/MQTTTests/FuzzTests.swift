import MQTT
import Testing

/// Random and mutated input never traps the decoder: every outcome is a packet, "need more
/// data" or a typed error. Deterministic seeds, so a failure reproduces.
@Suite struct DecoderFuzzTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func randomBytes() {
        var rng = SplitMix(state: 1)
        let decoder = PacketDecoder(maxPacketSize: 4096)
        var outcomes = [0, 0, 0]
        for _ in 0..<50_000 {
            let count = Int.random(in: 0...64, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            switch Result(catching: { try decoder.decode(bytes) }) {
            case .success(.packet): outcomes[0] += 1
            case .success(.needMoreData): outcomes[1] += 1
            case .failure: outcomes[2] += 1
            }
        }
        #expect(outcomes[2] > 0 && outcomes[1] > 0)
    }

    @Test func mutatedValidPackets() throws {
        var rng = SplitMix(state: 2)
        let seeds: [Packet] = [
            .connect(Connect(clientId: "fuzz", keepAlive: 30, will: .init(topic: "w/t", payload: [1, 2], qos: .atLeastOnce, retain: true), username: "u", password: [9])),
            .publish(Publish(topic: "a/b/c", payload: Array("{\"x\":1}".utf8), qos: .exactlyOnce, packetId: 7)),
            .subscribe(Subscribe(packetId: 3, requests: [.init(filter: "a/+/#", qos: .atLeastOnce), .init(filter: "b", qos: .atMostOnce)])),
            .unsubscribe(Unsubscribe(packetId: 4, filters: ["a/+/#"])),
        ]
        var decoded = 0
        for _ in 0..<20_000 {
            var bytes = seeds.randomElement(using: &rng)!.encoded()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if case .packet? = try? PacketDecoder().decode(bytes) { decoded += 1 }
        }
        #expect(decoded > 0)
    }

    /// The same for MQTT 5: packets full of properties, mutated, decoded as 5.0. Whatever
    /// decodes re-encodes to bytes that decode to the same packet.
    @Test func mutatedMQTT5Packets() throws {
        var rng = SplitMix(state: 3)
        var properties = Properties()
        properties.userProperties = [.init("k", "v")]
        properties.contentType = "text/plain"
        properties.messageExpiryInterval = 60
        properties.correlationData = [1, 2, 3]
        var subscribeProperties = Properties()
        subscribeProperties.subscriptionIdentifiers = [300]
        var connectProperties = Properties()
        connectProperties.sessionExpiryInterval = 120
        connectProperties.receiveMaximum = 10
        connectProperties.topicAliasMaximum = 5
        let seeds: [Packet] = [
            .connect(Connect(version: .v5, clientId: "fuzz", will: .init(topic: "w", payload: [1], properties: properties), username: "u", properties: connectProperties)),
            .publish(Publish(topic: "a/b", payload: Array("{}".utf8), qos: .atLeastOnce, packetId: 7, properties: properties)),
            .subscribe(Subscribe(packetId: 3, requests: [.init(filter: "a/#", qos: .atLeastOnce, noLocal: true, retainHandling: 1)], properties: subscribeProperties)),
            .ack(Acknowledgement(.puback, packetId: 2, reasonCode: .noMatchingSubscribers, properties: properties.values.userProperties.isEmpty ? Properties() : { var p = Properties(); p.reasonString = "r"; return p }())),
            .disconnect(Disconnect(reasonCode: .disconnectWithWillMessage, properties: { var p = Properties(); p.sessionExpiryInterval = 0; return p }())),
        ]
        var decoded = 0
        for _ in 0..<20_000 {
            var bytes = seeds.randomElement(using: &rng)!.encoded(version: .v5)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            guard case let .packet(packet, _)? = try? PacketDecoder().decode(bytes, version: .v5) else { continue }
            decoded += 1
            let again = packet.encoded(version: .v5)
            guard case let .packet(twice, _) = try PacketDecoder().decode(again, version: .v5) else {
                Issue.record("re-encoded \(packet.type) does not decode")
                continue
            }
            #expect(twice == packet)
        }
        #expect(decoded > 0)
    }
}
