import MQTT

/// Retained messages, one per topic: the MQTT module's `TopicTree` keyed by topic name,
/// looked up from a filter — the reverse of subscription matching (Mosquitto's retain.c).
final class RetainedStore {
    private let tree = TopicTree<Message>()
    private(set) var count = 0

    /// Stores `message` for its topic, or clears the topic when the payload is empty
    /// ([MQTT-3.3.1-10], [MQTT-3.3.1-11]).
    func store(_ message: Message) {
        if message.payload.isEmpty {
            guard tree.entry(at: message.topic) != nil else { return }
            tree.update(message.topic) { $0 = nil }
            count -= 1
            return
        }
        let replaced = tree.update(message.topic) { stored -> Bool in
            defer { stored = message }
            return stored != nil
        }
        if !replaced { count += 1 }
    }

    /// The retained messages whose topics match `filter` (a valid filter).
    func matching(_ filter: String) -> [Message] {
        var result: [Message] = []
        tree.forEachMatched(by: filter) { result.append($0) }
        return result
    }
}
