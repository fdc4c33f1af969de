/// The one topic index of the broker and the rules: a tree with one node per topic level,
/// each node holding an optional entry chosen by its user — subscriptions by session, a
/// retained message, the rules of a filter. Paths are filters (subscriptions, rules:
/// matched by a topic name, `forEachMatching(topic:)`) or topic names (retained messages:
/// matched by a filter, `forEachMatched(by:)`); both walks apply §4.7's wildcards and the
/// `$` rule (`Topic.wildcardMatches`) in one place. Not thread-safe: one owner, or built
/// once and then only read.
public final class TopicTree<Entry> {
    @usableFromInline
    final class Node {
        @usableFromInline var children: [String: Node] = [:]
        @usableFromInline var entry: Entry?

        @usableFromInline init() {}

        @usableFromInline var isPrunable: Bool { entry == nil && children.isEmpty }
    }

    @usableFromInline let root = Node()

    public init() {}

    public var isEmpty: Bool { root.isPrunable }

    /// The entry at `path` (a filter or a topic name), if any.
    @inlinable
    public func entry(at path: String) -> Entry? {
        var node = root
        for level in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard let child = node.children[String(level)] else { return nil }
            node = child
        }
        return node.entry
    }

    /// Changes the entry at `path`, making the nodes on the way; a path left with no entry
    /// and no children is removed, so the tree never keeps what nothing uses.
    @inlinable
    @discardableResult
    public func update<Result>(_ path: String, _ body: (inout Entry?) -> Result) -> Result {
        let levels = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var nodes: [Node] = [root]
        nodes.reserveCapacity(levels.count + 1)
        for level in levels {
            let parent = nodes[nodes.count - 1]
            if let child = parent.children[level] {
                nodes.append(child)
            } else {
                let made = Node()
                parent.children[level] = made
                nodes.append(made)
            }
        }
        let result = body(&nodes[nodes.count - 1].entry)
        var index = levels.count
        while index > 0, nodes[index].isPrunable {
            nodes[index - 1].children[levels[index - 1]] = nil
            index -= 1
        }
        return result
    }

    /// Visits the entry of every stored filter that matches `topic` (a valid topic name)
    /// (§4.7.1, §4.7.2). An entry is visited once per matching filter.
    @inlinable
    public func forEachMatching(topic: String, _ visit: (Entry) -> Void) {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        matchFilters(root, levels[...], depth: 0, visit)
    }

    @inlinable
    func matchFilters(_ node: Node, _ levels: ArraySlice<Substring>, depth: Int, _ visit: (Entry) -> Void) {
        guard let level = levels.first else {
            if let entry = node.entry { visit(entry) }
            // "sport/#" also matches "sport" (§4.7.1.2).
            if let entry = node.children["#"]?.entry { visit(entry) }
            return
        }
        if let child = node.children[String(level)] {
            matchFilters(child, levels.dropFirst(), depth: depth + 1, visit)
        }
        guard Topic.wildcardMatches(level, depth: depth) else { return }
        if let plus = node.children["+"] {
            matchFilters(plus, levels.dropFirst(), depth: depth + 1, visit)
        }
        if let entry = node.children["#"]?.entry { visit(entry) }
    }

    /// Visits the entry of every stored topic name that `filter` (a valid filter) matches.
    @inlinable
    public func forEachMatched(by filter: String, _ visit: (Entry) -> Void) {
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        matchTopics(root, levels[...], depth: 0, visit)
    }

    @inlinable
    func matchTopics(_ node: Node, _ levels: ArraySlice<Substring>, depth: Int, _ visit: (Entry) -> Void) {
        guard let level = levels.first else {
            if let entry = node.entry { visit(entry) }
            return
        }
        switch level {
        case "#":
            // Matches the parent level too (§4.7.1.2), then everything below.
            if depth > 0, let entry = node.entry { visit(entry) }
            for (key, child) in node.children where Topic.wildcardMatches(key[...], depth: depth) {
                visitAll(child, visit)
            }
        case "+":
            for (key, child) in node.children where Topic.wildcardMatches(key[...], depth: depth) {
                matchTopics(child, levels.dropFirst(), depth: depth + 1, visit)
            }
        default:
            if let child = node.children[String(level)] {
                matchTopics(child, levels.dropFirst(), depth: depth + 1, visit)
            }
        }
    }

    @inlinable
    func visitAll(_ node: Node, _ visit: (Entry) -> Void) {
        if let entry = node.entry { visit(entry) }
        for child in node.children.values { visitAll(child, visit) }
    }
}
