/// A first-in first-out queue with amortised O(1) push and pop (two stacks).
struct FIFO<Element> {
    private var front: [Element] = []  // reversed: last element is the oldest
    private var back: [Element] = []

    var count: Int { front.count + back.count }
    var isEmpty: Bool { front.isEmpty && back.isEmpty }

    mutating func append(_ element: Element) { back.append(element) }

    mutating func popFirst() -> Element? {
        if front.isEmpty {
            guard !back.isEmpty else { return nil }
            front = back.reversed()
            back.removeAll(keepingCapacity: true)
        }
        return front.popLast()
    }

    /// The oldest element.
    var first: Element? { front.last ?? back.first }

    /// Oldest first.
    var elements: [Element] { front.reversed() + back }

    mutating func removeAll() {
        front.removeAll()
        back.removeAll()
    }
}
