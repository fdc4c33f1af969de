import CSystem
import MQTT

/// Periodic work: keepalive and connect timeouts, drop reports, $SYS topics.
extension Broker {
    func tick(now: UInt64) {
        for case let connection? in slots {
            if !connection.isConnected {
                if now - connection.acceptedAt > UInt64(config.connectTimeout) * 1_000_000_000 {
                    closeConnection(connection, reason: "no CONNECT within \(config.connectTimeout)s", publishWill: false)
                }
                continue
            }
            // [MQTT-3.1.2-24]: disconnect after one and a half keep alive periods of silence
            // (a connection paused by flow control is not read, so it is not silent).
            if connection.keepAlive > 0, connection.pausedFor.isEmpty, now - connection.lastReceivedAt > UInt64(connection.keepAlive) * 1_500_000_000 {
                sendDisconnect(.keepAliveTimeout, "no packet for 1.5 times the keep alive", to: connection)
                closeConnection(connection, reason: "keepalive timeout (\(connection.keepAlive)s x 1.5)", publishWill: true)
                continue
            }
            if connection.unreportedDrops > 0 {
                logger.warning("messages dropped client=\(connection.clientId) count=\(connection.unreportedDrops) reason=write-buffer-full qos=0")
                connection.unreportedDrops = 0
            }
        }
        if !timedSessions.isEmpty { expireSessions(now: wallClockMillis()) }
        for session in sessions.values where session.unreportedDrops > 0 {
            logger.warning("messages dropped client=\(session.clientId) count=\(session.unreportedDrops) reason=queue-full limit=\(config.maxQueuedMessages)")
            session.unreportedDrops = 0
        }
        if config.sysInterval > 0 && now >= nextSysAt {
            publishSysTopics(now: now)
            nextSysAt = now + UInt64(config.sysInterval) * 1_000_000_000
        }
        compactSessionLogIfNeeded()
        // Wills of connections that timed out went to the tap: hand them over now, not at
        // the end of the next round.
        endRound()
    }

    /// Delayed wills whose time came are published; expired offline sessions end (their
    /// pending will first). `now`: wall-clock milliseconds.
    func expireSessions(now: Int64) {
        for session in sessions.values where timedSessions.contains(ObjectIdentifier(session)) {
            if let will = session.pendingWill, will.at <= now {
                session.pendingWill = nil
                sendWill(will.message, of: session)
            }
            if let deadline = session.expiresAt, deadline <= now, session.connection == nil {
                logger.info("session expired client=\(session.clientId) expiry=\(session.expiryInterval)s")
                endSession(session)
            } else if session.pendingWill == nil && session.expiresAt == nil {
                timedSessions.remove(ObjectIdentifier(session))
            }
        }
    }

    /// Mosquitto's $SYS names, published retained.
    func publishSysTopics(now: UInt64) {
        let uptime = (now - startedAt) / 1_000_000_000
        let values: [(String, String)] = [
            ("version", "hydrant \(HydrantVersion.string)"),
            ("uptime", "\(uptime) seconds"),
            ("clients/connected", String(stats.clientsConnected)),
            ("clients/total", String(sessions.count)),
            ("messages/received", String(stats.messagesReceived)),
            ("messages/sent", String(stats.messagesSent)),
            ("publish/messages/dropped", String(stats.messagesDropped)),
            ("publish/messages/resent", String(stats.duplicatesReceived)),
            ("subscriptions/count", String(subscriptions.count)),
            ("retained messages/count", String(retained.count)),
            ("load/bytes/received", String(stats.bytesReceived)),
            ("load/bytes/sent", String(stats.bytesSent)),
            ("clients/paused", String(slots.reduce(0) { $0 + ($1?.pausedFor.isEmpty == false ? 1 : 0) })),
        ]
        var extra = (tap?.sysTopics() ?? []).map { ("$SYS/" + $0.0, $0.1) }
        // Connected clients per protocol version (after Mosquitto's names, so their order stays).
        extra += [
            ("$SYS/hydrant/clients/connected/mqtt311", String(stats.clientsConnected - stats.clientsConnectedV5)),
            ("$SYS/hydrant/clients/connected/mqtt5", String(stats.clientsConnectedV5)),
            ("$SYS/hydrant/auth/publishes/denied", String(stats.publishesDenied)),
            ("$SYS/hydrant/auth/deliveries/denied", String(stats.deliveriesDenied)),
        ]
        if committer != nil {
            // Durable broker state (issue #7): is it being written, and is anything waiting on it.
            extra += [
                ("$SYS/hydrant/state/commits", String(stateCommits)),
                ("$SYS/hydrant/state/commit_failures", String(stateCommitFailures)),
                ("$SYS/hydrant/state/blocked", stateBlocked ? "1" : "0"),
                ("$SYS/hydrant/state/held_connections", String(heldConnections.count)),
                ("$SYS/hydrant/state/sessions/log_bytes", String(sessionLogBytes)),
                ("$SYS/hydrant/state/sessions/live_bytes", String(ledger.liveBytes)),
                ("$SYS/hydrant/state/sessions/persistent", String(sessions.values.reduce(0) { $0 + (ledger.isPersistent($1) ? 1 : 0) })),
            ]
        }
        for (topic, value) in values.map({ ("$SYS/broker/" + $0.0, $0.1) }) + extra {
            let message = Message(topic: topic, payload: Array(value.utf8), qos: .atMostOnce, retain: true, clientId: "")
            retained.store(message)
            route(message)
        }
    }
}
