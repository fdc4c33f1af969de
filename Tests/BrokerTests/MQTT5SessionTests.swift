import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// MQTT 5 sessions over time (issue #13): Session Expiry Interval, measured across
/// restarts; Will Delay Interval; subscription options, message properties and expiry in
/// the state and retained logs.
@Suite struct MQTT5SessionTests {
    static func expiry(_ seconds: UInt32) -> Properties {
        var properties = Properties()
        properties.sessionExpiryInterval = seconds
        return properties
    }

    @Test func sessionEndsAfterItsExpiryAndNotBefore() throws {
        let broker = try BrokerHarness()
        for (name, seconds) in [("short", 1 as UInt32), ("long", 60)] {
            let (client, _) = try broker.client5(name, cleanStart: false, properties: Self.expiry(seconds))
            try client.subscribe("x/\(name)")
            client.send(.disconnect)
            #expect(client.waitForClose())
        }
        Thread.sleep(forTimeInterval: 1.8)
        for (name, present) in [("short", false), ("long", true)] {
            let (_, ack) = try broker.client5(name, cleanStart: false, properties: Self.expiry(60))
            #expect(ack.sessionPresent == present, "\(name)")
        }
    }

    @Test func sessionExpiryZeroEndsWithTheConnection() throws {
        let broker = try BrokerHarness()
        let (client, _) = try broker.client5("zero", cleanStart: false)
        try client.subscribe("z")
        client.send(.disconnect)
        #expect(client.waitForClose())
        let (_, ack) = try broker.client5("zero", cleanStart: false, properties: Self.expiry(60))
        #expect(!ack.sessionPresent)
    }

    static func will(_ topic: String, delay: UInt32) -> Connect.Will {
        var properties = Properties()
        properties.willDelayInterval = delay
        return Connect.Will(topic: topic, payload: Array("gone".utf8), properties: properties)
    }

    @Test func delayedWillIsSentAfterItsDelayOrCancelledByAReconnect() throws {
        let broker = try BrokerHarness()
        let (watcher, _) = try broker.client5("watcher")
        try watcher.subscribe("wills/#")
        // Delay 1 s, session 60 s: the will comes after about a second, not at once.
        let (device, _) = try broker.client5("device", cleanStart: false, will: Self.will("wills/device", delay: 1), properties: Self.expiry(60))
        let dropped = Date()
        device.dropConnection()
        try watcher.expectNothing(for: 0.5)
        let will = try watcher.receivePublish(timeout: 3)
        #expect(will.topic == "wills/device")
        #expect(Date().timeIntervalSince(dropped) >= 0.9)
        // Delay 3 s, reconnect after 0.5 s: no will.
        let (again, _) = try broker.client5("again", cleanStart: false, will: Self.will("wills/again", delay: 3), properties: Self.expiry(60))
        again.dropConnection()
        Thread.sleep(forTimeInterval: 0.5)
        _ = try broker.client5("again", cleanStart: false, properties: Self.expiry(60))
        try watcher.expectNothing(for: 3.2)
    }

    /// The will goes at the earlier of its delay and the session's end (issue #13).
    @Test func willIsSentWhenTheSessionEndsBeforeItsDelay() throws {
        let broker = try BrokerHarness()
        let (watcher, _) = try broker.client5("watcher")
        try watcher.subscribe("wills/#")
        let (device, _) = try broker.client5("short", cleanStart: false, will: Self.will("wills/short", delay: 30), properties: Self.expiry(1))
        device.dropConnection()
        let will = try watcher.receivePublish(timeout: 4)
        #expect(will.topic == "wills/short")
    }

    @Test func optionsPropertiesAndExpirySurviveARestart() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state5")
        defer { state.remove() }
        var userProperties = Properties()
        userProperties.userProperties = [.init("line", "4")]
        userProperties.contentType = "application/json"
        userProperties.messageExpiryInterval = 3600
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            let (sub, _) = try broker.client5("logger", cleanStart: false, properties: Self.expiry(600))
            var subscriptionId = Properties()
            subscriptionId.subscriptionIdentifiers = [42]
            try sub.subscribe([.init(filter: "p/#", qos: .atLeastOnce, noLocal: true, retainAsPublished: true)], properties: subscriptionId)
            sub.send(.disconnect)
            #expect(sub.waitForClose())
            let (pub, _) = try broker.client5("pub")
            try pub.publish("p/1", "{\"n\":1}", qos: .atLeastOnce, retain: true, properties: userProperties)
            broker.stop()
        }
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        let (back, ack) = try broker.client5("logger", cleanStart: false, properties: Self.expiry(600))
        #expect(ack.sessionPresent)
        let queued = try back.receivePublish()
        #expect(queued.text == "{\"n\":1}")
        #expect(queued.properties.userProperties == [.init("line", "4")])
        #expect(queued.properties.contentType == "application/json")
        #expect(queued.properties.subscriptionIdentifiers == [42])
        #expect(queued.retain, "Retain As Published survived")
        #expect((queued.properties.messageExpiryInterval ?? 0) > 3500)
        // The retained message kept its properties and expiry too.
        let (fresh, _) = try broker.client5("fresh")
        try fresh.subscribe("p/#")
        let retained = try fresh.receivePublish()
        #expect(retained.properties.userProperties == [.init("line", "4")])
        #expect((retained.properties.messageExpiryInterval ?? 0) > 3500)
    }

    @Test func aSessionThatExpiredWhileTheBrokerWasDownIsGone() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state5")
        defer { state.remove() }
        do {
            let broker = try BrokerHarness { $0.stateDirectory = state.path }
            for (name, seconds) in [("brief", 1 as UInt32), ("lasting", 600)] {
                let (client, _) = try broker.client5(name, cleanStart: false, properties: Self.expiry(seconds))
                try client.subscribe("s/\(name)")
                client.send(.disconnect)
                #expect(client.waitForClose())
            }
            broker.stop()
        }
        // The log keeps whole seconds, rounded up: never early, up to a second late.
        Thread.sleep(forTimeInterval: 2.2)
        let broker = try BrokerHarness { $0.stateDirectory = state.path }
        #expect(try broker.client5("brief", cleanStart: false, properties: Self.expiry(60)).1.sessionPresent == false)
        #expect(try broker.client5("lasting", cleanStart: false, properties: Self.expiry(60)).1.sessionPresent == true)
    }
}
