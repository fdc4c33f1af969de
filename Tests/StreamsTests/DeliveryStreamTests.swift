import Durable
import Foundation
import JSON
import Storage
import Streams
import TestSupport
import Testing

/// A delivery stream in-process: journal, batches, files, error output, retries.
@Suite struct DeliveryStreamTests {
    func makeStream(_ settings: String, root: String) throws -> DeliveryStream {
        guard case let .object(object) = try JSONParser().parse(settings) else { throw StreamError.invalidSetting(path: "", message: "not an object") }
        guard case let .success(config) = StreamConfig.parse(name: "s", object) else { throw StreamError.invalidSetting(path: "", message: "bad config") }
        return try DeliveryStream(config: config, lakeRoot: root + "/lake", journalRoot: root + "/journal", log: { _ in })
    }

    func files(_ root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root + "/lake")?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".ndjson") }.sorted()
    }

    func lines(_ root: String, _ file: String) -> [String] {
        (try? String(contentsOfFile: root + "/lake/" + file, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    /// Hands `json` to `stream` as the rules engine would (numbered first); returns its number.
    @discardableResult
    func submit(_ json: JSONValue, to stream: DeliveryStream) -> UInt64 {
        let sequence = stream.reserveSequence()
        stream.submit(StreamRecord(record: json, arrivalMillis: 1_795_856_707_123, rule: "r", topic: "t/1", clientId: "c", sequence: sequence))
        return sequence
    }

    /// Waits (bounded) until the stream's watermark passes `sequence`.
    func waitDurable(_ stream: DeliveryStream, _ sequence: UInt64) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while !stream.watermark.covers(sequence) && Date() < deadline { usleep(2_000) }
        return stream.watermark.covers(sequence)
    }

    @Test func partitionsErrorsAndDurabilityCallbacks() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-ds")
        defer { directory.remove() }
        let root = directory.path
        let stream = try makeStream("""
            {"destination": {"lake": {"prefix": "s/k=!{partitionKeyFromQuery:k}/"}}, "maxActivePartitions": 2, "maxRecordKiB": 1}
            """, root: root)
        var last: UInt64 = 0
        for k in ["a", "b", "a", "c"] { last = submit(["k": .string(k), "v": 1], to: stream) }
        #expect(waitDurable(stream, last))
        submit(["v": 2], to: stream)  // no partition key
        submit(["k": "a", "blob": .string(String(repeating: "x", count: 2000))], to: stream)
        stream.shutdown()
        let all = files(root)
        #expect(all.filter { $0.hasPrefix("s/k=a/year=2026/month=11/day=28/hour=09/s-1-2026-11-28-09-05-07-") }.count == 1)
        #expect(all.filter { $0.hasPrefix("s/k=b/") }.count == 1)
        #expect(!all.contains { $0.hasPrefix("s/k=c/") })
        let errors = all.filter { $0.hasPrefix("errors/s/") }
        #expect(Set(errors.map { $0.split(separator: "/")[2] }) == ["partitioning-failed", "record-too-large"])
        let codes = errors.flatMap { lines(root, $0) }.compactMap { try? JSONParser().parse($0)["errorCode"] }
        #expect(codes.sorted { $0.serialized() < $1.serialized() } == ["ActivePartitionExceeded", "PartitionKeyMissing", "RecordTooLarge"])
        // Every envelope names where the record came from, also the one made after batching.
        for envelope in errors.flatMap({ lines(root, $0) }).compactMap({ try? JSONParser().parse($0) }) {
            #expect(envelope["rule"] == "r" && envelope["topic"] == "t/1" && envelope["clientId"] == "c", "\(envelope.serialized())")
        }
        #expect(lines(root, all.first { $0.hasPrefix("s/k=a/") }!) == [#"{"k":"a","v":1}"#, #"{"k":"a","v":1}"#])
        #expect(stream.metrics.activePartitionExceeded.load(ordering: .relaxed) == 1)
    }

    /// Publishers paused for a stream that has already drained are resumed at once: the
    /// journal thread is woken to look, not left asleep until its next timeout (a QoS 0
    /// flood stayed paused for up to a second, and its unread messages were lost at
    /// shutdown — found by the lake benchmark).
    @Test func pausedPublishersOfADrainedStreamResumeAtOnce() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-ds")
        defer { directory.remove() }
        let root = directory.path
        guard case let .object(object) = try JSONParser().parse(#"{"destination": {"lake": {}}}"#),
            case let .success(config) = StreamConfig.parse(name: "s", object)
        else { throw StreamError.invalidSetting(path: "", message: "bad config") }
        let drained = Locked(0)
        let stream = try DeliveryStream(config: config, lakeRoot: root + "/lake", journalRoot: root + "/journal", log: { _ in }, onDrained: { drained.withLock { $0 += 1 } })
        defer { stream.shutdown() }
        usleep(50_000)  // the journal thread is asleep, nothing pending
        #expect(!stream.isCongested)
        let start = Date()
        stream.pausedPublishers()
        while drained.value == 0 && Date().timeIntervalSince(start) < 2 { usleep(1_000) }
        #expect(drained.value == 1)
        #expect(Date().timeIntervalSince(start) < 0.1)
        #expect(stream.pauseReason == DeliveryStream.pauseReason("s"))
    }

    @Test func failedWritesAreRetriedUntilTheDiskIsBack() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-ds")
        defer { directory.remove() }
        let root = directory.path
        try FileManager.default.createDirectory(atPath: root + "/lake", withIntermediateDirectories: true)
        // A file where the stream's directory should be: every write fails (ENOTDIR), as
        // with a full or read-only disk, without needing either.
        #expect(FileManager.default.createFile(atPath: root + "/lake/s", contents: Data()))
        let stream = try makeStream(#"{"destination": {"lake": {}}, "buffering": {"intervalSeconds": 0}}"#, root: root)
        submit(["n": 1], to: stream)
        let deadline = Date().addingTimeInterval(5)
        while stream.metrics.writeFailures.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(10_000) }
        #expect(stream.metrics.writeFailures.load(ordering: .relaxed) >= 1)
        #expect(files(root).isEmpty)
        try FileManager.default.removeItem(atPath: root + "/lake/s")
        while files(root).isEmpty && Date() < deadline.addingTimeInterval(5) { usleep(20_000) }
        #expect(files(root).count == 1)
        stream.shutdown()
        #expect(stream.metrics.recordsWritten.load(ordering: .relaxed) == 1)
    }

    @Test func afterRetrySecondsRecordsGoToTheErrorOutput() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-ds")
        defer { directory.remove() }
        let root = directory.path
        try FileManager.default.createDirectory(atPath: root + "/lake", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root + "/lake/s", contents: Data()))
        let stream = try makeStream(#"{"destination": {"lake": {}}, "buffering": {"intervalSeconds": 0}, "retrySeconds": 0}"#, root: root)
        submit(["n": 1], to: stream)
        let deadline = Date().addingTimeInterval(8)
        while files(root).isEmpty && Date() < deadline { usleep(20_000) }
        stream.shutdown()
        let errors = files(root)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("errors/s/delivery-failed/") == true)
        let envelope = try JSONParser().parse(lines(root, errors[0])[0])
        #expect(envelope["errorCode"] == "RetryExpired")
        #expect(envelope["rule"] == "r" && envelope["topic"] == "t/1" && envelope["clientId"] == "c")
        #expect(envelope["record"] == ["n": 1])
        #expect(envelope["attemptsMade"] == .int(1))
    }

    @Test func journaledRecordsSurviveAnUncleanStop() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-ds")
        defer { directory.remove() }
        let root = directory.path
        let settings = #"{"destination": {"lake": {}}, "buffering": {"intervalSeconds": 900}}"#
        do {
            let stream = try makeStream(settings, root: root)
            var last: UInt64 = 0
            for n in 1...5 { last = submit(["n": .int(Int64(n))], to: stream) }
            #expect(waitDurable(stream, last))
            #expect(files(root).isEmpty)  // still buffered: no shutdown, like a kill -9
        }
        let restarted = try makeStream(settings, root: root)
        #expect(restarted.metrics.recoveredRecords.load(ordering: .relaxed) == 5)
        restarted.shutdown()
        #expect(files(root).flatMap { lines(root, $0) }.count == 5)
    }
}

/// Streams into SQLite tables: column mapping and per-record rejects.
@Suite struct TableStreamTests {
    @Test func mapsFieldsToColumnsAndRejectsRowsOneByOne() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-table")
        defer { directory.remove() }
        let root = directory.path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let database = root + "/hydrant.sqlite"
        try Database(path: database).execute("CREATE TABLE t (n INTEGER NOT NULL CHECK (n < 100), x REAL, ok INTEGER, tags TEXT, payload TEXT)")
        guard case let .object(settings) = try JSONParser().parse(#"{"destination": {"sqlite": {"table": "t"}}, "buffering": {"intervalSeconds": 60}}"#),
            case let .success(config) = StreamConfig.parse(name: "tab", settings)
        else { Issue.record("config"); return }
        let stream = try DeliveryStream(config: config, lakeRoot: root + "/lake", journalRoot: root + "/journal", databasePath: database, log: { _ in })
        stream.submit(StreamRecord(record: ["n": 1, "x": 2.5, "ok": true, "tags": ["a", "b"], "extra": "ignored"], arrivalMillis: 0, rule: "r", topic: "t", clientId: "c", sequence: stream.reserveSequence()))
        stream.submit(StreamRecord(record: ["n": 500], arrivalMillis: 0, rule: "r", topic: "t", clientId: "c", sequence: stream.reserveSequence()))
        stream.submit(StreamRecord(record: ["x": 1.0], arrivalMillis: 0, rule: "r", topic: "t", clientId: "c", sequence: stream.reserveSequence()))
        stream.submit(StreamRecord(record: ["n": 2, "payload": "mine"], arrivalMillis: 0, rule: "r", topic: "t", clientId: "c", sequence: stream.reserveSequence()))
        stream.shutdown()
        // Read back through a separate read-only connection (busy timeout), as `hydrant query` does.
        let rows = try Database(path: database, readOnly: true).rows("SELECT n, x, ok, tags, payload FROM t ORDER BY n")
        #expect(rows == [
            [.integer(1), .real(2.5), .integer(1), .text(#"["a","b"]"#), .text(#"{"n":1,"x":2.5,"ok":true,"tags":["a","b"],"extra":"ignored"}"#)],
            [.integer(2), .null, .null, .null, .text("mine")],
        ])
        #expect(stream.metrics.recordsWritten.load(ordering: .relaxed) == 2)
        #expect(stream.metrics.sqliteRejected.load(ordering: .relaxed) == 2)
        #expect(stream.metrics.ignoredFields.load(ordering: .relaxed) == 1)  // "extra"
        #expect(stream.metrics.errorRecords.load(ordering: .relaxed) == 2)
        let errors = (FileManager.default.enumerator(atPath: root + "/lake")?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".ndjson") }
        #expect(errors.count == 1 && errors[0].hasPrefix("errors/tab/sqlite-rejected/"))
        let text = try String(contentsOfFile: root + "/lake/" + errors[0], encoding: .utf8)
        #expect(text.contains("CHECK constraint failed: n < 100"))
        #expect(text.contains("NOT NULL constraint failed: t.n"))
    }
}
