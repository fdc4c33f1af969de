import Broker

/// A client's authorization answers, remembered: the last question compared first (a
/// publisher asks about the same topic again and again, and comparing costs less than
/// hashing), then a bounded per-operation cache, then `decide`. Event-loop thread only.
struct Decisions {
    private var decided: [AuthorizationOperation: Bool] = [:]
    private var last: (operation: AuthorizationOperation, answer: Bool)?

    mutating func answer(_ operation: AuthorizationOperation, _ decide: (AuthorizationOperation) -> Bool) -> Bool {
        if let last, last.operation == operation { return last.answer }
        let answer: Bool
        if let known = decided[operation] {
            answer = known
        } else {
            answer = decide(operation)
            if decided.count >= 4096 { decided.removeAll(keepingCapacity: true) }
            decided[operation] = answer
        }
        last = (operation, answer)
        return answer
    }
}

/// The problems of an access file (password file, ACL file, policies), each with its place.
public struct AccessFileProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}
