import Broker
import Foundation
import MQTT

/// Mosquitto's `acl_file` (mosquitto.conf(5)): `topic [read|write|readwrite|deny] <filter>`
/// lines for anonymous clients until the first `user <name>` line, then for that user;
/// `pattern [access] <filter>` lines for every client, `%u` standing for its user name and
/// `%c` for its client id. Checked on PUBLISH (write), on every delivery (read) and — unlike
/// Mosquitto's file — on SUBSCRIBE: a filter no read rule overlaps is refused. A user name
/// or client id holding `+`, `#` or `/` never matches a `%u`/`%c` pattern (no wildcard
/// injection). `deny` wins over any grant.
public struct AccessControlList: Sendable {
    public enum Access: Sendable, Hashable {
        case read, write, readWrite, deny

        var reads: Bool { self == .read || self == .readWrite }
        var writes: Bool { self == .write || self == .readWrite }
    }

    struct Rule: Sendable, Hashable {
        let access: Access
        let filter: String
    }

    var anonymous: [Rule] = []
    var users: [String: [Rule]] = [:]
    var patterns: [Rule] = []

    public typealias Problems = AccessFileProblems

    public static func load(_ path: String) throws(Problems) -> AccessControlList {
        guard let data = FileManager.default.contents(atPath: path) else { throw Problems(problems: ["\(path): cannot read the ACL file"]) }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(Problems) -> AccessControlList {
        var list = AccessControlList()
        var problems: [String] = []
        var user: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
            let at = "\(path):\(index + 1)"
            switch words.first {
            case "user"?:
                guard words.count >= 2 else {
                    problems.append("\(at): user needs a name")
                    continue
                }
                user = line.dropFirst(4).trimmingCharacters(in: .whitespaces)
                if list.users[user!] == nil { list.users[user!] = [] }
            case "topic"?, "pattern"?:
                var access = Access.readWrite
                var filter: String
                if words.count == 3, let named = Self.access(words[1]) {
                    access = named
                    filter = words[2]
                } else if words.count >= 2 {
                    // No access word: readwrite (the whole rest is the filter).
                    filter = line.dropFirst(words[0].count).trimmingCharacters(in: .whitespaces)
                } else {
                    problems.append("\(at): \(words[0]) needs a topic filter")
                    continue
                }
                filter = filter.trimmingCharacters(in: .whitespaces)
                guard Topic.isValidFilter(filter) else {
                    problems.append("\(at): '\(filter)' is not a valid topic filter")
                    continue
                }
                let rule = Rule(access: access, filter: filter)
                if words[0] == "pattern" {
                    list.patterns.append(rule)
                } else if let user {
                    list.users[user, default: []].append(rule)
                } else {
                    list.anonymous.append(rule)
                }
            default:
                problems.append("\(at): expected 'user', 'topic' or 'pattern', got '\(words.first ?? "")'")
            }
        }
        guard problems.isEmpty else { throw Problems(problems: problems) }
        return list
    }

    private static func access(_ word: String) -> Access? {
        switch word {
        case "read": return .read
        case "write": return .write
        case "readwrite": return .readWrite
        case "deny": return .deny
        default: return nil
        }
    }

    /// The rules that apply to a client: its user's (or the anonymous ones) and the
    /// patterns with `%u`/`%c` filled in (patterns naming what a wildcard-holding name or id
    /// would fill are left out).
    func rules(username: String?, clientId: String) -> [Rule] {
        var rules = username.map { users[$0] ?? [] } ?? anonymous
        let safe: (String?) -> String? = { value in
            guard let value, !value.contains(where: { $0 == "+" || $0 == "#" || $0 == "/" }) else { return nil }
            return value
        }
        for pattern in patterns {
            var filter = pattern.filter
            if filter.contains("%u") {
                guard let name = safe(username) else { continue }
                filter = filter.replacingOccurrences(of: "%u", with: name)
            }
            if filter.contains("%c") {
                guard let id = safe(clientId) else { continue }
                filter = filter.replacingOccurrences(of: "%c", with: id)
            }
            guard Topic.isValidFilter(filter) else { continue }
            rules.append(Rule(access: pattern.access, filter: filter))
        }
        return rules
    }

    /// May the client publish to `topic` (write) or receive it (read)?
    public func allows(_ operation: AuthorizationOperation, username: String?, clientId: String) -> Bool {
        Self.allows(operation, rules(username: username, clientId: clientId))
    }

    static func allows(_ operation: AuthorizationOperation, _ rules: [Rule]) -> Bool {
        switch operation {
        case .connect, .retain: return true  // the ACL file has no such rules
        case let .publish(topic):
            return Self.decide(rules, topic: topic, wants: \.writes)
        case let .receive(topic):
            return Self.decide(rules, topic: topic, wants: \.reads)
        case let .subscribe(filter):
            // Some read rule must overlap the filter, and no deny rule may cover it whole.
            if rules.contains(where: { $0.access == .deny && Topic.covers(filter: $0.filter, filter: filter) }) { return false }
            return rules.contains { $0.access.reads && Topic.filtersOverlap($0.filter, filter) }
        }
    }

    private static func decide(_ rules: [Rule], topic: String, wants: KeyPath<Access, Bool>) -> Bool {
        var granted = false
        for rule in rules where Topic.matches(filter: rule.filter, topic: topic) {
            if rule.access == .deny { return false }
            if rule.access[keyPath: wants] { granted = true }
        }
        return granted
    }
}

/// The ACL file as the broker's authorizer.
public struct ACLAuthorizer: ClientAuthorizer {
    public let list: AccessControlList

    public init(list: AccessControlList) { self.list = list }

    public func permissions(username: String?, clientId: String) -> any ClientPermissions {
        ACLPermissions(rules: list.rules(username: username, clientId: clientId))
    }
}

/// One client's resolved rules, with the decisions cached per topic (bounded): a client
/// publishes and receives the same few topics over and over.
final class ACLPermissions: ClientPermissions, @unchecked Sendable {
    // Event-loop thread only.
    private let rules: [AccessControlList.Rule]
    private var decisions = Decisions()

    init(rules: [AccessControlList.Rule]) { self.rules = rules }

    func allows(_ operation: AuthorizationOperation) -> Bool {
        decisions.answer(operation) { AccessControlList.allows($0, rules) }
    }
}
