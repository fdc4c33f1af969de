import Broker
import Foundation

/// A password file in `mosquitto_passwd`'s format: one `user:hash` per line (`#` comments and
/// blank lines allowed). Problems are reported as `file:line: message`.
public struct PasswordFile: Sendable {
    public private(set) var users: [String: PasswordHash] = [:]
    /// Users in file order (written back in that order).
    public private(set) var order: [String] = []

    public init() {}

    public typealias Problems = AccessFileProblems

    public static func load(_ path: String) throws(Problems) -> PasswordFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw Problems(problems: ["\(path): cannot read the password file"]) }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(Problems) -> PasswordFile {
        var file = PasswordFile()
        var problems: [String] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                problems.append("\(path):\(index + 1): expected user:hash")
                continue
            }
            let user = String(line[..<colon])
            guard let hash = PasswordHash(encoded: line[line.index(after: colon)...]) else {
                problems.append("\(path):\(index + 1): the hash of user '\(user)' is not $7$iterations$salt$hash (PBKDF2-SHA512) or $6$salt$hash (SHA-512)")
                continue
            }
            if file.users[user] != nil {
                problems.append("\(path):\(index + 1): user '\(user)' appears twice")
                continue
            }
            file.set(user, hash)
        }
        guard problems.isEmpty else { throw Problems(problems: problems) }
        return file
    }

    public mutating func set(_ user: String, _ hash: PasswordHash) {
        if users.updateValue(hash, forKey: user) == nil { order.append(user) }
    }

    public var text: String { order.map { "\($0):\(users[$0]!.encoded)\n" }.joined() }
}

/// CONNECT checks against a password file (Mosquitto's `password_file` + `allow_anonymous`):
/// a known user with the right password passes; a wrong password or an unknown user is
/// refused as bad credentials; a client without a user name passes only when anonymous
/// clients are allowed.
public struct PasswordAuthenticator: ClientAuthenticator {
    public let file: PasswordFile
    public let allowAnonymous: Bool
    /// Verified against for unknown users, so they take as long as known ones.
    private let decoy = PasswordHash.make("decoy")

    public init(file: PasswordFile, allowAnonymous: Bool) {
        self.file = file
        self.allowAnonymous = allowAnonymous
    }

    public func authenticate(username: String?, password: [UInt8]?, clientId: String) -> AuthenticationOutcome {
        guard let username else { return allowAnonymous ? .accepted : .notAuthorized }
        let text = password.map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard let hash = file.users[username] else {
            _ = decoy.verify(text)
            return .badCredentials
        }
        return password != nil && hash.verify(text) ? .accepted : .badCredentials
    }
}
