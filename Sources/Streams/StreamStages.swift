import Durable
import CSystem
import JSON
import Storage

/// A record the journal has on disk, on its way into a batch.
struct JournaledRecord: Sendable {
    var partition: [String]
    var line: [UInt8]
    var arrival: Int64
    var sequence: UInt64
    var origin: RecordOrigin
}

/// Error envelopes and the marker of the partitions they travel in (both stages make them).
enum ErrorOutput {
    /// Records that go to the error output travel in partitions marked with this first key.
    static let marker = "\u{0}error"

    /// A Firehose-style error record (errorCode, errorMessage, the record or its raw bytes).
    static func envelope(
        _ item: StreamRecord, type: String, code: String, message: String, raw: [UInt8]?, attempts: Int = 0
    ) -> (partition: [String], line: [UInt8]) {
        var object = JSONObject()
        object["errorCode"] = .string(code)
        object["errorMessage"] = .string(message)
        object["rule"] = .string(item.rule)
        object["topic"] = .string(item.topic)
        object["clientId"] = .string(item.clientId)
        object["attemptsMade"] = .int(Int64(attempts))
        object["arrivalTimestamp"] = .int(item.arrivalMillis)
        if let raw { object["rawData"] = .string(Base64.encode(raw)) } else { object["record"] = item.value }
        var line: [UInt8] = []
        JSONValue.object(object).serialize(into: &line)
        line.append(0x0A)
        return ([marker, type], line)
    }
}

/// The first stage of a delivery stream, on its journal thread: classify each record
/// (line, partition, or an error envelope), append it to the journal, commit (one fsync per
/// group) and tell the waiters — the publishes' acknowledgements. Committed
/// records go on to the `StreamBatches` stage on another thread, so an acknowledgement never
/// waits behind a lake file being written.
struct StreamIntake: Sendable {
    let config: StreamConfig
    let prefix: Prefix
    let journal: Journal
    let metrics: StreamMetrics
    let log: @Sendable (String) -> Void
    /// Journaled records, uncommitted until `process` returns true (more than one group's
    /// worth when a commit failed).
    var uncommitted: [JournaledRecord] = []
    var waiters: [any DurabilityWaiter] = []
    var lastCommitFailureLog: Int64 = 0
    /// Sanitized partitions by raw value of the first key (for one string key, the whole
    /// partition): a stream sees the same few values again and again (bounded; cleared
    /// when it grows past 10,000).
    var sanitized: [String: [String]] = [:]

    init(config: StreamConfig, prefix: Prefix, journal: Journal, metrics: StreamMetrics, log: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.prefix = prefix
        self.journal = journal
        self.metrics = metrics
        self.log = log
    }

    /// Journals `items` and commits; true when everything in `uncommitted` is now durable
    /// (the caller hands it on and empties it). False while commits fail: nothing is
    /// acknowledged until the journal has it, so publishers wait.
    mutating func process(_ items: [StreamRecord], now: Int64) -> Bool {
        for item in items {
            let (partition, line) = classify(item)
            metrics.recordsIn.add(1, ordering: .relaxed)
            metrics.bytesIn.add(UInt64(line.count), ordering: .relaxed)
            // The origin is not journaled (measured: 3 more strings per record cost 7–20 % of
            // the lake's throughput); a record replayed after a crash has an unknown origin.
            let sequence = journal.append(arrivalMillis: item.arrivalMillis, partition: partition, line: line)
            uncommitted.append(JournaledRecord(partition: partition, line: line, arrival: item.arrivalMillis, sequence: sequence, origin: item.origin))
            if let waiter = item.waiter { waiters.append(waiter) }
        }
        if journal.hasPending {
            do {
                try journal.commit()
            } catch {
                if now - lastCommitFailureLog > 10_000 {
                    log("stream=\(config.name) journal commit failed, retrying: \(error)")
                    lastCommitFailureLog = now
                }
                return false
            }
        }
        for waiter in waiters { waiter.recordDurable() }
        waiters.removeAll(keepingCapacity: true)
        return true
    }

    /// Deletes the journal segments whose records are all in durable files: every sequence
    /// up to `delivered` (reported by the batch stage).
    func reclaim(delivered: UInt64) {
        if uncommitted.isEmpty && delivered >= journal.committedSequence {
            journal.resetIfDelivered(through: delivered)
        } else {
            journal.reclaim(through: delivered)
        }
        metrics.journalBytes.store(journal.sizeBytes, ordering: .relaxed)
    }

    /// A commit to retry: in a second at the latest.
    func nextWake(now: Int64) -> Int64? { uncommitted.isEmpty ? nil : now + 1000 }

    /// The sanitized value of `text` as a one-key partition, from the cache when seen before.
    mutating func sanitizedPartition(_ text: String) -> [String] {
        if let known = sanitized[text] { return known }
        if sanitized.count >= 10_000 { sanitized.removeAll(keepingCapacity: true) }
        let partition = [PartitionValue.sanitize(text)]
        sanitized[text] = partition
        return partition
    }

    /// The record's NDJSON line and its partition, or an error envelope for the error output.
    mutating func classify(_ item: StreamRecord) -> ([String], [UInt8]) {
        var line: [UInt8]
        if let spliced = item.line {
            line = spliced  // newline included: appending here would copy the shared array
        } else {
            line = []
            item.record.serialize(into: &line)
            line.append(0x0A)
        }
        if line.count > config.maxRecordBytes {
            metrics.recordTooLarge.add(1, ordering: .relaxed)
            return ErrorOutput.envelope(item, type: "record-too-large", code: "RecordTooLarge",
                                        message: "record of \(line.count) bytes exceeds maxRecordKiB \(config.maxRecordBytes / 1024)", raw: line)
        }
        let keys = prefix.partitionKeys
        if keys.count == 1, case let .string(text)? = item.field(keys[0]) {
            return (sanitizedPartition(text), line)  // the common case: no array built
        }
        var values: [String] = []
        for key in keys {
            switch item.field(key) {
            case let .string(text)?: values.append(sanitizedPartition(text)[0])
            case let .int(number)?: values.append(String(number))
            case let .double(number)?: values.append(PartitionValue.sanitize(JSONValue.double(number).serialized()))
            case let .bool(flag)?: values.append(flag ? "true" : "false")
            default:
                metrics.partitionKeyMissing.add(1, ordering: .relaxed)
                return ErrorOutput.envelope(item, type: "partitioning-failed", code: "PartitionKeyMissing",
                                            message: "partition key '\(key)' is missing, null or not a scalar in the rule's output", raw: nil)
            }
        }
        return (values, line)
    }
}

/// The second stage of a delivery stream, on its batch thread: buffer journaled records per
/// partition, write batches as lake files (or SQLite transactions), retry failures, and
/// report how far the journal may be reclaimed.
struct StreamBatches: Sendable {
    let config: StreamConfig
    let prefix: Prefix
    let errorPrefix: Prefix
    let writer: LakeWriter
    /// Set for streams into a SQLite table; `writer` then only writes the error output.
    var table: TableWriter?
    let metrics: StreamMetrics
    let log: @Sendable (String) -> Void
    var batcher: Batcher
    var errorBatcher: Batcher
    /// Batches whose write failed, retried with backoff while the journal keeps them.
    var failed: [(batch: Batch, attempts: Int, nextAttempt: Int64, firstFailure: Int64)] = []
    /// Highest sequence received from the journal stage.
    var received: UInt64 = 0

    init(
        config: StreamConfig, prefix: Prefix, errorPrefix: Prefix, writer: LakeWriter, table: TableWriter?, metrics: StreamMetrics,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.config = config
        self.prefix = prefix
        self.errorPrefix = errorPrefix
        self.table = table
        self.writer = writer
        self.metrics = metrics
        self.log = log
        batcher = Batcher(policy: config.buffering, maxActivePartitions: config.maxActivePartitions)
        errorBatcher = Batcher(policy: config.buffering, maxActivePartitions: 1000)
    }

    static func monotonicMillis() -> Int64 { Int64(hy_monotonic_ns() / 1_000_000) }

    /// Every journal sequence up to this one is in a durable file (or its error output):
    /// the journal may delete segments up to here.
    var delivered: UInt64 {
        let lowest = [batcher.lowestOpenSequence, errorBatcher.lowestOpenSequence, failed.map(\.batch.firstSequence).min()].compactMap { $0 }.min()
        return lowest.map { $0 - 1 } ?? received
    }

    /// Records recovered from the journal at start go straight back into their batches.
    mutating func replay(_ records: [JournalRecord]) {
        let now = Self.monotonicMillis()
        for record in records {
            add(JournaledRecord(partition: record.partition, line: record.line, arrival: record.arrivalMillis, sequence: record.sequence, origin: .unknown), now: now)
        }
    }

    mutating func process(_ records: [JournaledRecord], now: Int64) {
        for record in records { add(record, now: now) }
        for batch in batcher.due(now: now) + errorBatcher.due(now: now) { write(batch, now: now) }
        retryFailed(now: now)
        updateOldest()
    }

    mutating func add(_ record: JournaledRecord, now: Int64) {
        received = max(received, record.sequence)
        buffer(record.line, partition: record.partition, arrival: record.arrival, sequence: record.sequence, now: now, origin: record.origin)
    }

    mutating func buffer(_ line: [UInt8], partition: [String], arrival: Int64, sequence: UInt64, now: Int64, origin: RecordOrigin = .unknown) {
        let isError = partition.first == ErrorOutput.marker
        let outcome = isError
            ? errorBatcher.add(line, partition: partition, arrivalMillis: arrival, sequence: sequence, now: now, origin: origin)
            : batcher.add(line, partition: partition, arrivalMillis: arrival, sequence: sequence, now: now, origin: origin)
        switch outcome {
        case let .added(closed):
            for batch in closed { write(batch, now: now) }
        case .tooManyPartitions:
            metrics.activePartitionExceeded.add(1, ordering: .relaxed)
            let item = StreamRecord(record: (try? JSONParser().parse(Array(line.dropLast()))) ?? .null, arrivalMillis: arrival, origin: origin)
            let (errorPartition, errorLine) = ErrorOutput.envelope(
                item, type: "partitioning-failed", code: "ActivePartitionExceeded",
                message: "more than maxActivePartitions \(config.maxActivePartitions) open partitions", raw: nil)
            buffer(errorLine, partition: errorPartition, arrival: arrival, sequence: sequence, now: now, origin: origin)
        }
    }

    /// Writes one batch; on failure it joins the retry list (the journal still has it).
    mutating func write(_ batch: Batch, now: Int64, attempts: Int = 0, firstFailure: Int64? = nil) {
        let isError = batch.partition.first == ErrorOutput.marker
        if !isError && table != nil {
            writeTable(batch, now: now, attempts: attempts, firstFailure: firstFailure)
            return
        }
        let directory = isError
            ? errorPrefix.render(arrivalMillis: batch.firstArrivalMillis, partitionValues: [], errorOutputType: batch.partition[1])
            : prefix.render(arrivalMillis: batch.firstArrivalMillis, partitionValues: batch.partition)
        do {
            try writer.write(batch.data, prefix: directory, arrivalMillis: batch.firstArrivalMillis)
            metrics.filesWritten.add(1, ordering: .relaxed)
            // Delivered records and error-output records are counted apart.
            if isError {
                metrics.errorRecords.add(UInt64(batch.records), ordering: .relaxed)
            } else {
                metrics.recordsWritten.add(UInt64(batch.records), ordering: .relaxed)
            }
        } catch {
            scheduleRetry(batch, now: now, attempts: attempts, firstFailure: firstFailure, error: "\(error)")
        }
    }

    /// Exponential backoff from 1 s to 60 s, for as long as it takes: the journal holds the
    /// records, so nothing is lost while the disk is full or read-only.
    mutating func scheduleRetry(_ batch: Batch, now: Int64, attempts: Int, firstFailure: Int64?, error: String) {
        metrics.writeFailures.add(1, ordering: .relaxed)
        let backoff = min(60_000, 1000 << min(attempts, 6))
        if attempts == 0 || attempts % 10 == 0 {
            log("stream=\(config.name) write failed (attempt \(attempts + 1)), retrying in \(backoff / 1000)s: \(error)")
        }
        failed.append((batch, attempts + 1, now + Int64(backoff), firstFailure ?? now))
    }

    /// One transaction per batch; rejected records go to the error output with SQLite's
    /// message, the rest commits.
    mutating func writeTable(_ batch: Batch, now: Int64, attempts: Int, firstFailure: Int64?) {
        do throws(StorageError) {
            let outcome = try table!.write(batch)
            metrics.recordsWritten.add(UInt64(outcome.inserted), ordering: .relaxed)
            metrics.ignoredFields.add(UInt64(outcome.ignoredFields), ordering: .relaxed)
            for (index, line, message) in outcome.rejected {
                metrics.sqliteRejected.add(1, ordering: .relaxed)
                let origin = batch.origin(at: index)
                let item = StreamRecord(record: (try? JSONParser().parse(line)) ?? .null, arrivalMillis: batch.firstArrivalMillis, origin: origin)
                let (partition, envelopeLine) = ErrorOutput.envelope(item, type: "sqlite-rejected", code: "SQLiteRejected", message: message, raw: nil, attempts: attempts + 1)
                buffer(envelopeLine, partition: partition, arrival: batch.firstArrivalMillis, sequence: batch.firstSequence, now: now, origin: origin)
            }
        } catch {
            scheduleRetry(batch, now: now, attempts: attempts, firstFailure: firstFailure, error: "\(error)")
        }
    }

    /// Retries failed writes that are due. A batch still failing after `retrySeconds` goes
    /// to the error output as `delivery-failed` envelopes (Firehose's behaviour); if even
    /// that cannot be written, it stays in the journal and retrying goes on.
    mutating func retryFailed(now: Int64) {
        guard failed.contains(where: { $0.nextAttempt <= now }) else { return }
        let due = failed.filter { $0.nextAttempt <= now }
        failed.removeAll { $0.nextAttempt <= now }
        for entry in due {
            let expired = now - entry.firstFailure >= Int64(config.retrySeconds) * 1000
            if expired && entry.batch.partition.first != ErrorOutput.marker {
                var errors = Batch(partition: [ErrorOutput.marker, "delivery-failed"], firstArrivalMillis: entry.batch.firstArrivalMillis, openedAt: now)
                errors.records = entry.batch.records
                errors.firstSequence = entry.batch.firstSequence
                errors.lastSequence = entry.batch.lastSequence
                errors.origins = entry.batch.origins
                for (index, line) in entry.batch.data.split(separator: 0x0A).enumerated() {
                    let item = StreamRecord(record: (try? JSONParser().parse(line)) ?? .null, arrivalMillis: entry.batch.firstArrivalMillis, origin: entry.batch.origin(at: index))
                    errors.data += ErrorOutput.envelope(item, type: "delivery-failed", code: "RetryExpired",
                                                        message: "lake write still failing after retrySeconds \(config.retrySeconds)", raw: nil, attempts: entry.attempts).line
                }
                metrics.retryExpired.add(UInt64(entry.batch.records), ordering: .relaxed)
                write(errors, now: now, attempts: entry.attempts, firstFailure: entry.firstFailure)
            } else {
                write(entry.batch, now: now, attempts: entry.attempts, firstFailure: entry.firstFailure)
            }
        }
    }

    /// Arrival of the oldest record not yet in a lake file (0: none), for the age metric.
    func updateOldest() {
        let oldest = [batcher.oldestArrivalMillis, errorBatcher.oldestArrivalMillis, failed.map(\.batch.firstArrivalMillis).min()].compactMap { $0 }.min()
        metrics.oldestUnflushedMillis.store(oldest ?? 0, ordering: .relaxed)
    }

    func nextWake() -> Int64? {
        [batcher.nextDeadline, errorBatcher.nextDeadline, failed.map(\.nextAttempt).min()].compactMap { $0 }.min()
    }

    /// SIGTERM: write every buffer, one last try for failed batches.
    mutating func shutdown() {
        let now = Self.monotonicMillis()
        // Table writes can reject records into the error batches: drain until both are empty.
        while batcher.activePartitions + errorBatcher.activePartitions > 0 {
            for batch in batcher.drain() { write(batch, now: now) }
            for batch in errorBatcher.drain() { write(batch, now: now) }
        }
        let pending = failed
        failed.removeAll()
        // Whatever still fails stays in the journal and is replayed at the next start.
        for entry in pending { write(entry.batch, now: now, attempts: entry.attempts) }
        updateOldest()
    }
}
