import MQTT

/// Subscriptions: the MQTT module's `TopicTree` with, per filter, the sessions subscribed
/// to it and their options. Matching a topic merges a session's overlapping subscriptions
/// into one route (§3.3.4: one PUBLISH per client, every matching identifier).
final class SubscriptionTree {
    struct Route {
        let session: Session
        /// The highest QoS of its matching subscriptions.
        var qos: QoS
        /// The highest QoS of those without No Local: what its own messages get (nil: none).
        var qosForOwn: QoS?
        /// Some matching subscription has Retain As Published.
        var retainAsPublished: Bool
        /// The Subscription Identifiers of the matching subscriptions.
        var identifiers: [Int]
    }

    private let tree = TopicTree<[ObjectIdentifier: (session: Session, options: SubscriptionOptions)]>()
    private var generation: UInt64 = 0
    private(set) var count = 0

    /// Adds or replaces (§3.8.4: same filter replaces the options) a subscription.
    func subscribe(_ filter: String, session: Session, options: SubscriptionOptions) {
        let added = tree.update(filter) { entries -> Bool in
            if entries == nil { entries = [:] }
            return entries!.updateValue((session, options), forKey: ObjectIdentifier(session)) == nil
        }
        if added { count += 1 }
    }

    /// Removes a subscription; returns whether it existed.
    @discardableResult
    func unsubscribe(_ filter: String, session: Session) -> Bool {
        let id = ObjectIdentifier(session)
        guard tree.entry(at: filter)?[id] != nil else { return false }
        tree.update(filter) { entries in
            entries!.removeValue(forKey: id)
            if entries!.isEmpty { entries = nil }
        }
        count -= 1
        return true
    }

    /// Every session with a subscription matching `topic`, once each (§3.3.5: one copy at
    /// the maximum QoS).
    func match(_ topic: String) -> [Route] {
        generation &+= 1
        var result: [Route] = []
        tree.forEachMatching(topic: topic) { entries in
            for (session, options) in entries.values {
                let own = options.noLocal ? nil : options.qos
                if session.routeMark == generation {
                    let index = session.routeIndex
                    if options.qos > result[index].qos { result[index].qos = options.qos }
                    if let own, own > (result[index].qosForOwn ?? .atMostOnce) || result[index].qosForOwn == nil { result[index].qosForOwn = own }
                    if options.retainAsPublished { result[index].retainAsPublished = true }
                    if let identifier = options.identifier { result[index].identifiers.append(identifier) }
                } else {
                    session.routeMark = generation
                    session.routeIndex = result.count
                    result.append(
                        Route(
                            session: session, qos: options.qos, qosForOwn: own, retainAsPublished: options.retainAsPublished,
                            identifiers: options.identifier.map { [$0] } ?? []))
                }
            }
        }
        return result
    }
}
