import Durable
import CSystem
import JSON
import Storage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A rule's output on its way into a stream, with what error envelopes need. A class: it
/// passes from the rules engine through two queues to the journal thread, and a struct of
/// seven references cost more in copies than its one allocation (measured by instruction
/// counts of the event loop).
public final class StreamRecord: Sendable {
    /// The output as a value; `.null` when it came as `line`.
    public let record: JSONValue
    /// The output already serialized (one NDJSON line, newline included) by a spliced rule, with the
    /// fields the rule added (partition keys are looked up there first).
    public let line: [UInt8]?
    public let addedFields: [(String, JSONValue)]
    public let arrivalMillis: Int64
    public let rule: String
    public let topic: String
    public let clientId: String
    /// Its number in the stream's journal, from `DeliveryStream.reserveSequence()`: the
    /// event loop numbers what it hands the stream, and the publish's acknowledgement waits
    /// until the stream's watermark passes this number.
    public let sequence: UInt64
    /// Approximate bytes (the message payload), counted against `maxJournalMiB` until the
    /// stream has journaled the record.
    public let sizeHint: Int

    convenience init(record: JSONValue, arrivalMillis: Int64, origin: RecordOrigin) {
        self.init(record: record, arrivalMillis: arrivalMillis, rule: origin.rule, topic: origin.topic, clientId: origin.clientId, sequence: 0)
    }

    public convenience init(
        record: JSONValue, arrivalMillis: Int64, rule: String, topic: String, clientId: String, sequence: UInt64, sizeHint: Int = 0
    ) {
        self.init(record, nil, [], arrivalMillis, rule, topic, clientId, sequence, sizeHint)
    }

    /// A spliced rule output: the record as bytes, one line ending with `\n`.
    public convenience init(
        line: [UInt8], addedFields: [(String, JSONValue)], arrivalMillis: Int64, rule: String, topic: String, clientId: String, sequence: UInt64,
        sizeHint: Int = 0
    ) {
        self.init(.null, line, addedFields, arrivalMillis, rule, topic, clientId, sequence, sizeHint)
    }

    private init(
        _ record: JSONValue, _ line: [UInt8]?, _ addedFields: [(String, JSONValue)], _ arrivalMillis: Int64, _ rule: String, _ topic: String,
        _ clientId: String, _ sequence: UInt64, _ sizeHint: Int
    ) {
        self.record = record
        self.line = line
        self.addedFields = addedFields
        self.arrivalMillis = arrivalMillis
        self.rule = rule
        self.topic = topic
        self.clientId = clientId
        self.sequence = sequence
        self.sizeHint = sizeHint
    }

    var origin: RecordOrigin { RecordOrigin(rule: rule, topic: topic, clientId: clientId) }

    /// The record as a value (parsed from `line` when it came as bytes: error paths only).
    var value: JSONValue {
        guard let line else { return record }
        return (try? JSONParser().parse(line)) ?? .null
    }

    /// A top-level field of the record: an added field, or one of the payload's.
    func field(_ key: String) -> JSONValue? {
        guard let line else { return record[key] }
        if let added = addedFields.first(where: { $0.0 == key }) { return added.1 }
        return (try? JSONDocument(line))?.field(key)
    }
}

/// Counters of one stream (`$SYS/hydrant/streams/<name>/…`).
public final class StreamMetrics: Sendable {
    public let recordsIn = Atomic<UInt64>(0)
    public let bytesIn = Atomic<UInt64>(0)
    public let filesWritten = Atomic<UInt64>(0)
    public let recordsWritten = Atomic<UInt64>(0)
    public let errorRecords = Atomic<UInt64>(0)
    /// Error-output records by cause (Firehose's error codes).
    public let partitionKeyMissing = Atomic<UInt64>(0)
    public let recordTooLarge = Atomic<UInt64>(0)
    public let activePartitionExceeded = Atomic<UInt64>(0)
    public let retryExpired = Atomic<UInt64>(0)
    public let sqliteRejected = Atomic<UInt64>(0)
    /// Output fields without a column in the stream's table.
    public let ignoredFields = Atomic<UInt64>(0)
    public let writeFailures = Atomic<UInt64>(0)
    public let journalBytes = Atomic<Int>(0)
    public let recoveredRecords = Atomic<UInt64>(0)
    /// Records found in the journal at start that were already in the lake or the table
    /// (not written again).
    public let skippedRecords = Atomic<UInt64>(0)
    /// Bytes handed to the stream and not yet journaled.
    public let pendingBytes = Atomic<Int>(0)
    /// Publishers were paused for this stream and wait for it to drain.
    public let publishersPaused = Atomic<Bool>(false)
    /// Arrival (ms) of the oldest record not yet in a lake file; 0 when none.
    public let oldestUnflushedMillis = Atomic<Int64>(0)
}

/// A Firehose-like delivery stream into the lake: records are journaled (one fsync per
/// group) on the stream's journal thread, which advances the stream's `watermark` (the
/// broker acknowledges a publish once the watermark passes its records), then buffered per
/// partition and written as files on its batch thread; the journal span of a file is
/// reclaimed once the file is durable. Exactly-once into the sink: the delivery manifest
/// (lake) or `hydrant_stream_offsets` (SQLite) says which journaled records a sink already
/// has, and recovery replays only the others (docs/design-notes.md, "Exactly-once").
/// The broker's event loop never waits for a disk, and an acknowledgement never waits
/// behind a file being written (measured: see docs/benchmarks.md).
public final class DeliveryStream: Sendable {
    public let config: StreamConfig
    public let metrics = StreamMetrics()
    /// How far the journal is durable (advanced once per commit group).
    public let watermark: Watermark
    /// The last sequence number handed out (`reserveSequence`).
    private let sequencer = Atomic<UInt64>(0)
    private let inbox = Mutex<[StreamRecord]>([])
    private let wakeFD: Int32
    /// Committed records from the journal thread to the batch thread.
    private let committed = Mutex<[JournaledRecord]>([])
    private let batchWakeFD: Int32
    /// Set by the batch thread: every sequence up to here is in a durable file.
    private let delivered = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)
    /// The journal thread has committed everything and handed it over: the batch thread
    /// may write its last buffers and stop.
    private let intakeDone = Atomic<Bool>(false)
    /// The journal thread and the batch thread, joined by `shutdown`.
    private let threads = Mutex<[JoinableThread]>([])
    private let log: @Sendable (String) -> Void
    private let onDrained: @Sendable () -> Void

    /// Opens the journal under `journalRoot/<name>`, recovers it and starts the threads.
    public init(
        config: StreamConfig, lakeRoot: String, journalRoot: String, databasePath: String = "", log: @escaping @Sendable (String) -> Void,
        onDrained: @escaping @Sendable () -> Void = {}
    ) throws(StreamError) {
        let prefix: Prefix
        let errorPrefix: Prefix
        var compression = LakeWriter.Compression.none
        var table: TableWriter?
        switch config.destination {
        case let .lake(lakePrefix, lakeErrors, lakeCompression):
            prefix = lakePrefix
            errorPrefix = lakeErrors
            compression = lakeCompression
        case let .sqlite(name, tableErrors):
            prefix = try Prefix(nil, stream: config.name)
            errorPrefix = tableErrors
            var writer = TableWriter(path: databasePath, table: name)
            do throws(StorageError) {
                try writer.open()
            } catch {
                throw .invalidSetting(path: "destination.sqlite.table", message: "\(error)")
            }
            table = writer
        }
        self.config = config
        self.log = log
        self.onDrained = onDrained
        wakeFD = hy_eventfd()
        batchWakeFD = hy_eventfd()
        watermark = Watermark(name: "stream/" + config.name)
        let directory = journalRoot + "/" + config.name
        let journal = try StreamError.wrap { () throws(DurableError) in try Journal(directory: directory) }
        var records: [JournaledRecord] = []
        var undecodable = 0
        let recovery = try StreamError.wrap { () throws(DurableError) in
            try journal.recover { record in
                if let decoded = StreamRecordCodec.decode(record) { records.append(decoded) } else { undecodable += 1 }
            }
        }
        for repair in recovery.repairs { log("stream=\(config.name) journal repaired: \(repair)") }
        if undecodable > 0 { throw .durable(.corruptJournal(path: directory, offset: 0, reason: "\(undecodable) records this version cannot read")) }
        let manifest = try StreamError.wrap { () throws(DurableError) in try DeliveryManifest(directory: directory + "/delivered") }
        let writer = LakeWriter(root: lakeRoot, stream: config.name, compression: compression)
        // What a sink already has: spans whose file exists, and the table's committed spans.
        var spans = manifest.spans.filter { $0.path.isEmpty || writer.exists($0.path) }
        if table != nil {
            do throws(StorageError) {
                spans += try table!.deliveredSpans(stream: config.name)
            } catch {
                throw .invalidSetting(path: "destination.sqlite.table", message: "\(error)")
            }
        }
        let delivered = manifest.delivered
        let replay = records.filter { record in record.sequence > delivered && !spans.contains { $0.covers(record) } }
        if !records.isEmpty {
            log("stream=\(config.name) recovered \(replay.count) journaled records not yet delivered"
                + (records.count > replay.count ? " (\(records.count - replay.count) already delivered, not written again)" : ""))
        }
        metrics.recoveredRecords.store(UInt64(replay.count), ordering: .relaxed)
        metrics.skippedRecords.store(UInt64(records.count - replay.count), ordering: .relaxed)
        metrics.journalBytes.store(journal.sizeBytes, ordering: .relaxed)
        // This run numbers from a new epoch, written down before the first number goes out.
        let lastDurable = max(journal.committedSequence, delivered, spans.map(\.highest).max() ?? 0)
        let previousEpoch = max(manifest.lastEpoch, Watermark.epoch(of: lastDurable))
        let hadRun = manifest.lastEpoch > 0 || lastDurable > 0
        let epoch = previousEpoch + 1
        let endedAt = Watermark.epoch(of: lastDurable) == previousEpoch ? lastDurable : Watermark.firstSequence(ofEpoch: previousEpoch)
        try StreamError.wrap { () throws(DurableError) in
            try manifest.beginRun(epoch: epoch, previous: hadRun ? (previousEpoch, endedAt) : nil)
        }
        journal.skip(through: Watermark.firstSequence(ofEpoch: epoch))
        sequencer.store(Watermark.firstSequence(ofEpoch: epoch), ordering: .relaxed)
        watermark.recovered(runs: manifest.runs, through: journal.committedSequence)
        let intake = StreamIntake(config: config, prefix: prefix, journal: journal, watermark: watermark, metrics: metrics, log: log)
        var batches = StreamBatches(
            config: config, prefix: prefix, errorPrefix: errorPrefix, writer: writer, table: table, manifest: manifest, metrics: metrics, log: log)
        batches.received = lastDurable
        let initial = batches
        let batchThread = JoinableThread(name: "batch " + config.name) { [self] in
            var batches = initial
            batches.replay(replay)
            runBatches(&batches)
        }
        let intakeThread = JoinableThread(name: "journal " + config.name) { [self] in
            var intake = intake
            runIntake(&intake, batchThread: batchThread)
        }
        threads.withLock { $0 = [intakeThread, batchThread] }
    }

    /// The next sequence number of this stream's journal, for a record about to be handed
    /// to `submit`. One producer at a time (the event loop): records must reach `submit` in
    /// the order of their numbers.
    public func reserveSequence() -> UInt64 {
        sequencer.add(1, ordering: .relaxed).newValue
    }

    deinit {
        close(wakeFD)
        close(batchWakeFD)
    }

    /// Payload bytes of records handed to the stream and not yet journaled, at most: they
    /// are in memory only. A QoS 0 flood outruns the journal thread; past this the
    /// publishers feeding the stream are paused as for a full journal (measured: peak RSS
    /// of a 1M-message QoS 0 flood 250–600 MB without it).
    public static let maxPendingBytes = 16 << 20

    /// Whether the journal, counting records not yet journaled, is over `maxJournalMiB`, or
    /// the records not yet journaled over `maxPendingBytes`: then the publishers feeding
    /// the stream should be paused (see `pausedPublishers()`).
    public var isCongested: Bool {
        let pending = metrics.pendingBytes.load(ordering: .relaxed)
        return metrics.journalBytes.load(ordering: .relaxed) + pending > config.maxJournalBytes || pending > Self.maxPendingBytes
    }

    /// Why publishers are paused for this stream: flow control's key for pausing them and
    /// resuming them once the stream drained (`onDrained`).
    public var pauseReason: String { Self.pauseReason(config.name) }

    public static func pauseReason(_ stream: String) -> String { "stream \(stream) backlog (journal or records not yet journaled) over its limit" }

    /// Records that publishers were paused for this stream; `onDrained` runs once the
    /// journal is below three quarters of `maxJournalMiB` and the records not yet journaled
    /// below half of `maxPendingBytes` again.
    public func pausedPublishers() {
        if !metrics.publishersPaused.exchange(true, ordering: .relaxed) {
            let pending = metrics.pendingBytes.load(ordering: .relaxed)
            let reason = pending > Self.maxPendingBytes
                ? "records not yet journaled over \(Self.maxPendingBytes >> 20) MiB"
                : "journal over maxJournalMiB \(config.maxJournalBytes >> 20)"
            log("stream=\(config.name) \(reason): pausing its publishers")
            // The journal thread may have drained already and gone to sleep: it checks again.
            _ = hy_eventfd_signal(wakeFD)
        }
    }

    /// Hands a record to the stream (its producer's thread); `watermark` passes its
    /// sequence once it is journaled.
    public func submit(_ record: StreamRecord) {
        var one = [record]
        submit(contentsOf: &one)
    }

    /// Hands records to the stream in one step (any thread); see `submit(_:)`.
    /// `records` comes back empty, with the capacity of an array the stream is done with.
    public func submit(contentsOf records: inout [StreamRecord]) {
        guard !records.isEmpty else { return }
        metrics.pendingBytes.add(records.reduce(0) { $0 + $1.sizeHint }, ordering: .relaxed)
        let first = inbox.withLock { pending in Self.handOver(&records, to: &pending) }
        if first { _ = hy_eventfd_signal(wakeFD) }
    }

    /// Moves `items` to the end of `queue`; true when `queue` was empty. An empty queue
    /// trades arrays with `items` instead (no copy, no allocation: both arrays keep their
    /// capacity from round to round — fresh large arrays page-faulted on every group).
    private static func handOver<T>(_ items: inout [T], to queue: inout [T]) -> Bool {
        if queue.isEmpty {
            swap(&items, &queue)
            return true
        }
        queue.append(contentsOf: items)
        items.removeAll(keepingCapacity: true)
        return false
    }

    /// Flushes every buffer to files and stops the threads (SIGTERM); waits up to `timeout` s.
    public func shutdown(timeout: Double = 30) {
        stopping.store(true, ordering: .releasing)
        _ = hy_eventfd_signal(wakeFD)
        let deadline = StreamBatches.monotonicMillis() + Int64(timeout * 1000)
        for thread in threads.withLock({ $0 }) {
            thread.join(timeout: Double(max(0, deadline - StreamBatches.monotonicMillis())) / 1000)
        }
    }

    /// Waits for `fd` (an eventfd) until `deadline` (monotonic ms; nil: a second at most).
    private static func wait(_ fd: Int32, until deadline: Int64?) {
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let now = StreamBatches.monotonicMillis()
        let timeout = deadline.map { Int32(max(0, min($0 - now, 1000))) } ?? 1000
        _ = poll(&pollFD, 1, timeout)
        _ = hy_eventfd_drain(fd)
    }

    /// The journal thread: journal, commit, acknowledge, hand over, reclaim.
    private func runIntake(_ intake: inout StreamIntake, batchThread: JoinableThread) {
        var items: [StreamRecord] = []
        while true {
            Self.wait(wakeFD, until: intake.nextWake(now: StreamBatches.monotonicMillis()))
            inbox.withLock { swap(&$0, &items) }
            let stop = stopping.load(ordering: .acquiring)
            if intake.process(items, now: StreamBatches.monotonicMillis()) && !intake.uncommitted.isEmpty {
                let first = committed.withLock { queue in Self.handOver(&intake.uncommitted, to: &queue) }
                if first { _ = hy_eventfd_signal(batchWakeFD) }
            }
            metrics.pendingBytes.subtract(items.reduce(0) { $0 + $1.sizeHint }, ordering: .relaxed)
            items.removeAll(keepingCapacity: true)
            intake.reclaim(delivered: delivered.load(ordering: .acquiring))
            let total = metrics.journalBytes.load(ordering: .relaxed) + metrics.pendingBytes.load(ordering: .relaxed)
            if metrics.publishersPaused.load(ordering: .relaxed) && total < config.maxJournalBytes / 4 * 3
                && metrics.pendingBytes.load(ordering: .relaxed) < Self.maxPendingBytes / 2
            {
                metrics.publishersPaused.store(false, ordering: .relaxed)
                log("stream=\(config.name) journal drained to \(total >> 10) KiB: resuming its publishers")
                onDrained()
            }
            if stop && inbox.withLock({ $0.isEmpty }) {
                // Records whose commit keeps failing stay out of the batches (never
                // acknowledged); they are in the journal's pending group only in memory.
                intakeDone.store(true, ordering: .releasing)
                _ = hy_eventfd_signal(batchWakeFD)
                batchThread.join()  // it ends once it has written what the queue held
                intake.reclaim(delivered: delivered.load(ordering: .acquiring))
                return
            }
        }
    }

    /// The batch thread: buffer, write files, retry, report what the journal may drop.
    private func runBatches(_ batches: inout StreamBatches) {
        var records: [JournaledRecord] = []
        while true {
            Self.wait(batchWakeFD, until: batches.nextWake())
            // Read before taking the queue: once set, the queue holds everything there is.
            let last = intakeDone.load(ordering: .acquiring)
            committed.withLock { swap(&$0, &records) }
            batches.process(records, now: StreamBatches.monotonicMillis())
            records.removeAll(keepingCapacity: true)
            if last { batches.shutdown() }
            let through = batches.persistDelivered(now: StreamBatches.monotonicMillis(), force: last)
            if through > delivered.load(ordering: .relaxed) {
                delivered.store(through, ordering: .releasing)
                _ = hy_eventfd_signal(wakeFD)  // the journal thread reclaims
            }
            if last { return }
        }
    }
}

