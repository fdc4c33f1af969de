import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// Persistent sessions survive a broker restart (issue #7): subscriptions, messages queued
/// while offline, in-flight messages with their packet ids, and incoming QoS 2 state.
@Suite struct SessionPersistenceTests {
    @Test func queuedMessagesAndSubscriptionsSurviveRestart() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            let sub = try TestClient(port: broker.port)
            try sub.connect(clientId: "logger", cleanSession: false)
            try sub.subscribe([("factory/+/machine/+/alerts", .exactlyOnce), ("gone/#", .atLeastOnce)])
            try sub.unsubscribe(["gone/#"])
            sub.disconnect()
            #expect(sub.waitForClose())
            let pub = try broker.client("pub")
            try pub.publish("factory/1/machine/1/alerts", "one", qos: .atLeastOnce)
            try pub.publish("factory/1/machine/1/alerts", "zero", qos: .atMostOnce)  // not queued
            try pub.publish("factory/2/machine/3/alerts", "two", qos: .exactlyOnce)
            try pub.publish("gone/1", "unsubscribed", qos: .atLeastOnce)
            // A clean session is not persisted.
            let clean = try broker.client("clean")
            try clean.subscribe("factory/#", qos: .atLeastOnce)
            broker.stop()
        }
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        let back = try TestClient(port: broker.port)
        #expect(try back.connect(clientId: "logger", cleanSession: false).sessionPresent)
        let first = try back.receivePublish()
        let second = try back.receivePublish()
        #expect([first.text, second.text] == ["one", "two"])
        #expect([first.qos, second.qos] == [.atLeastOnce, .exactlyOnce])
        try back.expectNothing()
        // The subscription was restored: live messages arrive too.
        let pub = try broker.client("pub")
        try pub.publish("factory/9/machine/9/alerts", "live", qos: .atLeastOnce)
        #expect(try back.receivePublish().text == "live")
        let clean = try TestClient(port: broker.port)
        #expect(try clean.connect(clientId: "clean", cleanSession: false).sessionPresent == false)
    }

    @Test func inflightMessagesKeepTheirPacketIds() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        var ids: [UInt16] = []
        var pubrelId: UInt16 = 0
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            let sub = try TestClient(port: broker.port)
            try sub.connect(clientId: "flaky", cleanSession: false)
            try sub.subscribe([("q", .atLeastOnce), ("q2", .exactlyOnce)])
            let pub = try broker.client("pub")
            try pub.publish("q", "m1", qos: .atLeastOnce)
            try pub.publish("q", "m2", qos: .atLeastOnce)
            try pub.publish("q2", "m3", qos: .exactlyOnce)
            try pub.publish("q", "acked", qos: .atLeastOnce)
            let m1 = try sub.receivePublish(acknowledge: false)
            let m2 = try sub.receivePublish(acknowledge: false)
            let m3 = try sub.receivePublish(acknowledge: false)
            _ = try sub.receivePublish()  // acknowledged: must not come back
            sub.send(.pubrec(packetId: m3.packetId!))
            #expect(try sub.receive() == .pubrel(packetId: m3.packetId!))
            ids = [m1.packetId!, m2.packetId!]
            pubrelId = m3.packetId!
            try sub.expectNothing(for: 0.2)  // the PUBACK of "acked" and the PUBREC are processed
            broker.stop()
        }
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        let back = try TestClient(port: broker.port)
        #expect(try back.connect(clientId: "flaky", cleanSession: false).sessionPresent)
        let r1 = try back.receivePublish(acknowledge: false)
        let r2 = try back.receivePublish(acknowledge: false)
        #expect([r1.text, r2.text] == ["m1", "m2"])
        #expect([r1.packetId!, r2.packetId!] == ids)  // [MQTT-4.4.0-1], same ids after restart
        #expect(r1.dup && r2.dup)
        #expect(try back.receive() == .pubrel(packetId: pubrelId))  // PUBREL resent, not PUBLISH
        back.send(.puback(packetId: r1.packetId!))
        back.send(.puback(packetId: r2.packetId!))
        back.send(.pubcomp(packetId: pubrelId))
        try back.expectNothing()
        back.disconnect()
        #expect(back.waitForClose())
        // Completed ones stay completed across a further restart.
        broker.stop()
        let third = try BrokerHarness { $0.stateDirectory = state.path }
        let again = try TestClient(port: third.port)
        #expect(try again.connect(clientId: "flaky", cleanSession: false).sessionPresent)
        try again.expectNothing()
    }

    @Test func incomingQoS2StateSurvivesRestart() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        let publish = Publish(topic: "once", payload: Array("exactly".utf8), qos: .exactlyOnce, retain: false, packetId: 7)
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            let sub = try TestClient(port: broker.port)
            try sub.connect(clientId: "watcher", cleanSession: false)
            try sub.subscribe("once", qos: .exactlyOnce)
            let pub = try TestClient(port: broker.port)
            try pub.connect(clientId: "sender", cleanSession: false)
            pub.send(.publish(publish))
            #expect(try pub.receive() == .pubrec(packetId: 7))  // durable before this
            #expect(try sub.receivePublish().text == "exactly")
            broker.stop()
        }
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        let sub = try TestClient(port: broker.port)
        #expect(try sub.connect(clientId: "watcher", cleanSession: false).sessionPresent)
        let pub = try TestClient(port: broker.port)
        #expect(try pub.connect(clientId: "sender", cleanSession: false).sessionPresent)
        // The sender did not see PUBREC before the crash as far as it knows: it resends.
        var again = publish
        again.dup = true
        pub.send(.publish(again))
        #expect(try pub.receive() == .pubrec(packetId: 7))
        pub.send(.pubrel(packetId: 7))
        #expect(try pub.receive() == .pubcomp(packetId: 7))
        try sub.expectNothing()  // not delivered a second time (§4.3.3)
        // The id is free again: a new message with it is delivered.
        pub.send(.publish(Publish(topic: "once", payload: Array("new".utf8), qos: .exactlyOnce, retain: false, packetId: 7)))
        #expect(try pub.receive() == .pubrec(packetId: 7))
        #expect(try sub.receivePublish().text == "new")
    }

    @Test func cleanSessionConnectEndsThePersistedSession() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            let sub = try TestClient(port: broker.port)
            try sub.connect(clientId: "temp", cleanSession: false)
            try sub.subscribe("t", qos: .atLeastOnce)
            sub.disconnect()
            #expect(sub.waitForClose())
            let again = try TestClient(port: broker.port)
            #expect(try again.connect(clientId: "temp", cleanSession: true).sessionPresent == false)
            broker.stop()
        }
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        let pub = try broker.client("pub")
        try pub.publish("t", "nobody", qos: .atLeastOnce)
        let back = try TestClient(port: broker.port)
        #expect(try back.connect(clientId: "temp", cleanSession: false).sessionPresent == false)
        try back.expectNothing()
    }

    /// Runtime compaction: a log that is mostly acknowledged history is rewritten as a
    /// snapshot from the tick, and what was live survives a restart afterwards.
    @Test func logIsCompactedWhileRunning() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        let configure: (inout BrokerConfig) -> Void = {
            $0.stateDirectory = state.path
            $0.sessionLogCompactBytes = 256 << 10
            $0.maxQueuedMessages = 10_000
        }
        let payload = String(repeating: "p", count: 1000)
        do {
            let broker = try BrokerHarness(configure: configure)
            let keeper = try TestClient(port: broker.port)
            try keeper.connect(clientId: "keeper", cleanSession: false)
            try keeper.subscribe("keep/#", qos: .atLeastOnce)
            keeper.disconnect()
            #expect(keeper.waitForClose())
            let reader = try TestClient(port: broker.port)
            try reader.connect(clientId: "reader", cleanSession: false)
            try reader.subscribe("flow/#", qos: .atLeastOnce)
            let pub = try broker.client("pub")
            for n in 1...5 { try pub.publish("keep/1", "k\(n)", qos: .atLeastOnce) }
            for _ in 1...3000 { try pub.publish("flow/1", payload, qos: .atLeastOnce) }
            for _ in 1...3000 { _ = try reader.receivePublish() }  // acknowledged: history now
            let log = state.path + "/sessions"
            var size = try bytes(log)
            let deadline = Date().addingTimeInterval(10)
            while size > 512 << 10 && Date() < deadline {
                usleep(50_000)
                size = try bytes(log)
            }
            #expect(size < 512 << 10, "session log still \(size) bytes")
            try pub.publish("keep/1", "k6", qos: .atLeastOnce)  // after the snapshot
            broker.stop()
        }
        let broker = try BrokerHarness(configure: configure)
        let keeper = try TestClient(port: broker.port)
        #expect(try keeper.connect(clientId: "keeper", cleanSession: false).sessionPresent)
        var got: [String] = []
        for _ in 1...6 { got.append(try keeper.receivePublish().text) }
        #expect(got == ["k1", "k2", "k3", "k4", "k5", "k6"])
        try keeper.expectNothing()
        let reader = try TestClient(port: broker.port)
        #expect(try reader.connect(clientId: "reader", cleanSession: false).sessionPresent)
        try reader.expectNothing()
    }

    func bytes(_ directory: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: directory).reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
        }
    }
}
