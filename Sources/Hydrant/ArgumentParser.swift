/// A usage error: the message names the flag or value at fault; the CLI prints it with
/// the command's usage line and exits 2.
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var usage: String

    public var description: String { message }

    public init(message: String, usage: String) {
        self.message = message
        self.usage = usage
    }
}

/// Walks `--flag value` / `--flag=value` arguments.
struct ArgumentParser {
    private var arguments: [String]
    private var index = 0
    let usage: String

    init(_ arguments: [String], usage: String) {
        self.arguments = arguments
        self.usage = usage
    }

    /// The next flag name (without a value), or nil at the end.
    mutating func nextFlag() throws(UsageError) -> String? {
        guard index < arguments.count else { return nil }
        let argument = arguments[index]
        guard argument.hasPrefix("--") else { throw error("unexpected argument '\(argument)'") }
        if let equals = argument.firstIndex(of: "=") {
            // Split "--flag=value" into two arguments.
            arguments[index] = String(argument[..<equals])
            arguments.insert(String(argument[argument.index(after: equals)...]), at: index + 1)
        }
        index += 1
        return arguments[index - 1]
    }

    mutating func value(for flag: String) throws(UsageError) -> String {
        guard index < arguments.count else { throw error("\(flag) needs a value") }
        index += 1
        return arguments[index - 1]
    }

    mutating func integer(for flag: String, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        let text = try value(for: flag)
        guard let number = Int(text), range.contains(number) else {
            throw error("\(flag) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return number
    }

    func error(_ message: String) -> UsageError {
        UsageError(message: message, usage: usage)
    }
}
