import Broker
import Durable
import Foundation
import MQTT
import Synchronization

/// An in-process broker on an ephemeral 127.0.0.1 port, running on its own thread.
public final class BrokerHarness: Sendable {
    public let server: BrokerServer
    private let thread: JoinableThread

    public var port: Int { server.port }

    public init(
        configure: (inout BrokerConfig) -> Void = { _ in }, tap: (any PublishTap)? = nil, injector: MessageInjector? = nil, flowControl: FlowControl? = nil,
        authenticator: (any ClientAuthenticator)? = nil, authorizer: (any ClientAuthorizer)? = nil, logLevel: Logger.Level = .error
    ) throws {
        var config = BrokerConfig()
        config.host = "127.0.0.1"
        config.port = 0
        config.sysInterval = 0
        configure(&config)
        server = try BrokerServer(config: config, logger: Logger(level: logLevel), tap: tap, injector: injector, flowControl: flowControl, authenticator: authenticator, authorizer: authorizer)
        thread = JoinableThread(name: "test broker") { [server] in try? server.run() }
    }

    /// A raw client, connected with a clean session.
    public func client(_ clientId: String) throws -> TestClient {
        let client = try TestClient(port: port)
        try client.connect(clientId: clientId)
        return client
    }

    /// A raw MQTT 5 client, connected with Clean Start and `properties`; returns its CONNACK too.
    public func client5(_ clientId: String, cleanStart: Bool = true, keepAlive: UInt16 = 60, will: Connect.Will? = nil, properties: Properties = Properties()) throws -> (TestClient, ConnAck) {
        let client = try TestClient(port: port, version: .v5)
        let ack = try client.connect(clientId: clientId, cleanSession: cleanStart, keepAlive: keepAlive, will: will, properties: properties)
        return (client, ack)
    }

    /// Stops the broker and waits (up to 5 s) for its thread to finish.
    public func stop() {
        server.stop()
        thread.join(timeout: 5)
    }

    deinit { stop() }
}
