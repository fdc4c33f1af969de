import Durable

/// When a stream's buffer becomes a file (Firehose "buffering hints"): the first limit
/// reached — bytes, seconds since the first record, or records — closes it.
public struct BufferingPolicy: Sendable, Hashable {
    public var maxBytes: Int
    public var intervalMillis: Int64
    public var maxRecords: Int?

    public init(maxBytes: Int = 5 << 20, intervalMillis: Int64 = 300_000, maxRecords: Int? = nil) {
        self.maxBytes = maxBytes
        self.intervalMillis = intervalMillis
        self.maxRecords = maxRecords
    }
}

/// Where a record came from, for the envelope of an error that happens after batching
/// (SQLite rejects, expired retries, too many partitions): rule, topic, client id.
public struct RecordOrigin: Sendable, Hashable {
    public var rule: String
    public var topic: String
    public var clientId: String

    public init(rule: String, topic: String, clientId: String) {
        self.rule = rule
        self.topic = topic
        self.clientId = clientId
    }

    /// Records journaled before origins were kept.
    public static let unknown = RecordOrigin(rule: "", topic: "", clientId: "")
}

/// Records on their way to one file: NDJSON bytes of one partition.
public struct Batch: Sendable {
    public let partition: [String]
    public internal(set) var data = ChunkedBytes()
    public internal(set) var records = 0
    /// One per record, in order.
    public internal(set) var origins: [RecordOrigin] = []

    /// The origin of the record at `index` (unknown for an envelope batch built without).
    func origin(at index: Int) -> RecordOrigin {
        index < origins.count ? origins[index] : .unknown
    }
    /// Wall-clock arrival (ms since the epoch) of the oldest record: names the file and
    /// fills the prefix's timestamps.
    public let firstArrivalMillis: Int64
    /// Monotonic time (ms) the batch was opened: the interval runs from here.
    public let openedAt: Int64
    /// Lowest journal sequence number in the batch: the journal keeps everything from here.
    public internal(set) var firstSequence: UInt64 = .max
    /// Highest journal sequence number in the batch (what the journal may reclaim once
    /// the file is durable).
    public internal(set) var lastSequence: UInt64 = 0
    /// The journal sequence of each record, in order.
    public internal(set) var sequences: [UInt64] = []
    /// Lowest and highest sequence of the records journaled for this batch's own target
    /// (empty range: none), and those that came from another target (rerouted on the way:
    /// too many partitions). Together they name the file's records in the delivery manifest.
    public internal(set) var nativeFirst: UInt64 = .max
    public internal(set) var nativeLast: UInt64 = 0
    public internal(set) var rerouted: [UInt64] = []
}

/// One open batch per partition (Vector's partitioned batcher): the timer starts with the
/// first record, a record that would overflow closes the batch before it, and shutdown
/// drains everything. Time is passed in, so tests drive it.
public struct Batcher: Sendable {
    public enum Outcome: Sendable {
        /// Added; these batches closed on the way (full by size or count).
        case added(closed: [Batch])
        /// A new partition would exceed `maxActivePartitions`.
        case tooManyPartitions
    }

    public let policy: BufferingPolicy
    public let maxActivePartitions: Int
    private var open: [[String]: Batch] = [:]

    public init(policy: BufferingPolicy, maxActivePartitions: Int = 500) {
        self.policy = policy
        self.maxActivePartitions = maxActivePartitions
    }

    public var activePartitions: Int { open.count }
    public var bufferedRecords: Int { open.values.reduce(0) { $0 + $1.records } }

    /// Adds one record (its NDJSON line, newline included). The open batch is changed in
    /// place in the dictionary (one `inout` access): reading `open.values[i].field` copies
    /// the whole batch out and back — measured as most of the batch thread's time.
    public mutating func add(
        _ line: [UInt8], partition: [String], arrivalMillis: Int64, sequence: UInt64, now: Int64, origin: RecordOrigin = .unknown, rerouted: Bool = false
    ) -> Outcome {
        let index: Dictionary<[String], Batch>.Index
        if let existing = open.index(forKey: partition) {
            index = existing
        } else {
            guard open.count < maxActivePartitions else { return .tooManyPartitions }
            open[partition] = Batch(partition: partition, firstArrivalMillis: arrivalMillis, openedAt: now)
            index = open.index(forKey: partition)!
        }
        let policy = policy
        let (overflowed, full) = Self.append(
            line, to: &open.values[index], policy: policy, arrivalMillis: arrivalMillis, sequence: sequence, now: now, origin: origin, rerouted: rerouted)
        var closed: [Batch] = []
        if let overflowed { closed.append(overflowed) }
        if full { closed.append(open.remove(at: index).value) }
        return .added(closed: closed)
    }

    /// Appends to `batch`; a record that would overflow it first closes it (returned) and
    /// starts a new one. `full`: the batch reached a limit (size, count, or a zero interval).
    private static func append(
        _ line: [UInt8], to batch: inout Batch, policy: BufferingPolicy, arrivalMillis: Int64, sequence: UInt64, now: Int64, origin: RecordOrigin,
        rerouted: Bool
    ) -> (overflowed: Batch?, full: Bool) {
        var overflowed: Batch?
        if batch.records > 0 && batch.data.count + line.count > policy.maxBytes {
            overflowed = batch
            batch = Batch(partition: batch.partition, firstArrivalMillis: arrivalMillis, openedAt: now)
        }
        batch.data.append(contentsOf: line)
        batch.records += 1
        batch.origins.append(origin)
        batch.lastSequence = max(batch.lastSequence, sequence)
        batch.firstSequence = min(batch.firstSequence, sequence)
        batch.sequences.append(sequence)
        if rerouted {
            batch.rerouted.append(sequence)
        } else {
            batch.nativeFirst = min(batch.nativeFirst, sequence)
            batch.nativeLast = max(batch.nativeLast, sequence)
        }
        let full = batch.data.count >= policy.maxBytes || (policy.maxRecords.map { batch.records >= $0 } ?? false) || policy.intervalMillis == 0
        return (overflowed, full)
    }

    /// Batches whose interval has passed.
    public mutating func due(now: Int64) -> [Batch] {
        let expired = open.values.filter { now - $0.openedAt >= policy.intervalMillis }
        for batch in expired { open[batch.partition] = nil }
        return expired.sorted { $0.openedAt < $1.openedAt }
    }

    /// The lowest journal sequence still only in memory (nil when nothing is buffered).
    public var lowestOpenSequence: UInt64? { open.values.map(\.firstSequence).min() }

    /// Arrival of the oldest buffered record.
    public var oldestArrivalMillis: Int64? { open.values.map(\.firstArrivalMillis).min() }

    /// When the next batch falls due, if any is open.
    public var nextDeadline: Int64? {
        open.values.map { $0.openedAt + policy.intervalMillis }.min()
    }

    /// Every open batch (shutdown).
    public mutating func drain() -> [Batch] {
        defer { open.removeAll() }
        return open.values.sorted { $0.openedAt < $1.openedAt }
    }
}
