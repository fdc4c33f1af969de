/// Topic names and topic filters (§4.7).
public enum Topic {
    public static let maxLength = 65_535

    /// Validates a topic name as used in PUBLISH and will messages: 1…65,535 bytes
    /// ([MQTT-4.7.3-1], [MQTT-4.7.3-3]), no wildcard characters ([MQTT-3.3.2-2]) and at
    /// most `maxLevels` levels (the broker's `--max-topic-levels`: a protocol violation).
    @inline(__always)
    public static func validateName(_ name: String, maxLevels: Int = Int.max) throws(MQTTError) {
        let count = name.utf8.count
        guard count > 0 else { throw .invalidTopic("topic name is empty") }
        guard count <= maxLength else { throw .invalidTopic("topic name longer than 65535 bytes") }
        // One pass over contiguous UTF-8 (the generic UTF8View iteration, twice, cost more
        // than decoding the rest of the PUBLISH).
        var contiguous = name
        let found = contiguous.withUTF8 { bytes -> UInt8? in
            for byte in bytes where byte == UInt8(ascii: "+") || byte == UInt8(ascii: "#") || byte == 0 { return byte }
            return nil
        }
        switch found {
        case nil:
            // n bytes hold at most n + 1 levels: only a long name needs counting.
            if count >= maxLevels && levelCount(name) > maxLevels { throw .protocolViolation("topic name deeper than \(maxLevels) levels") }
        case 0?: throw .invalidTopic("U+0000 in topic name")
        default: throw .invalidTopic("wildcard in topic name '\(name)'")
        }
    }

    /// Validates a topic filter (§4.7.1): `#` only alone in the last level
    /// ([MQTT-4.7.1-2]), `+` only as a whole level ([MQTT-4.7.1-3]), 1…65,535 bytes.
    public static func validateFilter(_ filter: String) throws(MQTTError) {
        let count = filter.utf8.count
        guard count > 0 else { throw .invalidTopic("topic filter is empty") }
        guard count <= maxLength else { throw .invalidTopic("topic filter longer than 65535 bytes") }
        if filter.utf8.contains(0) { throw .invalidTopic("U+0000 in topic filter") }
        let levels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.contains(UInt8(ascii: "#")) {
                guard level.count == 1, index == levels.count - 1 else {
                    throw .invalidTopic("'#' must be the whole last level in '\(filter)'")
                }
            }
            if level.contains(UInt8(ascii: "+")), level.count != 1 {
                throw .invalidTopic("'+' must be a whole level in '\(filter)'")
            }
        }
    }

    /// Whether some topic name matches both filters (an ACL read rule and a SUBSCRIBE).
    public static func filtersOverlap(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "/", omittingEmptySubsequences: false)
        let y = b.split(separator: "/", omittingEmptySubsequences: false)
        func overlap(_ i: Int, _ j: Int) -> Bool {
            let first = i == 0 && j == 0
            if i < x.count && x[i] == "#" { return !(first && j < y.count && y[j].hasPrefix("$")) }
            if j < y.count && y[j] == "#" { return !(first && i < x.count && x[i].hasPrefix("$")) }
            if i == x.count || j == y.count { return i == x.count && j == y.count }
            if x[i] == "+" { return !(first && y[j].hasPrefix("$")) && overlap(i + 1, j + 1) }
            if y[j] == "+" { return !(first && x[i].hasPrefix("$")) && overlap(i + 1, j + 1) }
            return x[i] == y[j] && overlap(i + 1, j + 1)
        }
        return overlap(0, 0)
    }

    /// Whether every topic name `inner` matches is matched by `outer` too.
    public static func covers(filter outer: String, filter inner: String) -> Bool {
        let x = outer.split(separator: "/", omittingEmptySubsequences: false)
        let y = inner.split(separator: "/", omittingEmptySubsequences: false)
        var index = 0
        while true {
            if index < x.count && x[index] == "#" { return index > 0 || !(y.first?.hasPrefix("$") ?? false) }
            if index == y.count { return index == x.count }
            if index == x.count { return false }
            if y[index] == "#" { return false }
            if x[index] == "+" {
                if index == 0 && y[0].hasPrefix("$") { return false }
            } else if y[index] == "+" || x[index] != y[index] {
                return false
            }
            index += 1
        }
    }

    /// A shared subscription's parts (§4.8.2): `$share/<group>/<filter>` → (group, filter);
    /// nil for any other filter. Throws when it starts with `$share/` but is not valid: the
    /// group must be non-empty without `+`, `#` or `/` ([MQTT-4.8.2-1]) and the filter valid
    /// ([MQTT-4.8.2-2]).
    public static func sharedSubscription(_ filter: String) throws(MQTTError) -> (group: String, filter: String)? {
        guard filter.hasPrefix("$share/") else { return nil }
        let rest = filter.utf8.dropFirst(7)
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else {
            throw .invalidTopic("shared subscription '\(filter)' has no topic filter after its group")
        }
        let group = String(decoding: rest[rest.startIndex..<slash], as: UTF8.self)
        let inner = String(decoding: rest[rest.index(after: slash)...], as: UTF8.self)
        guard !group.isEmpty, !group.contains("+"), !group.contains("#") else {
            throw .invalidTopic("shared subscription group '\(group)' must be non-empty, without '+' or '#'")
        }
        try validateFilter(inner)
        return (group, inner)
    }

    /// Levels of a topic name or filter: one more than its '/' separators (one pass).
    public static func levelCount(_ topic: String) -> Int {
        var contiguous = topic
        return contiguous.withUTF8 { bytes in
            var count = 1
            for byte in bytes where byte == UInt8(ascii: "/") { count += 1 }
            return count
        }
    }

    public static func isValidFilter(_ filter: String) -> Bool {
        do { try validateFilter(filter); return true } catch { return false }
    }

    /// [MQTT-4.7.2-1]: a wildcard (`+` or `#`) as the first level of a filter does not
    /// match a topic whose first level starts with `$` (`$SYS/…`). The one place of that
    /// rule: `matches` and both walks of `TopicTree` ask here.
    @inlinable
    public static func wildcardMatches(_ topicLevel: Substring, depth: Int) -> Bool {
        depth > 0 || topicLevel.utf8.first != UInt8(ascii: "$")
    }

    /// True when the (valid) filter matches the (valid) topic name (§4.7.1, §4.7.2): the
    /// level-by-level definition, also the reference `TopicTree`'s walks are tested against.
    public static func matches(filter: String, topic: String) -> Bool {
        let filterLevels = filter.split(separator: "/", omittingEmptySubsequences: false)
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in filterLevels.enumerated() {
            if level == "#" {
                // Also matches the parent level itself (§4.7.1.2).
                return index == topicLevels.count || wildcardMatches(topicLevels[index], depth: index)
            }
            guard index < topicLevels.count else { return false }
            if level == "+" {
                guard wildcardMatches(topicLevels[index], depth: index) else { return false }
            } else if level != topicLevels[index] {
                return false
            }
        }
        return filterLevels.count == topicLevels.count
    }
}
