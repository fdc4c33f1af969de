import JSON

extension Functions {
    static func characters(_ value: JSONValue?) -> [Character]? { string(value).map(Array.init) }

    static func pad(_ arguments: [JSONValue?], left: Bool) -> JSONValue? {
        guard let text = string(arguments[0]), let count = Conversions.integer(arguments[1]), count >= 0, count <= 1_000_000 else { return nil }
        let padding = String(repeating: " ", count: Int(count))
        return .string(left ? padding + text : text + padding)
    }

    static let stringFunctions: [(String, FunctionDefinition)] = [
        pure("concat", 2...64) { arguments in
            guard arguments.allSatisfy({ $0 != nil }) else { return nil }
            if arguments.contains(where: { if case .array = $0 { return true } else { return false } }) {
                var result: [JSONValue] = []
                for case let value? in arguments {
                    if case let .array(elements) = value { result += elements } else { result.append(value) }
                }
                return .array(result)
            }
            var text = ""
            for argument in arguments {
                guard let piece = Conversions.string(argument) else { return nil }
                text += piece
            }
            return .string(text)
        },
        pure("substring", 2...3) { arguments in
            guard let chars = characters(arguments[0]), let start = Conversions.integer(arguments[1]) else { return nil }
            let end = arguments.count == 3 ? Conversions.integer(arguments[2]) : Int64(chars.count)
            guard let end else { return nil }
            let from = Int(max(0, min(start, Int64(chars.count))))
            let to = Int(max(Int64(from), min(end, Int64(chars.count))))
            return .string(String(chars[from..<to]))
        },
        pure("upper", 1...1) { arguments in string(arguments[0]).map { .string($0.uppercased()) } },
        pure("lower", 1...1) { arguments in string(arguments[0]).map { .string($0.lowercased()) } },
        pure("trim", 1...1) { arguments in string(arguments[0]).map { .string($0.trimmingWhitespace()) } },
        pure("ltrim", 1...1) { arguments in string(arguments[0]).map { .string(String($0.drop { $0.isWhitespace })) } },
        pure("rtrim", 1...1) { arguments in
            string(arguments[0]).map { text in
                var s = Substring(text)
                while let last = s.last, last.isWhitespace { s = s.dropLast() }
                return .string(String(s))
            }
        },
        pure("lpad", 2...2) { arguments in pad(arguments, left: true) },
        pure("rpad", 2...2) { arguments in pad(arguments, left: false) },
        pure("replace", 3...3) { arguments in
            guard let source = string(arguments[0]), let target = string(arguments[1]), let replacement = string(arguments[2]) else { return nil }
            guard !target.isEmpty else { return .string(source) }
            return .string(source.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement))
        },
        pure("startswith", 2...2) { arguments in
            guard let text = string(arguments[0]), let prefix = string(arguments[1]) else { return nil }
            return .bool(text.hasPrefix(prefix))
        },
        pure("endswith", 2...2) { arguments in
            guard let text = string(arguments[0]), let suffix = string(arguments[1]) else { return nil }
            return .bool(text.hasSuffix(suffix))
        },
        pure("indexof", 2...2) { arguments in
            guard let text = characters(arguments[0]), let needle = characters(arguments[1]) else { return nil }
            guard !needle.isEmpty else { return .int(0) }
            guard needle.count <= text.count else { return .int(-1) }
            for start in 0...(text.count - needle.count) where Array(text[start..<(start + needle.count)]) == needle {
                return .int(Int64(start))
            }
            return .int(-1)
        },
        pure("length", 1...1) { arguments in
            switch arguments[0] {
            case let .string(text)?: return .int(Int64(text.count))
            case let .array(array)?: return .int(Int64(array.count))
            case let .object(object)?: return .int(Int64(object.count))
            default: return nil
            }
        },
        pure("numbytes", 1...1) { arguments in string(arguments[0]).map { .int(Int64($0.utf8.count)) } },
        pure("regexp_matches", 2...2) { arguments in
            guard let text = string(arguments[0]), let regex = compile(arguments[1]) else { return nil }
            return .bool(text.contains(regex))
        },
        pure("regexp_replace", 3...3) { arguments in
            guard let text = string(arguments[0]), let regex = compile(arguments[1]), let replacement = string(arguments[2]) else { return nil }
            return .string(text.replacing(regex) { match in expand(replacement, match) })
        },
        pure("regexp_substr", 2...2) { arguments in
            guard let text = string(arguments[0]), let regex = compile(arguments[1]) else { return nil }
            guard let match = text.firstMatch(of: regex) else { return .string("") }
            return .string(String(text[match.range]))
        },
    ]

    static func compile(_ pattern: JSONValue?) -> Regex<AnyRegexOutput>? {
        guard let text = string(pattern) else { return nil }
        return try? Regex(text)
    }

    /// `$0`…`$9` in a replacement refer to capture groups (Java's syntax, as IoT uses).
    static func expand(_ template: String, _ match: Regex<AnyRegexOutput>.Match) -> String {
        var result = ""
        var iterator = Array(template).makeIterator()
        while let c = iterator.next() {
            guard c == "$" else {
                result.append(c)
                continue
            }
            guard let digit = iterator.next() else {
                result.append(c)
                break
            }
            if let group = digit.wholeNumberValue, group < match.output.count {
                if let captured = match.output[group].substring { result += captured }
            } else {
                result.append(c)
                result.append(digit)
            }
        }
        return result
    }
}
