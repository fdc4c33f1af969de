import Durable
import Foundation
import Broker
import HydrantTesting
import MQTT
import Testing

@Suite struct PublishTests {
    @Test(arguments: [QoS.atMostOnce, .atLeastOnce, .exactlyOnce])
    func deliversAtEachQoS(_ qos: QoS) throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        #expect(try sub.subscribe("factory/+/machine/+/status", qos: qos) == qos.rawValue)
        let pub = try broker.client("pub")
        try pub.publish("factory/1/machine/2/status", "{\"state\":\"running\"}", qos: qos)
        let received = try sub.receivePublish()
        #expect(received.topic == "factory/1/machine/2/status")
        #expect(received.text == "{\"state\":\"running\"}")
        #expect(received.qos == qos)
        #expect(received.retain == false)
        #expect(received.dup == false)
    }

    @Test(arguments: [(QoS.exactlyOnce, QoS.atMostOnce), (.exactlyOnce, .atLeastOnce), (.atLeastOnce, .atMostOnce), (.atMostOnce, .exactlyOnce)])
    func deliveredAtTheLowerQoS(_ published: QoS, _ granted: QoS) throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        try sub.subscribe("t", qos: granted)
        let pub = try broker.client("pub")
        try pub.publish("t", "m", qos: published)
        #expect(try sub.receivePublish().qos == min(published, granted))
    }

    @Test func overlappingSubscriptionsDeliverOneCopyAtTheHighestQoS() throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        #expect(try sub.subscribe([("factory/#", .atMostOnce), ("factory/+/machine/+/status", .exactlyOnce), ("#", .atLeastOnce)]) == [0, 2, 1])
        let pub = try broker.client("pub")
        try pub.publish("factory/1/machine/2/status", "once", qos: .exactlyOnce)
        let received = try sub.receivePublish()
        #expect(received.qos == .exactlyOnce)
        try sub.expectNothing()
    }

    @Test func qos2ResentBeforePubRelIsDeliveredOnce() throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        try sub.subscribe("q2", qos: .exactlyOnce)
        let pub = try broker.client("pub")
        let publish = Publish(topic: "q2", payload: Array("exactly".utf8), qos: .exactlyOnce, packetId: 42)
        pub.send(.publish(publish))
        #expect(try pub.receive() == .pubrec(packetId: 42))
        var again = publish
        again.dup = true
        pub.send(.publish(again))  // PUBREC lost, say: the client resends
        #expect(try pub.receive() == .pubrec(packetId: 42))
        pub.send(.pubrel(packetId: 42))
        #expect(try pub.receive() == .pubcomp(packetId: 42))
        #expect(try sub.receivePublish().text == "exactly")
        try sub.expectNothing()
        // After PUBCOMP the id is free: the same id carries a new message.
        pub.send(.publish(Publish(topic: "q2", payload: Array("next".utf8), qos: .exactlyOnce, packetId: 42)))
        #expect(try pub.receive() == .pubrec(packetId: 42))
        #expect(try sub.receivePublish().text == "next")
    }

    @Test func qos2OutgoingHandshake() throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        try sub.subscribe("q2", qos: .exactlyOnce)
        let pub = try broker.client("pub")
        try pub.publish("q2", "m", qos: .exactlyOnce)
        let packet = try sub.receive()
        guard case let .publish(publish) = packet, let id = publish.packetId else {
            Issue.record("expected PUBLISH, got \(packet)")
            return
        }
        #expect(publish.qos == .exactlyOnce)
        sub.send(.pubrec(packetId: id))
        #expect(try sub.receive() == .pubrel(packetId: id))
        sub.send(.pubcomp(packetId: id))
        try sub.expectNothing()
    }

    @Test func inflightWindowHoldsBackUntilAcknowledged() throws {
        let broker = try BrokerHarness { $0.maxInflight = 2 }
        let sub = try broker.client("sub")
        try sub.subscribe("w", qos: .atLeastOnce)
        let pub = try broker.client("pub")
        for index in 1...3 { try pub.publish("w", "\(index)", qos: .atLeastOnce) }
        let first = try sub.receivePublish(acknowledge: false)
        let second = try sub.receivePublish(acknowledge: false)
        #expect([first.text, second.text] == ["1", "2"])
        try sub.expectNothing()
        sub.send(.puback(packetId: first.packetId!))
        #expect(try sub.receivePublish().text == "3")
    }

    @Test func unsubscribeStopsDelivery() throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        try sub.subscribe("a/+", qos: .atLeastOnce)
        try sub.unsubscribe(["a/+", "never/subscribed"])
        let pub = try broker.client("pub")
        try pub.publish("a/b", "x", qos: .atLeastOnce)
        try sub.expectNothing()
    }

    @Test func invalidFiltersGetFailureCodeAndOthersAreGranted() throws {
        let broker = try BrokerHarness()
        let sub = try broker.client("sub")
        #expect(try sub.subscribe([("a/#/b", .atLeastOnce), ("ok/+", .atLeastOnce), ("a+", .atMostOnce), ("", .atMostOnce)]) == [0x80, 1, 0x80, 0x80])
        let pub = try broker.client("pub")
        try pub.publish("ok/1", "granted", qos: .atLeastOnce)
        #expect(try sub.receivePublish().text == "granted")
    }

    @Test func wildcardTopicInPublishClosesTheConnection() throws {
        let broker = try BrokerHarness()
        let pub = try broker.client("pub")
        pub.sendRaw([0x30, 0x05, 0, 3, 0x61, 0x2F, 0x2B])  // PUBLISH "a/+"
        #expect(pub.waitForClose())
        try expectServes(broker)
    }

    @Test func oversizedPacketClosesTheConnection() throws {
        let broker = try BrokerHarness { $0.maxPacketSize = 1024 }
        let sub = try broker.client("sub")
        try sub.subscribe("big", qos: .atMostOnce)
        let pub = try broker.client("pub")
        try pub.publish("big", String(repeating: "x", count: 1000))
        #expect(try sub.receivePublish().payload.count == 1000)
        try pub.publish("big", String(repeating: "x", count: 2000))
        #expect(pub.waitForClose())
        try sub.expectNothing()
        try expectServes(broker)
    }

    @Test func sysTopicsAreNotMatchedByHash() throws {
        let broker = try BrokerHarness { $0.sysInterval = 1 }
        let all = try broker.client("all")
        try all.subscribe("#")
        try all.expectNothing(for: 1.5)
    }

    @Test func publishTapSeesAcceptedMessages() throws {
        let tap = RecordingTap()
        let broker = try BrokerHarness(tap: tap)
        let pub = try broker.client("device-1")
        try pub.publish("factory/1/machine/2/status", "a", qos: .atLeastOnce)
        try pub.publish("factory/1/machine/2/alerts", "b", qos: .exactlyOnce, retain: true)
        let seen = tap.messages.withLock { $0 }
        #expect(seen.map(\.topic) == ["factory/1/machine/2/status", "factory/1/machine/2/alerts"])
        #expect(seen.map(\.clientId) == ["device-1", "device-1"])
        #expect(seen.last?.retain == true)
    }

    /// A will published when a keepalive runs out (in the broker's tick, not in a round of
    /// reads) reaches the tap's hand-over in that same tick: a stream gets it at once, not
    /// after the next round, which with no traffic came a tick (250 ms) later.
    @Test func aWillFromATimeoutIsHandedOverInTheSameTick() throws {
        let tap = RecordingTap()
        let broker = try BrokerHarness(tap: tap)
        let client = try TestClient(port: broker.port)
        try client.connect(clientId: "sleepy", keepAlive: 1, will: .init(topic: "status/sleepy", payload: Array("gone".utf8), qos: .atLeastOnce))
        #expect(client.waitForClose(timeout: 4))
        let closed = ContinuousClock.now
        while tap.handedOver.withLock({ $0.isEmpty }) && ContinuousClock.now - closed < .seconds(2) { Thread.sleep(forTimeInterval: 0.001) }
        #expect(tap.handedOver.withLock { $0.map(\.topic) } == ["status/sleepy"])
        #expect(ContinuousClock.now - closed < .milliseconds(200), "handed over \(ContinuousClock.now - closed) after the close")
    }
}

final class RecordingTap: PublishTap {
    let messages = Locked<[Message]>([])
    /// Messages handed over by the end of their round (`roundEnded`).
    let handedOver = Locked<[Message]>([])

    func publishAccepted(_ message: Message, marks: inout DurabilityMarks) {
        messages.withLock { $0.append(message) }
    }

    func roundEnded() {
        let round = messages.withLock { $0 }
        handedOver.withLock { $0 = round }
    }
}
