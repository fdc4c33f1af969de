import MQTT

/// Outgoing messages: routing, QoS downgrade, in-flight window, session queues, drops.
extension Broker {
    func route(_ message: Message) {
        let routes: [SubscriptionTree.Route]
        if let cached = routeCache[message.topic] {
            routes = cached
        } else {
            routes = subscriptions.match(message.topic)
            if routeCache.count >= 10_000 { routeCache.removeAll(keepingCapacity: true) }
            routeCache[message.topic] = routes
        }
        for route in routes {
            // §3.8.4: delivered at the lower of the published and the granted QoS.
            deliver(Delivery(message: message, qos: min(route.qos, message.qos), retain: false), to: route.session)
        }
    }

    func deliver(_ delivery: Delivery, to session: Session) {
        guard let connection = session.connection else {
            // Offline persistent session: QoS 1/2 are queued for it (§3.1.2.4); QoS 0 is not
            // (Mosquitto's default, queue_qos0_messages false).
            if delivery.qos != .atMostOnce { enqueue(delivery, for: session) }
            return
        }
        if delivery.qos == .atMostOnce {
            guard connection.pendingBytes < config.maxWriteBuffer else {
                // A slow subscriber must not grow memory or stall others: QoS 0 is dropped.
                stats.messagesDropped += 1
                connection.unreportedDrops += 1
                return
            }
            writePublish(delivery, packetId: 0, dup: false, to: connection)
            return
        }
        if session.queue.isEmpty && canSendInflight(session, connection) {
            sendInflight(delivery, fromQueue: false, session: session, connection: connection)
        } else {
            enqueue(delivery, for: session)
        }
    }

    private func canSendInflight(_ session: Session, _ connection: Connection) -> Bool {
        session.inflight.count < config.maxInflight && connection.pendingBytes < config.maxWriteBuffer
    }

    private func enqueue(_ delivery: Delivery, for session: Session) {
        guard session.queue.count < config.maxQueuedMessages else {
            stats.messagesDropped += 1
            session.unreportedDrops += 1
            return
        }
        var delivery = delivery
        ledger.queued(&delivery, for: session)
        session.queue.append(delivery)
    }

    private func sendInflight(_ delivery: Delivery, fromQueue: Bool, session: Session, connection: Connection) {
        var delivery = delivery
        let id = session.nextPacketId()
        if ledger.sent(&delivery, packetId: id, fromQueue: fromQueue, session: session) {
            holdOutput(connection, from: connection.outbound.count)
        }
        let state: InflightMessage.State = delivery.qos == .atLeastOnce ? .awaitingPubAck : .awaitingPubRec
        session.inflight[id] = InflightMessage(delivery: delivery, state: state, sequence: session.nextSequence())
        writePublish(delivery, packetId: id, dup: false, to: connection)
    }

    /// Moves queued messages into the in-flight window while it and the write buffer
    /// have room.
    func pumpQueue(_ session: Session) {
        guard let connection = session.connection else { return }
        while !session.queue.isEmpty && canSendInflight(session, connection) {
            guard let delivery = session.queue.popFirst() else { break }
            sendInflight(delivery, fromQueue: true, session: session, connection: connection)
        }
    }

    func writePublish(_ delivery: Delivery, packetId: UInt16, dup: Bool, to connection: Connection) {
        stats.messagesSent += 1
        let message = delivery.message
        send(connection) {
            Publish.encode(
                topic: message.topic, payload: message.payload, qos: delivery.qos, retain: delivery.retain,
                dup: dup, packetId: packetId, into: &$0)
        }
    }
}
