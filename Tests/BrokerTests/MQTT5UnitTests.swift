@testable import Broker
import MQTT
import Testing

/// The MQTT 5 pieces on their own: expiry arithmetic with an injected clock, the outbound
/// alias table's recency order.
@Suite struct MQTT5UnitTests {
    @Test(arguments: [
        (60 as UInt32, 1_000 as Int64, 1_000 as Int64, 60 as UInt32?),
        (60, 1_000, 1_059, 1),
        (60, 1_000, 1_060, 0),  // expired exactly at the interval
        (60, 1_000, 5_000, 0),
        (60, 1_000, 900, 60),  // a clock that went back never extends it
    ] as [(UInt32, Int64, Int64, UInt32?)])
    func remainingExpiry(_ interval: UInt32, _ receivedAt: Int64, _ now: Int64, _ left: UInt32?) {
        let message = Message(topic: "t", payload: [], qos: .atMostOnce, retain: false, clientId: "", expiryInterval: interval, receivedAt: receivedAt)
        #expect(message.remainingExpiry(now: now) == left)
        #expect(Message(topic: "t", payload: [], qos: .atMostOnce, retain: false, clientId: "").remainingExpiry(now: now) == nil)
    }

    @Test func outboundAliasesAreAssignedThenReusedLeastRecentlyUsedFirst() {
        var aliases = TopicAliases(maximum: 3)
        #expect(aliases.use("a") == .assign(1))
        #expect(aliases.use("b") == .assign(2))
        #expect(aliases.use("c") == .assign(3))
        #expect(aliases.use("a") == .known(1))  // a is now the most recent; b the least
        #expect(aliases.use("d") == .assign(2))  // replaces b
        #expect(aliases.use("b") == .assign(3))  // replaces c
        #expect(aliases.use("a") == .known(1))
        #expect(aliases.use("d") == .known(2))
        #expect(aliases.use("e") == .assign(3))  // b was least recent
        var one = TopicAliases(maximum: 1)
        #expect(one.use("x") == .assign(1))
        #expect(one.use("x") == .known(1))
        #expect(one.use("y") == .assign(1))
        #expect(one.use("x") == .assign(1))
    }

    /// Twin test: the O(1) table against a list kept in recency order.
    @Test func aliasTableMatchesASimpleModel() {
        var table = TopicAliases(maximum: 5)
        var model: [(topic: String, alias: UInt16)] = []  // most recent last
        var state: UInt64 = 7
        for _ in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            let topic = "t/\(state >> 60)"
            let expected: TopicAliases.Use
            if let index = model.firstIndex(where: { $0.topic == topic }) {
                expected = .known(model[index].alias)
                model.append(model.remove(at: index))
            } else if model.count < 5 {
                expected = .assign(UInt16(model.count + 1))
                model.append((topic, UInt16(model.count + 1)))
            } else {
                let evicted = model.removeFirst()
                expected = .assign(evicted.alias)
                model.append((topic, evicted.alias))
            }
            #expect(table.use(topic) == expected)
        }
    }
}
