import CSystem
import Durable
import JSON
import Storage

/// The second stage of a delivery stream, on its batch thread: buffer journaled records per
/// target, write batches as lake files (or SQLite transactions), retry failures, and keep
/// the delivered watermark — in the delivery manifest for lake files, in the same
/// transaction as the rows for a table — so that recovery writes nothing twice.
struct StreamBatches: Sendable {
    let config: StreamConfig
    let prefix: Prefix
    let errorPrefix: Prefix
    let writer: LakeWriter
    /// Set for streams into a SQLite table; `writer` then only writes the error output.
    var table: TableWriter?
    let manifest: DeliveryManifest
    let metrics: StreamMetrics
    let log: @Sendable (String) -> Void
    var batcher: Batcher
    var errorBatcher: Batcher
    /// Batches whose write failed, retried with backoff while the journal keeps them.
    var failed: [FailedBatch] = []
    /// Highest sequence received from the journal stage.
    var received: UInt64 = 0
    /// When the watermark was last written to the manifest (monotonic ms).
    var lastDeliveredWrite: Int64 = 0

    struct FailedBatch: Sendable {
        var batch: Batch
        var isError: Bool
        var attempts: Int
        var nextAttempt: Int64
        var firstFailure: Int64
    }

    init(
        config: StreamConfig, prefix: Prefix, errorPrefix: Prefix, writer: LakeWriter, table: TableWriter?, manifest: DeliveryManifest, metrics: StreamMetrics,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.config = config
        self.prefix = prefix
        self.errorPrefix = errorPrefix
        self.table = table
        self.writer = writer
        self.manifest = manifest
        self.metrics = metrics
        self.log = log
        batcher = Batcher(policy: config.buffering, maxActivePartitions: config.maxActivePartitions)
        errorBatcher = Batcher(policy: config.buffering, maxActivePartitions: 1000)
    }

    static func monotonicMillis() -> Int64 { Int64(hy_monotonic_ns() / 1_000_000) }

    /// Every journal sequence up to this one is in a sink (or its error output).
    var delivered: UInt64 {
        let lowest = [batcher.lowestOpenSequence, errorBatcher.lowestOpenSequence, failed.map(\.batch.firstSequence).min()].compactMap { $0 }.min()
        return lowest.map { $0 - 1 } ?? received
    }

    /// Writes the watermark to the manifest when it moved, at most once a second (or now,
    /// `force`); returns the watermark the manifest has — what the journal may delete.
    mutating func persistDelivered(now: Int64, force: Bool = false) -> UInt64 {
        let through = delivered
        guard through > manifest.delivered, force || now - lastDeliveredWrite >= 1000 else { return manifest.delivered }
        do {
            try manifest.recordDelivered(through)
            lastDeliveredWrite = now
        } catch {
            metrics.writeFailures.add(1, ordering: .relaxed)
            log("stream=\(config.name) delivery manifest not written (the journal keeps its records): \(error)")
        }
        return manifest.delivered
    }

    /// Records recovered from the journal and not yet in a sink go back into their batches.
    mutating func replay(_ records: [JournaledRecord]) {
        let now = Self.monotonicMillis()
        for record in records { add(record, now: now) }
    }

    mutating func process(_ records: [JournaledRecord], now: Int64) {
        for record in records { add(record, now: now) }
        for batch in batcher.due(now: now) { write(batch, isError: false, now: now) }
        for batch in errorBatcher.due(now: now) { write(batch, isError: true, now: now) }
        retryFailed(now: now)
        updateOldest()
    }

    mutating func add(_ record: JournaledRecord, now: Int64) {
        received = max(received, record.sequence)
        buffer(record.line, target: record.target, arrival: record.arrival, sequence: record.sequence, now: now, origin: record.origin)
    }

    mutating func buffer(_ line: [UInt8], target: StreamTarget, arrival: Int64, sequence: UInt64, now: Int64, origin: RecordOrigin = .unknown, rerouted: Bool = false) {
        let outcome: Batcher.Outcome
        switch target {
        case let .partition(values):
            outcome = batcher.add(line, partition: values, arrivalMillis: arrival, sequence: sequence, now: now, origin: origin, rerouted: rerouted)
        case let .error(type):
            outcome = errorBatcher.add(line, partition: [type], arrivalMillis: arrival, sequence: sequence, now: now, origin: origin, rerouted: rerouted)
        }
        switch outcome {
        case let .added(closed):
            for batch in closed { write(batch, isError: target.isError, now: now) }
        case .tooManyPartitions:
            metrics.activePartitionExceeded.add(1, ordering: .relaxed)
            let item = StreamRecord(record: (try? JSONParser().parse(Array(line.dropLast()))) ?? .null, arrivalMillis: arrival, origin: origin)
            let (errorTarget, errorLine) = ErrorOutput.envelope(
                item, type: "partitioning-failed", code: "ActivePartitionExceeded",
                message: "more than maxActivePartitions \(config.maxActivePartitions) open partitions", raw: nil)
            buffer(errorLine, target: errorTarget, arrival: arrival, sequence: sequence, now: now, origin: origin, rerouted: true)
        }
    }

    /// What a batch's file holds, for the delivery manifest.
    func span(of batch: Batch, isError: Bool, path: String) -> DeliveredSpan {
        DeliveredSpan(
            target: isError ? .error(type: batch.partition[0]) : .partition(batch.partition), first: batch.nativeFirst, last: batch.nativeLast,
            rerouted: batch.rerouted, path: path)
    }

    /// The lake path of a batch's file: named from its journal range, so writing it again
    /// (a retry) replaces it.
    func path(of batch: Batch, isError: Bool, errorType: String? = nil) -> String {
        let directory = isError || errorType != nil
            ? errorPrefix.render(arrivalMillis: batch.firstArrivalMillis, partitionValues: [], errorOutputType: errorType ?? batch.partition[0])
            : prefix.render(arrivalMillis: batch.firstArrivalMillis, partitionValues: batch.partition)
        let identity = (isError ? "error/" : "") + (errorType.map { "\($0)/" } ?? "") + batch.partition.joined(separator: "/")
        let uuid = SpanName.uuid(stream: config.name, identity: identity, first: batch.firstSequence, last: batch.lastSequence)
        return writer.relativePath(prefix: directory, arrivalMillis: batch.firstArrivalMillis, uuid: uuid)
    }

    /// Writes one batch; on failure it joins the retry list (the journal still has it).
    mutating func write(_ batch: Batch, isError: Bool, now: Int64, attempts: Int = 0, firstFailure: Int64? = nil) {
        if !isError && table != nil {
            writeTable(batch, now: now, attempts: attempts, firstFailure: firstFailure)
            return
        }
        let path = path(of: batch, isError: isError)
        do throws(DurableError) {
            try writeFile(batch.data, span: span(of: batch, isError: isError, path: path))
            metrics.filesWritten.add(1, ordering: .relaxed)
            // Delivered records and error-output records are counted apart.
            if isError {
                metrics.errorRecords.add(UInt64(batch.records), ordering: .relaxed)
            } else {
                metrics.recordsWritten.add(UInt64(batch.records), ordering: .relaxed)
            }
        } catch {
            scheduleRetry(batch, isError: isError, now: now, attempts: attempts, firstFailure: firstFailure, error: "\(error)")
        }
    }

    /// The manifest names the file first, then the file is written: a crash after the
    /// rename leaves a span whose file exists, so recovery does not write its records again.
    func writeFile(_ data: ChunkedBytes, span: DeliveredSpan) throws(DurableError) {
        if !manifest.spans.contains(span) { try manifest.recordFile(span, delivered: manifest.delivered) }
        try writer.write(data, relativePath: span.path)
    }

    /// Exponential backoff from 1 s to 60 s, for as long as it takes: the journal holds the
    /// records, so nothing is lost while the disk is full or read-only.
    mutating func scheduleRetry(_ batch: Batch, isError: Bool, now: Int64, attempts: Int, firstFailure: Int64?, error: String) {
        metrics.writeFailures.add(1, ordering: .relaxed)
        let backoff = min(60_000, 1000 << min(attempts, 6))
        if attempts == 0 || attempts % 10 == 0 {
            log("stream=\(config.name) write failed (attempt \(attempts + 1)), retrying in \(backoff / 1000)s: \(error)")
        }
        failed.append(FailedBatch(batch: batch, isError: isError, attempts: attempts + 1, nextAttempt: now + Int64(backoff), firstFailure: firstFailure ?? now))
    }

    /// One transaction per batch, with the batch's span in `hydrant_stream_offsets`: rows
    /// and watermark commit together. Rejected records go to the error output with
    /// SQLite's message — their file is written (and named in the manifest) before the
    /// commit, so a crash in between neither loses nor repeats them.
    mutating func writeTable(_ batch: Batch, now: Int64, attempts: Int, firstFailure: Int64?) {
        let span = span(of: batch, isError: false, path: "")
        let delivered = manifest.delivered
        let path = path(of: batch, isError: false, errorType: "sqlite-rejected")
        let config = config
        let stage = self  // the closure runs while `table` is being written
        do throws(StorageError) {
            let outcome = try table!.write(batch, stream: config.name, span: span, delivered: delivered) { rejected throws(StorageError) in
                var data = ChunkedBytes()
                var sequences: [UInt64] = []
                for (index, line, message) in rejected {
                    let item = StreamRecord(record: (try? JSONParser().parse(line)) ?? .null, arrivalMillis: batch.firstArrivalMillis, origin: batch.origin(at: index))
                    data.append(contentsOf: ErrorOutput.envelope(item, type: "sqlite-rejected", code: "SQLiteRejected", message: message, raw: nil, attempts: attempts + 1).line)
                    sequences.append(batch.sequences[index])
                }
                let errorSpan = DeliveredSpan(target: .error(type: "sqlite-rejected"), first: .max, last: 0, rerouted: sequences, path: path)
                do throws(DurableError) {
                    try stage.writeFile(data, span: errorSpan)
                } catch {
                    throw .rolledBack(reason: "sqlite-rejected error output not written: \(error)")
                }
            }
            metrics.recordsWritten.add(UInt64(outcome.inserted), ordering: .relaxed)
            metrics.ignoredFields.add(UInt64(outcome.ignoredFields), ordering: .relaxed)
            if outcome.rejected > 0 {
                metrics.sqliteRejected.add(UInt64(outcome.rejected), ordering: .relaxed)
                metrics.errorRecords.add(UInt64(outcome.rejected), ordering: .relaxed)
                metrics.filesWritten.add(1, ordering: .relaxed)
            }
        } catch {
            scheduleRetry(batch, isError: false, now: now, attempts: attempts, firstFailure: firstFailure, error: "\(error)")
        }
    }

    /// Retries failed writes that are due. A batch still failing after `retrySeconds` goes
    /// to the error output as `delivery-failed` envelopes (Firehose's behaviour), in a file
    /// of its own that the manifest names as holding the batch's records; if even that
    /// cannot be written, it stays in the journal and retrying goes on.
    mutating func retryFailed(now: Int64) {
        guard failed.contains(where: { $0.nextAttempt <= now }) else { return }
        let due = failed.filter { $0.nextAttempt <= now }
        failed.removeAll { $0.nextAttempt <= now }
        for entry in due {
            let expired = now - entry.firstFailure >= Int64(config.retrySeconds) * 1000
            guard expired && !entry.isError else {
                write(entry.batch, isError: entry.isError, now: now, attempts: entry.attempts, firstFailure: entry.firstFailure)
                continue
            }
            let batch = entry.batch
            var data = ChunkedBytes()
            for (index, line) in batch.data.split(separator: 0x0A).enumerated() {
                let item = StreamRecord(record: (try? JSONParser().parse(line)) ?? .null, arrivalMillis: batch.firstArrivalMillis, origin: batch.origin(at: index))
                data.append(contentsOf: ErrorOutput.envelope(item, type: "delivery-failed", code: "RetryExpired",
                                                             message: "lake write still failing after retrySeconds \(config.retrySeconds)", raw: nil, attempts: entry.attempts).line)
            }
            let path = path(of: batch, isError: false, errorType: "delivery-failed")
            do throws(DurableError) {
                try writeFile(data, span: span(of: batch, isError: false, path: path))
                metrics.retryExpired.add(UInt64(batch.records), ordering: .relaxed)
                metrics.errorRecords.add(UInt64(batch.records), ordering: .relaxed)
                metrics.filesWritten.add(1, ordering: .relaxed)
            } catch {
                scheduleRetry(batch, isError: false, now: now, attempts: entry.attempts, firstFailure: entry.firstFailure, error: "\(error)")
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
        while batcher.activePartitions + errorBatcher.activePartitions > 0 {
            for batch in batcher.drain() { write(batch, isError: false, now: now) }
            for batch in errorBatcher.drain() { write(batch, isError: true, now: now) }
        }
        let pending = failed
        failed.removeAll()
        // Whatever still fails stays in the journal and is replayed at the next start.
        for entry in pending { write(entry.batch, isError: entry.isError, now: now, attempts: entry.attempts) }
        updateOldest()
    }
}

/// File names from journal ranges: a UUID-shaped name (Firehose's object names end in a
/// UUID) derived from the stream, the batch's target and its first and last sequence, so a
/// batch written again — a retry — replaces its file instead of adding one.
enum SpanName {
    static func uuid(stream: String, identity: String, first: UInt64, last: UInt64) -> String {
        var text = Array(stream.utf8) + [0] + Array(identity.utf8) + [0]
        withUnsafeBytes(of: first.littleEndian) { text.append(contentsOf: $0) }
        withUnsafeBytes(of: last.littleEndian) { text.append(contentsOf: $0) }
        let high = fnv1a(text, basis: 0xcbf2_9ce4_8422_2325)
        let low = fnv1a(text, basis: 0x8422_2325_cbf2_9ce4)
        let hex = hex64(high) + hex64(low)
        let characters = Array(hex)
        return String(characters[0..<8]) + "-" + String(characters[8..<12]) + "-" + String(characters[12..<16]) + "-" + String(characters[16..<20]) + "-"
            + String(characters[20..<32])
    }

    private static func fnv1a(_ bytes: [UInt8], basis: UInt64) -> UInt64 {
        var hash = basis
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    private static func hex64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
