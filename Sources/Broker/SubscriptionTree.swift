import MQTT

/// Subscriptions: the MQTT module's `TopicTree` with, per filter, the sessions subscribed
/// to it and their QoS. Matching a topic merges a session's overlapping subscriptions.
final class SubscriptionTree {
    struct Route {
        let session: Session
        var qos: QoS
    }

    private let tree = TopicTree<[ObjectIdentifier: Route]>()
    private var generation: UInt64 = 0
    private(set) var count = 0

    /// Adds or replaces (§3.8.4: same filter replaces the QoS) a subscription.
    func subscribe(_ filter: String, session: Session, qos: QoS) {
        let added = tree.update(filter) { routes -> Bool in
            if routes == nil { routes = [:] }
            return routes!.updateValue(Route(session: session, qos: qos), forKey: ObjectIdentifier(session)) == nil
        }
        if added { count += 1 }
    }

    /// Removes a subscription; returns whether it existed.
    @discardableResult
    func unsubscribe(_ filter: String, session: Session) -> Bool {
        let id = ObjectIdentifier(session)
        guard tree.entry(at: filter)?[id] != nil else { return false }
        tree.update(filter) { routes in
            routes!.removeValue(forKey: id)
            if routes!.isEmpty { routes = nil }
        }
        count -= 1
        return true
    }

    /// Every session with a subscription matching `topic`, once each, at the highest QoS
    /// of its matching subscriptions (§3.3.5: one copy at the maximum QoS).
    func match(_ topic: String) -> [Route] {
        generation &+= 1
        var result: [Route] = []
        tree.forEachMatching(topic: topic) { routes in
            for route in routes.values {
                let session = route.session
                if session.routeMark == generation {
                    if route.qos > result[session.routeIndex].qos { result[session.routeIndex].qos = route.qos }
                } else {
                    session.routeMark = generation
                    session.routeIndex = result.count
                    result.append(route)
                }
            }
        }
        return result
    }
}
