import Durable
import JSON

/// The first stage of a delivery stream, on its journal thread: classify each record
/// (target and line, or an error envelope), append it to the journal under the sequence
/// number the event loop gave it, commit (one fsync per group) and advance the stream's
/// watermark — which releases the publishes' acknowledgements. Committed records go on to
/// the `StreamBatches` stage on another thread, so an acknowledgement never waits behind a
/// lake file being written.
struct StreamIntake: Sendable {
    let config: StreamConfig
    let prefix: Prefix
    let journal: Journal
    let watermark: Watermark
    let metrics: StreamMetrics
    let log: @Sendable (String) -> Void
    /// Journaled records, uncommitted until `process` returns true (more than one group's
    /// worth when a commit failed).
    var uncommitted: [JournaledRecord] = []
    var lastCommitFailureLog: Int64 = 0
    /// Sanitized partitions by raw value of the first key (for one string key, the whole
    /// partition): a stream sees the same few values again and again (bounded; cleared
    /// when it grows past 10,000).
    var sanitized: [String: [String]] = [:]

    init(config: StreamConfig, prefix: Prefix, journal: Journal, watermark: Watermark, metrics: StreamMetrics, log: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.prefix = prefix
        self.journal = journal
        self.watermark = watermark
        self.metrics = metrics
        self.log = log
    }

    /// Journals `items` and commits; true when everything in `uncommitted` is now durable
    /// (the caller hands it on and empties it). False while commits fail: nothing is
    /// acknowledged until the journal has it, so publishers wait.
    mutating func process(_ items: [StreamRecord], now: Int64) -> Bool {
        for item in items {
            let (target, line) = classify(item)
            metrics.recordsIn.add(1, ordering: .relaxed)
            metrics.bytesIn.add(UInt64(line.count), ordering: .relaxed)
            let arrival = item.arrivalMillis
            journal.append(sequence: item.sequence, bodyLength: StreamRecordCodec.bodyLength(target: target, line: line)) { out in
                StreamRecordCodec.encode(arrival: arrival, target: target, line: line, into: out)
            }
            uncommitted.append(JournaledRecord(target: target, line: line, arrival: arrival, sequence: item.sequence, origin: item.origin))
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
        // One store for the whole group: every acknowledgement waiting for it compares.
        watermark.advance(to: journal.committedSequence)
        return true
    }

    /// Deletes the journal segments whose records are all in sinks: every sequence up to
    /// `delivered` (the watermark the batch stage has made durable in its manifest).
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

    /// The record's NDJSON line and its target, or an error envelope for the error output.
    mutating func classify(_ item: StreamRecord) -> (StreamTarget, [UInt8]) {
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
            return (.partition(sanitizedPartition(text)), line)  // the common case: no array built
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
        return (.partition(values), line)
    }
}
