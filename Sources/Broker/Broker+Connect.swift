import CSystem
import MQTT

/// CONNECT (§3.1): client identifier rules, session takeover, clean and persistent sessions.
extension Broker {
    func handleConnect(_ connect: Connect, on connection: Connection) {
        guard connect.version == .v311 else {
            // Until the broker speaks 5.0, its clients are refused as before (CONNACK 0x01).
            protocolError(.unacceptableProtocol(name: "MQTT", level: connect.version.rawValue), on: connection)
            return
        }
        var clientId = connect.clientId
        if clientId.isEmpty {
            // [MQTT-3.1.3-8]: a zero-byte client id needs CleanSession=1; then the server
            // assigns a unique one ([MQTT-3.1.3-6]).
            guard connect.cleanSession else {
                send(.connack(ConnAck(sessionPresent: false, returnCode: .identifierRejected)), to: connection)
                flush(connection)
                closeConnection(connection, reason: "empty client id with CleanSession=0 (CONNACK 0x02)", publishWill: false, level: .warning)
                return
            }
            clientId = assignClientId()
        }
        connection.clientId = clientId
        connection.username = connect.username
        connection.keepAlive = connect.keepAlive
        if let will = connect.will {
            connection.will = Message(topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, clientId: clientId, username: connect.username)
        }

        if let old = sessions[clientId]?.connection {
            // [MQTT-3.1.4-2]: the existing client is disconnected. It did not send
            // DISCONNECT, so its will is published. A clean session ends with it.
            closeConnection(old, reason: "session taken over by a new connection from \(connection.peer)", publishWill: true)
        }
        var sessionPresent = false
        let session: Session
        if let existing = sessions[clientId], !connect.cleanSession {
            session = existing
            sessionPresent = true  // [MQTT-3.2.2-2]
        } else {
            // [MQTT-3.1.2-6]: CleanSession=1 discards any previous session.
            if let existing = sessions[clientId] { endSession(existing) }
            session = Session(clientId: clientId, clean: connect.cleanSession)
            ledger.opened(session)
            sessions[clientId] = session
        }
        session.connection = connection
        connection.session = session
        stats.clientsConnected += 1
        send(.connack(ConnAck(sessionPresent: sessionPresent, returnCode: .accepted)), to: connection)
        logger.info("client connected client=\(clientId) peer=\(connection.peer) clean=\(connect.cleanSession) keepalive=\(connect.keepAlive) session_present=\(sessionPresent) inflight=\(session.inflight.count) queued=\(session.queue.count)")
        if sessionPresent { resumeDeliveries(session, on: connection) }
    }

    private func assignClientId() -> String {
        assignedIdCounter += 1
        let random = UInt64.random(in: 0...UInt64.max)
        return "hydrant-" + String(random, radix: 16) + "-" + String(assignedIdCounter)
    }

    /// Forgets a session and its subscriptions (clean session ended, or replaced).
    func endSession(_ session: Session) {
        for filter in session.subscriptions.keys {
            subscriptions.unsubscribe(filter, session: session)
        }
        if !session.subscriptions.isEmpty { routeCache.removeAll() }
        session.subscriptions.removeAll()
        ledger.ended(session)
        session.queue.removeAll()
        session.inflight.removeAll()
        if sessions[session.clientId] === session { sessions[session.clientId] = nil }
    }

    /// [MQTT-4.4.0-1]: on resuming a session, unacknowledged PUBLISH packets are resent
    /// with DUP=1 and unacknowledged PUBREL packets resent, in their original order.
    private func resumeDeliveries(_ session: Session, on connection: Connection) {
        // In-flight messages whose records are not committed yet are not resent before.
        holdOutput(connection, from: connection.outbound.count)
        let pending = session.inflight.sorted { $0.value.sequence < $1.value.sequence }
        for (packetId, entry) in pending {
            switch entry.state {
            case .awaitingPubAck, .awaitingPubRec:
                writePublish(entry.delivery, packetId: packetId, dup: true, to: connection)
            case .awaitingPubComp:
                send(.pubrel(packetId: packetId), to: connection)
            }
        }
        pumpQueue(session)
    }
}
