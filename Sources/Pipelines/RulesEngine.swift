import Broker
import CSystem
import Durable
import JSON
import MQTT
import Rules
import Streams
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
    /// Set for `SELECT *, … AS …` rules whose actions are all streams: their records are
    /// spliced from the payload's bytes (the payload's own formatting is kept in the lake).
    /// Republished messages keep the compact serialization of the general path.
    let spliceFields: [(name: String, expression: Expression)]?
    /// For each action, and the errorAction: the index of its stream in the engine's list
    /// (nil for other actions and for streams that are not running).
    let streamTargets: [Int?]
    let errorStreamTarget: Int?

    init(_ definition: RuleDefinition, streamIndex: [String: Int]) {
        self.definition = definition
        func target(_ action: RuleAction?) -> Int? {
            if case let .stream(name)? = action { return streamIndex[name] }
            return nil
        }
        streamTargets = definition.actions.map(target)
        errorStreamTarget = target(definition.errorAction)
        let streamsOnly = definition.actions.allSatisfy { if case .stream = $0 { return true } else { return false } }
        spliceFields = definition.batchMode || !streamsOnly ? nil : definition.statement.spliceFields
    }
}

/// A rule whose filter matches a topic, with what it adds to every record on that topic
/// when that depends on the topic alone (see `Statement.spliceSuffix`).
struct RuleMatch {
    let rule: CompiledRule
    let suffix: Statement.SpliceSuffix?
}

/// A rule's output: a value, or (spliced rules) its bytes and the fields the rule added.
enum RuleOutput {
    case value(JSONValue)
    /// One NDJSON line (newline included).
    case line([UInt8], added: [(String, JSONValue)])
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
    /// go stale; the cache is only bounded). Spliced rules keep their topic-only fields here.
    private let matches = Mutex<[String: [RuleMatch]]>([:])
    let rules: [CompiledRule]
    private let injector: MessageInjector
    let streams: [DeliveryStream]
    /// Records for each stream (same index) from the current event-loop round, handed over
    /// together at its end (`roundEnded`).
    private let outbox: Mutex<[[StreamRecord]]>
    /// Per stream, records waiting for a prerequisite (a QoS 2 id durable in the session
    /// log) and every later record of that stream behind them: a stream receives its
    /// records in the order of their numbers.
    private let parked: Mutex<[[(record: StreamRecord, prerequisite: DurabilityMark?)]]>
    /// Records in `parked` (the common case, none, costs no lock per record).
    private let parkedCount = Atomic<Int>(0)
    private let flowControl: FlowControl?
    private let logger: Logger

    public init(pipelines: PipelineSet, injector: MessageInjector, streams: [String: DeliveryStream] = [:], flowControl: FlowControl? = nil, logger: Logger) {
        self.streams = streams.values.sorted { $0.config.name < $1.config.name }
        let streamIndex = Dictionary(uniqueKeysWithValues: self.streams.enumerated().map { ($1.config.name, $0) })
        outbox = Mutex(Array(repeating: [], count: streamIndex.count))
        parked = Mutex(Array(repeating: [], count: streamIndex.count))
        self.flowControl = flowControl
        rules = pipelines.rules.filter { !$0.disabled }.map { CompiledRule($0, streamIndex: streamIndex) }
        for rule in rules { index.insert(rule.definition.statement.topicFilter, rule) }
        self.injector = injector
        self.logger = logger
    }

    public var ruleCount: Int { rules.count }

    public var logs: [Watermark] { streams.map(\.watermark) }

    public func publishAccepted(_ message: Message, marks: inout DurabilityMarks) {
        evaluate(message, marks: &marks, only: nil)
    }

    /// Streams whose journal lost the first copy get the records again; the others, and
    /// republish actions (their messages were routed exactly once), do not.
    public func publishResent(_ message: Message, previous: [LogMark]?, marks: inout DurabilityMarks) {
        var lost: Set<Int> = []
        for (index, stream) in streams.enumerated() {
            guard let previous else {
                lost.insert(index)  // a log of an older format did not say: at-least-once
                continue
            }
            if let mark = previous.first(where: { $0.log == stream.watermark.name }), !stream.watermark.isDurable(mark.last) { lost.insert(index) }
        }
        guard !lost.isEmpty else { return }
        evaluate(message, marks: &marks, only: lost)
    }

    /// `only`: the streams to hand records to (nil: every action runs).
    private func evaluate(_ message: Message, marks: inout DurabilityMarks, only: Set<Int>?) {
        let matching = matches.withLock { cache in
            if let known = cache[message.topic] { return known }
            let topicOnly = MessageContext(topic: message.topic, payload: [], timestamp: 0)
            let found = index.match(message.topic).map { rule in
                RuleMatch(rule: rule, suffix: rule.spliceFields.flatMap { rule.definition.statement.spliceSuffix(topicOnly, fields: $0) })
            }
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
            timestamp: seconds * 1000 + Int64(nanos / 1_000_000), properties: message.properties)
        for match in matching { run(match, context, message, &marks, only) }
    }

    private func run(_ match: RuleMatch, _ context: MessageContext, _ message: Message, _ marks: inout DurabilityMarks, _ only: Set<Int>?) {
        let rule = match.rule
        let definition = rule.definition
        rule.metrics.matched.add(1, ordering: .relaxed)
        do {
            if let fields = rule.spliceFields, let spliced = try definition.statement.evaluateSpliced(context, fields: fields, suffix: match.suffix, newline: true) {
                guard case let .line(line, added) = spliced else { return }  // filtered
                rule.metrics.passed.add(1, ordering: .relaxed)
                deliver(.line(line, added: added), rule, context, message, &marks, only)  // no array for the one output
                rule.metrics.outputs.add(1, ordering: .relaxed)
                return
            }
            // Other rules, and messages a spliced rule cannot splice (its general path).
            switch try definition.statement.evaluate(context, batchMode: definition.batchMode) {
            case .filtered: return
            case let .records(records):
                rule.metrics.passed.add(1, ordering: .relaxed)
                for record in records { deliver(.value(record), rule, context, message, &marks, only) }
                rule.metrics.outputs.add(UInt64(records.count), ordering: .relaxed)
            }
        } catch {
            fail(rule, context, message, &marks, only, action: "rule", resource: definition.name, reason: error.message)
        }
    }

    /// Hands one output of `rule` to each of its actions.
    private func deliver(_ output: RuleOutput, _ rule: CompiledRule, _ context: MessageContext, _ message: Message, _ marks: inout DurabilityMarks, _ only: Set<Int>?) {
        for (action, target) in zip(rule.definition.actions, rule.streamTargets) {
            if let only, !(target.map(only.contains) ?? false) { continue }
            if let reason = perform(action, target: target, output: output, rule: rule.definition.name, context: context, message: message, marks: &marks) {
                fail(rule, context, message, &marks, only, action: action.kind, resource: action.resource, reason: reason)
            }
        }
    }

    /// Runs one action (`target`: its stream's index); returns why it failed, or nil.
    private func perform(
        _ action: RuleAction, target: Int?, output: RuleOutput, rule: String, context: MessageContext, message: Message, marks: inout DurabilityMarks
    ) -> String? {
        let hops = message.hops
        switch action {
        case let .republish(template, qos, headers):
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
            switch output {
            case let .value(record): record.serialize(into: &payload)
            case let .line(line, _): payload = Array(line.dropLast())  // not reached today: spliced rules feed streams only
            }
            var properties = Properties()
            var expiry: UInt32?
            if !headers.isEmpty {
                do {
                    (properties, expiry) = try Self.render(headers, context)
                } catch {
                    return "republish headers: \(error.message)"
                }
            }
            var receivedAt: Int64 = 0
            if expiry != nil { receivedAt = context.timestamp / 1000 }
            injector.publish(
                Message(
                    topic: topic, payload: payload, qos: qos, retain: false, clientId: context.clientId, username: context.username, hops: hops + 1,
                    properties: properties, expiryInterval: expiry, receivedAt: receivedAt))
            return nil
        case let .stream(name):
            guard let target else { return "stream '\(name)' is not running" }
            let stream = streams[target]
            if stream.isCongested, let flowControl {
                flowControl.pause(publisherOf: message, reason: stream.pauseReason)
                stream.pausedPublishers()
            }
            // The event loop numbers the record; the publish is acknowledged once the
            // stream's watermark has passed that number.
            let sequence = stream.reserveSequence()
            marks.add(stream.watermark, sequence)
            let record: StreamRecord
            switch output {
            case let .value(value):
                record = StreamRecord(
                    record: value, arrivalMillis: context.timestamp, rule: rule, topic: context.topic, clientId: context.clientId,
                    sequence: sequence, sizeHint: message.payload.count)
            case let .line(line, added):
                record = StreamRecord(
                    line: line, addedFields: added, arrivalMillis: context.timestamp, rule: rule, topic: context.topic, clientId: context.clientId,
                    sequence: sequence, sizeHint: message.payload.count)
            }
            let prerequisite = marks.prerequisite
            let queued = (prerequisite != nil || parkedCount.load(ordering: .relaxed) > 0) && parked.withLock { parked in
                guard prerequisite != nil || !parked[target].isEmpty else { return false }
                parked[target].append((record, prerequisite))
                parkedCount.add(1, ordering: .relaxed)
                return true
            }
            if !queued { outbox.withLock { $0[target].append(record) } }
            return nil
        }
    }

    /// The MQTT 5 properties a republish action's headers give for this message.
    static func render(_ headers: RepublishHeaders, _ context: MessageContext) throws(RuleEvaluationError) -> (Properties, UInt32?) {
        var properties = Properties()
        if let template = headers.payloadFormatIndicator {
            switch try template.render(context) {
            case "UTF8_DATA": properties.payloadFormatIndicator = 1
            case "UNSPECIFIED_BYTES": properties.payloadFormatIndicator = 0
            case let other: throw RuleEvaluationError("payloadFormatIndicator '\(other)' is not UTF8_DATA or UNSPECIFIED_BYTES")
            }
        }
        if let template = headers.contentType { properties.contentType = try template.render(context) }
        if let template = headers.responseTopic {
            let topic = try template.render(context)
            guard (try? Topic.validateName(topic)) != nil else { throw RuleEvaluationError("responseTopic '\(topic)' is not a topic name") }
            properties.responseTopic = topic
        }
        if let template = headers.correlationData {
            let text = try template.render(context)
            guard let bytes = Base64.decode(text) else { throw RuleEvaluationError("correlationData '\(text)' is not base64") }
            properties.correlationData = bytes
        }
        var expiry: UInt32?
        if let template = headers.messageExpiry {
            let text = try template.render(context)
            guard let seconds = UInt32(text) else { throw RuleEvaluationError("messageExpiry '\(text)' is not a number of seconds") }
            expiry = seconds
        }
        for (key, value) in headers.userProperties {
            properties.userProperties.append(.init(try key.render(context), try value.render(context)))
        }
        return (properties, expiry)
    }

    /// Counts and logs a failure and hands IoT Core's error record to the errorAction.
    private func fail(
        _ rule: CompiledRule, _ context: MessageContext, _ message: Message, _ marks: inout DurabilityMarks, _ only: Set<Int>?, action: String, resource: String,
        reason: String
    ) {
        let failures = rule.metrics.failed.add(1, ordering: .relaxed).newValue
        let definition = rule.definition
        let now = context.timestamp / 1000
        if rule.metrics.lastFailureLog.exchange(now, ordering: .relaxed) != now {
            logger.warning("rule failed rule=\(definition.name) client=\(message.clientId) topic=\(message.topic) action=\(action) failures_total=\(failures) reason=\"\(reason)\"")
        }
        guard let errorAction = definition.errorAction else { return }
        if let only, !(rule.errorStreamTarget.map(only.contains) ?? false) { return }
        let record: JSONValue = [
            "ruleName": .string(definition.name),
            "topic": .string(message.topic),
            "clientId": .string(message.clientId),
            "base64OriginalPayload": .string(Base64.encode(message.payload)),
            "failures": [["failedAction": .string(action), "failedResource": .string(resource), "errorMessage": .string(reason)]],
        ]
        if let reason = perform(errorAction, target: rule.errorStreamTarget, output: .value(record), rule: definition.name, context: context, message: message, marks: &marks) {
            logger.warning("rule errorAction failed rule=\(definition.name) action=\(errorAction.kind) reason=\"\(reason)\"")
        }
    }

    public func roundEnded() {
        outbox.withLock { outbox in
            if parkedCount.load(ordering: .relaxed) > 0 { releaseParked(into: &outbox) }
            for index in outbox.indices where !outbox[index].isEmpty {
                streams[index].submit(contentsOf: &outbox[index])
            }
        }
    }

    /// Moves each stream's parked records whose prerequisite is now durable, up to the
    /// first one still waiting, behind the round's records.
    private func releaseParked(into outbox: inout [[StreamRecord]]) {
        parked.withLock { parked in
            for index in parked.indices where !parked[index].isEmpty {
                let ready = parked[index].prefix { $0.prerequisite?.isDurable ?? true }.count
                guard ready > 0 else { continue }
                outbox[index].append(contentsOf: parked[index][..<ready].map(\.record))
                parked[index].removeFirst(ready)
                parkedCount.subtract(ready, ordering: .relaxed)
            }
        }
    }
}
