import Durable

#if canImport(Glibc)
import Glibc
#endif

/// Records of a stream's journal that are in a sink although the delivered watermark has
/// not passed them yet: the records journaled for `target` numbered `first...last`, and the
/// records `rerouted` (numbered in full: they were journaled for another target and went to
/// this one's file on the way, e.g. too many partitions). One per lake file, named before
/// the file is written; one per SQLite batch, committed with its rows.
struct DeliveredSpan: Sendable, Hashable {
    var target: StreamTarget
    var first: UInt64
    var last: UInt64
    var rerouted: [UInt64] = []
    /// The file, relative to the lake root ("" for rows of a table).
    var path: String

    func covers(_ record: JournaledRecord) -> Bool {
        (record.target == target && record.sequence >= first && record.sequence <= last) || rerouted.contains(record.sequence)
    }

    var highest: UInt64 { max(first <= last ? last : 0, rerouted.max() ?? 0) }
}

/// A stream's delivery manifest (`<journal>/<stream>/delivered/`, a `Journal` of its own):
/// what recovery needs so that the journal → lake step is exactly-once.
///
/// - `delivered(W)`: every record numbered up to W is in a sink (the journal may delete it).
/// - `file(span)`: written and fsynced *before* the lake file it names; if the file exists
///   at recovery, the span's records are in it and are not written again. A crash between
///   the file's rename and the watermark passing it is exactly this case.
/// - `run(epoch)` / `ended(epoch, last)`: the epoch a run numbers its records from, and how
///   far each earlier run got (see `Watermark`).
///
/// Replay is a union of facts (the watermark only grows, a span stays true), so compaction
/// is: rotate, write the live facts, delete the history — a crash part-way leaves both,
/// which replay the same. Versioned header first; strict decoding.
final class DeliveryManifest: @unchecked Sendable {
    // One owner at a time: opened by the stream, then used by its batch thread only.
    static let formatVersion: UInt32 = 1

    private enum Kind: UInt8 {
        case header = 1, run, ended, delivered, file
    }

    struct Replay: Equatable {
        var delivered: UInt64 = 0
        var spans: [DeliveredSpan] = []
        var runs: [UInt64: UInt64] = [:]
        var lastEpoch: UInt64 = 0

        mutating func apply(_ body: [UInt8]) -> Bool {
            var reader = RecordReader(body)
            guard let kind = reader.u8().flatMap(Kind.init(rawValue:)) else { return false }
            switch kind {
            case .header:
                guard let version = reader.u32(), version <= DeliveryManifest.formatVersion else { return false }
            case .run:
                guard let epoch = reader.u64() else { return false }
                lastEpoch = max(lastEpoch, epoch)
            case .ended:
                guard let epoch = reader.u64(), let last = reader.u64() else { return false }
                runs[epoch] = last
            case .delivered:
                guard let through = reader.u64() else { return false }
                delivered = max(delivered, through)
            case .file:
                guard let span = DeliveryManifest.decodeSpan(&reader) else { return false }
                if !spans.contains(span) { spans.append(span) }
            }
            return reader.isAtEnd
        }
    }

    private let journal: Journal
    let directory: String
    /// The watermark as the manifest has it (durable).
    private(set) var delivered: UInt64
    /// Spans above the watermark.
    private(set) var spans: [DeliveredSpan]
    private(set) var runs: [UInt64: UInt64]
    private(set) var lastEpoch: UInt64
    private var recordsSinceCompaction = 0

    init(directory: String) throws(DurableError) {
        self.directory = directory
        journal = try Journal(directory: directory)
        var replay = Replay()
        var refused: UInt64?
        // A torn tail (a crash mid-append) is cut by the journal: those facts were never relied on.
        _ = try journal.recover { record in
            if refused == nil && !replay.apply(record.body) { refused = record.sequence }
        }
        if let refused {
            throw .corruptJournal(path: directory, offset: Int(refused), reason: "delivery manifest record \(refused) is not one this version (format \(Self.formatVersion)) reads")
        }
        delivered = replay.delivered
        spans = replay.spans.filter { $0.highest > replay.delivered }
        runs = replay.runs
        lastEpoch = replay.lastEpoch
    }

    /// A new run: `previous` ended with `last` durable; numbers from `epoch` on now.
    /// Written (compacted) and fsynced before the stream hands out a number.
    func beginRun(epoch: UInt64, previous: (epoch: UInt64, last: UInt64)?) throws(DurableError) {
        if let previous { runs[previous.epoch] = previous.last }
        lastEpoch = epoch
        try compact()
    }

    /// Before a lake file is written (or with an SQLite batch's error file): its span.
    func recordFile(_ span: DeliveredSpan, delivered through: UInt64) throws(DurableError) {
        append(Self.encode(span))
        if through > delivered {
            append(Self.encodeDelivered(through))
            delivered = through
        }
        spans.append(span)
        try commit()
    }

    func recordDelivered(_ through: UInt64) throws(DurableError) {
        guard through > delivered else { return }
        append(Self.encodeDelivered(through))
        delivered = through
        spans.removeAll { $0.highest <= through }
        try commit()
        if recordsSinceCompaction > 4096 { try compact() }
    }

    private func append(_ body: [UInt8]) {
        journal.append(body)
        recordsSinceCompaction += 1
    }

    private func commit() throws(DurableError) {
        try journal.commit()
    }

    /// Rewrites the live facts in a new segment and deletes the older ones.
    func compact() throws(DurableError) {
        try journal.commit()
        let lastOld = journal.committedSequence
        journal.rotate()
        spans.removeAll { $0.highest <= delivered }
        var header = RecordWriter()
        header.put(Kind.header.rawValue)
        header.put(Self.formatVersion)
        journal.append(header.bytes)
        var run = RecordWriter()
        run.put(Kind.run.rawValue)
        run.put(lastEpoch)
        journal.append(run.bytes)
        // Earlier runs matter only for QoS 2 publishes resent after a restart: the newest
        // thousand are kept (a publisher offline for a thousand restarts is re-offered).
        for epoch in runs.keys.sorted().suffix(1000) {
            var ended = RecordWriter()
            ended.put(Kind.ended.rawValue)
            ended.put(epoch)
            ended.put(runs[epoch]!)
            journal.append(ended.bytes)
        }
        journal.append(Self.encodeDelivered(delivered))
        for span in spans { journal.append(Self.encode(span)) }
        try journal.commit()
        journal.discardHistory(through: lastOld)
        recordsSinceCompaction = 0
    }

    static func encodeDelivered(_ through: UInt64) -> [UInt8] {
        var writer = RecordWriter()
        writer.put(Kind.delivered.rawValue)
        writer.put(through)
        return writer.bytes
    }

    static func encode(_ span: DeliveredSpan) -> [UInt8] {
        var writer = RecordWriter()
        writer.put(Kind.file.rawValue)
        writer.put(span.first)
        writer.put(span.last)
        switch span.target {
        case let .partition(values):
            writer.put(UInt8(0))
            writer.put(UInt16(values.count))
            for value in values { writer.put(short: value) }
        case let .error(type):
            writer.put(UInt8(1))
            writer.put(short: type)
        }
        writer.put(UInt32(span.rerouted.count))
        for sequence in span.rerouted { writer.put(sequence) }
        writer.put(short: span.path)
        return writer.bytes
    }

    static func decodeSpan(_ reader: inout RecordReader) -> DeliveredSpan? {
        guard let first = reader.u64(), let last = reader.u64(), let kind = reader.u8() else { return nil }
        let target: StreamTarget
        switch kind {
        case 0:
            guard let count = reader.u16() else { return nil }
            var values: [String] = []
            for _ in 0..<count {
                guard let value = reader.short() else { return nil }
                values.append(value)
            }
            target = .partition(values)
        case 1:
            guard let type = reader.short() else { return nil }
            target = .error(type: type)
        default:
            return nil
        }
        guard let count = reader.u32(), Int(count) <= reader.bytes.count / 8 else { return nil }
        var rerouted: [UInt64] = []
        for _ in 0..<count {
            guard let sequence = reader.u64() else { return nil }
            rerouted.append(sequence)
        }
        guard let path = reader.short() else { return nil }
        return DeliveredSpan(target: target, first: first, last: last, rerouted: rerouted, path: path)
    }
}
