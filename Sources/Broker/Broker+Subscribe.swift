import MQTT

/// SUBSCRIBE (§3.8) and UNSUBSCRIBE (§3.10).
extension Broker {
    func handleSubscribe(_ subscribe: Subscribe, from connection: Connection, session: Session) {
        var codes: [UInt8] = []
        var retainedDeliveries: [Delivery] = []
        for request in subscribe.requests {
            guard Topic.isValidFilter(request.filter) else {
                codes.append(SubAck.failure)
                logger.info("subscription refused client=\(session.clientId) filter=\(request.filter) reason=invalid-filter")
                continue
            }
            // Granted QoS = requested QoS: this broker supports all three ([MQTT-3.9.3-2]).
            session.subscriptions[request.filter] = request.qos
            subscriptions.subscribe(request.filter, session: session, qos: request.qos)
            ledger.subscribed(session, filter: request.filter, qos: request.qos)
            codes.append(request.qos.rawValue)
            logger.debug("subscribed client=\(session.clientId) filter=\(request.filter) qos=\(request.qos.rawValue)")
            // [MQTT-3.3.1-6], [MQTT-3.8.4-3]: retained messages go out on every SUBSCRIBE,
            // also one that replaces an existing subscription, with RETAIN=1.
            for message in retained.matching(request.filter) {
                retainedDeliveries.append(Delivery(message: message, qos: min(message.qos, request.qos), retain: true))
            }
        }
        routeCache.removeAll(keepingCapacity: true)
        send(.suback(SubAck(packetId: subscribe.packetId, returnCodes: codes)), to: connection)
        for delivery in retainedDeliveries { deliver(delivery, to: session) }
    }

    func handleUnsubscribe(_ unsubscribe: Unsubscribe, from connection: Connection, session: Session) {
        for filter in unsubscribe.filters where session.subscriptions.removeValue(forKey: filter) != nil {
            subscriptions.unsubscribe(filter, session: session)
            ledger.unsubscribed(session, filter: filter)
        }
        routeCache.removeAll(keepingCapacity: true)
        // [MQTT-3.10.4-5]: UNSUBACK even when nothing matched.
        send(.unsuback(UnsubAck(packetId: unsubscribe.packetId)), to: connection)
    }
}
