/// Broker → client topic aliases of one MQTT 5 connection (§3.3.2.3.4): up to the client's
/// Topic Alias Maximum, least recently used replaced first. A repeated topic goes out as an
/// empty name and its alias — the bytes saved on the wire when a subscriber gets many
/// messages on few topics.
struct TopicAliases {
    enum Use: Equatable {
        /// The client knows it: send an empty topic name with this alias.
        case known(UInt16)
        /// Send the name with this alias: the client maps (or re-maps) it.
        case assign(UInt16)
    }

    let maximum: Int
    private var aliasOf: [String: UInt16] = [:]
    /// Index = alias: its topic and its place in the recency list (doubly linked by alias).
    private var topics: [String?]
    private var newer: [UInt16]
    private var older: [UInt16]
    /// Most and least recently used aliases (0: none).
    private var newest: UInt16 = 0
    private var oldest: UInt16 = 0

    init(maximum: Int) {
        self.maximum = min(maximum, Int(UInt16.max))
        topics = Array(repeating: nil, count: self.maximum + 1)
        newer = Array(repeating: 0, count: self.maximum + 1)
        older = Array(repeating: 0, count: self.maximum + 1)
    }

    mutating func use(_ topic: String) -> Use {
        if let alias = aliasOf[topic] {
            touch(alias)
            return .known(alias)
        }
        let alias: UInt16
        if aliasOf.count < maximum {
            alias = UInt16(aliasOf.count + 1)
        } else {
            alias = oldest
            unlink(alias)
            if let previous = topics[Int(alias)] { aliasOf[previous] = nil }
        }
        topics[Int(alias)] = topic
        aliasOf[topic] = alias
        pushNewest(alias)
        return .assign(alias)
    }

    private mutating func touch(_ alias: UInt16) {
        guard alias != newest else { return }
        unlink(alias)
        pushNewest(alias)
    }

    private mutating func unlink(_ alias: UInt16) {
        let a = Int(alias)
        if older[a] != 0 { newer[Int(older[a])] = newer[a] } else { oldest = newer[a] }
        if newer[a] != 0 { older[Int(newer[a])] = older[a] } else { newest = older[a] }
        newer[a] = 0
        older[a] = 0
    }

    private mutating func pushNewest(_ alias: UInt16) {
        let a = Int(alias)
        older[a] = newest
        newer[a] = 0
        if newest != 0 { newer[Int(newest)] = alias }
        newest = alias
        if oldest == 0 { oldest = alias }
    }
}
