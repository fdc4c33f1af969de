/// A node of a topic trie — subscriptions, retained messages, rule filters all walk topic
/// levels the same way; each keeps its own payload per node.
public protocol TopicTrieNode: AnyObject {
    associatedtype Level: Hashable
    var children: [Level: Self] { get set }
    init()
}

extension TopicTrieNode {
    /// The child for `level`, made if it is missing (the insert walk of every trie).
    @inlinable
    public func child(_ level: Level) -> Self {
        if let existing = children[level] { return existing }
        let made = Self()
        children[level] = made
        return made
    }
}
