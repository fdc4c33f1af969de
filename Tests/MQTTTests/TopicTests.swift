import MQTT
import Testing

/// The two topic lists of the article (../shared/mqtt-iot-core-article.txt).
private let articleTopicsA = [
    "factory/1/machine/1/status",
    "factory/1/machine/32/status",
    "factory/2/machine/7/status",
    "office/7/machine/23/status",
    "office/8/sensor/42/measurements",
]
private let articleTopicsB = [
    "factory/1/machine/1/status",
    "factory/1/machine/1/alerts",
    "factory/2/machine/3/status",
    "factory/1/vehicle/1/alerts",
    "office/1/machine/23/status",
    "office/2/machine/16/status",
    "office/2/machine/16/alerts",
]

struct ArticleCase: Sendable, CustomTestStringConvertible {
    let filter: String
    let topics: [String]
    /// 1-based positions in `topics` the article says the filter matches.
    let matching: Set<Int>
    var testDescription: String { filter }
}

@Suite struct TopicMatchingTests {
    @Test(arguments: [
        ArticleCase(filter: "factory/1/machine/#", topics: articleTopicsA, matching: [1, 2]),
        ArticleCase(filter: "factory/#", topics: articleTopicsA, matching: [1, 2, 3]),
        ArticleCase(filter: "#", topics: articleTopicsA, matching: [1, 2, 3, 4, 5]),
        ArticleCase(filter: "office/#", topics: articleTopicsA, matching: [4, 5]),
        ArticleCase(filter: "factory/+/machine/+/status", topics: articleTopicsB, matching: [1, 3]),
        ArticleCase(filter: "+/+/machine/+/alerts", topics: articleTopicsB, matching: [2, 7]),
        ArticleCase(filter: "factory/+/machine/#", topics: articleTopicsB, matching: [1, 2, 3]),
    ])
    func articleExamples(_ example: ArticleCase) throws {
        try Topic.validateFilter(example.filter)
        for (index, topic) in example.topics.enumerated() {
            try Topic.validateName(topic)
            #expect(Topic.matches(filter: example.filter, topic: topic) == example.matching.contains(index + 1), "\(example.filter) vs \(topic)")
        }
    }

    /// The article's later point: a new topic suddenly matches a broad filter.
    @Test func broadFilterPicksUpNewTopic() {
        #expect(Topic.matches(filter: "factory/1/machine/#", topic: "factory/1/machine/1/measurements"))
    }

    struct MatchCase: Sendable {
        let filter: String
        let topic: String
        let matches: Bool
    }

    /// §4.7 examples and Mosquitto's valid-but-non-matching list, against "a/b/c" style topics.
    @Test(arguments: [
        MatchCase(filter: "sport/tennis/player1/#", topic: "sport/tennis/player1", matches: true),
        MatchCase(filter: "sport/tennis/player1/#", topic: "sport/tennis/player1/ranking", matches: true),
        MatchCase(filter: "sport/tennis/player1/#", topic: "sport/tennis/player1/score/wimbledon", matches: true),
        MatchCase(filter: "sport/#", topic: "sport", matches: true),
        MatchCase(filter: "sport/tennis/+", topic: "sport/tennis/player1", matches: true),
        MatchCase(filter: "sport/tennis/+", topic: "sport/tennis/player1/ranking", matches: false),
        MatchCase(filter: "sport/+", topic: "sport", matches: false),
        MatchCase(filter: "sport/+", topic: "sport/", matches: true),
        MatchCase(filter: "+/+", topic: "/finance", matches: true),
        MatchCase(filter: "/+", topic: "/finance", matches: true),
        MatchCase(filter: "+", topic: "/finance", matches: false),
        MatchCase(filter: "#", topic: "$SYS/broker/uptime", matches: false),
        MatchCase(filter: "+/monitor/Clients", topic: "$SYS/monitor/Clients", matches: false),
        MatchCase(filter: "$SYS/#", topic: "$SYS/monitor/Clients", matches: true),
        MatchCase(filter: "$SYS/monitor/+", topic: "$SYS/monitor/Clients", matches: true),
        MatchCase(filter: "a/b/+", topic: "a/b/c", matches: true),
        MatchCase(filter: "a/+/c", topic: "a/b/c", matches: true),
        MatchCase(filter: "a/#", topic: "a/b/c", matches: true),
        MatchCase(filter: "a/b/#", topic: "a/b/c", matches: true),
        MatchCase(filter: "#", topic: "a/b/c", matches: true),
        MatchCase(filter: "+/b/c", topic: "a/b/c", matches: true),
        MatchCase(filter: "+/+/+", topic: "a/b/c", matches: true),
        MatchCase(filter: "a/b", topic: "a/b/c", matches: false),
        MatchCase(filter: "a/+", topic: "a/b/c", matches: false),
        MatchCase(filter: "+/a", topic: "a/b/c", matches: false),
        MatchCase(filter: "a/b/c/d", topic: "a/b/c", matches: false),
        MatchCase(filter: "+/c", topic: "a/b/c", matches: false),
        MatchCase(filter: "a/b/c/#", topic: "a/b/c", matches: true),
        MatchCase(filter: "A/b/c", topic: "a/b/c", matches: false),
        MatchCase(filter: "a//c", topic: "a//c", matches: true),
        MatchCase(filter: "a/+/c", topic: "a//c", matches: true),
    ])
    func matching(_ example: MatchCase) throws {
        try Topic.validateFilter(example.filter)
        #expect(Topic.matches(filter: example.filter, topic: example.topic) == example.matches)
        // The same table through both walks of the index: filter stored, topic stored.
        let filters = TopicTree<String>()
        filters.update(example.filter) { $0 = example.filter }
        var found: [String] = []
        filters.forEachMatching(topic: example.topic) { found.append($0) }
        #expect(found == (example.matches ? [example.filter] : []), "forEachMatching(topic:)")
        let topics = TopicTree<String>()
        topics.update(example.topic) { $0 = example.topic }
        found = []
        topics.forEachMatched(by: example.filter) { found.append($0) }
        #expect(found == (example.matches ? [example.topic] : []), "forEachMatched(by:)")
    }

    @Test(arguments: ["a/b/+", "a/+/c", "a/#", "a/b/#", "#", "+/b/c", "+/+/+", "+", "/", "a//b", "$SYS/#", "ü/ñ/+"])
    func validFilters(_ filter: String) {
        #expect(Topic.isValidFilter(filter))
    }

    @Test(arguments: ["a/#/c", "a+/b/c", "a/b#", "a/b+/c", "+b/c", "#/c", "##", "a/++", "", "a/\u{0}"])
    func invalidFilters(_ filter: String) {
        #expect(!Topic.isValidFilter(filter))
    }

    @Test(arguments: ["a/+", "#", "a/#", "+", "", "a\u{0}b"])
    func invalidTopicNames(_ name: String) {
        #expect(throws: MQTTError.self) { try Topic.validateName(name) }
    }

    @Test func lengthLimits() throws {
        try Topic.validateName(String(repeating: "a", count: 65_535))
        #expect(throws: MQTTError.self) { try Topic.validateName(String(repeating: "a", count: 65_536)) }
        #expect(!Topic.isValidFilter(String(repeating: "a", count: 65_536)))
    }
}
