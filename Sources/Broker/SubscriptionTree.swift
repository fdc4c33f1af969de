import MQTT

/// Subscriptions as a tree with one node per topic level, searched literal child, then
/// `+`, then `#` (Mosquitto's subs.c shape).
final class SubscriptionTree {
    struct Route {
        let session: Session
        var qos: QoS
    }

    private final class Node: TopicTrieNode {
        var children: [String: Node] = [:]
        var subscribers: [ObjectIdentifier: Route] = [:]

        var isEmpty: Bool { children.isEmpty && subscribers.isEmpty }
    }

    private let root = Node()
    private var generation: UInt64 = 0
    private(set) var count = 0

    /// Adds or replaces (§3.8.4: same filter replaces the QoS) a subscription.
    func subscribe(_ filter: String, session: Session, qos: QoS) {
        var node = root
        for level in filter.split(separator: "/", omittingEmptySubsequences: false) {
            node = node.child(String(level))
        }
        let id = ObjectIdentifier(session)
        if node.subscribers.updateValue(Route(session: session, qos: qos), forKey: id) == nil {
            count += 1
        }
    }

    /// Removes a subscription; returns whether it existed. Empty nodes are pruned.
    @discardableResult
    func unsubscribe(_ filter: String, session: Session) -> Bool {
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var path: [Node] = [root]
        for level in levels {
            guard let child = path[path.count - 1].children[level] else { return false }
            path.append(child)
        }
        guard path[path.count - 1].subscribers.removeValue(forKey: ObjectIdentifier(session)) != nil else {
            return false
        }
        count -= 1
        var index = levels.count
        while index > 0, path[index].isEmpty {
            path[index - 1].children[levels[index - 1]] = nil
            index -= 1
        }
        return true
    }

    /// Every session with a subscription matching `topic`, once each, at the highest QoS
    /// of its matching subscriptions (§3.3.5: one copy at the maximum QoS).
    func match(_ topic: String) -> [Route] {
        generation &+= 1
        var result: [Route] = []
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        // [MQTT-4.7.2-1]: wildcards at the first level do not match `$` topics.
        let isSystem = topic.utf8.first == UInt8(ascii: "$")
        collect(root, levels[...], wildcardsAllowed: !isSystem, into: &result)
        return result
    }

    private func collect(_ node: Node, _ levels: ArraySlice<Substring>, wildcardsAllowed: Bool, into result: inout [Route]) {
        guard let level = levels.first else {
            add(node.subscribers, into: &result)
            // "sport/#" also matches "sport" (§4.7.1.2).
            if let hash = node.children["#"] { add(hash.subscribers, into: &result) }
            return
        }
        if let child = node.children[String(level)] {
            collect(child, levels.dropFirst(), wildcardsAllowed: true, into: &result)
        }
        guard wildcardsAllowed else { return }
        if let plus = node.children["+"] {
            collect(plus, levels.dropFirst(), wildcardsAllowed: true, into: &result)
        }
        if let hash = node.children["#"] { add(hash.subscribers, into: &result) }
    }

    private func add(_ subscribers: [ObjectIdentifier: Route], into result: inout [Route]) {
        for route in subscribers.values {
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
}
