import Foundation
import JSON
import MQTT
import Rules
import Streams

/// Loads every `*.json` file of a pipelines directory (comments allowed), in name order,
/// and checks it all: unknown keys, bad SQL (with a caret), unknown streams, bad templates,
/// duplicate names across files. Either a complete `PipelineSet` or every problem found.
public enum PipelineLoader {
    public static func load(directory: String) throws(PipelineErrors) -> PipelineSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PipelineErrors(problems: [PipelineProblem(location: SourceLocation(file: directory, line: 0, column: 0), message: "pipelines directory does not exist")])
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        var files: [(String, [UInt8])] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PipelineErrors(problems: [PipelineProblem(location: SourceLocation(file: path, line: 0, column: 0), message: "cannot read file")])
            }
            files.append((path, Array(data)))
        }
        return try load(files: files)
    }

    /// Loads already-read files (tests, and `load(directory:)`).
    public static func load(files: [(path: String, bytes: [UInt8])]) throws(PipelineErrors) -> PipelineSet {
        var set = PipelineSet()
        var problems: [PipelineProblem] = []
        var pendingStreamReferences: [(String, PipelineFile, String)] = []
        for (path, bytes) in files {
            set.files.append(path)
            var file = PipelineFile(path: path, bytes: bytes)
            file.read(into: &set, streamReferences: &pendingStreamReferences)
            problems += file.problems
        }
        var ruleNames: [String: SourceLocation] = [:]
        for rule in set.rules {
            if let first = ruleNames[rule.name] {
                problems.append(PipelineProblem(location: rule.location, message: "duplicate rule name '\(rule.name)' (first defined at \(first))"))
            } else {
                ruleNames[rule.name] = rule.location
            }
        }
        var streamNames: [String: SourceLocation] = [:]
        for stream in set.streams {
            if let first = streamNames[stream.name] {
                problems.append(PipelineProblem(location: stream.location, message: "duplicate stream name '\(stream.name)' (first defined at \(first))"))
            } else {
                streamNames[stream.name] = stream.location
            }
        }
        for (name, file, path) in pendingStreamReferences where streamNames[name] == nil {
            let known = streamNames.keys.sorted()
            problems.append(PipelineProblem(
                location: file.location(path), message: "unknown stream '\(name)'" + (known.isEmpty ? " (no streams are defined)" : " (known: \(known.joined(separator: ", ")))")))
        }
        guard problems.isEmpty else { throw PipelineErrors(problems: problems) }
        return set
    }
}

/// One file being read: its bytes, value locations, and the problems found so far.
struct PipelineFile {
    let path: String
    let bytes: [UInt8]
    var locations: [String: Int] = [:]
    var problems: [PipelineProblem] = []
    private var lineStarts: [Int] = [0]

    static let ruleNamePattern = #"^[A-Za-z0-9_\-]{1,128}$"#

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        for (index, byte) in bytes.enumerated() where byte == 0x0A { lineStarts.append(index + 1) }
    }

    func location(offset: Int) -> SourceLocation {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        let start = lineStarts[low]
        let end = max(start, min(offset, bytes.count))
        let column = String(decoding: bytes[start..<end], as: UTF8.self).count + 1
        return SourceLocation(file: path, line: low + 1, column: column)
    }

    /// The location of the value at `path` (or of its key with `key: true`).
    func location(_ path: String, key: Bool = false) -> SourceLocation {
        if key, let offset = locations[path + "#key"] { return location(offset: offset) }
        if let offset = locations[path] { return location(offset: offset) }
        return SourceLocation(file: self.path, line: 1, column: 1)
    }

    mutating func problem(_ path: String, _ message: String, key: Bool = false) {
        problems.append(PipelineProblem(location: location(path, key: key), message: message))
    }

    mutating func read(into set: inout PipelineSet, streamReferences: inout [(String, PipelineFile, String)]) {
        let root: JSONValue
        do {
            (root, locations) = try JSONParser(options: .init(allowComments: true)).parseWithLocations(bytes)
        } catch {
            problems.append(PipelineProblem(location: location(offset: error.offset), message: "invalid JSON: \(error.message)"))
            return
        }
        guard case let .object(top) = root else {
            problem("", "a pipeline file holds a JSON object")
            return
        }
        var references: [(String, String)] = []
        if top["sql"] != nil {
            // A bare AWS IoT TopicRulePayload: the rule is named after the file.
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            if let rule = readAWSRule(top, name: name, path: "", references: &references) { set.rules.append(rule) }
        } else if top["topicRulePayload"] != nil {
            checkKeys(top, path: "", allowed: ["ruleName", "topicRulePayload"], what: "CreateTopicRule request")
            guard case let .string(name)? = top["ruleName"] else {
                problem("", "CreateTopicRule request needs a string 'ruleName'")
                return
            }
            guard case let .object(payload)? = top["topicRulePayload"] else {
                problem("topicRulePayload", "'topicRulePayload' must be an object")
                return
            }
            if let rule = readAWSRule(payload, name: name, path: "topicRulePayload", references: &references) { set.rules.append(rule) }
        } else {
            checkKeys(top, path: "", allowed: ["rules", "streams"], what: "pipeline")
            for (index, rule) in array(top["rules"], path: "rules").enumerated() {
                if let definition = readRule(rule, path: "rules[\(index)]", references: &references) { set.rules.append(definition) }
            }
            for (index, stream) in array(top["streams"], path: "streams").enumerated() {
                if let definition = readStream(stream, path: "streams[\(index)]") { set.streams.append(definition) }
            }
        }
        for (name, referencePath) in references { streamReferences.append((name, self, referencePath)) }
    }

    mutating func checkKeys(_ object: JSONObject, path: String, allowed: Set<String>, what: String) {
        for key in object.keys where !allowed.contains(key) {
            let keyPath = path.isEmpty ? key : path + "." + key
            problem(keyPath, "unknown key '\(key)' in \(what) (allowed: \(allowed.sorted().joined(separator: ", ")))", key: true)
        }
    }

    mutating func array(_ value: JSONValue?, path: String) -> [JSONValue] {
        switch value {
        case nil: return []
        case let .array(elements)?: return elements
        default:
            problem(path, "'\(path)' must be an array")
            return []
        }
    }

    mutating func string(_ object: JSONObject, _ key: String, path: String, required: Bool = true) -> String? {
        switch object[key] {
        case let .string(text)?: return text
        case nil:
            if required { problem(path, "missing required '\(key)'") }
            return nil
        default:
            problem(path + "." + key, "'\(key)' must be a string")
            return nil
        }
    }

    mutating func bool(_ object: JSONObject, _ key: String, path: String) -> Bool {
        switch object[key] {
        case nil: return false
        case let .bool(flag)?: return flag
        default:
            problem(path + "." + key, "'\(key)' must be true or false")
            return false
        }
    }

    mutating func readRule(_ value: JSONValue, path: String, references: inout [(String, String)]) -> RuleDefinition? {
        guard case let .object(object) = value else {
            problem(path, "a rule must be an object")
            return nil
        }
        checkKeys(object, path: path, allowed: ["name", "description", "sql", "actions", "errorAction", "disabled", "batchMode", "tests"], what: "rule")
        let name = string(object, "name", path: path)
        if let name, name.range(of: Self.ruleNamePattern, options: .regularExpression) == nil {
            problem(path + ".name", "rule name '\(name)' must be 1-128 letters, digits, '_' or '-'")
        }
        _ = string(object, "description", path: path, required: false)
        let statement = readSQL(object, path: path)
        var actions: [RuleAction] = []
        for (index, action) in array(object["actions"], path: path + ".actions").enumerated() {
            if let parsed = readAction(action, path: "\(path).actions[\(index)]", statement: statement, references: &references) { actions.append(parsed) }
        }
        if object["actions"] == nil { problem(path, "missing required 'actions'") }
        var errorAction: RuleAction?
        if let value = object["errorAction"] {
            errorAction = readAction(value, path: path + ".errorAction", statement: nil, references: &references)
        }
        let disabled = bool(object, "disabled", path: path)
        let batchMode = bool(object, "batchMode", path: path)
        var tests: [RuleTestCase] = []
        for (index, test) in array(object["tests"], path: path + ".tests").enumerated() {
            if let parsed = readTest(test, path: "\(path).tests[\(index)]") { tests.append(parsed) }
        }
        guard let name, let statement else { return nil }
        return RuleDefinition(
            name: name, statement: statement, actions: actions, errorAction: errorAction, disabled: disabled,
            batchMode: batchMode, tests: tests, location: location(path))
    }

    /// An AWS IoT TopicRulePayload (`aws iot create-topic-rule`): firehose and s3 actions
    /// map to streams (deliveryStreamName / bucketName), republish to republish.
    mutating func readAWSRule(_ object: JSONObject, name: String, path: String, references: inout [(String, String)]) -> RuleDefinition? {
        checkKeys(object, path: path, allowed: ["sql", "description", "actions", "errorAction", "ruleDisabled", "awsIotSqlVersion"], what: "TopicRulePayload")
        if let version = string(object, "awsIotSqlVersion", path: path, required: false), version != "2016-03-23" {
            problem(join(path, "awsIotSqlVersion"), "only awsIotSqlVersion 2016-03-23 is supported, got '\(version)'")
        }
        _ = string(object, "description", path: path, required: false)
        let statement = readSQL(object, path: path)
        var actions: [RuleAction] = []
        for (index, action) in array(object["actions"], path: join(path, "actions")).enumerated() {
            if let parsed = readAction(action, path: "\(join(path, "actions"))[\(index)]", statement: statement, references: &references) { actions.append(parsed) }
        }
        var errorAction: RuleAction?
        if let value = object["errorAction"] {
            errorAction = readAction(value, path: join(path, "errorAction"), statement: nil, references: &references)
        }
        let disabled = bool(object, "ruleDisabled", path: path)
        guard let statement else { return nil }
        return RuleDefinition(name: name, statement: statement, actions: actions, errorAction: errorAction, disabled: disabled, batchMode: false, tests: [], location: location(path))
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    mutating func readSQL(_ object: JSONObject, path: String) -> Statement? {
        guard let sql = string(object, "sql", path: path) else { return nil }
        do {
            return try Parser.parseStatement(sql)
        } catch {
            var at = location(join(path, "sql"))
            at.column += 1 + error.offset  // past the opening quote
            problems.append(PipelineProblem(location: at, message: "invalid SQL: \(error.message)\n    \(error.pointing(into: sql).replacingOccurrences(of: "\n", with: "\n    "))"))
            return nil
        }
    }

    /// IoT Core's republish `headers`: each value a `${}` template; constants are checked here.
    mutating func readHeaders(_ value: JSONValue, path: String) -> RepublishHeaders? {
        guard case let .object(object) = value else {
            problem(path, "headers must be an object")
            return nil
        }
        checkKeys(object, path: path, allowed: ["payloadFormatIndicator", "contentType", "responseTopic", "correlationData", "messageExpiry", "userProperties"], what: "republish headers")
        var headers = RepublishHeaders()
        var failed = false
        func template(_ key: String, at fieldPath: String, from container: JSONObject, check: ((String) -> String?)? = nil) -> Template? {
            guard let value = container[key] else { return nil }
            guard case let .string(text) = value else {
                problem(fieldPath, "\(key) must be a string")
                failed = true
                return nil
            }
            do {
                let parsed = try Template(text)
                if parsed.isConstant, let check, let complaint = check(text) {
                    problem(fieldPath, complaint)
                    failed = true
                    return nil
                }
                return parsed
            } catch {
                var at = location(fieldPath)
                at.column += 1 + error.offset
                problems.append(PipelineProblem(location: at, message: "invalid \(key) template: \(error.message)"))
                failed = true
                return nil
            }
        }
        headers.payloadFormatIndicator = template("payloadFormatIndicator", at: path + ".payloadFormatIndicator", from: object) {
            ["UTF8_DATA", "UNSPECIFIED_BYTES"].contains($0) ? nil : "payloadFormatIndicator must be UTF8_DATA or UNSPECIFIED_BYTES, got '\($0)'"
        }
        headers.contentType = template("contentType", at: path + ".contentType", from: object)
        headers.responseTopic = template("responseTopic", at: path + ".responseTopic", from: object) {
            (try? Topic.validateName($0)) == nil ? "responseTopic '\($0)' is not a topic name" : nil
        }
        headers.correlationData = template("correlationData", at: path + ".correlationData", from: object) {
            Base64.decode($0) == nil ? "correlationData must be base64" : nil
        }
        headers.messageExpiry = template("messageExpiry", at: path + ".messageExpiry", from: object) {
            UInt32($0) == nil ? "messageExpiry must be a number of seconds, got '\($0)'" : nil
        }
        if let properties = object["userProperties"] {
            guard case let .array(items) = properties else {
                problem(path + ".userProperties", "userProperties must be an array of {key, value}")
                return nil
            }
            for (index, item) in items.enumerated() {
                let itemPath = path + ".userProperties[\(index)]"
                guard case let .object(pair) = item else {
                    problem(itemPath, "a user property is {\"key\": …, \"value\": …}")
                    failed = true
                    continue
                }
                checkKeys(pair, path: itemPath, allowed: ["key", "value"], what: "user property")
                guard let key = template("key", at: itemPath + ".key", from: pair), let value = template("value", at: itemPath + ".value", from: pair) else {
                    if pair["key"] == nil || pair["value"] == nil { problem(itemPath, "a user property needs both key and value") }
                    failed = true
                    continue
                }
                headers.userProperties.append((key, value))
            }
        }
        return failed ? nil : headers
    }

    mutating func readAction(_ value: JSONValue, path: String, statement: Statement?, references: inout [(String, String)]) -> RuleAction? {
        guard case let .object(object) = value, object.count == 1, let kind = object.keys.first else {
            problem(path, "an action is an object with exactly one of: stream, republish, firehose, s3")
            return nil
        }
        let inner = path + "." + kind
        switch (kind, object[kind]!) {
        case let ("stream", .string(name)):
            references.append((name, inner))
            return .stream(name)
        case let ("firehose", .object(settings)):
            checkKeys(settings, path: inner, allowed: ["deliveryStreamName", "roleArn", "separator", "batchMode"], what: "firehose action")
            guard let name = string(settings, "deliveryStreamName", path: inner) else { return nil }
            references.append((name, inner + ".deliveryStreamName"))
            return .stream(name)
        case let ("s3", .object(settings)):
            checkKeys(settings, path: inner, allowed: ["bucketName", "key", "roleArn", "cannedAcl"], what: "s3 action")
            guard let name = string(settings, "bucketName", path: inner) else { return nil }
            references.append((name, inner + ".bucketName"))
            return .stream(name)
        case let ("republish", .object(settings)):
            checkKeys(settings, path: inner, allowed: ["topic", "qos", "roleArn", "headers"], what: "republish action")
            guard let topicText = string(settings, "topic", path: inner) else { return nil }
            var qos = QoS.atMostOnce
            switch settings["qos"] {
            case nil: break
            case .int(0)?: qos = .atMostOnce
            case .int(1)?: qos = .atLeastOnce
            default: problem(inner + ".qos", "republish qos must be 0 or 1")
            }
            let topic: Template
            do {
                topic = try Template(topicText)
            } catch {
                var at = location(inner + ".topic")
                at.column += 1 + error.offset
                problems.append(PipelineProblem(location: at, message: "invalid topic template: \(error.message)"))
                return nil
            }
            if topic.isConstant {
                do {
                    try Topic.validateName(topicText)
                } catch {
                    problem(inner + ".topic", "republish topic: \(error)")
                    return nil
                }
                // A rule must not feed itself: that would loop forever (dynamic topics are
                // caught at run time by the hop limit).
                if let statement, Topic.matches(filter: statement.topicFilter, topic: topicText) {
                    problem(inner + ".topic", "republish topic '\(topicText)' matches the rule's own FROM '\(statement.topicFilter)': the rule would loop")
                }
            }
            var headers = RepublishHeaders()
            if let value = settings["headers"] {
                guard let parsed = readHeaders(value, path: inner + ".headers") else { return nil }
                headers = parsed
            }
            return .republish(topic: topic, qos: qos, headers: headers)
        default:
            problem(path, "unknown or malformed action '\(kind)' (expected stream: \"name\", republish: {topic, qos}, firehose: {deliveryStreamName} or s3: {bucketName})")
            return nil
        }
    }

    mutating func readStream(_ value: JSONValue, path: String) -> StreamDefinition? {
        guard case let .object(object) = value else {
            problem(path, "a stream must be an object")
            return nil
        }
        checkKeys(object, path: path, allowed: ["name", "destination", "buffering", "maxActivePartitions", "retrySeconds", "maxRecordKiB", "maxJournalMiB"], what: "stream")
        let name = string(object, "name", path: path)
        if let name, name.range(of: Self.ruleNamePattern, options: .regularExpression) == nil {
            problem(path + ".name", "stream name '\(name)' must be 1-128 letters, digits, '_' or '-'")
        }
        guard case let .object(destination)? = object["destination"], destination.count == 1, let kind = destination.keys.first, kind == "lake" || kind == "sqlite",
            case .object? = destination[kind]
        else {
            problem(object["destination"] == nil ? path : path + ".destination", "a stream needs a destination: {\"lake\": {…}} or {\"sqlite\": {\"table\": …}}")
            return nil
        }
        guard let name else { return nil }
        switch StreamConfig.parse(name: name, object) {
        case let .success(config):
            return StreamDefinition(config: config, location: location(path))
        case let .failure(list):
            for item in list.problems { problem(path + "." + item.path, item.message) }
            return nil
        }
    }

    mutating func readTest(_ value: JSONValue, path: String) -> RuleTestCase? {
        guard case let .object(object) = value else {
            problem(path, "a test case must be an object")
            return nil
        }
        checkKeys(object, path: path, allowed: ["topic", "payload", "clientId", "expect", "expectError"], what: "test case")
        guard let topic = string(object, "topic", path: path) else { return nil }
        do {
            try Topic.validateName(topic)
        } catch {
            problem(path + ".topic", "\(error)")
        }
        let payload: [UInt8]
        switch object["payload"] {
        case let .string(text)?: payload = Array(text.utf8)  // raw bytes, e.g. non-JSON
        case let value?: payload = Array(value.serialized().utf8)
        case nil:
            problem(path, "missing required 'payload'")
            return nil
        }
        let clientId = string(object, "clientId", path: path, required: false) ?? "test-client"
        let expectedError = string(object, "expectError", path: path, required: false)
        var expected: [JSONValue] = []
        switch object["expect"] {
        case let .array(records)?: expected = records
        case nil where expectedError != nil: break
        default: problem(path, "a test case needs 'expect': [records…] (or 'expectError')")
        }
        return RuleTestCase(topic: topic, payload: payload, clientId: clientId, expected: expected, expectedError: expectedError, location: location(path))
    }
}
