import Durable
import Synchronization

/// The acknowledgement of one QoS 1/2 PUBLISH, held back until every party that took the
/// message durably has it (streams journal it first: DESIGN.md "Guarantees"). Parties call
/// `hold()` when they take the message and `release()` when it is safe; the broker sends
/// PUBACK/PUBREC when the count reaches zero, in the order the publishes arrived.
public final class PendingAck: DurabilityWaiter {
    let connectionToken: UInt64
    let packetId: UInt16
    let qos: QoS
    /// Broker state records the publish produced (retained set, stored for sessions,
    /// incoming QoS 2 id); the acknowledgement waits until they are committed. Loop thread only.
    nonisolated(unsafe) var stateMark: UInt64 = 0
    private let holds = Atomic<Int>(1)  // the broker's own hold, until the tap returned
    private let completions: WakeupQueue<PendingAck>

    init(connectionToken: UInt64, packetId: UInt16, qos: QoS, completions: WakeupQueue<PendingAck>) {
        self.connectionToken = connectionToken
        self.packetId = packetId
        self.qos = qos
        self.completions = completions
    }

    public func hold() {
        holds.add(1, ordering: .relaxed)
    }

    /// Safe to acknowledge as far as this party is concerned; any thread.
    public func release() {
        if holds.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            completions.push(self)
        }
    }

    /// The broker's release after the tap returned: true when nobody else holds the ack,
    /// so it can go out at once without the cross-thread hop.
    func releaseByBroker() -> Bool {
        if holds.load(ordering: .acquiring) == 1 {
            holds.store(0, ordering: .relaxed)
            return true
        }
        release()
        return false
    }

    /// A stream's journal has the record this publish produced.
    public func recordDurable() { release() }

    var isComplete: Bool { holds.load(ordering: .acquiring) == 0 }
}

import MQTT
