import Broker
import HydrantTesting
import MQTT
import Testing

/// CONNECT rules (§3.1), numbered like Mosquitto's 01-connect-* tests.
@Suite struct ConnectTests {
    @Test func acceptsCleanConnect() throws {
        let broker = try BrokerHarness()
        let client = try TestClient(port: broker.port)
        #expect(try client.connect(clientId: "c1") == ConnAck(sessionPresent: false, returnCode: .accepted))
        client.send(.pingreq)
        #expect(try client.receive() == .pingresp)
    }

    @Test(arguments: [3 as UInt8, 6])
    func unsupportedProtocolLevelGetsReturnCode1(_ level: UInt8) throws {
        let broker = try BrokerHarness()
        let client = try TestClient(port: broker.port)
        let body: [UInt8] = [0, 4] + Array("MQTT".utf8) + [level, 0x02, 0, 60, 0, 1, 0x61]
        client.sendRaw([0x10, UInt8(body.count)] + body)
        #expect(try client.receive() == .connack(ConnAck(sessionPresent: false, returnCode: .unacceptableProtocolVersion)))
        #expect(client.waitForClose())
    }

    @Test func emptyClientIdNeedsCleanSession() throws {
        let broker = try BrokerHarness()
        let persistent = try TestClient(port: broker.port)
        #expect(try persistent.connect(clientId: "", cleanSession: false).returnCode == .identifierRejected)
        #expect(persistent.waitForClose())
        let clean = try TestClient(port: broker.port)
        #expect(try clean.connect(clientId: "", cleanSession: true).returnCode == .accepted)
        // The assigned id works like any other: the client can subscribe and receive.
        try clean.subscribe("t", qos: .atMostOnce)
        try clean.publish("t", "x")
        #expect(try clean.receivePublish().text == "x")
    }

    @Test func firstPacketMustBeConnect() throws {
        let broker = try BrokerHarness()
        let client = try TestClient(port: broker.port)
        client.send(.pingreq)
        #expect(client.waitForClose())
        try expectServes(broker)
    }

    @Test func secondConnectIsAViolation() throws {
        let broker = try BrokerHarness()
        let client = try broker.client("twice")
        client.send(.connect(Connect(clientId: "twice")))
        #expect(client.waitForClose())
        try expectServes(broker)
    }

    @Test(arguments: [Packet.connack(ConnAck(sessionPresent: false, returnCode: .accepted)), .suback(SubAck(packetId: 1, returnCodes: [0])), .unsuback(packetId: 1), .pingresp])
    func serverOnlyPacketsCloseTheConnection(_ packet: Packet) throws {
        let broker = try BrokerHarness()
        let client = try broker.client("c")
        client.send(packet)
        #expect(client.waitForClose())
    }

    @Test func connectTimeoutClosesSilentSockets() throws {
        let broker = try BrokerHarness { $0.connectTimeout = 1 }
        let client = try TestClient(port: broker.port)
        #expect(client.waitForClose(timeout: 3))
    }

    @Test func maxConnectionsRefusesTheNextOne() throws {
        let broker = try BrokerHarness { $0.maxConnections = 2 }
        let a = try broker.client("a")
        let b = try broker.client("b")
        let c = try TestClient(port: broker.port)
        #expect(c.waitForClose())
        a.disconnect()
        #expect(a.waitForClose())
        let d = try TestClient(port: broker.port)
        #expect(try d.connect(clientId: "d").returnCode == .accepted)
        b.send(.pingreq)  // the connection under the limit stayed up throughout
        #expect(try b.receive() == .pingresp)
    }

    @Test func keepAliveIsEnforcedAtOneAndAHalfTimes() throws {
        let broker = try BrokerHarness()
        let watcher = try broker.client("watcher")
        try watcher.subscribe("status/#", qos: .atLeastOnce)
        let client = try TestClient(port: broker.port)
        try client.connect(clientId: "sleepy", keepAlive: 1, will: .init(topic: "status/sleepy", payload: Array("gone".utf8), qos: .atLeastOnce))
        let start = ContinuousClock.now
        #expect(client.waitForClose(timeout: 4))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(1400) && elapsed < .milliseconds(2600), "closed after \(elapsed)")
        #expect(try watcher.receivePublish().text == "gone")
    }

    @Test func pingsKeepAConnectionAlive() throws {
        let broker = try BrokerHarness()
        let client = try TestClient(port: broker.port)
        try client.connect(clientId: "pinger", keepAlive: 1)
        for _ in 0..<5 {
            try client.expectNothing(for: 0.5)
            client.send(.pingreq)
            #expect(try client.receive() == .pingresp)
        }
    }
}

/// The broker still accepts and serves fresh clients (after another one misbehaved).
func expectServes(_ broker: BrokerHarness) throws {
    let tag = UInt32.random(in: 0...UInt32.max)
    let sub = try TestClient(port: broker.port)
    #expect(try sub.connect(clientId: "probe-sub-\(tag)").returnCode == .accepted)
    try sub.subscribe("probe/\(tag)", qos: .atLeastOnce)
    let pub = try TestClient(port: broker.port)
    #expect(try pub.connect(clientId: "probe-pub-\(tag)").returnCode == .accepted)
    try pub.publish("probe/\(tag)", "ok", qos: .atLeastOnce)
    #expect(try sub.receivePublish().text == "ok")
}
