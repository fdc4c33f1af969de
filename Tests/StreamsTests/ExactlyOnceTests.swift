import Durable
import Foundation
import JSON
import Storage
import TestSupport
import Testing

@testable import Streams

/// Issue #12: the journal → lake/table step is exactly-once. Each test lays out what a
/// crash at one point leaves on disk — journal segments, the delivery manifest, lake files,
/// SQLite rows — opens the stream on it, and checks that recovery writes every record once.
@Suite struct ExactlyOnceTests {
    static let epoch1 = Watermark.firstSequence(ofEpoch: 1)
    let directory: TemporaryDirectory
    var root: String { directory.path }

    init() throws { directory = try TemporaryDirectory(prefix: "hydrant-once") }

    func config(_ settings: String) throws -> StreamConfig {
        guard case let .object(object) = try JSONParser().parse(settings), case let .success(config) = StreamConfig.parse(name: "s", object) else {
            throw StreamError.invalidSetting(path: "", message: "bad config")
        }
        return config
    }

    func open(_ settings: String, database: String = "") throws -> DeliveryStream {
        try DeliveryStream(config: config(settings), lakeRoot: root + "/lake", journalRoot: root + "/journal", databasePath: database, log: { _ in })
    }

    /// Journals records `(sequence, partition value, line)` as a stream's journal thread would.
    func journal(_ records: [(UInt64, [String], String)]) throws {
        let journal = try Journal(directory: root + "/journal/s")
        _ = try journal.recover()
        for (sequence, partition, text) in records {
            let line = Array((text + "\n").utf8)
            journal.append(sequence: sequence, bodyLength: StreamRecordCodec.bodyLength(target: .partition(partition), line: line)) { out in
                StreamRecordCodec.encode(arrival: 1_795_856_707_123, target: .partition(partition), line: line, into: out)
            }
        }
        try journal.commit()
    }

    func lakeLines() -> [String] {
        let files = (FileManager.default.enumerator(atPath: root + "/lake")?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".ndjson") }
        return files.flatMap { (try? String(contentsOfFile: root + "/lake/" + $0, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? [] }.sorted()
    }

    func writeLakeFile(_ path: String, _ lines: [String]) throws {
        let full = root + "/lake/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try (lines.joined(separator: "\n") + "\n").write(toFile: full, atomically: true, encoding: .utf8)
    }

    static let partitioned = #"{"destination": {"lake": {"prefix": "s/k=!{partitionKeyFromQuery:k}/"}}, "buffering": {"intervalSeconds": 900}}"#
    static let records: [(UInt64, [String], String)] = [
        (epoch1 + 1, ["a"], #"{"k":"a","n":1}"#), (epoch1 + 2, ["b"], #"{"k":"b","n":2}"#),
        (epoch1 + 3, ["a"], #"{"k":"a","n":3}"#), (epoch1 + 4, ["b"], #"{"k":"b","n":4}"#),
    ]

    /// Crash after a lake file's rename, before the watermark passed it: its span is in the
    /// manifest and the file exists, so its records are not written again.
    @Test func fileRenamedBeforeTheWatermarkIsNotWrittenAgain() throws {
        defer { directory.remove() }
        try journal(Self.records)
        let manifest = try DeliveryManifest(directory: root + "/journal/s/delivered")
        try manifest.beginRun(epoch: 1, previous: nil)
        let span = DeliveredSpan(target: .partition(["a"]), first: Self.epoch1 + 1, last: Self.epoch1 + 3, path: "s/k=a/s-1-a.ndjson")
        try manifest.recordFile(span, delivered: 0)
        try writeLakeFile(span.path, [#"{"k":"a","n":1}"#, #"{"k":"a","n":3}"#])

        let stream = try open(Self.partitioned)
        #expect(stream.metrics.recoveredRecords.load(ordering: .relaxed) == 2)
        #expect(stream.metrics.skippedRecords.load(ordering: .relaxed) == 2)
        stream.shutdown()
        #expect(lakeLines() == Self.records.map(\.2).sorted())
        // The next start replays nothing: the watermark passed everything.
        let again = try open(Self.partitioned)
        #expect(again.metrics.recoveredRecords.load(ordering: .relaxed) == 0)
        again.shutdown()
        #expect(lakeLines().count == 4)
    }

    /// Crash after the manifest named a file, before the file was renamed: the file does
    /// not exist, so its records are written (once) from the journal; its temp file goes.
    @Test func fileNamedButNeverRenamedIsWrittenFromTheJournal() throws {
        defer { directory.remove() }
        try journal(Self.records)
        let manifest = try DeliveryManifest(directory: root + "/journal/s/delivered")
        try manifest.beginRun(epoch: 1, previous: nil)
        try manifest.recordFile(DeliveredSpan(target: .partition(["a"]), first: Self.epoch1 + 1, last: Self.epoch1 + 3, path: "s/k=a/s-1-a.ndjson"), delivered: 0)
        try writeLakeFile("s/k=a/.s-1-a.ndjson.tmp", [#"{"k":"a","n":1}"#])  // half-written
        let stream = try open(Self.partitioned)
        #expect(stream.metrics.recoveredRecords.load(ordering: .relaxed) == 4)
        stream.shutdown()
        #expect(lakeLines() == Self.records.map(\.2).sorted())
        #expect(!FileManager.default.fileExists(atPath: root + "/lake/s/k=a/.s-1-a.ndjson.tmp"))
    }

    /// A record journaled for one partition and written into the error output (too many
    /// partitions) is named by its sequence: not written again either.
    @Test func reroutedRecordsAreCoveredByTheirSequence() throws {
        defer { directory.remove() }
        try journal(Self.records)
        let manifest = try DeliveryManifest(directory: root + "/journal/s/delivered")
        try manifest.beginRun(epoch: 1, previous: nil)
        try manifest.recordFile(
            DeliveredSpan(target: .error(type: "partitioning-failed"), first: .max, last: 0, rerouted: [Self.epoch1 + 2], path: "errors/e.ndjson"), delivered: 0)
        try writeLakeFile("errors/e.ndjson", [#"{"errorCode":"ActivePartitionExceeded"}"#])
        let stream = try open(Self.partitioned)
        #expect(stream.metrics.recoveredRecords.load(ordering: .relaxed) == 3)
        stream.shutdown()
    }

    /// Crash after the SQLite commit, before the watermark reached the manifest and the
    /// journal was reclaimed: the table's own offsets say the rows are there.
    @Test func rowsCommittedBeforeTheJournalWasReclaimedAreNotInsertedAgain() throws {
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let database = root + "/hydrant.sqlite"
        try Database(path: database).execute("CREATE TABLE t (n INTEGER)")
        let settings = #"{"destination": {"sqlite": {"table": "t"}}, "buffering": {"intervalSeconds": 900}}"#
        let stream = try open(settings, database: database)
        var last: UInt64 = 0
        for n in 1...3 {
            last = stream.reserveSequence()
            stream.submit(StreamRecord(record: ["n": .int(Int64(n))], arrivalMillis: 0, rule: "r", topic: "t", clientId: "c", sequence: last))
        }
        let deadline = Date().addingTimeInterval(5)
        while !stream.watermark.covers(last) && Date() < deadline { usleep(2_000) }
        // The journal as it is now, with the records and no watermark for them.
        let saved = root + "/saved"
        try FileManager.default.copyItem(atPath: root + "/journal/s", toPath: saved)
        stream.shutdown()  // rows + offsets commit, watermark written, journal emptied
        try FileManager.default.removeItem(atPath: root + "/journal/s")
        try FileManager.default.moveItem(atPath: saved, toPath: root + "/journal/s")

        let restarted = try open(settings, database: database)
        #expect(restarted.metrics.recoveredRecords.load(ordering: .relaxed) == 0)
        #expect(restarted.metrics.skippedRecords.load(ordering: .relaxed) == 3)
        restarted.shutdown()
        #expect(try Database(path: database, readOnly: true).rows("SELECT count(*) FROM t") == [[.integer(3)]])
    }

    /// A crash during compaction (the manifest rewritten at every start) leaves the old
    /// history beside a whole or torn snapshot: replay gives the same facts either way.
    @Test func compactionInterruptedAnywhereReplaysTheSameFacts() throws {
        defer { directory.remove() }
        let directory = root + "/manifest"
        let span = DeliveredSpan(target: .partition(["x", "ü"]), first: 10, last: 20, rerouted: [7, 30], path: "p/f.ndjson")
        do {
            let manifest = try DeliveryManifest(directory: directory)
            try manifest.beginRun(epoch: 3, previous: (2, 99))
            try manifest.recordFile(span, delivered: 5)
            try manifest.recordDelivered(8)
        }
        let history = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        let copy = root + "/history"
        try FileManager.default.copyItem(atPath: directory, toPath: copy)
        let before = try DeliveryManifest(directory: directory)
        try before.compact()
        let snapshot = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(snapshot.count == 1 && !history.contains(snapshot[0]))
        for name in history { try FileManager.default.copyItem(atPath: copy + "/" + name, toPath: directory + "/" + name) }
        for cut in [0, 9, 30] {
            if cut > 0 {
                let path = directory + "/" + snapshot[0]
                let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
                truncate(path, off_t(max(0, size - cut)))
            }
            let replayed = try DeliveryManifest(directory: directory)
            #expect(replayed.delivered == 8)
            #expect(replayed.spans == [span])
            #expect(replayed.runs == [2: 99])
            #expect(replayed.lastEpoch == 3)
        }
    }

    /// Strict decoding: a record of a newer format stops the stream with a clear error.
    @Test func aManifestOfANewerFormatIsRefused() throws {
        defer { directory.remove() }
        let journal = try Journal(directory: root + "/m")
        _ = try journal.recover()
        journal.append([1, 9, 0, 0, 0])  // header, version 9
        try journal.commit()
        #expect(throws: DurableError.self) { try DeliveryManifest(directory: root + "/m") }
    }
}
