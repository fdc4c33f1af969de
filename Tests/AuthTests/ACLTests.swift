import Auth
import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// Mosquitto's acl_file semantics, plus the SUBSCRIBE check and the wildcard-injection guard.
@Suite struct ACLTests {
    static let file = """
        # anonymous clients: public only
        topic read public/#

        user alice
        topic readwrite factory/1/#
        topic deny factory/1/secret
        topic write logs/alice

        user bob
        topic read factory/#

        pattern readwrite devices/%c/#
        pattern read users/%u/inbox
        """

    static let acl = try! AccessControlList.parse(file, path: "acl")

    struct Case: Sendable, CustomTestStringConvertible {
        let user: String?
        let client: String
        let operation: AuthorizationOperation
        let allowed: Bool
        var testDescription: String { "\(user ?? "anonymous")/\(client) \(operation) → \(allowed)" }
    }

    @Test(arguments: [
        Case(user: nil, client: "a", operation: .receive("public/news"), allowed: true),
        Case(user: nil, client: "a", operation: .publish("public/news"), allowed: false),
        Case(user: nil, client: "a", operation: .receive("factory/1/x"), allowed: false),
        Case(user: "alice", client: "a", operation: .publish("factory/1/line/2"), allowed: true),
        Case(user: "alice", client: "a", operation: .receive("factory/1/line/2"), allowed: true),
        Case(user: "alice", client: "a", operation: .publish("factory/1/secret"), allowed: false),  // deny wins
        Case(user: "alice", client: "a", operation: .receive("factory/1/secret"), allowed: false),
        Case(user: "alice", client: "a", operation: .publish("logs/alice"), allowed: true),
        Case(user: "alice", client: "a", operation: .receive("logs/alice"), allowed: false),  // write only
        Case(user: "alice", client: "a", operation: .receive("public/news"), allowed: false),  // anonymous rules are not hers
        Case(user: "bob", client: "b", operation: .receive("factory/9/x"), allowed: true),
        Case(user: "bob", client: "b", operation: .publish("factory/9/x"), allowed: false),
        Case(user: "mallory", client: "m", operation: .receive("factory/1/x"), allowed: false),  // unknown user: nothing
        // Patterns: %c and %u filled in.
        Case(user: "bob", client: "dev-7", operation: .publish("devices/dev-7/temp"), allowed: true),
        Case(user: "bob", client: "dev-7", operation: .publish("devices/dev-8/temp"), allowed: false),
        Case(user: "bob", client: "b", operation: .receive("users/bob/inbox"), allowed: true),
        Case(user: "bob", client: "b", operation: .receive("users/alice/inbox"), allowed: false),
        // Wildcard injection: a client id or user name with + # / never fills a pattern.
        Case(user: "bob", client: "+", operation: .publish("devices/dev-7/temp"), allowed: false),
        Case(user: "bob", client: "#", operation: .publish("devices/x/y"), allowed: false),
        Case(user: "bob", client: "a/b", operation: .publish("devices/a/b/c"), allowed: false),
        Case(user: "+", client: "c", operation: .receive("users/alice/inbox"), allowed: false),
        // SUBSCRIBE: some read rule must overlap the filter; a deny covering it refuses.
        Case(user: "bob", client: "b", operation: .subscribe("factory/+/status"), allowed: true),
        Case(user: "bob", client: "b", operation: .subscribe("#"), allowed: true),  // overlaps factory/#: deliveries are filtered
        Case(user: "bob", client: "b", operation: .subscribe("office/#"), allowed: false),
        Case(user: "alice", client: "a", operation: .subscribe("factory/1/secret"), allowed: false),
        Case(user: "alice", client: "a", operation: .subscribe("logs/#"), allowed: false),  // she may only write there
        Case(user: nil, client: "a", operation: .subscribe("$SYS/#"), allowed: false),
        Case(user: nil, client: "a", operation: .receive("$SYS/broker/uptime"), allowed: false),
    ])
    func decisions(_ example: Case) {
        #expect(Self.acl.allows(example.operation, username: example.user, clientId: example.client) == example.allowed)
    }

    @Test func grantsOnDollarTopicsAreExplicit() throws {
        let acl = try AccessControlList.parse("topic read #\ntopic read $SYS/#\n", path: "a")
        #expect(acl.allows(.receive("$SYS/broker/uptime"), username: nil, clientId: "c"))
        let wide = try AccessControlList.parse("topic read #\n", path: "a")
        #expect(!wide.allows(.receive("$SYS/broker/uptime"), username: nil, clientId: "c"), "# does not reach $SYS")
    }

    @Test func badLinesAreReportedWithTheirLine() {
        do {
            _ = try AccessControlList.parse("user alice\ntopic read a/#/b\nfrob x\ntopic\n", path: "acl")
            Issue.record("accepted")
        } catch {
            #expect(error.problems == ["acl:2: 'a/#/b' is not a valid topic filter", "acl:3: expected 'user', 'topic' or 'pattern', got 'frob'", "acl:4: topic needs a topic filter"])
        }
    }

    /// The broker applies it: denied publishes are acknowledged but not routed (0x87 in 5.0),
    /// denied filters are refused in SUBACK, deliveries a client may not read are held back.
    @Test func theBrokerChecksPublishSubscribeAndDelivery() throws {
        let acl = try AccessControlList.parse("topic read public/#\ntopic write public/in\ntopic read wide/+/open\ntopic write wide/#\n", path: "a")
        let broker = try BrokerHarness(authorizer: ACLAuthorizer(list: acl))
        let sub = try broker.client("sub")
        #expect(try sub.subscribe([("public/#", .atLeastOnce), ("private/#", .atLeastOnce), ("wide/#", .atLeastOnce)]) == [1, 0x80, 1])
        let (pub, _) = try broker.client5("pub")
        pub.send(.publish(Publish(topic: "private/x", payload: [1], qos: .atLeastOnce, packetId: 3)))
        #expect(try pub.receive() == .ack(Acknowledgement(.puback, packetId: 3, reasonCode: .notAuthorized)))
        try pub.publish("public/in", "allowed", qos: .atLeastOnce)
        #expect(try sub.receivePublish().text == "allowed")
        let old = try broker.client("old")
        try old.publish("private/y", "denied", qos: .atLeastOnce)  // 3.1.1: PUBACK all the same
        try sub.expectNothing()
        // Subscribed to wide/#, but only wide/+/open may be read: the rest is held back.
        try old.publish("wide/a/closed", "hidden", qos: .atLeastOnce)
        try old.publish("wide/a/open", "shown", qos: .atLeastOnce)
        #expect(try sub.receivePublish().text == "shown")
        try sub.expectNothing()
    }
}
