import HydrantTesting
import MQTT
import Testing

/// Limits: queue length, write buffer, and their drop counters.
@Suite struct LimitTests {
    @Test func offlineQueueIsBoundedAndDropsAreCounted() throws {
        let broker = try BrokerHarness { $0.maxQueuedMessages = 3; $0.sysInterval = 1 }
        let sub = try TestClient(port: broker.port)
        try sub.connect(clientId: "offline", cleanSession: false)
        try sub.subscribe("q", qos: .atLeastOnce)
        sub.disconnect()
        #expect(sub.waitForClose())
        let pub = try broker.client("pub")
        for index in 1...5 { try pub.publish("q", "\(index)", qos: .atLeastOnce) }
        let back = try TestClient(port: broker.port)
        try back.connect(clientId: "offline", cleanSession: false)
        var texts: [String] = []
        for _ in 0..<3 { texts.append(try back.receivePublish().text) }
        #expect(texts == ["1", "2", "3"])
        try back.expectNothing()
        try back.subscribe("$SYS/broker/publish/messages/dropped")
        var dropped = try back.receivePublish(timeout: 3).text
        while dropped == "0" { dropped = try back.receivePublish(timeout: 3).text }
        #expect(dropped == "2")
    }

    @Test func slowSubscriberLosesQoS0ButDoesNotStallOthers() throws {
        let broker = try BrokerHarness { $0.maxWriteBuffer = 256 * 1024; $0.sysInterval = 1 }
        let slow = try broker.client("slow")
        slow.shrinkReceiveBuffer()
        try slow.subscribe("flood")
        try slow.subscribe("flood/end", qos: .atLeastOnce)
        let fast = try broker.client("fast")
        try fast.subscribe("flood")
        let pub = try broker.client("pub")
        let payload = String(repeating: "p", count: 1000)
        // 20 MB in rounds the fast subscriber keeps up with; the slow one never reads.
        for _ in 0..<40 {
            for _ in 0..<500 { try pub.publish("flood", payload) }
            for _ in 0..<500 { #expect(try fast.receivePublish(timeout: 10).payload.count == 1000) }
        }
        try pub.publish("flood/end", "end", qos: .atLeastOnce)
        // The slow subscriber got at most what its buffers held, then the QoS 1 message:
        // QoS 0 was dropped for it, QoS 1 waited in its session queue.
        var slowReceived = 0
        while try slow.receivePublish(timeout: 10).topic != "flood/end" { slowReceived += 1 }
        #expect(slowReceived < 20_000)
        try fast.subscribe("$SYS/broker/publish/messages/dropped")
        // The retained value may predate the last drops; the next updates catch up.
        var reported: [Int] = []
        while reported.last != 20_000 - slowReceived && reported.count < 4 {
            reported.append(Int(try fast.receivePublish(timeout: 3).text) ?? -1)
        }
        #expect(reported.last == 20_000 - slowReceived, "dropped reported \(reported)")
    }
}
