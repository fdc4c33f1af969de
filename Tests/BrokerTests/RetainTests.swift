import HydrantTesting
import MQTT
import Testing

/// Retained messages (§3.3.1.3), like Mosquitto's 04-retain-* tests.
@Suite struct RetainTests {
    @Test func newSubscriberGetsRetainedWithRetainFlagLiveOnesWithout() throws {
        let broker = try BrokerHarness()
        let pub = try broker.client("pub")
        try pub.publish("factory/1/machine/2/status", "on", qos: .atLeastOnce, retain: true)
        let sub = try broker.client("sub")
        try sub.subscribe("factory/1/machine/2/status", qos: .atLeastOnce)
        let retained = try sub.receivePublish()
        #expect(retained.text == "on")
        #expect(retained.retain)
        try pub.publish("factory/1/machine/2/status", "off", qos: .atLeastOnce, retain: true)
        let live = try sub.receivePublish()
        #expect(live.text == "off")
        #expect(!live.retain)  // [MQTT-3.3.1-9]
    }

    @Test func overwriteAndClear() throws {
        let broker = try BrokerHarness()
        let pub = try broker.client("pub")
        try pub.publish("lamp", "on", retain: true)
        try pub.publish("lamp", "off", qos: .atLeastOnce, retain: true)
        let first = try broker.client("first")
        try first.subscribe("lamp")
        #expect(try first.receivePublish().text == "off")
        try first.expectNothing()
        try pub.publish("lamp", "", qos: .atLeastOnce, retain: true)  // clears
        let second = try broker.client("second")
        try second.subscribe("lamp")
        try second.expectNothing()
    }

    @Test func retainedThroughWildcardsAtTheLowerQoS() throws {
        let broker = try BrokerHarness()
        let pub = try broker.client("pub")
        try pub.publish("factory/1/machine/1/status", "a", qos: .exactlyOnce, retain: true)
        try pub.publish("factory/2/machine/3/status", "b", qos: .atMostOnce, retain: true)
        try pub.publish("factory/1/machine/1/alerts", "c", qos: .atLeastOnce, retain: true)
        try pub.publish("office/1/machine/23/status", "d", qos: .atLeastOnce, retain: true)
        let sub = try broker.client("sub")
        try sub.subscribe("factory/+/machine/+/status", qos: .atLeastOnce)
        var got: [String: QoS] = [:]
        for _ in 0..<2 {
            let message = try sub.receivePublish()
            #expect(message.retain)
            got[message.text] = message.qos
        }
        #expect(got == ["a": .atLeastOnce, "b": .atMostOnce])
        try sub.expectNothing()
        let everything = try broker.client("everything")
        try everything.subscribe("#", qos: .exactlyOnce)
        var texts: Set<String> = []
        for _ in 0..<4 { texts.insert(try everything.receivePublish().text) }
        #expect(texts == ["a", "b", "c", "d"])
    }

    @Test func resubscribeSendsRetainedAgain() throws {
        let broker = try BrokerHarness()
        let pub = try broker.client("pub")
        try pub.publish("config", "v1", qos: .atLeastOnce, retain: true)
        let sub = try broker.client("sub")
        try sub.subscribe("config")
        #expect(try sub.receivePublish().text == "v1")
        try sub.subscribe("config")  // [MQTT-3.8.4-3]
        #expect(try sub.receivePublish().text == "v1")
    }

    @Test func sysTopicsAreRetainedAndReadable() throws {
        let broker = try BrokerHarness { $0.sysInterval = 1 }
        let pub = try broker.client("pub")
        try pub.publish("x", "y", qos: .atLeastOnce)
        let sub = try broker.client("sys")
        try sub.subscribe("$SYS/broker/#")
        var values: [String: String] = [:]
        while values.count < 12 {
            let message = try sub.receivePublish(timeout: 3)
            values[message.topic] = message.text
        }
        #expect(values["$SYS/broker/version"]?.hasPrefix("hydrant ") == true)
        #expect(values["$SYS/broker/uptime"]?.hasSuffix(" seconds") == true)
        for name in ["clients/connected", "clients/total", "messages/received", "messages/sent", "publish/messages/dropped", "publish/messages/resent",
                     "subscriptions/count", "retained messages/count", "load/bytes/received", "load/bytes/sent"] {
            #expect(values["$SYS/broker/" + name].flatMap { Int($0) } != nil, "\(name)")
        }
    }
}
