@testable import Auth
import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// IoT Core policies (issue #14): Allow/Deny, actions, resources with `*`/`?`, policy
/// variables, attachments, and the broker's checks at CONNECT, PUBLISH, SUBSCRIBE and delivery.
@Suite struct PolicyTests {
    static let document = #"""
        {
          "policies": {
            "device": {"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:eu-west-1:123456789012:client/${iot:ClientId}"},
              {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": ["arn:aws:iot:eu-west-1:123456789012:topic/devices/${iot:ClientId}/*"]},
              {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "topicfilter/devices/${iot:Connection.Thing.ThingName}/*"},
              {"Effect": "Deny", "Action": "iot:Publish", "Resource": "topic/devices/*/admin"}
            ]},
            "ops": {"Statement": [
              {"Effect": "Allow", "Action": "iot:*", "Resource": "*"},
              {"Effect": "Deny", "Action": "iot:RetainPublish", "Resource": "topic/alerts/?"},
              {"Effect": "Allow", "Action": "iot:Publish", "Resource": "topic/cn/${iot:Certificate.Subject.CommonName}"}
            ]}
          },
          "attach": {"*": ["device"], "operator": ["ops"]}
        }
        """#

    static func set() throws -> PolicySet {
        let path = NSTemporaryDirectory() + "hydrant-policies-\(UUID().uuidString).json"
        try document.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try PolicySet.load(path)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let user: String?
        let client: String
        let operation: AuthorizationOperation
        let allowed: Bool
        var testDescription: String { "\(user ?? "-")/\(client) \(operation) → \(allowed)" }
    }

    @Test(arguments: [
        Case(user: nil, client: "dev-1", operation: .connect, allowed: true),
        Case(user: nil, client: "dev-1", operation: .publish("devices/dev-1/temp"), allowed: true),
        Case(user: nil, client: "dev-1", operation: .publish("devices/dev-2/temp"), allowed: false),
        Case(user: nil, client: "dev-1", operation: .receive("devices/dev-1/cmd"), allowed: true),
        Case(user: nil, client: "dev-1", operation: .publish("devices/dev-1/admin"), allowed: false),  // Deny wins
        Case(user: nil, client: "dev-1", operation: .subscribe("devices/dev-1/#"), allowed: true),
        Case(user: nil, client: "dev-1", operation: .subscribe("devices/+/#"), allowed: false),  // + is literal in resources
        Case(user: nil, client: "dev-1", operation: .retain("devices/dev-1/temp"), allowed: false),  // not granted
        Case(user: "operator", client: "console", operation: .subscribe("#"), allowed: true),
        Case(user: "operator", client: "console", operation: .retain("alerts/1"), allowed: false),  // ? matches one character
        Case(user: "operator", client: "console", operation: .retain("alerts/12"), allowed: true),
        Case(user: "operator", client: "console", operation: .publish("devices/x/admin"), allowed: false),  // "*" policies too
        // No certificate yet: a resource naming the CN matches nothing.
        Case(user: "nobody", client: "c", operation: .publish("cn/"), allowed: false),
    ])
    func decisions(_ example: Case) throws {
        let permissions = PolicyAuthorizer(set: try Self.set()).permissions(username: example.user, clientId: example.client)
        #expect(permissions.allows(example.operation) == example.allowed)
    }

    @Test func globs() {
        #expect(PolicySet.glob("topic/a/*", "topic/a/b/c"))
        #expect(PolicySet.glob("topic/?", "topic/x"))
        #expect(!PolicySet.glob("topic/?", "topic/xy"))
        #expect(PolicySet.glob("*", ""))
        #expect(PolicySet.glob("a*b*c", "aXXbYYc"))
        #expect(!PolicySet.glob("a*b*c", "aXXbYY"))
    }

    @Test func badDocumentsAreRefusedWithWhatIsWrong() throws {
        let path = NSTemporaryDirectory() + "hydrant-policies-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"policies": {"p": {"Statement": [{"Effect": "Maybe", "Action": "iot:Publish", "Resource": "*"}, {"Effect": "Allow", "Action": "iot:Fly", "Resource": "*"}]}}, "attach": {"u": ["q"]}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try PolicySet.load(path)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.count == 3, "\(error.problems)")
            #expect(error.problems.contains { $0.contains("Effect must be \"Allow\" or \"Deny\"") })
            #expect(error.problems.contains { $0.contains("unknown action 'iot:Fly'") })
            #expect(error.problems.contains { $0.contains("attach['u'] names \"q\"") })
        }
    }

    @Test func theBrokerChecksConnectPublishSubscribeAndDelivery() throws {
        let broker = try BrokerHarness(authorizer: PolicyAuthorizer(set: try Self.set()))
        let (device, ack) = try broker.client5("dev-1")
        #expect(ack.reasonCode == .success)
        #expect(try device.subscribe([("devices/dev-1/#", .atLeastOnce), ("devices/dev-2/#", .atLeastOnce)]) == [1, 0x87])
        // Another device may not connect under a client id its policy does not name? All may:
        // "device" allows client/${iot:ClientId}, so every client id passes iot:Connect.
        let (other, _) = try broker.client5("dev-2")
        other.send(.publish(Publish(topic: "devices/dev-1/cmd", payload: [1], qos: .atLeastOnce, packetId: 9)))
        #expect(try other.receive() == .ack(Acknowledgement(.puback, packetId: 9, reasonCode: .notAuthorized)))
        try device.publish("devices/dev-1/echo", "mine", qos: .atLeastOnce)
        #expect(try device.receivePublish().text == "mine")
        try device.expectNothing()
    }

    @Test func connectIsRefusedWithoutIotConnect() throws {
        let path = NSTemporaryDirectory() + "hydrant-policies-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"policies": {"only-sensors": {"Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "client/sensor-*"}]}}, "attach": {"*": ["only-sensors"]}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let broker = try BrokerHarness(authorizer: PolicyAuthorizer(set: try PolicySet.load(path)))
        let (_, ok) = try broker.client5("sensor-7")
        #expect(ok.reasonCode == .success)
        let client = try TestClient(port: broker.port, version: .v5)
        #expect(try client.connect(clientId: "laptop").reasonCode == .notAuthorized)
        #expect(client.waitForClose())
        let old = try TestClient(port: broker.port)
        #expect(try old.connect(clientId: "laptop").returnCode == .notAuthorized)
    }
}
