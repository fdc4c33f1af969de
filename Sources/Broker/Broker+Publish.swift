import MQTT

/// Incoming PUBLISH and the acknowledgement packets of both directions (§4.3).
extension Broker {
    func handlePublish(_ publish: Publish, from connection: Connection, session: Session) {
        stats.messagesReceived += 1
        let message = Message(
            topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: publish.retain,
            clientId: connection.clientId, username: connection.username, origin: connection.token)
        guard publish.qos != .atMostOnce, let id = publish.packetId else {
            accept(message, ack: nil)
            return
        }
        let ack = PendingAck(connectionToken: connection.token, packetId: id, qos: publish.qos, completions: ackCompletions)
        let mark = stateAppends
        if publish.qos == .atLeastOnce {
            accept(message, ack: ack)
        } else {
            // §4.3.3 method B: route on the first PUBLISH, remember the id until PUBREL, so
            // a resent PUBLISH (DUP) is acknowledged again but not delivered twice.
            if session.incomingQoS2.insert(id).inserted {
                // Durable before PUBREC for a persistent session, so a resend after a crash
                // is still recognised (issue #7).
                if session.storeId != 0 { logState(.incomingQoS2(session: session.storeId, packetId: id)) }
                accept(message, ack: ack)
            } else if session.unconfirmedQoS2.remove(id) != nil {
                // Resent after a restart: subscribers had it (their deliveries were durable
                // with the id), but a stream may have lost it with the crash — it goes to
                // the streams again (at-least-once there), not to subscribers (exactly once).
                logger.debug("QoS 2 PUBLISH resent after restart: offered to streams again client=\(connection.clientId) packet_id=\(id)")
                tap?.publishAccepted(message, ack: ack)
            } else {
                logger.debug("duplicate QoS 2 PUBLISH not routed again client=\(connection.clientId) packet_id=\(id)")
            }
        }
        // The acknowledgement waits for the state records this publish produced, if any.
        if stateAppends != mark { ack.stateMark = stateAppends }
        acknowledge(ack, on: connection)
    }

    /// A message the broker takes responsibility for: retained store, subscribers, tap.
    func accept(_ message: Message, ack: PendingAck? = nil) {
        if message.retain {
            retained.store(message)
            if persistRetained { logRetained(message) }
        }
        route(message)
        tap?.publishAccepted(message, ack: ack)
    }

    /// Sends the PUBACK/PUBREC now if nothing holds it and nothing older is waiting;
    /// otherwise it joins the connection's queue of acknowledgements.
    private func acknowledge(_ ack: PendingAck, on connection: Connection) {
        let free = ack.releaseByBroker()
        if free && connection.pendingAcks.isEmpty && connection.oldestPendingAck == nil {
            sendAcknowledgement(ack, to: connection)
            return
        }
        if connection.oldestPendingAck == nil {
            connection.oldestPendingAck = ack
        } else {
            connection.pendingAcks.append(ack)
        }
        if free { flushAcknowledgements(connection) }
    }

    /// An acknowledgement whose holders all released it (drained from `ackCompletions`).
    func acknowledgementCompleted(_ ack: PendingAck) {
        guard let connection = connection(for: ack.connectionToken) else { return }  // gone: the client resends
        flushAcknowledgements(connection)
    }

    /// Sends, in arrival order, every acknowledgement at the head of the queue that is complete.
    private func flushAcknowledgements(_ connection: Connection) {
        while let head = connection.oldestPendingAck, head.isComplete {
            sendAcknowledgement(head, to: connection)
            connection.oldestPendingAck = connection.pendingAcks.popFirst()
        }
    }

    private func sendAcknowledgement(_ ack: PendingAck, to connection: Connection) {
        holdOutput(connection, from: connection.outbound.count, mark: ack.stateMark)
        send(ack.qos == .atLeastOnce ? .puback(packetId: ack.packetId) : .pubrec(packetId: ack.packetId), to: connection)
    }

    func handlePubRel(_ id: UInt16, from connection: Connection, session: Session) {
        session.unconfirmedQoS2.remove(id)
        if session.incomingQoS2.remove(id) != nil, session.storeId != 0 {
            logState(.incomingReleased(session: session.storeId, packetId: id))
        }
        // Answered even for an unknown id, so a client retrying after a lost PUBCOMP ends.
        send(.pubcomp(packetId: id), to: connection)
    }

    func handlePubAck(_ id: UInt16, session: Session) {
        completeInflight(id, expecting: .awaitingPubAck, acknowledgedBy: .puback, session: session)
    }

    func handlePubRec(_ id: UInt16, from connection: Connection, session: Session) {
        guard var entry = session.inflight[id], entry.state != .awaitingPubAck else {
            logger.debug("PUBREC for unknown packet id client=\(session.clientId) packet_id=\(id)")
            return
        }
        entry.state = .awaitingPubComp
        session.inflight[id] = entry
        if session.storeId != 0 { logState(.pubrecReceived(session: session.storeId, packetId: id)) }
        send(.pubrel(packetId: id), to: connection)
    }

    func handlePubComp(_ id: UInt16, session: Session) {
        completeInflight(id, expecting: .awaitingPubComp, acknowledgedBy: .pubcomp, session: session)
    }

    /// The last acknowledgement of an outgoing QoS 1/2 message frees its in-flight slot.
    private func completeInflight(_ id: UInt16, expecting state: InflightMessage.State, acknowledgedBy type: PacketType, session: Session) {
        guard let entry = session.inflight[id], entry.state == state else {
            logger.debug("\(type) for unknown packet id client=\(session.clientId) packet_id=\(id)")
            return
        }
        session.inflight[id] = nil
        if session.storeId != 0 {
            logState(.completed(session: session.storeId, packetId: id))
            liveStateBytes -= Broker.liveCost(entry.delivery)
        }
        pumpQueue(session)
    }
}
