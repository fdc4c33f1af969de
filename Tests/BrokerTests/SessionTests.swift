import HydrantTesting
import MQTT
import Testing

/// Clean and persistent sessions (§3.1.2.4), takeover (§3.1.4) and wills (§3.1.2.5).
@Suite struct SessionTests {
    @Test func persistentSessionReceivesWhatItMissed() throws {
        let broker = try BrokerHarness()
        let sub = try TestClient(port: broker.port)
        #expect(try sub.connect(clientId: "logger", cleanSession: false).sessionPresent == false)
        try sub.subscribe("factory/+/machine/+/alerts", qos: .exactlyOnce)
        sub.disconnect()
        #expect(sub.waitForClose())

        let pub = try broker.client("pub")
        try pub.publish("factory/1/machine/1/alerts", "one", qos: .atLeastOnce)
        try pub.publish("factory/1/machine/1/alerts", "zero", qos: .atMostOnce)  // not queued offline
        try pub.publish("factory/2/machine/3/alerts", "two", qos: .exactlyOnce)

        let back = try TestClient(port: broker.port)
        #expect(try back.connect(clientId: "logger", cleanSession: false).sessionPresent == true)
        let first = try back.receivePublish()
        let second = try back.receivePublish()
        #expect([first.text, second.text] == ["one", "two"])
        #expect([first.qos, second.qos] == [.atLeastOnce, .exactlyOnce])
        try back.expectNothing()
        // The subscription itself survived too.
        try pub.publish("factory/9/machine/9/alerts", "live", qos: .atLeastOnce)
        #expect(try back.receivePublish().text == "live")
    }

    @Test func unacknowledgedMessagesAreResentWithDup() throws {
        let broker = try BrokerHarness()
        let sub = try TestClient(port: broker.port)
        try sub.connect(clientId: "flaky", cleanSession: false)
        try sub.subscribe("q", qos: .atLeastOnce)
        try sub.subscribe("q2", qos: .exactlyOnce)
        let pub = try broker.client("pub")
        try pub.publish("q", "m1", qos: .atLeastOnce)
        try pub.publish("q2", "m2", qos: .exactlyOnce)
        let original = try sub.receivePublish(acknowledge: false)
        let q2 = try sub.receivePublish(acknowledge: false)
        sub.send(.pubrec(packetId: q2.packetId!))
        #expect(try sub.receive() == .pubrel(packetId: q2.packetId!))
        // Connection lost without acknowledging m1 or completing m2.
        sub.dropConnection()

        let back = try TestClient(port: broker.port)
        #expect(try back.connect(clientId: "flaky", cleanSession: false).sessionPresent)
        let resent = try back.receivePublish(acknowledge: false)
        #expect(resent.text == "m1")
        #expect(resent.dup)  // [MQTT-4.4.0-1]
        #expect(resent.packetId == original.packetId)
        #expect(try back.receive() == .pubrel(packetId: q2.packetId!))  // PUBREL resent, not PUBLISH
        back.send(.puback(packetId: resent.packetId!))
        back.send(.pubcomp(packetId: q2.packetId!))
        try back.expectNothing()
    }

    @Test func cleanSessionDiscardsState() throws {
        let broker = try BrokerHarness()
        let sub = try TestClient(port: broker.port)
        try sub.connect(clientId: "c", cleanSession: false)
        try sub.subscribe("t", qos: .atLeastOnce)
        sub.disconnect()
        #expect(sub.waitForClose())
        let pub = try broker.client("pub")
        try pub.publish("t", "queued", qos: .atLeastOnce)
        let clean = try TestClient(port: broker.port)
        #expect(try clean.connect(clientId: "c", cleanSession: true).sessionPresent == false)  // [MQTT-3.2.2-1]
        try clean.expectNothing()
        try pub.publish("t", "after", qos: .atLeastOnce)
        try clean.expectNothing()  // subscriptions went with the old session
        clean.disconnect()
        #expect(clean.waitForClose())
        let again = try TestClient(port: broker.port)
        #expect(try again.connect(clientId: "c", cleanSession: false).sessionPresent == false)
    }

    @Test func takeoverClosesTheOldConnection() throws {
        let broker = try BrokerHarness()
        let watcher = try broker.client("watcher")
        try watcher.subscribe("wills/#")
        let old = try TestClient(port: broker.port)
        try old.connect(clientId: "dup-id", cleanSession: false, will: .init(topic: "wills/dup-id", payload: Array("lost".utf8)))
        try old.subscribe("t", qos: .atLeastOnce)
        let new = try TestClient(port: broker.port)
        #expect(try new.connect(clientId: "dup-id", cleanSession: false).sessionPresent)
        #expect(old.waitForClose())
        #expect(try watcher.receivePublish().text == "lost")
        let pub = try broker.client("pub")
        try pub.publish("t", "to-new", qos: .atLeastOnce)
        #expect(try new.receivePublish().text == "to-new")
    }

    @Test func willIsPublishedOnAbnormalCloseWithQoSAndRetain() throws {
        let broker = try BrokerHarness()
        let watcher = try broker.client("watcher")
        try watcher.subscribe("factory/1/machine/2/status", qos: .exactlyOnce)
        let device = try TestClient(port: broker.port)
        try device.connect(clientId: "machine-2", will: .init(topic: "factory/1/machine/2/status", payload: Array("offline".utf8), qos: .atLeastOnce, retain: true))
        device.dropConnection()
        let will = try watcher.receivePublish()
        #expect(will.text == "offline")
        #expect(will.qos == .atLeastOnce)
        #expect(!will.retain)  // a live forward
        let late = try broker.client("late")
        try late.subscribe("factory/+/machine/+/status")
        let retained = try late.receivePublish()
        #expect(retained.text == "offline")
        #expect(retained.retain)
    }

    @Test func disconnectDiscardsTheWill() throws {
        let broker = try BrokerHarness()
        let watcher = try broker.client("watcher")
        try watcher.subscribe("wills/#")
        let device = try TestClient(port: broker.port)
        try device.connect(clientId: "polite", will: .init(topic: "wills/polite", payload: Array("x".utf8)))
        device.disconnect()
        #expect(device.waitForClose())
        try watcher.expectNothing(for: 0.5)
    }

    @Test func protocolViolationPublishesTheWill() throws {
        let broker = try BrokerHarness()
        let watcher = try broker.client("watcher")
        try watcher.subscribe("wills/#")
        let device = try TestClient(port: broker.port)
        try device.connect(clientId: "rude", will: .init(topic: "wills/rude", payload: Array("bye".utf8)))
        device.sendRaw([0x36, 0x03, 0, 1, 0x61])  // PUBLISH with QoS 3
        #expect(device.waitForClose())
        #expect(try watcher.receivePublish().text == "bye")
    }
}
