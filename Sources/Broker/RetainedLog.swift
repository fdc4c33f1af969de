import Durable
import MQTT

/// Retained messages on disk: every set and clear is appended to a journal and fsynced
/// before the PUBLISH that caused it is acknowledged (the loop commits before it flushes its
/// output), so retained messages survive restarts and `kill -9`. At start the journal is
/// replayed (last write per topic wins, empty payload clears) and compacted into one record
/// per retained topic. `$SYS` topics are not kept.
final class RetainedLog: @unchecked Sendable {
    // One owner at a time: opened by BrokerServer.init, then used by the loop thread only.
    private let journal: Journal
    private(set) var recovered: [Message] = []
    let repairs: [DurableError]

    init(directory: String) throws(DurableError) {
        journal = try Journal(directory: directory)
        let recovery = try journal.recover()
        repairs = recovery.repairs
        var latest: [String: Message] = [:]
        var order: [String] = []
        for record in recovery.records {
            guard record.partition.count == 2, let qosValue = UInt8(record.partition[1]), let qos = QoS(rawValue: qosValue) else { continue }
            let topic = record.partition[0]
            if record.line.isEmpty {
                latest[topic] = nil
            } else {
                if latest[topic] == nil { order.append(topic) }
                latest[topic] = Message(topic: topic, payload: record.line, qos: qos, retain: true, clientId: "")
            }
        }
        recovered = order.compactMap { latest[$0] }
        // Compaction: rewrite the live set and drop the history when it is mostly dead.
        let lastOld = journal.committedSequence
        if recovery.records.count > recovered.count * 2 + 1000 {
            for message in recovered { append(message) }
            try journal.commit()
            journal.reclaim(through: lastOld)
        }
    }

    func append(_ message: Message) {
        journal.append(arrivalMillis: 0, partition: [message.topic, String(message.qos.rawValue)], line: message.payload)
    }

    var hasPending: Bool { journal.hasPending }

    func commit() throws(DurableError) {
        try journal.commit()
    }

    func releaseRecovered() { recovered = [] }
}
