import Durable
import MQTT

/// The broker's persistence bookkeeping in one place: what the event loop did to a
/// persistent session or the retained store, said by intent (`opened`, `subscribed`,
/// `queued`, `sent`, `completed`, …) and turned here into state records for the committer.
/// Clean sessions and a broker without a state directory produce nothing. It also keeps
/// the ids of stored sessions and messages and the live-byte estimate compaction uses.
/// Event-loop thread only.
final class StateLedger {
    let persistSessions: Bool
    let persistRetained: Bool
    /// Records produced since the last job, and retained messages set or cleared.
    private(set) var records: [StateRecord] = []
    private(set) var retained: [Message] = []
    /// State records (session and retained) produced so far: output that depends on
    /// record n waits until the committer reports n durable.
    private(set) var appends: UInt64 = 0
    private var lastSessionId: UInt64 = 0
    private var lastMessageId: UInt64 = 0
    /// The message most recently stored, so a message routed to many persistent sessions
    /// is stored once.
    private var lastStored: (message: Message, id: UInt64)?
    /// Estimated bytes of the persistent sessions' live messages (queued and in flight):
    /// compaction pays off when the log is mostly not this.
    private(set) var liveBytes = 0

    init(persistSessions: Bool, persistRetained: Bool) {
        self.persistSessions = persistSessions
        self.persistRetained = persistRetained
    }

    /// The number the next record will get.
    var nextRecord: UInt64 { appends + 1 }

    @inline(__always)
    func isPersistent(_ session: Session) -> Bool { session.storeId != 0 }

    // MARK: Sessions

    /// A new session: a persistent one gets its id in the log.
    func opened(_ session: Session) {
        guard !session.clean, persistSessions else { return }
        lastSessionId += 1
        session.storeId = lastSessionId
        log(.sessionOpen(session: session.storeId, clientId: session.clientId))
    }

    /// The session ends (clean start, or replaced): its messages are no longer live.
    func ended(_ session: Session) {
        guard isPersistent(session) else { return }
        liveBytes -= session.queue.elements.reduce(0) { $0 + Self.liveCost($1) }
        liveBytes -= session.inflight.values.reduce(0) { $0 + Self.liveCost($1.delivery) }
        log(.sessionEnd(session: session.storeId))
        session.storeId = 0
    }

    /// A session of the log that expired while the broker was down: the log forgets it.
    func forget(sessionId: UInt64) {
        log(.sessionEnd(session: sessionId))
    }

    /// A session recreated from the log: its messages are live again.
    func restored(_ restored: SessionLog.RestoredSession) {
        liveBytes += restored.queued.reduce(0) { $0 + Self.liveCost($1) } + restored.inflight.reduce(0) { $0 + Self.liveCost($1.delivery) }
    }

    /// After the log was read: ids continue from the highest it used.
    func continueIds(sessions: UInt64, messages: UInt64) {
        lastSessionId = sessions
        lastMessageId = messages
    }

    func subscribed(_ session: Session, filter: String, options: SubscriptionOptions) {
        guard isPersistent(session) else { return }
        log(StateRecord.subscribing(session.storeId, filter, options))
    }

    /// A persistent session's MQTT 5 expiry: set at connect (`deadline` 0) and when its
    /// connection closes (the wall-clock second it ends). Sessions that never expire
    /// (3.1.1, 0xFFFFFFFF) log nothing.
    func expiry(_ session: Session, interval: UInt32, deadline: Int64) {
        guard isPersistent(session) else { return }
        log(.sessionExpiry(session: session.storeId, interval: interval, deadline: deadline))
    }

    func unsubscribed(_ session: Session, filter: String) {
        guard isPersistent(session) else { return }
        log(.unsubscribe(session: session.storeId, filter: filter))
    }

    // MARK: Outgoing messages

    /// `delivery` waits in the session's queue: stored before the publish that brought it
    /// is acknowledged (issue #7 (b)).
    func queued(_ delivery: inout Delivery, for session: Session) {
        guard isPersistent(session) else { return }
        delivery.storeId = storedId(of: delivery.message)
        log(.enqueue(session: session.storeId, message: delivery.storeId, qos: delivery.qos, retain: delivery.retain))
        liveBytes += Self.liveCost(delivery)
    }

    /// `delivery` goes out as packet `packetId`; returns whether the PUBLISH must wait for
    /// the record (persistent sessions: a resumed session must resend it).
    func sent(_ delivery: inout Delivery, packetId: UInt16, fromQueue: Bool, session: Session) -> Bool {
        guard isPersistent(session) else { return false }
        if delivery.storeId == 0 { delivery.storeId = storedId(of: delivery.message) }
        if !fromQueue { liveBytes += Self.liveCost(delivery) }
        log(.inflight(session: session.storeId, message: delivery.storeId, qos: delivery.qos, retain: delivery.retain, packetId: packetId, fromQueue: fromQueue))
        return true
    }

    /// PUBREC for an outgoing QoS 2 message: only PUBREL is resent from now on.
    func pubrecReceived(_ session: Session, packetId: UInt16) {
        guard isPersistent(session) else { return }
        log(.pubrecReceived(session: session.storeId, packetId: packetId))
    }

    /// The last acknowledgement of an outgoing message came.
    func completed(_ session: Session, packetId: UInt16, delivery: Delivery) {
        guard isPersistent(session) else { return }
        log(.completed(session: session.storeId, packetId: packetId))
        liveBytes -= Self.liveCost(delivery)
    }

    /// A queued message leaves the queue unsent (expired, or too large for the client):
    /// logged as dequeued.
    func dequeuedUnsent(_ session: Session, delivery: Delivery) {
        guard isPersistent(session), delivery.storeId != 0 else { return }
        log(.dequeued(session: session.storeId, message: delivery.storeId))
        liveBytes -= Self.liveCost(delivery)
    }

    // MARK: Incoming QoS 2

    /// An incoming QoS 2 id was routed, leaving `marks` in stream journals.
    func incomingQoS2(_ session: Session, packetId: UInt16, marks: [LogMark]) {
        guard isPersistent(session) else { return }
        log(.incomingQoS2(session: session.storeId, packetId: packetId, marks: marks))
    }

    /// PUBREL for an incoming QoS 2 id: the id may be reused.
    func released(_ session: Session, packetId: UInt16) {
        guard isPersistent(session) else { return }
        log(.incomingReleased(session: session.storeId, packetId: packetId))
    }

    // MARK: Retained messages

    /// A retained message set (or cleared, with an empty payload).
    func retained(_ message: Message) {
        guard persistRetained else { return }
        retained.append(message)
        appends += 1
    }

    // MARK: Committer side

    /// Hands over what was produced since the last call.
    func take() -> (records: [StateRecord], retained: [Message]) {
        defer {
            records.removeAll(keepingCapacity: true)
            retained.removeAll(keepingCapacity: true)
        }
        return (records, retained)
    }

    /// A snapshot replaces the log: a message stored before but no longer live is not in
    /// it, so the next delivery of the same object must store it again.
    func snapshotTaken() { lastStored = nil }

    /// What a queued or in-flight message of a persistent session adds to a snapshot.
    static func liveCost(_ delivery: Delivery) -> Int {
        delivery.message.payload.count + delivery.message.topic.utf8.count + 48
    }

    @inline(__always)
    private func log(_ record: StateRecord) {
        records.append(record)
        appends += 1
    }

    /// The store id of `message`, writing it to the log the first time.
    private func storedId(of message: Message) -> UInt64 {
        if let last = lastStored, last.message === message { return last.id }
        lastMessageId += 1
        log(StateRecord.storing(message, id: lastMessageId))
        lastStored = (message, lastMessageId)
        return lastMessageId
    }
}
