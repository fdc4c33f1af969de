/// A first-in first-out queue: an array read from a moving head, compacted when the head
/// passes half of it (amortised O(1) push and pop); the oldest element is read in place
/// (`firstSatisfies`). The held acknowledgements it carries hold references (watermarks):
/// the previous two-stack queue copied every element once more in `reversed()`, measured
/// at ~470 instructions per QoS 1 publish into the lake (`scripts/profile-lake.sh`,
/// event loop 11,585 → 11,109; a ring buffer of optionals measured 11,171, a class per
/// acknowledgement 11,195).
struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Whether there is an oldest element and it satisfies `predicate` (read in place).
    func firstSatisfies(_ predicate: (Element) -> Bool) -> Bool {
        guard head < storage.count else { return false }
        return predicate(storage[head])
    }

    /// The oldest element.
    var first: Element? { head < storage.count ? storage[head] : nil }

    /// Oldest first.
    var elements: [Element] { Array(storage[head...]) }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}
