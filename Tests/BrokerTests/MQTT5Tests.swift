import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// The broker speaking MQTT 5.0 (issue #13) with the raw test client: CONNACK, message
/// properties, expiry, aliases both ways, flow control, subscription options and
/// identifiers, server DISCONNECTs with reason codes.
@Suite struct MQTT5Tests {
    static func properties(_ build: (inout Properties) -> Void) -> Properties {
        var properties = Properties()
        build(&properties)
        return properties
    }

    /// The DISCONNECT the broker sends before it closes, or nil if it just closed.
    static func disconnectReason(_ client: TestClient) throws -> ReasonCode? {
        while true {
            let packet: Packet
            do { packet = try client.receive(timeout: 3) } catch TestClientError.closedByPeer { return nil }
            if case let .disconnect(disconnect) = packet { return disconnect.reasonCode }
        }
    }

    @Test func connackAdvertisesTheBrokersLimits() throws {
        let broker = try BrokerHarness { $0.receiveMaximum = 50 }
        let (_, ack) = try broker.client5("c")
        #expect(ack.reasonCode == .success)
        #expect(ack.sessionPresent == false)
        #expect(ack.properties.receiveMaximum == 50)
        #expect(ack.properties.maximumPacketSize == UInt32(BrokerConfig().maxPacketSize))
        #expect(ack.properties.topicAliasMaximum == 10)
        #expect(ack.properties.wildcardSubscriptionAvailable == 1)
        #expect(ack.properties.subscriptionIdentifierAvailable == 1)
        #expect(ack.properties.retainAvailable == 1)
        #expect(ack.properties.maximumQoS == nil, "absent: QoS 2 is supported")
        #expect(ack.properties.assignedClientIdentifier == nil)
        #expect(ack.properties.serverKeepAlive == nil)
    }

    @Test func emptyClientIdGetsAnAssignedIdentifierEvenWithoutCleanStart() throws {
        let broker = try BrokerHarness()
        let (_, ack) = try broker.client5("", cleanStart: false, properties: Self.properties { $0.sessionExpiryInterval = 60 })
        #expect(ack.reasonCode == .success)
        #expect(ack.properties.assignedClientIdentifier?.hasPrefix("hydrant-") == true)
    }

    @Test(arguments: [(0 as UInt16, 30 as UInt16?), (100, 30), (20, nil)])
    func serverKeepAlive(_ asked: UInt16, _ told: UInt16?) throws {
        let broker = try BrokerHarness { $0.maxKeepAlive = 30 }
        let (_, ack) = try broker.client5("k", keepAlive: asked)
        #expect(ack.properties.serverKeepAlive == told)
    }

    @Test func unknownAuthenticationMethodIsRefused() throws {
        let broker = try BrokerHarness()
        let client = try TestClient(port: broker.port, version: .v5)
        let ack = try client.connect(clientId: "a", properties: Self.properties { $0.authenticationMethod = "SCRAM-SHA-256" })
        #expect(ack.reasonCode == .badAuthenticationMethod)
        #expect(client.waitForClose())
    }

    @Test func messagePropertiesAreForwardedUnchangedAndNotTo311() throws {
        let broker = try BrokerHarness()
        let (sub5, _) = try broker.client5("sub5")
        try sub5.subscribe("req/#", qos: .atLeastOnce)
        let sub3 = try broker.client("sub3")
        try sub3.subscribe("req/#", qos: .atLeastOnce)
        let (pub, _) = try broker.client5("pub")
        let sent = Self.properties {
            $0.payloadFormatIndicator = 1
            $0.contentType = "application/json"
            $0.responseTopic = "resp/pub"
            $0.correlationData = [1, 2, 3]
            $0.userProperties = [.init("site", "7"), .init("site", "8")]
        }
        try pub.publish("req/1", "{\"a\":1}", qos: .atLeastOnce, properties: sent)
        let received = try sub5.receivePublish()
        #expect(received.properties == sent)
        #expect(received.text == "{\"a\":1}")
        let plain = try sub3.receivePublish()
        #expect(plain.properties.isEmpty)
        #expect(plain.text == "{\"a\":1}")
    }

    @Test func messageExpiryIsReducedByTheTimeWaitedAndExpiredMessagesAreDropped() throws {
        let broker = try BrokerHarness()
        let (pub, _) = try broker.client5("pub")
        try pub.publish("exp/short", "gone", qos: .atLeastOnce, retain: true, properties: Self.properties { $0.messageExpiryInterval = 1 })
        try pub.publish("exp/long", "kept", qos: .atLeastOnce, retain: true, properties: Self.properties { $0.messageExpiryInterval = 3600 })
        Thread.sleep(forTimeInterval: 2.1)
        let (sub, _) = try broker.client5("sub")
        try sub.subscribe("exp/#", qos: .atLeastOnce)
        let retained = try sub.receivePublish()
        #expect(retained.topic == "exp/long")
        #expect((retained.properties.messageExpiryInterval ?? 0) <= 3598)
        #expect((retained.properties.messageExpiryInterval ?? 0) >= 3590)
        try sub.expectNothing()
        // The expired one left the retained store for good.
        try sub.subscribe("exp/short", qos: .atLeastOnce)
        try sub.expectNothing()
    }

    @Test func queuedMessageExpiresWhileTheSessionIsOffline() throws {
        let broker = try BrokerHarness()
        let expiry = Self.properties { $0.sessionExpiryInterval = 300 }
        let (offline, _) = try broker.client5("offline", cleanStart: false, properties: expiry)
        try offline.subscribe("q/#", qos: .atLeastOnce)
        offline.send(.disconnect)
        #expect(offline.waitForClose())
        let (pub, _) = try broker.client5("pub")
        try pub.publish("q/1", "short", qos: .atLeastOnce, properties: Self.properties { $0.messageExpiryInterval = 1 })
        try pub.publish("q/2", "long", qos: .atLeastOnce, properties: Self.properties { $0.messageExpiryInterval = 600 })
        Thread.sleep(forTimeInterval: 2.1)
        let (back, ack) = try broker.client5("offline", cleanStart: false, properties: expiry)
        #expect(ack.sessionPresent)
        #expect(try back.receivePublish().topic == "q/2")
        try back.expectNothing()
    }

    @Test func payloadFormatIndicatorWithInvalidUTF8() throws {
        let broker = try BrokerHarness()
        let (sub, _) = try broker.client5("sub")
        try sub.subscribe("pfi/#", qos: .atLeastOnce)
        let (pub, _) = try broker.client5("pub")
        let utf8 = Self.properties { $0.payloadFormatIndicator = 1 }
        pub.send(.publish(Publish(topic: "pfi/1", payload: [0xC3, 0x28], qos: .atLeastOnce, packetId: 5, properties: utf8)))
        #expect(try pub.receive() == .ack(Acknowledgement(.puback, packetId: 5, reasonCode: .payloadFormatInvalid)))
        try sub.expectNothing()
        pub.send(.publish(Publish(topic: "pfi/1", payload: [0xFF], properties: utf8)))
        #expect(try Self.disconnectReason(pub) == .payloadFormatInvalid)
    }

    @Test func inboundTopicAliases() throws {
        let broker = try BrokerHarness()
        let (sub, _) = try broker.client5("sub")
        try sub.subscribe("alias/#")
        let (pub, _) = try broker.client5("pub")
        try pub.publish("alias/long/topic/name", "1", properties: Self.properties { $0.topicAlias = 3 })
        try pub.publish("", "2", properties: Self.properties { $0.topicAlias = 3 })
        #expect(try sub.receivePublish().topic == "alias/long/topic/name")
        let second = try sub.receivePublish()
        #expect(second.topic == "alias/long/topic/name")
        #expect(second.text == "2")
        #expect(second.properties.topicAlias == nil, "the publisher's alias is never forwarded")
        for (alias, reason) in [(11 as UInt16, ReasonCode.topicAliasInvalid), (0, .topicAliasInvalid), (4, .protocolError)] {
            let (bad, _) = try broker.client5("bad-\(alias)")
            try bad.publish(alias == 4 ? "" : "x", "x", properties: Self.properties { $0.topicAlias = alias })
            #expect(try Self.disconnectReason(bad) == reason, "alias \(alias)")
        }
    }

    @Test func outboundTopicAliasesReplaceTheLeastRecentlyUsed() throws {
        let broker = try BrokerHarness()
        let (sub, _) = try broker.client5("sub", properties: Self.properties { $0.topicAliasMaximum = 2 })
        try sub.subscribe("t/#")
        let (pub, _) = try broker.client5("pub")
        var seen: [(String, UInt16?)] = []
        for topic in ["t/a", "t/a", "t/b", "t/a", "t/c", "t/a", "t/b"] {
            try pub.publish(topic, topic)
            let received = try sub.receivePublish()
            #expect(received.text == topic)
            seen.append((received.topic, received.properties.topicAlias))
        }
        // a→1 (sent), a (alias only), b→2, a (alias only), c replaces b (least recently
        // used) as 2, a (alias only), b replaces c as 2.
        #expect(seen.map(\.0) == ["t/a", "", "t/b", "", "t/c", "", "t/b"])
        #expect(seen.map(\.1) == [1, 1, 2, 1, 2, 1, 2])
    }

    @Test func clientsBeyondTheReceiveMaximumAreDisconnected() throws {
        let broker = try BrokerHarness { $0.receiveMaximum = 2 }
        let (pub, _) = try broker.client5("pub")
        for id in 1...2 as ClosedRange<UInt16> {
            pub.send(.publish(Publish(topic: "rm", payload: [1], qos: .exactlyOnce, packetId: id)))
            #expect(try pub.receive() == .pubrec(packetId: id))
        }
        // Completing one gives its quota back.
        pub.send(.pubrel(packetId: 1))
        #expect(try pub.receive() == .pubcomp(packetId: 1))
        pub.send(.publish(Publish(topic: "rm", payload: [1], qos: .exactlyOnce, packetId: 3)))
        #expect(try pub.receive() == .pubrec(packetId: 3))
        pub.send(.publish(Publish(topic: "rm", payload: [1], qos: .exactlyOnce, packetId: 4)))
        #expect(try Self.disconnectReason(pub) == .receiveMaximumExceeded)
    }

    @Test func theBrokerRespectsTheClientsReceiveMaximumAndPacketSize() throws {
        let broker = try BrokerHarness()
        let (sub, _) = try broker.client5("sub", properties: Self.properties {
            $0.receiveMaximum = 2
            $0.maximumPacketSize = 100
        })
        try sub.subscribe("flow", qos: .atLeastOnce)
        let (pub, _) = try broker.client5("pub")
        try pub.publish("flow", String(repeating: "x", count: 200), qos: .atLeastOnce)  // too large for sub: dropped
        for n in 0..<4 { try pub.publish("flow", "m\(n)", qos: .atLeastOnce) }
        let first = try sub.receivePublish(acknowledge: false)
        let second = try sub.receivePublish(acknowledge: false)
        #expect([first.text, second.text] == ["m0", "m1"])
        try sub.expectNothing()
        sub.send(.puback(packetId: first.packetId!))
        #expect(try sub.receivePublish().text == "m2")
    }

    @Test func noLocalRetainAsPublishedAndRetainHandling() throws {
        let broker = try BrokerHarness()
        let (retainer, _) = try broker.client5("retainer")
        try retainer.publish("opt/r", "old", qos: .atLeastOnce, retain: true)
        let (client, _) = try broker.client5("self")
        try client.subscribe([.init(filter: "opt/#", qos: .atLeastOnce, noLocal: true, retainAsPublished: true, retainHandling: 1)])
        let retained = try client.receivePublish()
        #expect(retained.retain && retained.text == "old")
        // Retain Handling 1: not again for an existing subscription.
        try client.subscribe([.init(filter: "opt/#", qos: .atLeastOnce, noLocal: true, retainAsPublished: true, retainHandling: 1)])
        try client.expectNothing()
        try client.publish("opt/own", "mine", qos: .atLeastOnce)  // No Local
        try client.expectNothing()
        try retainer.publish("opt/r", "new", qos: .atLeastOnce, retain: true)
        let live = try client.receivePublish()
        #expect(live.retain, "Retain As Published keeps the publisher's flag")
        let (never, _) = try broker.client5("never")
        try never.subscribe([.init(filter: "opt/#", qos: .atLeastOnce, retainHandling: 2)])
        try never.expectNothing()
    }

    @Test func onePublishCarriesEveryMatchingSubscriptionIdentifier() throws {
        let broker = try BrokerHarness()
        let (sub, _) = try broker.client5("sub")
        try sub.subscribe([.init(filter: "ids/#", qos: .atMostOnce)], properties: Self.properties { $0.subscriptionIdentifiers = [7] })
        try sub.subscribe([.init(filter: "ids/+", qos: .atLeastOnce)], properties: Self.properties { $0.subscriptionIdentifiers = [300] })
        try sub.subscribe([.init(filter: "ids/x", qos: .atMostOnce)])
        let (pub, _) = try broker.client5("pub")
        try pub.publish("ids/x", "one", qos: .atLeastOnce)
        let received = try sub.receivePublish()
        #expect(Set(received.properties.subscriptionIdentifiers) == [7, 300])
        #expect(received.qos == .atLeastOnce)
        try sub.expectNothing()
    }

    @Test func sessionTakeoverSendsDisconnect0x8E() throws {
        let broker = try BrokerHarness()
        let (first, _) = try broker.client5("same")
        _ = try broker.client5("same")
        #expect(try Self.disconnectReason(first) == .sessionTakenOver)
    }

    /// Both versions: an acknowledgement of the wrong kind for an id in flight closes.
    @Test func wrongAcknowledgementKindIsAProtocolViolation() throws {
        let broker = try BrokerHarness()
        let (sub5, _) = try broker.client5("sub5")
        try sub5.subscribe("ack", qos: .atLeastOnce)
        let sub3 = try broker.client("sub3")
        try sub3.subscribe("ack", qos: .atLeastOnce)
        let pub = try broker.client("pub")
        try pub.publish("ack", "m", qos: .atLeastOnce)
        let to5 = try sub5.receivePublish(acknowledge: false)
        sub5.send(.pubrec(packetId: to5.packetId!))
        #expect(try Self.disconnectReason(sub5) == .protocolError)
        let to3 = try sub3.receivePublish(acknowledge: false)
        sub3.send(.pubcomp(packetId: to3.packetId!))
        #expect(sub3.waitForClose())
    }

    @Test func topicsDeeperThanTheLimitAreRefused() throws {
        let broker = try BrokerHarness { $0.maxTopicLevels = 3 }
        let (client, _) = try broker.client5("deep")
        #expect(try client.subscribe([("a/b/c", .atMostOnce), ("a/b/c/d", .atMostOnce)]) == [0, 0x8F])
        try client.publish("a/b/c/d", "x")
        #expect(try Self.disconnectReason(client) == .protocolError)
        let old = try broker.client("deep3")
        #expect(try old.subscribe("a/b/c/d") == 0x80)
        try old.publish("a/b/c/d", "x")
        #expect(old.waitForClose())
    }

    @Test func aPacketOverTheBrokersMaximumGetsDisconnect0x95() throws {
        let broker = try BrokerHarness { $0.maxPacketSize = 1024 }
        let (client, ack) = try broker.client5("big")
        #expect(ack.properties.maximumPacketSize == 1024)
        try client.publish("big", String(repeating: "x", count: 2000))
        #expect(try Self.disconnectReason(client) == .packetTooLarge)
    }

    @Test func unsubackSaysWhichSubscriptionsExisted() throws {
        let broker = try BrokerHarness()
        let (client, _) = try broker.client5("u")
        try client.subscribe("u/1")
        let id = client.packetId()
        client.send(.unsubscribe(Unsubscribe(packetId: id, filters: ["u/1", "u/2"])))
        #expect(try client.receive() == .unsuback(UnsubAck(packetId: id, reasonCodes: [0x00, 0x11])))
    }

    @Test func disconnectWithWillMessageStillSendsTheWill() throws {
        let broker = try BrokerHarness()
        let (watcher, _) = try broker.client5("watcher")
        try watcher.subscribe("will/#")
        for (name, reason, expected) in [("quits", ReasonCode.normalDisconnection, false), ("drops", .disconnectWithWillMessage, true)] {
            let (device, _) = try broker.client5(name, will: .init(topic: "will/\(name)", payload: Array("bye".utf8), properties: Self.properties { $0.contentType = "text/plain" }))
            device.send(.disconnect(Disconnect(reasonCode: reason)))
            #expect(device.waitForClose())
            if expected {
                let will = try watcher.receivePublish()
                #expect(will.topic == "will/drops")
                #expect(will.properties.contentType == "text/plain")
            }
        }
        try watcher.expectNothing()
    }

    @Test func sessionExpiryCannotGoFromZeroToMoreOnDisconnect() throws {
        let broker = try BrokerHarness()
        let (client, _) = try broker.client5("z")
        client.send(.disconnect(Disconnect(properties: Self.properties { $0.sessionExpiryInterval = 60 })))
        #expect(try Self.disconnectReason(client) == .protocolError)
    }

    @Test func malformedPropertiesGetDisconnect0x81WithAReasonString() throws {
        let broker = try BrokerHarness()
        let (client, _) = try broker.client5("m")
        // PUBLISH QoS 0 "t" with a Session Expiry Interval, which PUBLISH may not carry.
        client.sendRaw([0x30, 9, 0, 1, 0x74, 5, 0x11, 0, 0, 0, 1])
        let packet = try client.receive(timeout: 3)
        guard case let .disconnect(disconnect) = packet else {
            Issue.record("expected DISCONNECT, got \(packet)")
            return
        }
        #expect(disconnect.reasonCode == .malformedPacket)
        #expect(disconnect.properties.reasonString?.contains("Session Expiry Interval is not allowed in PUBLISH") == true)
        // Without Request Problem Information, no reason string.
        let quiet = try TestClient(port: broker.port, version: .v5)
        try quiet.connect(clientId: "q", properties: Self.properties { $0.requestProblemInformation = 0 })
        quiet.sendRaw([0x30, 9, 0, 1, 0x74, 5, 0x11, 0, 0, 0, 1])
        #expect(try quiet.receive(timeout: 3) == .disconnect(Disconnect(reasonCode: .malformedPacket)))
    }

    @Test func sharedSubscriptionsSplitMessagesRoundRobinAcrossVersions() throws {
        let broker = try BrokerHarness()
        let (a, ack) = try broker.client5("a")
        #expect(ack.properties.sharedSubscriptionAvailable == 1)
        let (b, _) = try broker.client5("b")
        let c = try broker.client("c")  // 3.1.1 clients may share too, as in Mosquitto and EMQX
        for member in [a, b, c] { #expect(try member.subscribe("$share/workers/jobs/#", qos: .atLeastOnce) == 1) }
        let (other, _) = try broker.client5("other")
        try other.subscribe("$share/auditors/jobs/#", qos: .atLeastOnce)
        let plain = try broker.client("plain")
        try plain.subscribe("jobs/#", qos: .atLeastOnce)
        let (pub, _) = try broker.client5("pub")
        for n in 0..<6 { try pub.publish("jobs/\(n)", "job \(n)", qos: .atLeastOnce) }
        var got: [String: [String]] = [:]
        for (name, member) in [("a", a), ("b", b), ("c", c)] {
            for _ in 0..<2 { got[name, default: []].append(try member.receivePublish().text) }
            try member.expectNothing(for: 0.1)
        }
        #expect(Set(got.values.flatMap { $0 }) == Set((0..<6).map { "job \($0)" }), "each job once in the group: \(got)")
        for _ in 0..<6 { _ = try other.receivePublish() }  // every group gets every message
        for _ in 0..<6 { _ = try plain.receivePublish() }  // and so does a plain subscription
        try other.expectNothing(for: 0.1)
    }

    @Test func sharedSubscriptionRulesAndBadFilters() throws {
        let broker = try BrokerHarness()
        let (retainer, _) = try broker.client5("retainer")
        try retainer.publish("r/1", "kept", qos: .atLeastOnce, retain: true)
        let (client, _) = try broker.client5("s")
        #expect(try client.subscribe([("$share/g/r/#", .atLeastOnce), ("$share/g", .atMostOnce), ("$share//r", .atMostOnce), ("$share/g+/r", .atMostOnce), ("$share/g/r/#/x", .atMostOnce)]) == [1, 0x8F, 0x8F, 0x8F, 0x8F])
        try client.expectNothing()  // no retained messages for a shared subscription
        client.send(.subscribe(Subscribe(packetId: 99, requests: [.init(filter: "$share/g/x", qos: .atMostOnce, noLocal: true)])))
        #expect(try Self.disconnectReason(client) == .protocolError)
    }

    @Test func aLeavingMembersMessagesGoToAnotherMember() throws {
        let broker = try BrokerHarness()
        // The leaver takes one message at a time; the rest wait in its queue.
        let (leaver, _) = try broker.client5("leaver", properties: Self.properties { $0.receiveMaximum = 1 })
        try leaver.subscribe("$share/g/w/#", qos: .atLeastOnce)
        let (pub, _) = try broker.client5("pub")
        for n in 0..<4 { try pub.publish("w/\(n)", "m\(n)", qos: .atLeastOnce) }
        let first = try leaver.receivePublish(acknowledge: false)  // in flight, never acknowledged
        let (stayer, _) = try broker.client5("stayer")
        try stayer.subscribe("$share/g/w/#", qos: .atLeastOnce)
        leaver.dropConnection()  // a clean session: it ends, its messages move
        var moved: [String] = []
        for _ in 0..<4 { moved.append(try stayer.receivePublish().text) }
        #expect(Set(moved) == ["m0", "m1", "m2", "m3"])
        #expect(moved.contains(first.text), "the unacknowledged one too")
        try stayer.expectNothing()
    }

    @Test func clientsOf311AndOf5ShareOneBroker() throws {
        let broker = try BrokerHarness()
        let sub3 = try broker.client("sub3")
        try sub3.subscribe("mix/#", qos: .exactlyOnce)
        let (pub5, _) = try broker.client5("pub5")
        try pub5.publish("mix/1", "from5", qos: .exactlyOnce)
        let received = try sub3.receivePublish()
        #expect(received.text == "from5" && received.qos == .exactlyOnce)
    }
}
