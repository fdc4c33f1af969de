import Broker
import Foundation
import JSON

/// AWS IoT Core policies (what no other local broker offers): documents in IoT Core's JSON
/// (`Statement: [{Effect, Action, Resource}]`), attached to identities (user names; `"*"`:
/// every client). Actions `iot:Connect` (resource `client/<id>`), `iot:Publish` and
/// `iot:Receive` (`topic/<name>`), `iot:Subscribe` (`topicfilter/<filter>`),
/// `iot:RetainPublish` (`topic/<name>`, also needed to publish retained); resources may be
/// full ARNs (`arn:aws:iot:<region>:<account>:topic/…`) or those short forms, with `*` and
/// `?` wildcards (MQTT's `+`/`#` are plain characters there, as in IoT Core). Variables
/// `${iot:ClientId}`, `${iot:Connection.Thing.ThingName}` (the client id here) and
/// `${iot:Certificate.Subject.CommonName}` (the certificate's CN; until TLS client
/// certificates, no value: a resource naming it matches nothing). Explicit Deny wins; what
/// no Allow grants is denied.
public struct PolicySet: Sendable {
    struct Statement: Sendable {
        let allow: Bool
        let actions: [String]
        let resources: [String]
    }

    var policies: [String: [Statement]] = [:]
    /// Identity → policy names.
    var attachments: [String: [String]] = [:]

    public typealias Problems = AccessFileProblems

    /// A directory (`<name>.json` documents, `attach.json` = `{"attach": {...}}`) or one file
    /// `{"policies": {"<name>": <document>}, "attach": {"<identity>": ["<name>", …]}}`.
    public static func load(_ path: String) throws(Problems) -> PolicySet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw Problems(problems: ["\(path): no such file or directory"]) }
        var set = PolicySet()
        var problems: [String] = []
        func json(_ file: String) -> JSONValue? {
            guard let data = FileManager.default.contents(atPath: file) else {
                problems.append("\(file): cannot read")
                return nil
            }
            do {
                return try JSONParser(options: .init(allowComments: true)).parse(Array(data))
            } catch {
                problems.append("\(file): invalid JSON at byte \(error.offset): \(error.message)")
                return nil
            }
        }
        var attach: JSONValue?
        if isDirectory.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            for name in names {
                let file = (path as NSString).appendingPathComponent(name)
                guard let value = json(file) else { continue }
                if name == "attach.json" {
                    attach = value["attach"]
                    if attach == nil { problems.append("\(file): expected {\"attach\": {\"<identity>\": [\"<policy>\", …]}}") }
                } else {
                    set.read(document: value, name: String(name.dropLast(5)), at: file, problems: &problems)
                }
            }
        } else {
            guard let data = FileManager.default.contents(atPath: path) else { throw Problems(problems: ["\(path): cannot read"]) }
            return try parse(bytes: Array(data), path: path)
        }
        set.attach(attach, path: path, problems: &problems)
        guard problems.isEmpty else { throw Problems(problems: problems) }
        return set
    }

    /// The one-file form from its bytes (the fuzz target).
    public static func parse(bytes: [UInt8], path: String = "policies") throws(Problems) -> PolicySet {
        let value: JSONValue
        do {
            value = try JSONParser(options: .init(allowComments: true)).parse(bytes)
        } catch {
            throw Problems(problems: ["\(path): invalid JSON at byte \(error.offset): \(error.message)"])
        }
        var set = PolicySet()
        var problems: [String] = []
        guard case let .object(documents)? = value["policies"] else {
            throw Problems(problems: ["\(path): expected {\"policies\": {\"<name>\": <policy document>}, \"attach\": {…}}"])
        }
        for (name, document) in documents { set.read(document: document, name: name, at: path + " policy '\(name)'", problems: &problems) }
        set.attach(value["attach"], path: path, problems: &problems)
        guard problems.isEmpty else { throw Problems(problems: problems) }
        return set
    }

    mutating func attach(_ attach: JSONValue?, path: String, problems: inout [String]) {
        guard let attach else { return }
        guard case let .object(map) = attach else {
            problems.append("\(path): attach must be an object of identity → [policy names]")
            return
        }
        for (identity, value) in map {
            guard case let .array(items) = value else {
                problems.append("\(path): attach['\(identity)'] must be an array of policy names")
                continue
            }
            for item in items {
                guard case let .string(name) = item, policies[name] != nil else {
                    problems.append("\(path): attach['\(identity)'] names \(item.serialized()), which is not a policy here")
                    continue
                }
                attachments[identity, default: []].append(name)
            }
        }
    }

    static let actions: Set<String> = ["iot:Connect", "iot:Publish", "iot:Receive", "iot:Subscribe", "iot:RetainPublish"]

    mutating func read(document: JSONValue, name: String, at place: String, problems: inout [String]) {
        guard case let .array(items)? = document["Statement"] ?? (document["Statement"].map { .array([$0]) }) else {
            problems.append("\(place): a policy document has \"Statement\": [...]")
            return
        }
        var statements: [Statement] = []
        for (index, item) in items.enumerated() {
            func list(_ key: String) -> [String]? {
                switch item[key] {
                case let .string(one)?: return [one]
                case let .array(many)?: return many.compactMap { if case let .string(text) = $0 { return text } else { return nil } }
                default: return nil
                }
            }
            guard case let .string(effect)? = item["Effect"], effect == "Allow" || effect == "Deny" else {
                problems.append("\(place): Statement[\(index)].Effect must be \"Allow\" or \"Deny\"")
                continue
            }
            guard let actions = list("Action"), !actions.isEmpty else {
                problems.append("\(place): Statement[\(index)].Action must be an action or a list of them")
                continue
            }
            for action in actions where !(Self.actions.contains(action) || action.contains("*") || action.contains("?")) {
                problems.append("\(place): Statement[\(index)] names unknown action '\(action)' (known: \(Self.actions.sorted().joined(separator: ", ")))")
            }
            guard let resources = list("Resource"), !resources.isEmpty else {
                problems.append("\(place): Statement[\(index)].Resource must be a resource or a list of them")
                continue
            }
            statements.append(Statement(allow: effect == "Allow", actions: actions, resources: resources.map(Self.shortForm)))
        }
        policies[name] = statements
    }

    /// `arn:aws:iot:<region>:<account>:topic/a` → `topic/a`.
    static func shortForm(_ resource: String) -> String {
        guard resource.hasPrefix("arn:") else { return resource }
        let parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 ? String(parts[5]) : resource
    }

    /// `*` any run of characters, `?` one; everything else literal.
    static func glob(_ pattern: Substring, _ text: Substring) -> Bool {
        var p = pattern.startIndex, t = text.startIndex
        var star: Substring.Index?, resume = text.startIndex
        while t < text.endIndex {
            if p < pattern.endIndex && (pattern[p] == "?" || pattern[p] == text[t]) {
                p = pattern.index(after: p)
                t = text.index(after: t)
            } else if p < pattern.endIndex && pattern[p] == "*" {
                star = p
                p = pattern.index(after: p)
                resume = t
            } else if let s = star {
                p = pattern.index(after: s)
                resume = text.index(after: resume)
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.endIndex && pattern[p] == "*" { p = pattern.index(after: p) }
        return p == pattern.endIndex
    }

    func statements(for username: String?) -> [Statement] {
        let names = (username.flatMap { attachments[$0] } ?? []) + (attachments["*"] ?? [])
        return names.flatMap { policies[$0] ?? [] }
    }

    static func decide(_ statements: [Statement], action: String, resource: String, variables: [String: String?]) -> Bool {
        var allowed = false
        for statement in statements where statement.actions.contains(where: { glob(Substring($0), Substring(action)) }) {
            let matches = statement.resources.contains { pattern in
                guard let expanded = expand(pattern, variables) else { return false }
                return glob(Substring(expanded), Substring(resource))
            }
            guard matches else { continue }
            if !statement.allow { return false }
            allowed = true
        }
        return allowed
    }

    /// The resource with `${iot:…}` filled in; nil when one has no value (unknown names too).
    static func expand(_ pattern: String, _ variables: [String: String?]) -> String? {
        guard pattern.contains("${") else { return pattern }
        var out = ""
        var rest = Substring(pattern)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { return nil }
            let name = String(rest[open.upperBound..<close])
            guard let known = variables[name], let value = known else { return nil }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}

/// IoT Core policies as the broker's authorizer.
public struct PolicyAuthorizer: ClientAuthorizer {
    public let set: PolicySet

    public init(set: PolicySet) { self.set = set }

    public func permissions(username: String?, clientId: String) -> any ClientPermissions {
        PolicyPermissions(statements: set.statements(for: username), clientId: clientId, commonName: nil)
    }
}

final class PolicyPermissions: ClientPermissions, @unchecked Sendable {
    // Event-loop thread only.
    private let statements: [PolicySet.Statement]
    private let variables: [String: String?]
    private var decisions = Decisions()

    init(statements: [PolicySet.Statement], clientId: String, commonName: String?) {
        self.statements = statements
        variables = ["iot:ClientId": clientId, "iot:Connection.Thing.ThingName": clientId, "iot:Certificate.Subject.CommonName": commonName]
        self.clientId = clientId
    }

    private let clientId: String

    func allows(_ operation: AuthorizationOperation) -> Bool {
        decisions.answer(operation, decide)
    }

    private func decide(_ operation: AuthorizationOperation) -> Bool {
        switch operation {
        case .connect: return PolicySet.decide(statements, action: "iot:Connect", resource: "client/" + clientId, variables: variables)
        case let .publish(topic): return PolicySet.decide(statements, action: "iot:Publish", resource: "topic/" + topic, variables: variables)
        case let .retain(topic): return PolicySet.decide(statements, action: "iot:RetainPublish", resource: "topic/" + topic, variables: variables)
        case let .receive(topic): return PolicySet.decide(statements, action: "iot:Receive", resource: "topic/" + topic, variables: variables)
        case let .subscribe(filter): return PolicySet.decide(statements, action: "iot:Subscribe", resource: "topicfilter/" + filter, variables: variables)
        }
    }
}

/// Several authorizers (an ACL file and policies): an operation must be allowed by each.
public struct AllOfAuthorizer: ClientAuthorizer {
    public let parts: [any ClientAuthorizer]

    public init(_ parts: [any ClientAuthorizer]) { self.parts = parts }

    public func permissions(username: String?, clientId: String) -> any ClientPermissions {
        AllOfPermissions(parts.map { $0.permissions(username: username, clientId: clientId) })
    }
}

final class AllOfPermissions: ClientPermissions, @unchecked Sendable {
    private let parts: [any ClientPermissions]
    init(_ parts: [any ClientPermissions]) { self.parts = parts }
    func allows(_ operation: AuthorizationOperation) -> Bool { parts.allSatisfy { $0.allows(operation) } }
}
