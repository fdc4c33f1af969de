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
            guard let message = Self.decode(record.body) else { continue }
            if message.payload.isEmpty {
                latest[message.topic] = nil
            } else {
                if latest[message.topic] == nil { order.append(message.topic) }
                latest[message.topic] = message
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

    /// Record body: `[u8 1][u8 QoS][u16 topic length][topic][payload]`; an empty payload
    /// clears the topic. A message with MQTT 5 properties or an expiry (format 2):
    /// `[u8 2][u8 QoS][topic][u8 has expiry][u32 interval][u64 received at]?[u32 length]
    /// [properties][payload]` — the expiry keeps counting across restarts.
    func append(_ message: Message) {
        journal.append(Self.encode(message))
    }

    static func encode(_ message: Message) -> [UInt8] {
        var writer = RecordWriter()
        let mqtt5 = !message.properties.isEmpty || message.expiryInterval != nil
        writer.put(UInt8(mqtt5 ? 2 : 1))
        writer.put(message.qos.rawValue)
        writer.put(short: message.topic)
        if mqtt5 {
            if let interval = message.expiryInterval {
                writer.put(UInt8(1))
                writer.put(interval)
                writer.put(UInt64(bitPattern: message.receivedAt))
            } else {
                writer.put(UInt8(0))
            }
            writer.put(UInt32(message.forwardedProperties.count))
            writer.put(raw: message.forwardedProperties)
        }
        writer.put(raw: message.payload)
        return writer.bytes
    }

    /// Strict; also reads the records of earlier versions, whose bodies began with a zero
    /// arrival time and carried topic and QoS as two "partition keys".
    static func decode(_ body: [UInt8]) -> Message? {
        var reader = RecordReader(body)
        switch reader.u8() {
        case 1?:
            guard let qos = reader.u8().flatMap(QoS.init(rawValue:)), let topic = reader.short() else { return nil }
            return Message(topic: topic, payload: reader.rest(), qos: qos, retain: true, clientId: "")
        case 2?:
            guard let qos = reader.u8().flatMap(QoS.init(rawValue:)), let topic = reader.short(), let hasExpiry = reader.u8(), hasExpiry <= 1 else { return nil }
            var interval: UInt32?
            var receivedAt: Int64 = 0
            if hasExpiry == 1 {
                guard let value = reader.u32(), let at = reader.u64() else { return nil }
                interval = value
                receivedAt = Int64(bitPattern: at)
            }
            guard let length = reader.u32(), let bytes = reader.bytes(Int(length)), let properties = Properties(encodedBody: bytes, for: .publish) else { return nil }
            return Message(
                topic: topic, payload: reader.rest(), qos: qos, retain: true, clientId: "", properties: properties, expiryInterval: interval, receivedAt: receivedAt)
        case 0?:
            reader = RecordReader(body, offset: 8)
            guard reader.u16() == 2, let topic = reader.short(), let level = reader.short(), let value = UInt8(level), let qos = QoS(rawValue: value) else {
                return nil
            }
            return Message(topic: topic, payload: reader.rest(), qos: qos, retain: true, clientId: "")
        default:
            return nil
        }
    }

    var hasPending: Bool { journal.hasPending }

    func commit() throws(DurableError) {
        try journal.commit()
    }

    func releaseRecovered() { recovered = [] }
}
