import MQTT
import Testing

/// `TopicTree`, the index behind subscriptions, retained messages and rule filters: its
/// walks (the fast paths) give what `Topic.matches` (the definition) gives, entries and
/// nodes come and go.
@Suite struct TopicTreeTests {
    /// Levels drawn from a small alphabet so filters and topics collide often, with `$`
    /// and empty levels.
    static let levels = ["a", "b", "$SYS", "", "c"]

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    static func topic(_ random: inout Generator) -> String {
        (0..<Int.random(in: 1...4, using: &random)).map { _ in levels.randomElement(using: &random)! }.joined(separator: "/")
    }

    static func filter(_ random: inout Generator) -> String {
        let count = Int.random(in: 1...4, using: &random)
        return (0..<count).map { index -> String in
            switch Int.random(in: 0..<6, using: &random) {
            case 0: return "+"
            case 1 where index == count - 1: return "#"
            default: return levels.randomElement(using: &random)!
            }
        }.joined(separator: "/")
    }

    /// Twin test: 150 random filters and topics; every walk's result equals the pairwise definition.
    @Test func walksEqualTheDefinition() {
        var random = Generator(state: 12)
        let filters = Set((0..<150).map { _ in Self.filter(&random) }.filter(Topic.isValidFilter))
        let topics = Set((0..<150).map { _ in Self.topic(&random) }.filter { (try? Topic.validateName($0)) != nil })
        let filterTree = TopicTree<String>()
        #expect(filters.count > 50 && topics.count > 50)
        for filter in filters {
            filterTree.update(filter) { $0 = filter }
        }
        let topicTree = TopicTree<String>()
        for topic in topics { topicTree.update(topic) { $0 = topic } }
        for topic in topics {
            var found: [String] = []
            filterTree.forEachMatching(topic: topic) { found.append($0) }
            #expect(found.count == Set(found).count, "each filter once for \(topic)")
            #expect(Set(found) == filters.filter { Topic.matches(filter: $0, topic: topic) }, "filters matching \(topic)")
        }
        for filter in filters {
            var found: [String] = []
            topicTree.forEachMatched(by: filter) { found.append($0) }
            #expect(found.count == Set(found).count, "each topic once for \(filter)")
            #expect(Set(found) == topics.filter { Topic.matches(filter: filter, topic: $0) }, "topics matched by \(filter)")
        }
    }

    @Test func entriesChangeAndEmptyPathsArePruned() {
        let tree = TopicTree<[Int]>()
        #expect(tree.isEmpty)
        tree.update("a/+/c") { $0 = [1] }
        tree.update("a/+/c") { $0!.append(2) }
        tree.update("a/#") { $0 = [3] }
        #expect(tree.entry(at: "a/+/c") == [1, 2])
        #expect(tree.entry(at: "a/+") == nil, "an inner node has no entry")
        var found: [[Int]] = []
        tree.forEachMatching(topic: "a/b/c") { found.append($0) }
        #expect(found == [[1, 2], [3]])
        tree.update("a/+/c") { $0 = nil }
        tree.update("a/#") { $0 = nil }
        #expect(tree.isEmpty, "nothing kept once every entry is gone")
        tree.update("x/y") { _ in }  // a look that sets nothing leaves nothing behind
        #expect(tree.isEmpty)
    }

    /// [MQTT-4.7.2-1] in both directions, and '#' matching its parent level.
    @Test func dollarTopicsAndParentLevels() {
        let retained = TopicTree<String>()
        for topic in ["$SYS/broker/uptime", "sport", "sport/tennis", "$share"] { retained.update(topic) { $0 = topic } }
        func matched(_ filter: String) -> Set<String> {
            var found: Set<String> = []
            retained.forEachMatched(by: filter) { found.insert($0) }
            return found
        }
        #expect(matched("#") == ["sport", "sport/tennis"])
        #expect(matched("+") == ["sport"])
        #expect(matched("+/tennis") == ["sport/tennis"])
        #expect(matched("$SYS/#") == ["$SYS/broker/uptime"])
        #expect(matched("sport/#") == ["sport", "sport/tennis"])
        #expect(matched("$share") == ["$share"])
    }
}
