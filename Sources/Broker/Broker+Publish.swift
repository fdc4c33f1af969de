import CSystem
import Durable
import MQTT

/// Incoming PUBLISH and the acknowledgement packets of both directions (§4.3).
extension Broker {
    func handlePublish(_ publish: Publish, from connection: Connection, session: Session) {
        stats.messagesReceived += 1
        let message: Message
        if connection.version == .v5 {
            guard let accepted = acceptProperties(publish, from: connection) else { return }
            message = accepted
            if publish.qos != .atMostOnce, let id = publish.packetId, publish.qos == .atLeastOnce || session.incomingQoS2.index(forKey: id) == nil {
                // §4.9: one more unanswered QoS 1/2 PUBLISH than the broker's Receive Maximum.
                guard connection.inboundInflight < config.receiveMaximum else {
                    disconnect(connection, .receiveMaximumExceeded, "more than Receive Maximum \(config.receiveMaximum) QoS 1/2 PUBLISHes unacknowledged")
                    return
                }
                connection.inboundInflight += 1
                if message.properties.payloadFormatIndicator == 1, MQTTString.decode(message.payload) == nil {
                    // §3.3.2.3.2: not accepted; PUBACK/PUBREC 0x99 (in order with the others).
                    var refused = HeldAcknowledgement(packetId: id, qos: publish.qos, stateMark: 0, marks: DurabilityMarks())
                    refused.reasonCode = .payloadFormatInvalid
                    acknowledge(refused, on: connection)
                    return
                }
            } else if publish.qos == .atMostOnce, message.properties.payloadFormatIndicator == 1, MQTTString.decode(message.payload) == nil {
                disconnect(connection, .payloadFormatInvalid, "payload is not UTF-8 but its Payload Format Indicator says it is")
                return
            }
        } else {
            message = Message(
                topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: publish.retain,
                clientId: connection.clientId, username: connection.username, origin: connection.token)
        }
        if let permissions = session.permissions,
            !permissions.allows(.publish(message.topic)) || (message.retain && !permissions.allows(.retain(message.topic)))
        {
            // Not authorized: not routed; QoS 1/2 still acknowledged (Mosquitto), 0x87 in 5.0.
            logger.debug("publish denied client=\(connection.clientId) topic=\(message.topic)")
            stats.publishesDenied += 1
            if publish.qos != .atMostOnce, let id = publish.packetId {
                var refused = HeldAcknowledgement(packetId: id, qos: publish.qos, stateMark: 0, marks: DurabilityMarks())
                refused.reasonCode = .notAuthorized
                acknowledge(refused, on: connection)
            }
            return
        }
        var marks = DurabilityMarks()
        guard publish.qos != .atMostOnce, let id = publish.packetId else {
            accept(message, marks: &marks)
            return
        }
        let mark = ledger.appends
        if publish.qos == .atLeastOnce {
            if publish.dup { stats.duplicatesReceived += 1 }
            accept(message, marks: &marks)
        } else if session.incomingQoS2.index(forKey: id) == nil {
            // §4.3.3 method B: route on the first PUBLISH, remember the id until PUBREL, so
            // a resent PUBLISH (DUP) is acknowledged again but not delivered twice. Durable
            // before PUBREC for a persistent session, with the stream records it produced,
            // so a resend after a crash is still recognised (issue #7, #12). The streams get
            // the records only once that record is durable (`prerequisite`): a crash can
            // never leave a stream with a publish whose id the broker forgot, which the
            // client's resend would bring a second time.
            accept(message, marks: &marks, statePrerequisite: ledger.isPersistent(session))
            rememberIncomingQoS2(id, marks: Self.logMarks(marks), in: session)
        } else if session.unconfirmedQoS2.remove(id) != nil {
            // Resent after a restart: subscribers had it (their deliveries were durable with
            // the id); the streams whose journal lost it in the crash get it again, the
            // others not (exactly once into the lake and tables too).
            let previous = session.incomingQoS2[id]!
            if ledger.isPersistent(session) { marks.prerequisite = nextStatePrerequisite() }
            tap?.publishResent(message, previous: previous, marks: &marks)
            logger.debug("QoS 2 PUBLISH resent after restart client=\(connection.clientId) packet_id=\(id) logs_again=\(marks.marks.count)")
            if !marks.isEmpty {
                let again = Self.logMarks(marks)
                let kept = (previous ?? []).filter { old in !again.contains { $0.log == old.log } }
                rememberIncomingQoS2(id, marks: kept + again, in: session)
            }
        } else {
            logger.debug("duplicate QoS 2 PUBLISH not routed again client=\(connection.clientId) packet_id=\(id)")
        }
        // The acknowledgement waits for the state records this publish produced, if any.
        acknowledge(HeldAcknowledgement(packetId: id, qos: publish.qos, stateMark: ledger.appends != mark ? ledger.appends : 0, marks: marks), on: connection)
    }

    /// An MQTT 5 PUBLISH's properties (§3.3.2.3): the topic behind a Topic Alias, the
    /// expiry kept apart, what travels with the message. Nil when the connection was closed.
    private func acceptProperties(_ publish: Publish, from connection: Connection) -> Message? {
        if publish.properties.isEmpty {
            // The common case: nothing to resolve, check or keep.
            return Message(
                topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: publish.retain,
                clientId: connection.clientId, username: connection.username, origin: connection.token)
        }
        var properties = publish.properties
        var topic = publish.topic
        if let alias = properties.topicAlias {
            // [MQTT-3.3.2-9], [MQTT-3.3.2-10]: 1 … the broker's Topic Alias Maximum.
            guard alias != 0, Int(alias) <= config.maxTopicAlias else {
                disconnect(connection, .topicAliasInvalid, "Topic Alias \(alias) outside 1…\(config.maxTopicAlias)")
                return nil
            }
            if topic.isEmpty {
                guard let known = connection.inboundAliases[alias] else {
                    protocolError(.protocolViolation("Topic Alias \(alias) used before it was set"), on: connection)
                    return nil
                }
                topic = known
            } else {
                connection.inboundAliases[alias] = topic
            }
            properties.topicAlias = nil
        }
        // [MQTT-3.3.4-6]: Subscription Identifiers are the server's to send.
        guard properties.subscriptionIdentifiers.isEmpty else {
            protocolError(.protocolViolation("PUBLISH from a client carries a Subscription Identifier"), on: connection)
            return nil
        }
        if let response = properties.responseTopic, (try? Topic.validateName(response)) == nil {
            // [MQTT-3.3.2-14]: a Response Topic is a topic name, no wildcards.
            protocolError(.protocolViolation("Response Topic '\(response)' is not a valid topic name"), on: connection)
            return nil
        }
        let expiry = properties.messageExpiryInterval
        if expiry != nil { properties.messageExpiryInterval = nil }
        var receivedAt: Int64 = 0
        if expiry != nil {
            var nanos: Int32 = 0
            hy_realtime(&receivedAt, &nanos)
        }
        return Message(
            topic: topic, payload: publish.payload, qos: publish.qos, retain: publish.retain, clientId: connection.clientId,
            username: connection.username, origin: connection.token, properties: properties, expiryInterval: expiry, receivedAt: receivedAt)
    }

    /// An MQTT 5 DISCONNECT with `reason`, then close; the will is published (§3.1.2.5:
    /// the server closed the connection because of an error).
    func disconnect(_ connection: Connection, _ reason: ReasonCode, _ explanation: String) {
        sendDisconnect(reason, explanation, to: connection)
        closeConnection(connection, reason: "\(explanation) (DISCONNECT \(reason))", publishWill: true, level: .warning)
    }

    /// An incoming QoS 2 id routed, with the log marks of its records; logged for a
    /// persistent session (the record `nextStatePrerequisite()` named).
    private func rememberIncomingQoS2(_ id: UInt16, marks: [LogMark], in session: Session) {
        session.incomingQoS2[id] = .some(marks)
        ledger.incomingQoS2(session, packetId: id, marks: marks)
    }

    /// The state record about to be logged (after the tap returns, before anything else).
    private func nextStatePrerequisite() -> DurabilityMark {
        DurabilityMark(log: stateWatermark, first: ledger.nextRecord, last: ledger.nextRecord)
    }

    static func logMarks(_ marks: DurabilityMarks) -> [LogMark] {
        marks.marks.map { LogMark(log: $0.log.name, first: $0.first, last: $0.last) }
    }

    /// A message the broker takes responsibility for: retained store, subscribers, tap.
    /// `statePrerequisite`: the caller logs a state record right after this returns, which
    /// must be durable before the tap's records may be.
    func accept(_ message: Message, marks: inout DurabilityMarks, statePrerequisite: Bool = false) {
        if message.retain {
            retained.store(message)
            ledger.retained(message)
        }
        route(message)
        if statePrerequisite { marks.prerequisite = nextStatePrerequisite() }
        tap?.publishAccepted(message, marks: &marks)
    }

    /// A message published by the broker's side (rules' republish, wills): no one waits.
    func accept(_ message: Message) {
        var marks = DurabilityMarks()
        accept(message, marks: &marks)
    }

    /// Sends the PUBACK/PUBREC now if its logs have it and nothing older is waiting;
    /// otherwise it joins the connection's queue of acknowledgements.
    private func acknowledge(_ ack: HeldAcknowledgement, on connection: Connection) {
        if connection.pendingAcks.isEmpty {
            if ack.marks.isDurable {
                sendAcknowledgement(ack, to: connection)
                return
            }
            acknowledgementsWaiting.append(connection)
        }
        connection.pendingAcks.append(ack)
    }

    /// A log's watermark advanced: every connection's acknowledgements whose marks are now
    /// covered go out, in arrival order.
    func releaseAcknowledgements() {
        var still: [Connection] = []
        for connection in acknowledgementsWaiting where !connection.closed {
            flushAcknowledgements(connection)
            if !connection.pendingAcks.isEmpty { still.append(connection) }
        }
        acknowledgementsWaiting = still
    }

    /// Sends, in arrival order, every acknowledgement at the head of the queue that is durable.
    private func flushAcknowledgements(_ connection: Connection) {
        while connection.pendingAcks.firstSatisfies({ $0.marks.isDurable }), let head = connection.pendingAcks.popFirst() {
            sendAcknowledgement(head, to: connection)
        }
    }

    private func sendAcknowledgement(_ ack: HeldAcknowledgement, to connection: Connection) {
        holdOutput(connection, from: connection.outbound.count, mark: ack.stateMark)
        if connection.version == .v5 {
            // The quota comes back with the PUBACK, or a PUBREC that ends the flow (§4.9).
            if ack.qos == .atLeastOnce || ack.reasonCode.isFailure { connection.inboundInflight = max(0, connection.inboundInflight - 1) }
            send(.ack(Acknowledgement(ack.qos == .atLeastOnce ? .puback : .pubrec, packetId: ack.packetId, reasonCode: ack.reasonCode)), to: connection)
            return
        }
        send(ack.qos == .atLeastOnce ? .puback(packetId: ack.packetId) : .pubrec(packetId: ack.packetId), to: connection)
    }

    func handlePubRel(_ id: UInt16, from connection: Connection, session: Session) {
        session.unconfirmedQoS2.remove(id)
        if session.incomingQoS2.removeValue(forKey: id) != nil {
            ledger.released(session, packetId: id)
            if connection.version == .v5 { connection.inboundInflight = max(0, connection.inboundInflight - 1) }
        }
        // Answered even for an unknown id, so a client retrying after a lost PUBCOMP ends.
        send(.pubcomp(packetId: id), to: connection)
    }

    func handlePubAck(_ id: UInt16, from connection: Connection, session: Session) {
        completeInflight(id, expecting: .awaitingPubAck, acknowledgedBy: .puback, from: connection, session: session)
    }

    func handlePubRec(_ ack: Acknowledgement, from connection: Connection, session: Session) {
        let id = ack.packetId
        guard var entry = session.inflight[id] else {
            logger.debug("PUBREC for unknown packet id client=\(session.clientId) packet_id=\(id)")
            return
        }
        guard entry.state != .awaitingPubAck else {
            wrongAcknowledgement(.pubrec, for: entry, id: id, on: connection)
            return
        }
        if ack.reasonCode.isFailure {
            // §4.3.3: a PUBREC with a failure ends the flow; no PUBREL follows.
            logger.debug("PUBREC refused the message client=\(session.clientId) packet_id=\(id) reason=\(ack.reasonCode)")
            completeInflight(id, expecting: entry.state, acknowledgedBy: .pubrec, from: connection, session: session)
            return
        }
        entry.state = .awaitingPubComp
        session.inflight[id] = entry
        ledger.pubrecReceived(session, packetId: id)
        send(.pubrel(packetId: id), to: connection)
    }

    func handlePubComp(_ id: UInt16, from connection: Connection, session: Session) {
        completeInflight(id, expecting: .awaitingPubComp, acknowledgedBy: .pubcomp, from: connection, session: session)
    }

    /// The last acknowledgement of an outgoing QoS 1/2 message frees its in-flight slot.
    /// An acknowledgement of the wrong kind for an id in flight is a protocol violation
    /// (Mosquitto closes too); one for an unknown id is ignored (a late duplicate).
    private func completeInflight(
        _ id: UInt16, expecting state: InflightMessage.State, acknowledgedBy type: PacketType, from connection: Connection, session: Session
    ) {
        guard let entry = session.inflight[id] else {
            logger.debug("\(type) for unknown packet id client=\(session.clientId) packet_id=\(id)")
            return
        }
        guard entry.state == state else {
            wrongAcknowledgement(type, for: entry, id: id, on: connection)
            return
        }
        session.inflight[id] = nil
        ledger.completed(session, packetId: id, delivery: entry.delivery)
        pumpQueue(session)
    }

    private func wrongAcknowledgement(_ type: PacketType, for entry: InflightMessage, id: UInt16, on connection: Connection) {
        protocolError(.protocolViolation("\(type) for packet id \(id), a QoS \(entry.delivery.qos.rawValue) PUBLISH"), on: connection)
    }
}
