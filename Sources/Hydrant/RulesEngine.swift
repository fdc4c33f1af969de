import Broker
import CSystem
import JSON
import MQTT
import Rules
import Synchronization

/// Counters of one rule, shown in `$SYS/hydrant/rules/<name>/…`.
final class RuleMetrics: Sendable {
    let matched = Atomic<UInt64>(0)
    let passed = Atomic<UInt64>(0)
    let failed = Atomic<UInt64>(0)
    let outputs = Atomic<UInt64>(0)
    /// Second of the last failure log line, so a failing rule logs at most once a second.
    let lastFailureLog = Atomic<Int64>(0)
}

/// A rule ready to run.
final class CompiledRule: Sendable {
    let definition: RuleDefinition
    let metrics = RuleMetrics()

    init(_ definition: RuleDefinition) {
        self.definition = definition
    }
}

/// Attaches rules to the broker's `PublishTap`: every accepted message is matched against
/// the rules' FROM filters (one trie walk), evaluated, and its records handed to actions.
/// Runs on the broker's event-loop thread.
public final class RulesEngine: PublishTap {
    /// Republished messages may trigger rules again, at most this many times in a chain.
    public static let maxHops = 8

    private let index = TopicFilterIndex<CompiledRule>()
    /// Topic → matching rules. Devices publish to the same topics again and again; this
    /// turns the trie walk into one hash lookup (the index never changes, so entries never
    /// go stale; the cache is only bounded).
    private let matches = Mutex<[String: [CompiledRule]]>([:])
    private let rules: [CompiledRule]
    private let injector: MessageInjector
    private let logger: Logger

    public init(pipelines: PipelineSet, injector: MessageInjector, logger: Logger) {
        rules = pipelines.rules.filter { !$0.disabled }.map(CompiledRule.init)
        for rule in rules { index.insert(rule.definition.statement.topicFilter, rule) }
        self.injector = injector
        self.logger = logger
    }

    public var ruleCount: Int { rules.count }

    public func publishAccepted(_ message: Message) {
        let matching = matches.withLock { cache in
            if let known = cache[message.topic] { return known }
            let found = index.match(message.topic)
            if cache.count >= 10_000 { cache.removeAll(keepingCapacity: true) }
            cache[message.topic] = found
            return found
        }
        guard !matching.isEmpty else { return }
        var seconds: Int64 = 0
        var nanos: Int32 = 0
        hy_realtime(&seconds, &nanos)
        let context = MessageContext(
            topic: message.topic, payload: message.payload, clientId: message.clientId, username: message.username,
            timestamp: seconds * 1000 + Int64(nanos / 1_000_000))
        for rule in matching { run(rule, context, message) }
    }

    private func run(_ rule: CompiledRule, _ context: MessageContext, _ message: Message) {
        let definition = rule.definition
        rule.metrics.matched.add(1, ordering: .relaxed)
        let records: [JSONValue]
        do {
            switch try definition.statement.evaluate(context, batchMode: definition.batchMode) {
            case .filtered: return
            case let .records(output): records = output
            }
        } catch {
            fail(rule, context, message, action: "rule", resource: definition.name, reason: error.message)
            return
        }
        rule.metrics.passed.add(1, ordering: .relaxed)
        for record in records {
            for action in definition.actions {
                if let reason = perform(action, record: record, context: context, hops: message.hops) {
                    fail(rule, context, message, action: action.kind, resource: action.resource, reason: reason)
                }
            }
        }
        rule.metrics.outputs.add(UInt64(records.count), ordering: .relaxed)
    }

    /// Runs one action; returns why it failed, or nil.
    private func perform(_ action: RuleAction, record: JSONValue, context: MessageContext, hops: Int) -> String? {
        switch action {
        case let .republish(template, qos):
            guard hops < Self.maxHops else {
                return "republish refused: message already republished \(hops) times (rule loop?)"
            }
            let topic: String
            do {
                topic = try template.render(context)
                try Topic.validateName(topic)
            } catch {
                return "republish topic '\(template.source)': \(error)"
            }
            var payload: [UInt8] = []
            record.serialize(into: &payload)
            injector.publish(Message(topic: topic, payload: payload, qos: qos, retain: false, clientId: context.clientId, username: context.username, hops: hops + 1))
            return nil
        case let .stream(name):
            // Stream delivery arrives with the Streams module; the daemon refuses to start
            // a pipeline with stream actions until then (Daemon.run), so this is not reached.
            return "stream '\(name)' is not available"
        }
    }

    /// Counts and logs a failure and hands IoT Core's error record to the errorAction.
    private func fail(_ rule: CompiledRule, _ context: MessageContext, _ message: Message, action: String, resource: String, reason: String) {
        let failures = rule.metrics.failed.add(1, ordering: .relaxed).newValue
        let definition = rule.definition
        let now = context.timestamp / 1000
        if rule.metrics.lastFailureLog.exchange(now, ordering: .relaxed) != now {
            logger.warning("rule failed rule=\(definition.name) client=\(message.clientId) topic=\(message.topic) action=\(action) failures_total=\(failures) reason=\"\(reason)\"")
        }
        guard let errorAction = definition.errorAction else { return }
        let record: JSONValue = [
            "ruleName": .string(definition.name),
            "topic": .string(message.topic),
            "clientId": .string(message.clientId),
            "base64OriginalPayload": .string(Base64.encode(message.payload)),
            "failures": [["failedAction": .string(action), "failedResource": .string(resource), "errorMessage": .string(reason)]],
        ]
        if let reason = perform(errorAction, record: record, context: context, hops: message.hops) {
            logger.warning("rule errorAction failed rule=\(definition.name) action=\(errorAction.kind) reason=\"\(reason)\"")
        }
    }

    public func sysTopics() -> [(String, String)] {
        rules.flatMap { rule -> [(String, String)] in
            let base = "hydrant/rules/\(rule.definition.name)/"
            return [
                (base + "matched", String(rule.metrics.matched.load(ordering: .relaxed))),
                (base + "passed", String(rule.metrics.passed.load(ordering: .relaxed))),
                (base + "failed", String(rule.metrics.failed.load(ordering: .relaxed))),
                (base + "outputs", String(rule.metrics.outputs.load(ordering: .relaxed))),
            ]
        }
    }
}
