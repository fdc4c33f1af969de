import Durable
import MQTT

/// Persistent sessions on disk: an append-only log of `StateRecord`s in a `Journal`
/// (CRC-framed segments, one fsync per group). The loop appends a record for every change
/// to a persistent session — created, subscribed, message stored for it, sent with a packet
/// id, acknowledged, incoming QoS 2 id remembered and released — and commits the group
/// before it flushes any output, so no PUBACK, PUBREC, PUBCOMP or outgoing PUBLISH leaves
/// before the state it depends on is on disk (DESIGN.md "Guarantees", issue #7).
///
/// Start-up replays the log into `restored`; a torn or corrupt tail is truncated by the
/// journal and reported. The log is compacted into a snapshot (the live state only) when it
/// has grown well past what is live: at start, and from the loop's tick.
///
/// Why an append-only log and not SQLite in WAL mode: measured here (docs/benchmarks.md),
/// a journal append is a memcpy + CRC while an SQLite row is a B-tree insert and, on
/// acknowledgement, a delete; the log also reuses the stream journal's torn-tail handling.
final class SessionLog: @unchecked Sendable {
    // One owner at a time: opened by BrokerServer.init, then used by the loop thread only.

    /// A persistent session as the log had it.
    struct RestoredSession {
        let id: UInt64
        let clientId: String
        /// In subscription order.
        var subscriptions: [(filter: String, options: SubscriptionOptions)] = []
        /// MQTT 5 session expiry (seconds; nil: never, as 3.1.1 persistent sessions) and the
        /// wall-clock second it ends (0: its connection was open when the log was written).
        var expiryInterval: UInt32?
        var expiryDeadline: Int64 = 0
        var queue: [Delivery] = []
        var queueHead = 0
        /// In send order.
        var inflight: [(packetId: UInt16, delivery: Delivery, state: InflightMessage.State)] = []
        /// Incoming QoS 2 ids awaiting PUBREL, with the log marks of their routing.
        var incomingQoS2: [UInt16: [LogMark]?] = [:]

        var queued: ArraySlice<Delivery> { queue[queueHead...] }
    }

    struct Replay {
        var sessions: [UInt64: RestoredSession] = [:]
        var order: [UInt64] = []
        var messages: [UInt64: Message] = [:]
        /// Records that named a session or message the log does not have (counted, skipped).
        var dangling = 0
        /// Highest ids any record used: new ids continue after them, never reusing one.
        var maxSessionId: UInt64 = 0
        var maxMessageId: UInt64 = 0

        mutating func apply(_ record: StateRecord) {
            switch record {
            case .snapshotBegin, .snapshotEnd:
                break
            case let .sessionOpen(id, clientId):
                maxSessionId = max(maxSessionId, id)
                if sessions[id] == nil { order.append(id) }
                sessions[id] = RestoredSession(id: id, clientId: clientId)
            case let .sessionEnd(id):
                sessions[id] = nil
            case let .subscribe(id, filter, qos):
                subscribe(id, filter, SubscriptionOptions(qos: qos))
            case let .subscribeOptions(id, filter, options):
                subscribe(id, filter, options)
            case let .message5(id, topic, qos, retain, payload, properties, expiryInterval, receivedAt):
                maxMessageId = max(maxMessageId, id)
                guard let decoded = Properties(encodedBody: properties, for: .publish) else {
                    dangling += 1
                    return
                }
                messages[id] = Message(
                    topic: topic, payload: payload, qos: qos, retain: retain, clientId: "", properties: decoded, expiryInterval: expiryInterval,
                    receivedAt: receivedAt)
            case let .dequeued(id, messageId):
                update(id) { session in
                    if let index = session.queue[session.queueHead...].firstIndex(where: { $0.storeId == messageId }) {
                        if index == session.queueHead { session.queueHead += 1 } else { session.queue.remove(at: index) }
                    }
                }
            case let .sessionExpiry(id, interval, deadline):
                update(id) { session in
                    session.expiryInterval = interval == UInt32.max ? nil : interval
                    session.expiryDeadline = deadline
                }
            case let .unsubscribe(id, filter):
                update(id) { $0.subscriptions.removeAll { $0.filter == filter } }
            case let .message(id, topic, qos, retain, payload):
                maxMessageId = max(maxMessageId, id)
                messages[id] = Message(topic: topic, payload: payload, qos: qos, retain: retain, clientId: "")
            case let .enqueue(id, messageId, qos, retain):
                guard let message = messages[messageId] else {
                    dangling += 1
                    return
                }
                update(id) { $0.queue.append(Delivery(message: message, qos: qos, retain: retain, storeId: messageId)) }
            case let .inflight(id, messageId, qos, retain, packetId, fromQueue):
                guard let message = messages[messageId] else {
                    dangling += 1
                    return
                }
                update(id) { session in
                    if fromQueue, session.queueHead < session.queue.count {
                        // The head, unless the queue was cut short by a limit at the time.
                        if session.queue[session.queueHead].storeId == messageId {
                            session.queueHead += 1
                        } else if let index = session.queue[session.queueHead...].firstIndex(where: { $0.storeId == messageId }) {
                            session.queue.remove(at: index)
                        }
                    }
                    session.inflight.removeAll { $0.packetId == packetId }
                    let state: InflightMessage.State = qos == .atLeastOnce ? .awaitingPubAck : .awaitingPubRec
                    session.inflight.append((packetId, Delivery(message: message, qos: qos, retain: retain, storeId: messageId), state))
                }
            case let .pubrecReceived(id, packetId):
                update(id) { session in
                    if let index = session.inflight.firstIndex(where: { $0.packetId == packetId }) { session.inflight[index].state = .awaitingPubComp }
                }
            case let .completed(id, packetId):
                update(id) { $0.inflight.removeAll { $0.packetId == packetId } }
            case let .incomingQoS2(id, packetId, marks):
                update(id) { $0.incomingQoS2[packetId] = .some(marks) }
            case let .incomingReleased(id, packetId):
                update(id) { $0.incomingQoS2[packetId] = nil }
            }
        }

        private mutating func subscribe(_ id: UInt64, _ filter: String, _ options: SubscriptionOptions) {
            update(id) { session in
                if let index = session.subscriptions.firstIndex(where: { $0.filter == filter }) {
                    session.subscriptions[index].options = options
                } else {
                    session.subscriptions.append((filter, options))
                }
            }
        }

        private mutating func update(_ id: UInt64, _ change: (inout RestoredSession) -> Void) {
            guard sessions[id] != nil else {
                dangling += 1
                return
            }
            change(&sessions[id]!)
        }

        var restored: [RestoredSession] { order.compactMap { sessions[$0] } }
    }

    private let journal: Journal
    private(set) var restored: [RestoredSession] = []
    let repairs: [DurableError]
    /// Records replayed at start, and how many of them referenced nothing.
    let replayedRecords: Int
    let danglingRecords: Int
    /// Highest ids the log has used: the broker continues after them.
    private(set) var lastSessionId: UInt64 = 0
    private(set) var lastMessageId: UInt64 = 0
    private var scratch: [UInt8] = []


    init(directory: String) throws(BrokerError) {
        do throws(DurableError) {
            journal = try Journal(directory: directory)
        } catch {
            throw .state("\(error)")
        }
        var current = Replay()
        var snapshot: Replay?  // being built since a snapshotBegin, adopted at its end
        var first = true
        var count = 0
        var problem: String?
        let recovery: Journal.Recovery
        do throws(DurableError) {
            recovery = try journal.recover { record in
                guard problem == nil else { return }
                count += 1
                guard let decoded = StateRecord.decode(Self.stateBytes(record.body)) else {
                    problem = "record \(record.sequence) is not a state record this version (format \(StateRecord.formatVersion)) can read"
                    return
                }
                if first {
                    guard case let .snapshotBegin(version) = decoded else {
                        problem = "the log does not start with a format header"
                        return
                    }
                    guard version <= StateRecord.formatVersion else {
                        problem = "written in state format \(version); this version of Hydrant reads format \(StateRecord.formatVersion) and older"
                        return
                    }
                    first = false
                    return
                }
                switch decoded {
                case .snapshotBegin:
                    snapshot = Replay()
                case .snapshotEnd:
                    if var complete = snapshot {
                        complete.maxSessionId = max(complete.maxSessionId, current.maxSessionId)
                        complete.maxMessageId = max(complete.maxMessageId, current.maxMessageId)
                        current = complete
                    }
                    snapshot = nil
                default:
                    if snapshot != nil { snapshot!.apply(decoded) } else { current.apply(decoded) }
                }
            }
        } catch {
            throw .state("\(error)")
        }
        if let problem { throw .state("session state in \(directory): \(problem)") }
        repairs = recovery.repairs
        replayedRecords = count
        danglingRecords = current.dangling
        restored = current.restored
        lastSessionId = max(current.maxSessionId, snapshot?.maxSessionId ?? 0)
        lastMessageId = max(current.maxMessageId, snapshot?.maxMessageId ?? 0)
        // A new log gets its header; one that is mostly history is rewritten as a snapshot.
        if count == 0 || count > liveRecordEstimate(restored) * 2 + 10_000 || snapshot != nil {
            do throws(DurableError) {
                try compact(restored)
            } catch {
                throw .state("\(error)")
            }
        }
    }

    private func liveRecordEstimate(_ sessions: [RestoredSession]) -> Int {
        sessions.reduce(0) { $0 + 1 + $1.subscriptions.count + 2 * ($1.queued.count + $1.inflight.count) + $1.incomingQoS2.count }
    }

    func releaseRestored() { restored = [] }

    func append(_ record: StateRecord) {
        scratch.removeAll(keepingCapacity: true)
        record.encode(into: &scratch)
        journal.append(scratch)
    }

    /// A record's `StateRecord` bytes. Logs of earlier versions framed each one behind a
    /// zero arrival time and an empty partition (10 zero bytes); a state record never
    /// starts with 0 (its kind byte).
    static func stateBytes(_ body: [UInt8]) -> [UInt8] {
        body.first == 0 && body.count >= 10 ? Array(body[10...]) : body
    }

    var hasPending: Bool { journal.hasPending }
    var sizeBytes: Int { journal.sizeBytes }

    func commit() throws(DurableError) {
        try journal.commit()
    }

    /// Rewrites the log as one snapshot of `sessions` in a new segment and deletes every
    /// older segment once it is durable. A crash before the snapshot's end record is on disk
    /// leaves the old segments in charge (replay ignores an unfinished snapshot).
    func compact(_ sessions: [RestoredSession]) throws(DurableError) {
        try journal.commit()  // pending records belong to the old history
        let lastOld = journal.committedSequence
        journal.rotate()
        append(.snapshotBegin(version: StateRecord.formatVersion))
        var written: Set<UInt64> = []
        func store(_ delivery: Delivery) {
            if written.insert(delivery.storeId).inserted { append(StateRecord.storing(delivery.message, id: delivery.storeId)) }
        }
        for session in sessions {
            append(.sessionOpen(session: session.id, clientId: session.clientId))
            if let interval = session.expiryInterval { append(.sessionExpiry(session: session.id, interval: interval, deadline: session.expiryDeadline)) }
            for subscription in session.subscriptions {
                append(StateRecord.subscribing(session.id, subscription.filter, subscription.options))
            }
            for entry in session.inflight {
                store(entry.delivery)
                append(.inflight(session: session.id, message: entry.delivery.storeId, qos: entry.delivery.qos, retain: entry.delivery.retain, packetId: entry.packetId, fromQueue: false))
                if entry.state == .awaitingPubComp { append(.pubrecReceived(session: session.id, packetId: entry.packetId)) }
            }
            for delivery in session.queued {
                store(delivery)
                append(.enqueue(session: session.id, message: delivery.storeId, qos: delivery.qos, retain: delivery.retain))
            }
            for packetId in session.incomingQoS2.keys.sorted() {
                append(.incomingQoS2(session: session.id, packetId: packetId, marks: session.incomingQoS2[packetId]!))
            }
        }
        append(.snapshotEnd)
        try journal.commit()
        journal.discardHistory(through: lastOld)
    }
}
