import MQTT

/// SUBSCRIBE (§3.8) and UNSUBSCRIBE (§3.10).
extension Broker {
    func handleSubscribe(_ subscribe: Subscribe, from connection: Connection, session: Session) {
        let v5 = connection.version == .v5
        let identifier = subscribe.properties.subscriptionIdentifiers.first
        // [MQTT-3.8.2-?] one Subscription Identifier at most (the codec refuses repeats).
        var codes: [UInt8] = []
        var retainedDeliveries: [Delivery] = []
        for request in subscribe.requests {
            guard Topic.isValidFilter(request.filter), Topic.levelCount(request.filter) <= config.maxTopicLevels else {
                codes.append(ReasonCode.topicFilterInvalid.rawValue)  // 0x80 in 3.1.1
                logger.info("subscription refused client=\(session.clientId) filter=\(request.filter) reason=invalid-filter")
                continue
            }
            let shared: (group: String, filter: String)?
            do {
                shared = try Topic.sharedSubscription(request.filter)
            } catch {
                codes.append(ReasonCode.topicFilterInvalid.rawValue)
                logger.info("subscription refused client=\(session.clientId) filter=\(request.filter) reason=\"\(error)\"")
                continue
            }
            if shared != nil && v5 && request.noLocal {
                // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
                protocolError(.protocolViolation("No Local on shared subscription '\(request.filter)'"), on: connection)
                return
            }
            if let permissions = session.permissions, !permissions.allows(.subscribe(request.filter)) {
                // A filter the client may never read (Mosquitto's acl_file does not check this).
                codes.append(ReasonCode.notAuthorized.rawValue)  // 0x80 in 3.1.1
                logger.info("subscription refused client=\(session.clientId) filter=\(request.filter) reason=not-authorized")
                continue
            }
            let options = SubscriptionOptions(
                qos: request.qos, noLocal: v5 && request.noLocal, retainAsPublished: v5 && request.retainAsPublished,
                retainHandling: v5 ? request.retainHandling : 0, identifier: v5 ? identifier : nil)
            let existed = session.subscriptions.updateValue(options, forKey: request.filter) != nil
            // Granted QoS = requested QoS: this broker supports all three ([MQTT-3.9.3-2]).
            subscriptions.subscribe(request.filter, session: session, options: options)
            ledger.subscribed(session, filter: request.filter, options: options)
            codes.append(request.qos.rawValue)
            logger.debug("subscribed client=\(session.clientId) filter=\(request.filter) qos=\(request.qos.rawValue)")
            // [MQTT-3.3.1-6], [MQTT-3.8.4-3]: retained messages go out on every SUBSCRIBE,
            // also one that replaces an existing subscription, with RETAIN=1 — unless MQTT 5
            // Retain Handling says only for a new subscription (1) or never (2).
            // Shared subscriptions get no retained messages ([MQTT-3.8.4-?], §4.8.2).
            if shared != nil || options.retainHandling == 2 || (options.retainHandling == 1 && existed) { continue }
            let now = wallClockSeconds()
            for message in retained.matching(request.filter) {
                if message.expiryInterval != nil && message.remainingExpiry(now: now) == 0 {
                    // Expired (§3.3.2.3.3): gone from the retained store and its log.
                    let cleared = Message(topic: message.topic, payload: [], qos: .atMostOnce, retain: true, clientId: "")
                    retained.store(cleared)
                    ledger.retained(cleared)
                    continue
                }
                retainedDeliveries.append(
                    Delivery(message: message, qos: min(message.qos, request.qos), retain: true, subscriptionIdentifiers: options.identifier.map { [$0] } ?? []))
            }
        }
        routeCache.removeAll(keepingCapacity: true)
        send(.suback(SubAck(packetId: subscribe.packetId, returnCodes: codes)), to: connection)
        for delivery in retainedDeliveries { deliver(delivery, to: session) }
    }

    func handleUnsubscribe(_ unsubscribe: Unsubscribe, from connection: Connection, session: Session) {
        var codes: [UInt8] = []
        for filter in unsubscribe.filters {
            guard session.subscriptions.removeValue(forKey: filter) != nil else {
                codes.append(ReasonCode.noSubscriptionExisted.rawValue)
                continue
            }
            subscriptions.unsubscribe(filter, session: session)
            ledger.unsubscribed(session, filter: filter)
            codes.append(ReasonCode.success.rawValue)
        }
        routeCache.removeAll(keepingCapacity: true)
        // [MQTT-3.10.4-5]: UNSUBACK even when nothing matched (5.0: 0x11 for that filter).
        send(.unsuback(UnsubAck(packetId: unsubscribe.packetId, reasonCodes: codes)), to: connection)
    }
}
