import CSystem
import MQTT

/// Outgoing messages: routing, QoS downgrade, in-flight window, session queues, drops.
extension Broker {
    func route(_ message: Message) {
        let routes: SubscriptionTree.Routes
        if let cached = routeCache[message.topic] {
            routes = cached
        } else {
            routes = subscriptions.match(message.topic)
            if routeCache.count >= 10_000 { routeCache.removeAll(keepingCapacity: true) }
            routeCache[message.topic] = routes
        }
        if let shared = routes.shared { routeShared(message, shared) }
        for route in routes.direct {
            guard let extras = route.extras else {
                // §3.8.4: delivered at the lower of the published and the granted QoS.
                deliver(Delivery(message: message, qos: min(route.qos, message.qos), retain: false), to: route.session)
                continue
            }
            var granted = route.qos
            // Only a route with a No Local subscription has to ask who published (a weak load).
            if route.hasNoLocal, message.origin != 0, route.session.connection?.token == message.origin {
                // MQTT 5 No Local (§3.8.3.1): not back to the session that published it.
                guard let own = extras.qosForOwn else { continue }
                granted = own
            }
            // RETAIN only with Retain As Published ([MQTT-3.3.1-12], [MQTT-3.3.1-13]).
            deliver(
                Delivery(
                    message: message, qos: min(granted, message.qos), retain: extras.retainAsPublished && message.retain,
                    subscriptionIdentifiers: extras.identifiers), to: route.session)
        }
    }

    /// One copy per shared group, to the member the group picks (§4.8.2).
    private func routeShared(_ message: Message, _ groups: [SubscriptionTree.SharedGroup]) {
        for group in groups {
            guard let member = group.choose() else { continue }
            deliver(
                Delivery(
                    message: message, qos: min(member.options.qos, message.qos), retain: member.options.retainAsPublished && message.retain,
                    subscriptionIdentifiers: member.options.identifier.map { [$0] } ?? [], sharedGroup: group), to: member.session)
        }
    }

    /// Wall-clock milliseconds, for session expiry and will delays.
    func wallClockMillis() -> Int64 {
        var seconds: Int64 = 0
        var nanos: Int32 = 0
        hy_realtime(&seconds, &nanos)
        return seconds * 1000 + Int64(nanos / 1_000_000)
    }

    /// Wall-clock seconds, for message expiry.
    func wallClockSeconds() -> Int64 {
        var seconds: Int64 = 0
        var nanos: Int32 = 0
        hy_realtime(&seconds, &nanos)
        return seconds
    }

    /// §3.3.2.3.3: a message whose expiry passed before onward delivery started is not sent.
    private func expired(_ delivery: Delivery) -> Bool {
        delivery.message.expiryInterval != nil && delivery.message.remainingExpiry(now: wallClockSeconds()) == 0
    }

    /// §3.1.2.11.4: a packet larger than the client accepts is not sent; the message is
    /// dropped for that client as if delivered, and counted.
    private func tooLarge(_ delivery: Delivery, for connection: Connection) -> Bool {
        guard connection.clientMaximumPacketSize != Int.max else { return false }
        let message = delivery.message
        let properties = 16 + 5 * delivery.subscriptionIdentifiers.count + message.forwardedProperties.count
        let remaining = 2 + message.topic.utf8.count + 2 + properties + message.payload.count
        guard 1 + RemainingLength.width(of: remaining) + remaining > connection.clientMaximumPacketSize else { return false }
        stats.messagesDropped += 1
        logger.debug("message larger than the client's Maximum Packet Size dropped client=\(connection.clientId) topic=\(message.topic) limit=\(connection.clientMaximumPacketSize)")
        return true
    }

    func deliver(_ delivery: Delivery, to session: Session) {
        if expired(delivery) { return }
        if let permissions = session.permissions, !permissions.allows(.receive(delivery.message.topic)) {
            stats.deliveriesDenied += 1
            return
        }
        guard let connection = session.connection else {
            // Offline persistent session: QoS 1/2 are queued for it (§3.1.2.4); QoS 0 is not
            // (Mosquitto's default, queue_qos0_messages false).
            if delivery.qos != .atMostOnce { enqueue(delivery, for: session) }
            return
        }
        if connection.version == .v5 && tooLarge(delivery, for: connection) { return }
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

    /// The in-flight window: the broker's `--max-inflight`, or less if the client's Receive
    /// Maximum says so ([MQTT-3.3.4-7]: never more than it in flight to the client).
    @inline(__always)
    private func canSendInflight(_ session: Session, _ connection: Connection) -> Bool {
        session.inflight.count < min(config.maxInflight, connection.clientReceiveMaximum) && connection.pendingBytes < config.maxWriteBuffer
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
            if expired(delivery) || (connection.version == .v5 && tooLarge(delivery, for: connection)) {
                ledger.dequeuedUnsent(session, delivery: delivery)
                continue
            }
            sendInflight(delivery, fromQueue: true, session: session, connection: connection)
        }
    }

    func writePublish(_ delivery: Delivery, packetId: UInt16, dup: Bool, to connection: Connection) {
        stats.messagesSent += 1
        let message = delivery.message
        if connection.version == .v5 {
            writePublish5(delivery, packetId: packetId, dup: dup, to: connection)
            return
        }
        send(connection) {
            Publish.encode(
                topic: message.topic, payload: message.payload, qos: delivery.qos, retain: delivery.retain,
                dup: dup, packetId: packetId, into: &$0)
        }
    }

    /// An MQTT 5 PUBLISH: the remaining expiry, this connection's topic alias, the
    /// subscription identifiers, then the message's own properties (§3.3.2.3) — written
    /// straight into the output buffer, no array per delivery.
    private func writePublish5(_ delivery: Delivery, packetId: UInt16, dup: Bool, to connection: Connection) {
        let message = delivery.message
        var topic = message.topic
        var left: UInt32?
        if message.expiryInterval != nil {
            // In flight already (a resend): at least one second, never "expired" on the wire.
            left = max(1, message.remainingExpiry(now: wallClockSeconds()) ?? 1)
        }
        var alias: UInt16 = 0
        if connection.outboundAliases != nil {
            switch connection.outboundAliases!.use(topic) {
            case let .known(known):
                alias = known
                topic = ""
            case let .assign(assigned):
                alias = assigned
            }
        }
        let identifiers = delivery.subscriptionIdentifiers
        var length = message.forwardedProperties.count + (left != nil ? 5 : 0) + (alias != 0 ? 3 : 0)
        for identifier in identifiers { length += 1 + RemainingLength.width(of: identifier) }
        send(connection) { out in
            Publish.encode(
                topic: topic, payload: message.payload, qos: delivery.qos, retain: delivery.retain, dup: dup, packetId: packetId,
                propertiesLength: length, into: &out
            ) { out in
                if let left {
                    out.append(Properties.Identifier.messageExpiryInterval.rawValue)
                    out.append(contentsOf: [UInt8(truncatingIfNeeded: left >> 24), UInt8(truncatingIfNeeded: left >> 16), UInt8(truncatingIfNeeded: left >> 8), UInt8(truncatingIfNeeded: left)])
                }
                if alias != 0 {
                    out.append(Properties.Identifier.topicAlias.rawValue)
                    out.append(UInt8(truncatingIfNeeded: alias >> 8))
                    out.append(UInt8(truncatingIfNeeded: alias))
                }
                for identifier in identifiers {
                    out.append(Properties.Identifier.subscriptionIdentifier.rawValue)
                    RemainingLength.append(identifier, to: &out)
                }
                out.append(contentsOf: message.forwardedProperties)
            }
        }
    }

    /// A member of shared groups leaves: what it holds through them goes to another member
    /// (§4.8.2) — queued messages when a connected member can take them now, and, when the
    /// session ends, its unacknowledged ones too.
    func redistributeShared(from session: Session, includingInflight: Bool) {
        var moved: [Delivery] = []
        if session.queue.count > 0 {
            var kept = FIFO<Delivery>()
            while let delivery = session.queue.popFirst() {
                if let group = delivery.sharedGroup, group.members.contains(where: { $0.session !== session && (includingInflight || $0.session.connection != nil) }) {
                    ledger.dequeuedUnsent(session, delivery: delivery)
                    moved.append(delivery)
                } else {
                    kept.append(delivery)
                }
            }
            session.queue = kept
        }
        if includingInflight {
            for (id, entry) in session.inflight where entry.delivery.sharedGroup != nil && entry.state != .awaitingPubComp {
                session.inflight[id] = nil
                ledger.completed(session, packetId: id, delivery: entry.delivery)
                moved.append(entry.delivery)
            }
        }
        for delivery in moved {
            guard let group = delivery.sharedGroup, let member = group.choose(excluding: session) else { continue }
            let message = delivery.message
            logger.debug("shared subscription message moved group=\(group.name) from=\(session.clientId) to=\(member.session.clientId)")
            deliver(
                Delivery(
                    message: message, qos: min(member.options.qos, message.qos), retain: delivery.retain,
                    subscriptionIdentifiers: member.options.identifier.map { [$0] } ?? [], sharedGroup: group), to: member.session)
        }
    }
}
