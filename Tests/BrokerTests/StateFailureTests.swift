@testable import Broker
import Durable
import Foundation
import HydrantTesting
import MQTT
import Testing

/// A store that fails while `failing` is set, as a full or read-only disk would: what it
/// was given stays pending in the real journals underneath and is written on the next call.
final class FlakyStateStore: BrokerStateStore, @unchecked Sendable {
    private let inner: any BrokerStateStore
    let failing = Locked(true)
    let failures = Locked(0)

    init(_ inner: any BrokerStateStore) { self.inner = inner }

    func write(records: [StateRecord], retained: [Message]) throws(DurableError) {
        if failing.withLock({ $0 }) {
            failures.withLock { $0 += 1 }
            // Kept, in order, for the next call, as the journal keeps a failed group.
            pending.withLock { $0.append((records, retained)) }
            throw .io(operation: "write", path: "state", errno: ENOSPC)
        }
        let held = pending.withLock { items in
            defer { items.removeAll() }
            return items
        }
        for (r, m) in held { try inner.write(records: r, retained: m) }
        try inner.write(records: records, retained: retained)
    }

    private let pending = Locked<[([StateRecord], [Message])]>([])

    func compact(_ sessions: [SessionLog.RestoredSession]) throws(DurableError) { try inner.compact(sessions) }
    var sessionLogBytes: Int { inner.sessionLogBytes }
}

/// The write-ahead holds in process, with a store that refuses to write (issue #7).
@Suite struct StateFailureTests {
    @Test func acknowledgementsWaitForTheStoreWhileOthersFlow() throws {
        let state = try TemporaryDirectory(prefix: "hydrant-state")
        defer { state.remove() }
        let flaky = Locked<FlakyStateStore?>(nil)
        var config = BrokerConfig()
        config.port = 0
        config.sysInterval = 0
        config.stateDirectory = state.path
        let server = try BrokerServer(config: config, logger: Logger(level: .error), tap: nil, injector: nil, flowControl: nil) { store in
            let wrapped = FlakyStateStore(store)
            wrapped.failing.withLock { $0 = false }
            flaky.withLock { $0 = wrapped }
            return wrapped
        }
        let done = Locked(false)
        Thread { try? server.run(); done.withLock { $0 = true } }.start()
        defer {
            server.stop()
            for _ in 0..<500 where !done.withLock({ $0 }) { usleep(10_000) }
        }
        // A persistent session, offline: QoS 1 messages must be stored for it.
        let offline = try TestClient(port: server.port)
        try offline.connect(clientId: "offline", cleanSession: false)
        try offline.subscribe("held/#", qos: .atLeastOnce)
        offline.disconnect()
        #expect(offline.waitForClose())
        let store = try #require(flaky.withLock { $0 })
        store.failing.withLock { $0 = true }

        let publisher = try TestClient(port: server.port)
        try publisher.connect(clientId: "publisher")
        publisher.send(.publish(Publish(topic: "held/1", payload: Array("one".utf8), qos: .atLeastOnce, retain: false, packetId: 1)))
        try publisher.expectNothing(for: 0.6)  // no PUBACK: not on disk for "offline"
        #expect(store.failures.withLock { $0 } >= 1)
        // A new persistent session is not confirmed either (its CONNACK waits)…
        let newcomer = try TestClient(port: server.port)
        newcomer.send(.connect(Connect(clientId: "newcomer", cleanSession: false, keepAlive: 60)))
        try newcomer.expectNothing(for: 0.3)
        // …but clean sessions, QoS 0 and pings flow.
        let bystander = try TestClient(port: server.port)
        try bystander.connect(clientId: "bystander")
        try bystander.subscribe("chat", qos: .atMostOnce)
        try bystander.publish("chat", "hi")
        #expect(try bystander.receivePublish().text == "hi")
        bystander.send(.pingreq)
        #expect(try bystander.receive() == .pingresp)

        store.failing.withLock { $0 = false }  // the disk is back
        #expect(try publisher.receive(timeout: 3) == .puback(packetId: 1))
        guard case let .connack(ack) = try newcomer.receive(timeout: 3) else { Issue.record("no CONNACK"); return }
        #expect(ack.returnCode == .accepted)
        let back = try TestClient(port: server.port)
        #expect(try back.connect(clientId: "offline", cleanSession: false).sessionPresent)
        #expect(try back.receivePublish().text == "one")
    }
}
