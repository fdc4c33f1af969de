import CSystem
import MQTT

/// CONNECT (§3.1): client identifier rules, session takeover, clean and persistent sessions.
extension Broker {
    func handleConnect(_ connect: Connect, on connection: Connection) {
        connection.version = connect.version
        let v5 = connect.version == .v5
        let requested = connect.properties
        var acknowledged = Properties()
        if v5 {
            // No enhanced authentication method is offered (§4.12): 0x8C.
            if let method = requested.authenticationMethod {
                refuseConnect(.badAuthenticationMethod, "authentication method '\(method)' is not supported", on: connection)
                return
            }
            connection.clientReceiveMaximum = Int(requested.receiveMaximum ?? UInt16.max)
            connection.clientMaximumPacketSize = requested.maximumPacketSize.map(Int.init) ?? Int.max
            if let maximum = requested.topicAliasMaximum, maximum > 0 { connection.outboundAliases = TopicAliases(maximum: Int(maximum)) }
            connection.wantsProblemInformation = (requested.requestProblemInformation ?? 1) == 1
            connection.sessionExpiry = requested.sessionExpiryInterval ?? 0
        } else {
            connection.sessionExpiry = connect.cleanSession ? 0 : UInt32.max
        }
        var clientId = connect.clientId
        if clientId.isEmpty {
            // [MQTT-3.1.3-8]: in 3.1.1 a zero-byte client id needs CleanSession=1; then the
            // server assigns a unique one ([MQTT-3.1.3-6]). 5.0 assigns one in any case and
            // says which (Assigned Client Identifier, [MQTT-3.2.2-16]).
            guard connect.cleanSession || v5 else {
                send(.connack(ConnAck(sessionPresent: false, returnCode: .identifierRejected)), to: connection)
                flush(connection)
                closeConnection(connection, reason: "empty client id with CleanSession=0 (CONNACK 0x02)", publishWill: false, level: .warning)
                return
            }
            clientId = assignClientId()
            if v5 { acknowledged.assignedClientIdentifier = clientId }
        }
        if let authenticator {
            switch authenticator.authenticate(username: connect.username, password: connect.password, clientId: clientId) {
            case .accepted: break
            case .badCredentials:
                // 3.1.1: 0x05 Not authorized (as Mosquitto answers a wrong password); 5.0: 0x86.
                refuseConnect(v5 ? .badUserNameOrPassword : .notAuthorized, "bad user name or password (user \(connect.username ?? "-"))", on: connection)
                return
            case .notAuthorized:
                refuseConnect(.notAuthorized, "credentials required (anonymous clients are not allowed)", on: connection)
                return
            }
        }
        // Before the session is touched: a client that may not connect takes nothing over.
        let permissions = authorizer?.permissions(username: connect.username, clientId: clientId)
        if let permissions, !permissions.allows(.connect) {
            refuseConnect(.notAuthorized, "not authorized to connect as client id \(clientId)", on: connection)
            return
        }
        connection.clientId = clientId
        connection.username = connect.username
        connection.keepAlive = connect.keepAlive
        if v5 && (connect.keepAlive == 0 || Int(connect.keepAlive) > config.maxKeepAlive) {
            // §3.2.2.3.14: the server's keep alive replaces the client's.
            connection.keepAlive = UInt16(config.maxKeepAlive)
            acknowledged.serverKeepAlive = connection.keepAlive
        }
        if let will = connect.will {
            var properties = will.properties
            connection.willDelay = properties.willDelayInterval ?? 0
            properties.willDelayInterval = nil
            let expiry = properties.messageExpiryInterval
            properties.messageExpiryInterval = nil
            if properties.payloadFormatIndicator == 1, MQTTString.decode(will.payload) == nil {
                refuseConnect(.payloadFormatInvalid, "will payload is not UTF-8 but its Payload Format Indicator says it is", on: connection)
                return
            }
            connection.will = Message(
                topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, clientId: clientId, username: connect.username,
                properties: properties, expiryInterval: expiry)
        }

        if let old = sessions[clientId]?.connection {
            // [MQTT-3.1.4-2]: the existing client is disconnected (5.0: DISCONNECT 0x8E
            // first). It did not send DISCONNECT, so its will is published.
            sendDisconnect(.sessionTakenOver, "session taken over by a new connection", to: old)
            closeConnection(old, reason: "session taken over by a new connection from \(connection.peer)", publishWill: true)
        }
        var sessionPresent = false
        let session: Session
        if let existing = sessions[clientId], !connect.cleanSession {
            session = existing
            sessionPresent = true  // [MQTT-3.2.2-2]
            // 5.0: the new connection's Session Expiry decides whether it outlives it.
            session.clean = connection.sessionExpiry == 0
        } else {
            // [MQTT-3.1.2-6]: CleanSession=1 (Clean Start) discards any previous session.
            if let existing = sessions[clientId] { endSession(existing) }
            session = Session(clientId: clientId, clean: connection.sessionExpiry == 0)
            ledger.opened(session)
            sessions[clientId] = session
        }
        session.connection = connection
        connection.session = session
        session.permissions = permissions
        // A reconnect in time cancels a delayed will and the session's expiry ([MQTT-3.1.3-9]).
        if session.pendingWill != nil { logger.info("delayed will cancelled client=\(clientId): reconnected in time") }
        session.pendingWill = nil
        session.expiresAt = nil
        timedSessions.remove(ObjectIdentifier(session))
        if session.expiryInterval != connection.sessionExpiry || (v5 && connection.sessionExpiry != UInt32.max) {
            session.expiryInterval = connection.sessionExpiry
            if !session.clean { ledger.expiry(session, interval: connection.sessionExpiry, deadline: 0) }
        }
        stats.clientsConnected += 1
        if v5 {
            if config.receiveMaximum < Int(UInt16.max) { acknowledged.receiveMaximum = UInt16(config.receiveMaximum) }
            acknowledged.maximumPacketSize = UInt32(min(config.maxPacketSize, Int(UInt32.max)))
            if config.maxTopicAlias > 0 { acknowledged.topicAliasMaximum = UInt16(min(config.maxTopicAlias, Int(UInt16.max))) }
            // Maximum QoS is not sent: absent means 2, the only value it cannot carry.
            acknowledged.retainAvailable = 1
            acknowledged.wildcardSubscriptionAvailable = 1
            acknowledged.subscriptionIdentifierAvailable = 1
            acknowledged.sharedSubscriptionAvailable = 1
            stats.clientsConnectedV5 += 1
        }
        send(.connack(ConnAck(sessionPresent: sessionPresent, reasonCode: .success, properties: acknowledged)), to: connection)
        logger.info("client connected client=\(clientId) peer=\(connection.peer) protocol=\(connect.version) clean=\(connect.cleanSession) keepalive=\(connection.keepAlive) session_expiry=\(connection.sessionExpiry) session_present=\(sessionPresent) inflight=\(session.inflight.count) queued=\(session.queue.count)")
        if sessionPresent { resumeDeliveries(session, on: connection) }
    }

    /// DISCONNECT from the client (§3.14): the will is discarded ([MQTT-3.14.4-3]) unless
    /// an MQTT 5 client asks for it (0x04); a 5.0 client may change its session expiry,
    /// but not from 0 to more ([MQTT-3.14.2-2]).
    func handleDisconnect(_ disconnect: Disconnect, from connection: Connection, session: Session) {
        if let expiry = disconnect.properties.sessionExpiryInterval {
            guard connection.sessionExpiry != 0 || expiry == 0 else {
                protocolError(.protocolViolation("DISCONNECT sets a Session Expiry Interval on a session that had 0"), on: connection)
                return
            }
            connection.sessionExpiry = expiry
            session.clean = expiry == 0
            session.expiryInterval = expiry
        }
        let keepWill = disconnect.reasonCode == .disconnectWithWillMessage
        if !keepWill { connection.will = nil }
        closeConnection(connection, reason: "client sent DISCONNECT\(connection.version == .v5 ? " \(disconnect.reasonCode)" : "")", publishWill: keepWill)
    }

    /// CONNACK with a refusal (in the client's version), then close.
    private func refuseConnect(_ reason: ReasonCode, _ explanation: String, on connection: Connection) {
        var properties = Properties()
        if connection.version == .v5 { properties.reasonString = explanation }
        send(.connack(ConnAck(sessionPresent: false, reasonCode: reason, properties: properties)), to: connection)
        flush(connection)
        closeConnection(connection, reason: "\(explanation) (CONNACK \(reason))", publishWill: false, level: .warning)
    }

    private func assignClientId() -> String {
        assignedIdCounter += 1
        let random = UInt64.random(in: 0...UInt64.max)
        return "hydrant-" + String(random, radix: 16) + "-" + String(assignedIdCounter)
    }

    /// Forgets a session and its subscriptions (clean session ended, or replaced).
    func endSession(_ session: Session) {
        redistributeShared(from: session, includingInflight: true)
        if let will = session.pendingWill {
            // The session ends before the will's delay: the will goes now (§3.1.3.2.2).
            session.pendingWill = nil
            sendWill(will.message, of: session)
        }
        session.expiresAt = nil
        timedSessions.remove(ObjectIdentifier(session))
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
