import Durable
import Foundation
import TestSupport
import Testing

private func temporaryDirectory() throws -> String {
    try TemporaryDirectory(prefix: "hydrant-durable").path
}

@Suite struct JournalTests {
    @Test func appendCommitRecover() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let journal = try Journal(directory: directory)
            _ = try journal.recover()
            for n in 1...100 {
                journal.append(Array("{\"seq\":\(n)}\n".utf8))
            }
            #expect(try journal.commit() == 100)
            journal.append(Array("{\"never\":\"committed\"}\n".utf8))
        }
        let reopened = try Journal(directory: directory)
        let recovery = try reopened.recover()
        #expect(recovery.repairs.isEmpty)
        #expect(recovery.records.count == 100)
        #expect(recovery.records.first == JournalRecord(sequence: 1, body: Array("{\"seq\":1}\n".utf8)))
        #expect(recovery.records.map(\.sequence) == Array(1...100))
        #expect(reopened.nextSequence == 101)
    }

    @Test(arguments: [1, 5, 9, 17])
    func tornTailIsTruncatedAndReported(_ cut: Int) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let journal = try Journal(directory: directory)
            _ = try journal.recover()
            for n in 1...10 { journal.append(Array("{\"seq\":\(n)}\n".utf8)) }
            try journal.commit()
        }
        let segment = directory + "/" + (try FileManager.default.contentsOfDirectory(atPath: directory).first!)
        let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
        truncate(segment, off_t(size - cut))  // a crash mid-write of the last frame
        let journal = try Journal(directory: directory)
        let recovery = try journal.recover()
        #expect(recovery.records.map(\.sequence) == Array(1...9))
        #expect(recovery.repairs.count == 1)
        // Appends continue after the truncated tail, and survive another reopen.
        journal.append(Array("{\"seq\":10}\n".utf8))
        try journal.commit()
        let again = try Journal(directory: directory)
        #expect(try again.recover().records.map(\.sequence) == Array(1...10))
    }

    @Test func corruptFrameIsDetectedByCRC() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let journal = try Journal(directory: directory)
            _ = try journal.recover()
            for n in 1...3 { journal.append(Array("{\"seq\":\(n)}\n".utf8)) }
            try journal.commit()
        }
        let segment = directory + "/" + (try FileManager.default.contentsOfDirectory(atPath: directory).first!)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        bytes[bytes.count - 3] ^= 0xFF  // flip a byte of the last record
        #expect(FileManager.default.createFile(atPath: segment, contents: Data(bytes)))
        let recovery = try Journal(directory: directory).recover()
        #expect(recovery.records.map(\.sequence) == [1, 2])
        #expect(recovery.repairs.first?.description.contains("CRC mismatch") == true)
    }

    /// Sequence numbers may be given (a stream's are handed out by the event loop) and jump
    /// (a new run's epoch); recovery keeps them, and `skip` keeps later appends above.
    @Test func givenSequencesWithGapsRecoverAsWritten() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let journal = try Journal(directory: directory)
            _ = try journal.recover()
            journal.append(sequence: 5, body: [1])
            journal.append(sequence: 6, body: [])
            #expect(try journal.commit() == 6)
            journal.skip(through: 1 << 44)
            journal.append([2, 3])
            #expect(try journal.commit() == (1 << 44) + 1)
        }
        let recovery = try Journal(directory: directory).recover()
        #expect(recovery.records == [JournalRecord(sequence: 5, body: [1]), JournalRecord(sequence: 6, body: []), JournalRecord(sequence: (1 << 44) + 1, body: [2, 3])])
    }

    @Test func segmentsRollAndAreReclaimed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, segmentBytes: 200)
        _ = try journal.recover()
        for n in 1...30 {
            journal.append(Array("{\"seq\":\(n)}\n".utf8))
            try journal.commit()
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: directory).count
        #expect(before > 3)
        journal.reclaim(through: 20)
        let after = try Journal(directory: directory)
        let remaining = try after.recover().records.map(\.sequence)
        #expect(remaining.first! <= 21)
        #expect(remaining.last == 30)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count < before)
    }
}

/// Watermarks: one store per group, integers compared; epochs tell exactly whether a
/// number from an earlier run was made durable.
@Suite struct WatermarkTests {
    @Test func marksAreDurableOnceTheWatermarkPassesThem() {
        let log = Watermark(name: "stream/s")
        let base = Watermark.firstSequence(ofEpoch: 2)
        log.recovered(runs: [1: Watermark.firstSequence(ofEpoch: 1) + 5], through: Watermark.firstSequence(ofEpoch: 1) + 5)
        var marks = DurabilityMarks()
        #expect(marks.isDurable)
        marks.add(log, base + 1)
        marks.add(log, base + 2)
        #expect(marks.marks.count == 1 && marks.marks[0].first == base + 1 && marks.marks[0].last == base + 2)
        #expect(!marks.isDurable)
        log.advance(to: base + 1)
        #expect(!marks.isDurable)
        log.advance(to: base + 2)
        #expect(marks.isDurable)
        log.advance(to: base)  // never backwards
        #expect(log.durableThrough == base + 2)
    }

    @Test(arguments: [(UInt64(3), true), (UInt64(5), true), (UInt64(6), false), (UInt64(1 << 44) + 200, false)] as [(UInt64, Bool)])
    func earlierRunsAnswerFromTheirLastDurableNumber(_ offset: UInt64, _ durable: Bool) {
        let log = Watermark(name: "stream/s")
        let run1 = Watermark.firstSequence(ofEpoch: 1)
        log.recovered(runs: [1: run1 + 5], through: run1 + 5)
        // Numbers of the current run (epoch 2) handed out later and committed.
        log.advance(to: Watermark.firstSequence(ofEpoch: 2) + 100)
        #expect(log.isDurable(run1 + offset) == durable)
        #expect(log.isDurable(Watermark.firstSequence(ofEpoch: 2) + 100))
        #expect(!log.isDurable(Watermark.firstSequence(ofEpoch: 2) + 101))
    }
}
