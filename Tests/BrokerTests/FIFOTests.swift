import Testing

@testable import Broker

/// The queue behind session queues and held acknowledgements: order kept across
/// compactions, in-place reads, the snapshot view.
@Suite struct FIFOTests {
    @Test func keepsOrderAcrossCompactionsAndInterleavedUse() {
        var queue = FIFO<String>()
        var model: [String] = []
        var next = 0
        // Push 3, pop 2, many times: the head passes the compaction threshold repeatedly.
        for round in 0..<500 {
            for _ in 0..<3 {
                queue.append("m\(next)")
                model.append("m\(next)")
                next += 1
            }
            for _ in 0..<(round % 5 == 0 ? 3 : 2) {
                #expect(queue.firstSatisfies { $0 == model.first })
                #expect(queue.popFirst() == model.removeFirst())
            }
            #expect(queue.count == model.count)
        }
        #expect(queue.elements == model)
        #expect(queue.first == model.first)
        while let element = queue.popFirst() { #expect(element == model.removeFirst()) }
        #expect(queue.isEmpty && model.isEmpty)
        #expect(!queue.firstSatisfies { _ in true })
        queue.append("again")
        queue.removeAll()
        #expect(queue.isEmpty && queue.popFirst() == nil)
    }
}
