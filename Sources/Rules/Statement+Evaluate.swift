import JSON
import MQTT

#if canImport(Glibc)
import Glibc
#endif

extension Statement {
    public enum Outcome: Sendable, Equatable {
        /// WHERE was not true: no output, not an error.
        case filtered
        /// The rule's output records (one, or one per element in batch mode).
        case records([JSONValue])
    }

    /// Runs the statement against one message. WHERE is evaluated first and sees the
    /// payload, not the SELECT aliases (as in IoT Core).
    public func evaluate(_ context: MessageContext, batchMode: Bool = false) throws(RuleEvaluationError) -> Outcome {
        if let condition, try Evaluator.evaluate(condition, context) != .bool(true) {
            return .filtered
        }
        let output: JSONValue?
        switch projection {
        case let .value(expression):
            output = try Evaluator.evaluate(expression, context)
        case let .items(items):
            output = try select(items, context)
        }
        guard let output else { return .records([]) }
        if batchMode, case let .array(elements) = output { return .records(elements) }
        return .records([output])
    }

    private func select(_ items: [Projection.Item], _ context: MessageContext) throws(RuleEvaluationError) -> JSONValue {
        if items.count == 1, case .all = items[0] { return try context.json() }
        var object = JSONObject(capacity: items.count)
        for item in items {
            switch item {
            case .all:
                guard case let .object(payload) = try context.json() else {
                    throw RuleEvaluationError("SELECT * with other fields needs a JSON object payload")
                }
                // `SELECT *, …` (the common shape) starts from the payload object as it is
                // instead of re-inserting its fields one by one.
                if object.isEmpty {
                    object = payload
                } else {
                    for (key, value) in payload { object[key] = value }
                }
            case let .expression(expression, name):
                if let value = try Evaluator.evaluate(expression, context) { object[name] = value }
            }
        }
        return .object(object)
    }
}

extension Statement {
    /// `SELECT *, <expr> AS <name>, … FROM …` (or `SELECT *` alone): the output is the payload
    /// object with fields added, so it can be written by splicing the added fields into the
    /// payload's own bytes instead of building a tree and serializing it again (the lake's
    /// hot path, issue #5). nil for every other projection.
    public var spliceFields: [(name: String, expression: Expression)]? {
        guard case let .items(items) = projection, case .all? = items.first else { return nil }
        var fields: [(name: String, expression: Expression)] = []
        for item in items.dropFirst() {
            guard case let .expression(expression, name) = item else { return nil }
            guard !fields.contains(where: { $0.name == name }) else { return nil }
            fields.append((name, expression))
        }
        return fields
    }

    public enum SplicedOutcome: Sendable {
        case filtered
        /// The output record as compact-enough JSON on one line (a newline only if asked), and the added
        /// fields' values (for partition keys).
        case line([UInt8], added: [(String, JSONValue)])
    }

    /// The fields a spliced statement adds, serialized, when every one depends on the topic
    /// alone (`SELECT *, topic(2) AS device`): the same for every message on a topic, so
    /// the rules engine makes it once per topic.
    /// A class: the rules engine's match cache hands it out for every message, and a
    /// struct of six arrays cost six retains and releases each time.
    public final class SpliceSuffix: Sendable {
        public let added: [(String, JSONValue)]
        /// `"name":value` members joined by commas.
        let members: [UInt8]
        /// The added names, to look for among the payload's keys.
        let names: JSONShape.Probe

        init(added: [(String, JSONValue)], members: [UInt8], names: JSONShape.Probe) {
            self.added = added
            self.members = members
            self.names = names
        }
    }

    /// The suffix of `fields` for the topic of `context`; nil when a field reads more than
    /// the topic (or fails: the message's own evaluation then reports it).
    public func spliceSuffix(_ context: MessageContext, fields: [(name: String, expression: Expression)]) -> SpliceSuffix? {
        guard fields.allSatisfy({ $0.expression.dependsOnTopicOnly }) else { return nil }
        do {
            let added = try Self.evaluate(fields, context)
            return SpliceSuffix(added: added, members: Self.members(added), names: JSONShape.Probe(fields.map(\.name)))
        } catch {
            return nil
        }
    }

    private static func evaluate(_ fields: [(name: String, expression: Expression)], _ context: MessageContext) throws(RuleEvaluationError) -> [(String, JSONValue)] {
        var added: [(String, JSONValue)] = []
        added.reserveCapacity(fields.count)
        for field in fields {
            if let value = try Evaluator.evaluate(field.expression, context) { added.append((field.name, value)) }
        }
        return added
    }

    private static func members(_ added: [(String, JSONValue)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in added {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
            JSONValue.string(name).serialize(into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            value.serialize(into: &bytes)
        }
        return bytes
    }

    /// The spliced evaluation of a `spliceFields` statement; nil when this message needs the
    /// general path (payload not an object, a raw line break in it, an added name already a
    /// payload field — the tree path then applies IoT Core's override). Same errors as
    /// `evaluate`. `suffix`: the fields' values made once for this topic (`spliceSuffix`);
    /// `newline`: end the line with `\n` (an NDJSON record, without a copy to add it later).
    public func evaluateSpliced(
        _ context: MessageContext, fields: [(name: String, expression: Expression)], suffix: SpliceSuffix? = nil, newline: Bool = false
    ) throws(RuleEvaluationError) -> SplicedOutcome? {
        if let condition, try Evaluator.evaluate(condition, context) != .bool(true) {
            return .filtered
        }
        // The payload must be an object none of whose keys is an added name. With the
        // fields made per topic and no document parsed yet, a validation-only scan is
        // enough (the lake's hot path: no tape); otherwise the document is at hand.
        let isEmptyObject: Bool
        if let suffix, !context.hasDocument {
            let shape = try context.payloadShape(probing: suffix.names)
            guard shape.isObject, !shape.hasProbedKey else { return nil }
            isEmptyObject = shape.isEmptyObject
        } else {
            let document = try context.jsonDocument()
            guard document.isObject else { return nil }
            for field in fields where document.field(field.name) != nil { return nil }
            isEmptyObject = document.isEmptyObject
        }
        let payload = context.payload
        let lineBreak = payload.withUnsafeBytes { raw in
            raw.count > 0 && (memchr(raw.baseAddress!, 0x0A, raw.count) != nil || memchr(raw.baseAddress!, 0x0D, raw.count) != nil)
        }
        guard !lineBreak else { return nil }
        let added: [(String, JSONValue)]
        if let suffix { added = suffix.added } else { added = try Self.evaluate(fields, context) }
        guard var close = payload.lastIndex(of: UInt8(ascii: "}")) else { return nil }
        if added.isEmpty { return .line(Array(payload[...close]) + (newline ? [0x0A] : []), added: []) }
        let members = suffix?.members ?? Self.members(added)
        // Drop whitespace before the closing brace so the separator sits right after the
        // last member.
        while close > 0, payload[close - 1] == 0x20 || payload[close - 1] == 0x09 { close -= 1 }
        var line: [UInt8] = []
        line.reserveCapacity(close + members.count + 3)
        line.append(contentsOf: payload[..<close])
        if !isEmptyObject { line.append(UInt8(ascii: ",")) }
        line.append(contentsOf: members)
        line.append(UInt8(ascii: "}"))
        if newline { line.append(0x0A) }
        return .line(line, added: added)
    }
}

extension Expression {
    /// Whether the value depends on the message's topic at most — not on its payload,
    /// client, arrival time or chance — so it is the same for every message on a topic.
    var dependsOnTopicOnly: Bool {
        switch self {
        case .literal: true
        case .payload, .field: false
        case let .member(base, _): base.dependsOnTopicOnly
        case let .subscripted(base, index): base.dependsOnTopicOnly && index.dependsOnTopicOnly
        case let .object(members): members.allSatisfy { $0.1.dependsOnTopicOnly }
        case let .array(elements): elements.allSatisfy(\.dependsOnTopicOnly)
        case let .unary(_, operand): operand.dependsOnTopicOnly
        case let .binary(_, left, right): left.dependsOnTopicOnly && right.dependsOnTopicOnly
        case let .call(call): (call.name == "topic" || call.definition.deterministic) && call.arguments.allSatisfy(\.dependsOnTopicOnly)
        case let .cast(operand, _): operand.dependsOnTopicOnly
        case let .caseWhen(subject, branches, otherwise):
            (subject?.dependsOnTopicOnly ?? true) && branches.allSatisfy { $0.0.dependsOnTopicOnly && $0.1.dependsOnTopicOnly }
                && (otherwise?.dependsOnTopicOnly ?? true)
        }
    }
}

/// A string with `${expression}` parts (republish topics, partition keys), evaluated
/// against the incoming message as IoT Core does.
public struct Template: Sendable {
    enum Part: Sendable {
        case text(String)
        case expression(Expression)
    }

    let parts: [Part]
    public let source: String

    public init(_ source: String) throws(SQLError) {
        self.source = source
        var parts: [Part] = []
        let chars = Array(source)
        var text = ""
        var index = 0
        while index < chars.count {
            if chars[index] == "$", index + 1 < chars.count, chars[index + 1] == "{" {
                guard let close = chars[(index + 2)...].firstIndex(of: "}") else {
                    throw SQLError(offset: index, message: "unterminated ${ in template")
                }
                if !text.isEmpty { parts.append(.text(text)) }
                text = ""
                let inner = String(chars[(index + 2)..<close])
                do {
                    parts.append(.expression(try Parser.parseExpression(inner)))
                } catch {
                    throw SQLError(offset: index + 2 + error.offset, message: error.message)
                }
                index = close + 1
            } else {
                text.append(chars[index])
                index += 1
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    public var isConstant: Bool { parts.allSatisfy { if case .text = $0 { return true } else { return false } } }

    /// The rendered text; an Undefined expression renders as nothing.
    public func render(_ context: MessageContext) throws(RuleEvaluationError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case let .text(text): out += text
            case let .expression(expression): out += Conversions.string(try Evaluator.evaluate(expression, context)) ?? ""
            }
        }
        return out
    }
}

/// Values indexed by topic filter (the MQTT module's `TopicTree`), matched against topic
/// names in one walk, so the cost per message does not grow with non-matching filters.
/// Built once, then only read: sharing it across threads after the last `insert` is safe.
public final class TopicFilterIndex<Value: Sendable>: @unchecked Sendable {
    private let tree = TopicTree<[Value]>()
    public private(set) var count = 0

    public init() {}

    public func insert(_ filter: String, _ value: Value) {
        tree.update(filter) { values in values = (values ?? []) + [value] }
        count += 1
    }

    public func match(_ topic: String) -> [Value] {
        var result: [Value] = []
        tree.forEachMatching(topic: topic) { result += $0 }
        return result
    }
}
