import CSystem
import Durable
import MQTT

/// Durable broker state: persistent sessions (SessionLog) and retained messages
/// (RetainedLog). Write-ahead rule: output produced after a state change waits until the
/// change is committed; `commitState()` runs before every flush, so in the normal case
/// that costs one fsync per loop round that changed state. When the commit fails (disk
/// full, read-only file system) that output is held back — no PUBACK/PUBREC/PUBCOMP and no
/// outgoing PUBLISH leaves on the word of state that is not on disk — the connections
/// holding it are no longer read, and the commit is retried every tick until it works.
extension Broker {
    static let stateFailureReason = "broker state not persisted"

    /// Recreates the persistent sessions of the log, offline, with their subscriptions,
    /// queues, in-flight windows (packet ids kept, resent with DUP on reconnect) and
    /// incoming QoS 2 ids.
    func restoreSessions(_ log: SessionLog) {
        for restored in log.restored {
            let session = Session(clientId: restored.clientId, clean: false)
            session.storeId = restored.id
            for subscription in restored.subscriptions {
                session.subscriptions[subscription.filter] = subscription.qos
                subscriptions.subscribe(subscription.filter, session: session, qos: subscription.qos)
            }
            for entry in restored.inflight {
                session.inflight[entry.packetId] = InflightMessage(delivery: entry.delivery, state: entry.state, sequence: session.nextSequence())
            }
            for delivery in restored.queued { session.queue.append(delivery) }
            session.incomingQoS2 = restored.incomingQoS2
            session.unconfirmedQoS2 = restored.incomingQoS2
            sessions[restored.clientId] = session
        }
        if !log.restored.isEmpty { routeCache.removeAll() }
        log.releaseRestored()
    }

    @inline(__always)
    func logState(_ record: StateRecord) {
        sessionLog?.append(record)
        stateAppends += 1
    }

    /// The store id of `message`, writing it to the log the first time.
    func storedId(of message: Message) -> UInt64 {
        if let last = lastStored, last.message === message { return last.id }
        guard let sessionLog else { return 0 }
        let id = sessionLog.newMessageId()
        logState(.message(id: id, topic: message.topic, qos: message.qos, retain: message.retain, payload: message.payload))
        lastStored = (message, id)
        return id
    }

    /// Output appended to `connection` from `offset` on depends on uncommitted state: it
    /// is written only after the next successful commit.
    @inline(__always)
    func holdOutput(_ connection: Connection, from offset: Int) {
        guard stateDirty, connection.heldFrom == nil else { return }
        connection.heldFrom = offset
        heldConnections.append(connection)
        if stateBlocked && connection.pausedFor.insert(Broker.stateFailureReason).inserted { updateEvents(connection) }
    }

    /// Commits pending state changes (one fsync per log that has any). True when nothing
    /// uncommitted remains, so output may go out.
    @discardableResult
    func commitState() -> Bool {
        guard stateDirty else { return true }
        let now = hy_monotonic_ns()
        if stateBlocked && now < nextStateRetryAt { return false }
        do throws(DurableError) {
            if let retainedLog, retainedLog.hasPending { try retainedLog.commit() }
            if let sessionLog, sessionLog.hasPending { try sessionLog.commit() }
        } catch {
            stateCommitFailed(error, now: now)
            return false
        }
        stateCommitted = stateAppends
        if stateBlocked {
            stateBlocked = false
            logger.warning("broker state persisted again; held acknowledgements and deliveries go out now connections=\(heldConnections.count)")
        }
        for connection in heldConnections {
            connection.heldFrom = nil
            guard !connection.closed else { continue }
            if connection.pausedFor.remove(Broker.stateFailureReason) != nil {
                if connection.pausedFor.isEmpty { connection.lastReceivedAt = now }
                updateEvents(connection)
            }
            if !connection.needsFlush {
                connection.needsFlush = true
                flushList.append(connection)
            }
        }
        heldConnections.removeAll(keepingCapacity: true)
        return true
    }

    private func stateCommitFailed(_ error: DurableError, now: UInt64) {
        if !stateBlocked || now - lastStateFailureLog > 10_000_000_000 {
            logger.error("broker state not persisted, holding acknowledgements and deliveries that depend on it (retrying every \(Broker.tickNanos / 1_000_000) ms): \(error)")
            lastStateFailureLog = now
        }
        stateBlocked = true
        nextStateRetryAt = now + Broker.tickNanos
        // Stop reading from the clients waiting on it: they are back-pressured, not lied to.
        for connection in heldConnections where !connection.closed && !connection.pausedFor.contains(Broker.stateFailureReason) {
            connection.pausedFor.insert(Broker.stateFailureReason)
            updateEvents(connection)
        }
    }

    /// From the tick: rewrites the session log as a snapshot once it is mostly history.
    func compactSessionLogIfNeeded() {
        guard let sessionLog, !stateBlocked, sessionLog.sizeBytes > sessionLog.compactAt else { return }
        let persistent = sessions.values.filter { $0.storeId != 0 }.sorted { $0.storeId < $1.storeId }
        // Only when most of the log is history: a log that is mostly queued messages would
        // be rewritten as big as it was (measured: 80 MiB rewritten for nothing, 0.7 s).
        var live = 0
        for session in persistent {
            live += 64 + session.subscriptions.count * 32
            for entry in session.inflight.values { live += 48 + entry.delivery.message.topic.utf8.count + entry.delivery.message.payload.count }
        }
        live += persistent.reduce(0) { $0 + $1.queue.elements.reduce(0) { $0 + 40 + $1.message.topic.utf8.count + $1.message.payload.count } }
        guard live * 2 < sessionLog.sizeBytes else {
            sessionLog.postponeCompaction(liveBytes: live)
            return
        }
        guard commitState() else { return }
        let snapshot = persistent.map { session in
            var restored = SessionLog.RestoredSession(id: session.storeId, clientId: session.clientId)
            restored.subscriptions = session.subscriptions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            restored.inflight = session.inflight.sorted { $0.value.sequence < $1.value.sequence }.map { ($0.key, $0.value.delivery, $0.value.state) }
            restored.queue = session.queue.elements
            restored.incomingQoS2 = session.incomingQoS2
            return restored
        }
        let before = sessionLog.sizeBytes
        let started = hy_monotonic_ns()
        do throws(DurableError) {
            try sessionLog.compact(snapshot)
            logger.info("session state compacted bytes_before=\(before) bytes_after=\(sessionLog.sizeBytes) sessions=\(snapshot.count) millis=\((hy_monotonic_ns() - started) / 1_000_000)")
        } catch {
            stateCommitFailed(error, now: hy_monotonic_ns())
        }
    }
}
