import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// Unauthenticated clients cost little (issue #14): the first packet is bounded by
/// --max-connect-packet, connections per address per second by a rate limit.
@Suite struct UnauthenticatedLimitTests {
    @Test func aFirstPacketOverTheLimitClosesBeforeItsBodyArrives() throws {
        let broker = try BrokerHarness { $0.maxConnectPacket = 1024 }
        let client = try TestClient(port: broker.port)
        // Only the fixed header of a 100 kB CONNECT: refused from the header alone.
        var header: [UInt8] = [0x10]
        RemainingLength.append(100_000, to: &header)
        client.sendRaw(header)
        #expect(client.waitForClose())
        // After CONNECT the normal --max-packet-size applies.
        let ok = try broker.client("ok")
        try ok.publish("big", String(repeating: "x", count: 4000), qos: .atLeastOnce)
        // A CONNECT under the limit is fine.
        let small = try TestClient(port: broker.port)
        #expect(try small.connect(clientId: "small").returnCode == .accepted)
    }

    @Test func connectionsOverTheRatePerAddressAreRefused() throws {
        let broker = try BrokerHarness { $0.maxConnectionsPerSecondPerAddress = 3 }
        var outcomes: [Bool] = []
        // Eight attempts: even if a second boundary falls between them, one of the two
        // seconds holds four or more, so some are refused.
        for index in 0..<8 {
            let client = try TestClient(port: broker.port)
            client.send(.connect(Connect(clientId: "c\(index)")))
            outcomes.append((try? client.receive(timeout: 2)).map { if case .connack = $0 { return true } else { return false } } ?? false)
        }
        // The first three always get a CONNACK; the rest of that second are closed at accept.
        #expect(outcomes.prefix(3).allSatisfy { $0 })
        #expect(outcomes.contains(false))
    }
}
