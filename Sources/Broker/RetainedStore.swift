import MQTT

/// Retained messages, one per topic, in their own tree: the lookup runs from a filter to
/// the stored topics, the reverse of subscription matching (Mosquitto's retain.c).
final class RetainedStore {
    private final class Node: TopicTrieNode {
        var children: [String: Node] = [:]
        var message: Message?
    }

    private let root = Node()
    private(set) var count = 0

    /// Stores `message` for its topic, or clears the topic when the payload is empty
    /// ([MQTT-3.3.1-10], [MQTT-3.3.1-11]).
    func store(_ message: Message) {
        let levels = message.topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if message.payload.isEmpty {
            remove(levels)
            return
        }
        var node = root
        for level in levels {
            node = node.child(level)
        }
        if node.message == nil { count += 1 }
        node.message = message
    }

    private func remove(_ levels: [String]) {
        var path: [Node] = [root]
        for level in levels {
            guard let child = path[path.count - 1].children[level] else { return }
            path.append(child)
        }
        guard path[path.count - 1].message != nil else { return }
        path[path.count - 1].message = nil
        count -= 1
        var index = levels.count
        while index > 0, path[index].message == nil, path[index].children.isEmpty {
            path[index - 1].children[levels[index - 1]] = nil
            index -= 1
        }
    }

    /// The retained messages whose topics match `filter` (a valid filter).
    func matching(_ filter: String) -> [Message] {
        var result: [Message] = []
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        collect(root, levels[...], atRoot: true, into: &result)
        return result
    }

    private func collect(_ node: Node, _ levels: ArraySlice<Substring>, atRoot: Bool, into result: inout [Message]) {
        guard let level = levels.first else {
            if let message = node.message { result.append(message) }
            return
        }
        switch level {
        case "#":
            // Matches the parent level too (§4.7.1.2), then everything below.
            if !atRoot, let message = node.message { result.append(message) }
            for (key, child) in node.children where !(atRoot && key.hasPrefix("$")) {
                collectAll(child, into: &result)
            }
        case "+":
            for (key, child) in node.children where !(atRoot && key.hasPrefix("$")) {
                collect(child, levels.dropFirst(), atRoot: false, into: &result)
            }
        default:
            if let child = node.children[String(level)] {
                collect(child, levels.dropFirst(), atRoot: false, into: &result)
            }
        }
    }

    private func collectAll(_ node: Node, into result: inout [Message]) {
        if let message = node.message { result.append(message) }
        for child in node.children.values { collectAll(child, into: &result) }
    }
}
