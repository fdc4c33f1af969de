import CSystem
import Durable
import MQTT

#if canImport(Glibc)
import Glibc
#endif

/// Durable broker state: persistent sessions (SessionLog) and retained messages
/// (RetainedLog), written by the `StateCommitter` thread from the records the
/// `StateLedger` makes of what the loop did. Write-ahead rule: output that
/// depends on a state record — the CONNACK of a new persistent session, a SUBACK, the
/// PUBACK/PUBREC of a publish stored for a session or setting a retained message, a PUBLISH
/// or PUBREL to a persistent session, a PUBCOMP — is held (`Connection.holds`) until the
/// committer reports the record durable. Everything else flows. When a commit fails (disk
/// full, read-only file system) the held output stays held, the connections waiting on it
/// are no longer read, and the commit is retried every tick until it works.
extension Broker {
    static let stateFailureReason = "broker state not persisted"

    /// Recreates the persistent sessions of the log, offline, with their subscriptions,
    /// queues, in-flight windows (packet ids kept, resent with DUP on reconnect) and
    /// incoming QoS 2 ids.
    func restoreSessions(_ log: SessionLog) {
        let now = wallClockSeconds()
        var expired = 0
        for restored in log.restored {
            if let interval = restored.expiryInterval {
                // MQTT 5 session expiry across restarts: a session whose connection was
                // open when the broker stopped starts counting now; one whose deadline
                // passed while the broker was down is gone.
                let deadline = restored.expiryDeadline == 0 ? now + Int64(interval) : restored.expiryDeadline
                if deadline <= now {
                    ledger.forget(sessionId: restored.id)
                    expired += 1
                    continue
                }
            }
            let session = Session(clientId: restored.clientId, clean: false)
            session.storeId = restored.id
            if let interval = restored.expiryInterval {
                session.expiryInterval = interval
                session.expiresAt = (restored.expiryDeadline == 0 ? now + Int64(interval) : restored.expiryDeadline) * 1000
                timedSessions.insert(ObjectIdentifier(session))
            }
            for subscription in restored.subscriptions {
                session.subscriptions[subscription.filter] = subscription.options
                subscriptions.subscribe(subscription.filter, session: session, options: subscription.options)
            }
            // Subscription Identifiers are not logged with each message: they follow from
            // the session's subscriptions (§3.3.4).
            let identified = session.subscriptions.compactMap { filter, options in options.identifier.map { (filter, $0) } }
            func withIdentifiers(_ delivery: Delivery) -> Delivery {
                guard !identified.isEmpty else { return delivery }
                var delivery = delivery
                delivery.subscriptionIdentifiers = identified.filter { Topic.matches(filter: $0.0, topic: delivery.message.topic) }.map(\.1)
                return delivery
            }
            for entry in restored.inflight {
                session.inflight[entry.packetId] = InflightMessage(delivery: withIdentifiers(entry.delivery), state: entry.state, sequence: session.nextSequence())
            }
            for delivery in restored.queued { session.queue.append(withIdentifiers(delivery)) }
            session.incomingQoS2 = restored.incomingQoS2
            session.unconfirmedQoS2 = Set(restored.incomingQoS2.keys)
            ledger.restored(restored)
            sessions[restored.clientId] = session
        }
        if !log.restored.isEmpty { routeCache.removeAll() }
        if expired > 0 { logger.info("sessions expired while the broker was down count=\(expired)") }
        ledger.continueIds(sessions: log.lastSessionId, messages: log.lastMessageId)
        log.releaseRestored()
    }

    /// Output appended to `connection` from `offset` on waits until the records up to
    /// `mark` are durable.
    @inline(__always)
    func holdOutput(_ connection: Connection, from offset: Int, mark: UInt64? = nil) {
        let mark = mark ?? ledger.appends
        guard mark > stateCommitted else { return }
        if let last = connection.holds.last, last.mark >= mark { return }  // already held from earlier on
        if connection.holds.isEmpty { heldConnections.append(connection) }
        connection.holds.append((offset, mark))
        if stateBlocked && connection.pausedFor.insert(Broker.stateFailureReason).inserted { updateEvents(connection) }
    }

    /// Hands what the round produced to the committer, unless a job is in flight (its
    /// result submits the next one) or a failed commit waits for its retry time.
    func submitState(now: UInt64 = hy_monotonic_ns()) {
        guard committer != nil, !commitInFlight, ledger.appends != stateSubmitted || stateBlocked else { return }
        if stateBlocked && now < nextStateRetryAt { return }
        submitJob(snapshot: nil)
    }

    /// Everything produced so far, and (compaction) the snapshot that follows it.
    private func submitJob(snapshot: [SessionLog.RestoredSession]?) {
        let produced = ledger.take()
        committer?.submit(StateCommitter.Job(mark: ledger.appends, records: produced.records, retained: produced.retained, snapshot: snapshot))
        stateSubmitted = ledger.appends
        commitInFlight = true
    }

    func stateCommitFinished(_ result: StateCommitter.Result) {
        commitInFlight = false
        let now = hy_monotonic_ns()
        switch result {
        case let .committed(mark, bytes, compaction):
            stateCommits += 1
            sessionLogBytes = bytes
            if let compaction {
                compactAt = max(config.sessionLogCompactBytes, compaction.after * 2)
                logger.info("session state compacted bytes_before=\(compaction.before) bytes_after=\(compaction.after) millis=\(compaction.millis)")
            }
            stateCommitted = max(stateCommitted, mark)
            stateWatermark.advance(to: stateCommitted)
            if stateBlocked {
                stateBlocked = false
                logger.warning("broker state persisted again; held acknowledgements and deliveries go out now connections=\(heldConnections.count)")
            }
            releaseHolds(now: now)
        case let .failed(_, error):
            stateCommitFailures += 1
            if !stateBlocked || now - lastStateFailureLog > 10_000_000_000 {
                logger.error("broker state not persisted, holding acknowledgements and deliveries that depend on it (retrying every \(Broker.tickNanos / 1_000_000) ms): \(error)")
                lastStateFailureLog = now
            }
            stateBlocked = true
            nextStateRetryAt = now + Broker.tickNanos
            // Stop reading from the clients waiting on it: they are back-pressured, not lied to.
            for connection in heldConnections where !connection.closed && connection.pausedFor.insert(Broker.stateFailureReason).inserted {
                updateEvents(connection)
            }
        }
        submitState(now: now)
    }

    /// Output whose records are now durable goes out.
    private func releaseHolds(now: UInt64) {
        var stillHeld: [Connection] = []
        for connection in heldConnections where !connection.closed {
            connection.holds.removeAll { $0.mark <= stateCommitted }
            if connection.holds.isEmpty {
                if connection.pausedFor.remove(Broker.stateFailureReason) != nil {
                    if connection.pausedFor.isEmpty { connection.lastReceivedAt = now }
                    updateEvents(connection)
                }
            } else {
                stillHeld.append(connection)
            }
            if !connection.needsFlush && !connection.waitingForWritable {
                connection.needsFlush = true
                flushList.append(connection)
            }
        }
        heldConnections = stillHeld
    }

    /// Shutdown: commits what is pending and waits for it (bounded), so every
    /// acknowledgement that can go out does.
    func commitStateAndWait(timeoutNanos: UInt64) {
        guard let committer else { return }
        let deadline = hy_monotonic_ns() + timeoutNanos
        while (stateDirty || commitInFlight) && hy_monotonic_ns() < deadline {
            if !commitInFlight {
                nextStateRetryAt = 0
                submitState()
            }
            var pollFD = pollfd(fd: committer.results.wakeFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&pollFD, 1, 100)
            for result in committer.results.drain() {
                stateCommitFinished(result)
                if case .failed = result { return }  // the disk still refuses: nothing more to do
            }
        }
    }

    /// From the tick: rewrites the session log as a snapshot once it has passed its
    /// threshold and is mostly history (live messages under half of it): a log that is
    /// mostly queued messages would be rewritten as big as it was (measured: 80 MiB for
    /// nothing, 0.7 s).
    func compactSessionLogIfNeeded() {
        guard committer != nil, ledger.persistSessions, !stateBlocked, !commitInFlight, sessionLogBytes > compactAt,
            ledger.liveBytes * 2 < sessionLogBytes
        else { return }
        let persistent = sessions.values.filter(ledger.isPersistent).sorted { $0.storeId < $1.storeId }
        let snapshot = persistent.map { session in
            var restored = SessionLog.RestoredSession(id: session.storeId, clientId: session.clientId)
            if session.expiryInterval != UInt32.max {
                restored.expiryInterval = session.expiryInterval
                restored.expiryDeadline = session.connection == nil ? ((session.expiresAt ?? 0) + 999) / 1000 : 0
            }
            restored.subscriptions = session.subscriptions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            restored.inflight = session.inflight.sorted { $0.value.sequence < $1.value.sequence }.map { ($0.key, $0.value.delivery, $0.value.state) }
            restored.queue = session.queue.elements
            restored.incomingQoS2 = session.incomingQoS2
            return restored
        }
        ledger.snapshotTaken()
        // The snapshot is the state after every record so far: they go first, in the same job.
        submitJob(snapshot: snapshot)
    }
}
