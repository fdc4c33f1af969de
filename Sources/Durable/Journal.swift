#if canImport(Glibc)
import Glibc
#endif

/// A record as the journal keeps it: its sequence number and the caller's bytes. What the
/// bytes mean is the caller's business (a stream record, a session-state change, a retained
/// message): each log encodes and decodes its own records.
public struct JournalRecord: Sendable, Hashable {
    public var sequence: UInt64
    public var body: [UInt8]

    public init(sequence: UInt64, body: [UInt8]) {
        self.sequence = sequence
        self.body = body
    }
}

/// A write-ahead log of opaque records: appends are durable after the next `commit()`, many
/// appends share one fsync (group commit), and segments are deleted once their owner says
/// every record in them is delivered. Used by delivery streams (records before they are
/// acknowledged), broker state (sessions, retained messages) and a stream's delivery manifest.
///
/// Sequence numbers increase; the caller may give them (a stream's are numbered by the
/// event loop, which hands them out, so gaps after a restart are normal) or let the journal
/// count on. On disk: segment files `<first sequence, 20 digits>.seg` of frames
/// `[u32 length][u32 CRC-32 of payload][payload]` (little endian); payload =
/// `[u64 sequence][body]`. A torn or corrupt frame ends its segment: recovery truncates
/// there and reports it. Groups are written one after another and each is fsynced before
/// the next is written, so what recovery finds is always a prefix of what was appended.
///
/// One owner at a time: the stream creates and recovers it, then hands it to its thread.
public final class Journal: @unchecked Sendable {
    public struct Recovery: Sendable {
        public var records: [JournalRecord] = []
        /// Problems found and repaired (truncated tails), for the log.
        public var repairs: [DurableError] = []
    }

    public let directory: String
    public let segmentBytes: Int
    private var segments: [(first: UInt64, last: UInt64, path: String, bytes: Int)] = []
    private var fd: Int32 = -1
    /// The pending group: raw bytes, grown by doubling and never zero-filled (an array
    /// grown by a zeroed range per record cost a tenth of the journal thread).
    private static let initialPendingBytes = 64 << 10
    private var pending = UnsafeMutableRawPointer.allocate(byteCount: Journal.initialPendingBytes, alignment: 8)
    private var pendingCapacity = Journal.initialPendingBytes
    private var pendingCount = 0
    private var pendingFirst: UInt64 = 0
    private var pendingLast: UInt64 = 0
    public private(set) var nextSequence: UInt64 = 1
    public private(set) var committedSequence: UInt64 = 0

    /// Opens (creating if needed) the journal in `directory` and recovers what it holds.
    public init(directory: String, segmentBytes: Int = 64 << 20) throws(DurableError) {
        self.directory = directory
        self.segmentBytes = segmentBytes
        try FileSystem.makeDirectories(directory)
    }

    deinit {
        if fd >= 0 { close(fd) }
        pending.deallocate()
    }

    /// Bytes on disk plus pending (metrics and backpressure).
    public var sizeBytes: Int { segments.reduce(0) { $0 + $1.bytes } + pendingCount }

    /// Reads every segment, truncating a torn or corrupt tail, and returns the records in
    /// order. New appends continue after the last recovered sequence.
    public func recover() throws(DurableError) -> Recovery {
        var records: [JournalRecord] = []
        var recovery = try recover { records.append($0) }
        recovery.records = records
        return recovery
    }

    /// Like `recover()`, handing each record to `body` in order instead of collecting them
    /// (broker state with a million queued messages is replayed without a second copy).
    public func recover(_ body: (JournalRecord) -> Void) throws(DurableError) -> Recovery {
        var recovery = Recovery()
        var lastDelivered: UInt64 = 0
        for name in FileSystem.list(directory) where name.hasSuffix(".seg") {
            let path = directory + "/" + name
            let bytes = try FileSystem.readFile(path)
            var offset = 0
            var first: UInt64?
            var last: UInt64 = 0
            while offset < bytes.count {
                switch Journal.decodeFrame(bytes, at: offset) {
                case let .record(record, length):
                    offset += length
                    // A group retried after a failed write can be on disk twice (its first
                    // copy in a segment whose cut-back failed): each sequence counts once.
                    guard record.sequence > lastDelivered else { continue }
                    lastDelivered = record.sequence
                    first = first ?? record.sequence
                    last = record.sequence
                    body(record)
                case let .damaged(reason):
                    recovery.repairs.append(.corruptJournal(path: path, offset: offset, reason: reason))
                    guard truncate(path, off_t(offset)) == 0 else { throw .io(operation: "truncate", path: path, errno: errno) }
                    offset = bytes.count
                }
            }
            if let first {
                segments.append((first, last, path, min(offset, bytes.count)))
                nextSequence = max(nextSequence, last + 1)
            } else {
                unlink(path)  // empty (or wholly damaged) segment
            }
        }
        committedSequence = nextSequence - 1
        return recovery
    }

    enum Frame {
        case record(JournalRecord, length: Int)
        case damaged(String)
    }

    static func decodeFrame(_ bytes: [UInt8], at offset: Int) -> Frame {
        guard offset + 8 <= bytes.count else { return .damaged("torn frame header") }
        let length = Int(readUInt32(bytes, offset))
        let crc = readUInt32(bytes, offset + 4)
        guard length >= 8, offset + 8 + length <= bytes.count else { return .damaged("torn frame (length \(length))") }
        let payload = bytes[(offset + 8)..<(offset + 8 + length)]
        guard payload.withUnsafeBytes({ CRC32.checksum($0) }) == crc else { return .damaged("CRC mismatch") }
        let sequence = readUInt64(bytes, payload.startIndex)
        let record = JournalRecord(sequence: sequence, body: Array(bytes[(payload.startIndex + 8)..<payload.endIndex]))
        return .record(record, length: 8 + length)
    }

    /// Adds a record to the pending group; it is durable after the next `commit()`.
    @discardableResult
    public func append(_ body: [UInt8]) -> UInt64 {
        append(sequence: nextSequence, body: body)
    }

    @discardableResult
    public func append(sequence: UInt64, body: [UInt8]) -> UInt64 {
        body.withUnsafeBytes { bytes in
            append(sequence: sequence, bodyLength: bytes.count) { out in
                if bytes.count > 0 { out.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
        }
    }

    /// Adds a record whose `bodyLength` bytes `encode` writes in place into the group
    /// buffer: one growth of the buffer, then stores through a pointer (appending field by
    /// field cost more than the CRC). `sequence` must be above every one appended before.
    @discardableResult
    public func append(sequence: UInt64, bodyLength: Int, _ encode: (UnsafeMutableRawPointer) -> Void) -> UInt64 {
        precondition(sequence >= nextSequence, "journal \(directory): sequence \(sequence) after \(nextSequence - 1)")
        nextSequence = sequence + 1
        let payloadLength = 8 + bodyLength
        if pendingCount + 8 + payloadLength > pendingCapacity {
            resizePending(max(pendingCapacity * 2, pendingCount + 8 + payloadLength))
        }
        let frame = pending + pendingCount
        (frame + 8).storeBytes(of: sequence.littleEndian, as: UInt64.self)
        encode(frame + 16)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(start: frame + 8, count: payloadLength))
        frame.storeBytes(of: UInt32(payloadLength).littleEndian, as: UInt32.self)
        (frame + 4).storeBytes(of: crc.littleEndian, as: UInt32.self)
        if pendingCount == 0 { pendingFirst = sequence }
        pendingCount += 8 + payloadLength
        pendingLast = sequence
        return sequence
    }

    /// Sequence numbers up to `sequence` were handed out elsewhere (a restart must never
    /// reuse one that a delivery manifest or a session log names): appends continue above.
    public func skip(through sequence: UInt64) {
        nextSequence = max(nextSequence, sequence + 1)
    }

    /// Moves the pending group into a buffer of `capacity` bytes.
    private func resizePending(_ capacity: Int) {
        let resized = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        resized.copyMemory(from: pending, byteCount: pendingCount)
        pending.deallocate()
        pending = resized
        pendingCapacity = capacity
    }

    public var hasPending: Bool { pendingCount > 0 }

    /// Writes the pending group and fsyncs once; returns the highest durable sequence.
    @discardableResult
    public func commit() throws(DurableError) -> UInt64 {
        guard pendingCount > 0 else { return committedSequence }
        if fd < 0 || segments.last.map({ $0.bytes >= segmentBytes }) ?? true {
            try openSegment(first: pendingFirst)
        }
        let path = segments[segments.count - 1].path
        do throws(DurableError) {
            try FileSystem.writeAll(fd, UnsafeRawBufferPointer(start: pending, count: pendingCount), path: path)
            guard fdatasync(fd) == 0 else { throw .io(operation: "fdatasync", path: path, errno: errno) }
        } catch {
            abandonSegmentTail()
            throw error
        }
        segments[segments.count - 1].bytes += pendingCount
        segments[segments.count - 1].last = pendingLast
        pendingCount = 0
        // A group that piled up during an outage: give the memory back.
        if pendingCapacity > 8 << 20 { resizePending(Journal.initialPendingBytes) }
        committedSequence = pendingLast
        return committedSequence
    }

    /// A failed write (disk full, I/O error) may have left part of the group in the file.
    /// The group stays pending and is written again by the next commit, so the file is cut
    /// back to its last durable frame and closed: the retry goes to a fresh segment, and a
    /// cut that failed leaves a damaged tail that recovery truncates (it never precedes a
    /// good frame of the same file).
    private func abandonSegmentTail() {
        let last = segments[segments.count - 1]
        _ = ftruncate(fd, off_t(last.bytes))
        rotate()
        if last.bytes == 0 {
            unlink(last.path)
            segments.removeLast()
        }
    }

    /// Closes the segment being written: the next commit starts a new one (compaction
    /// writes its snapshot there, then reclaims everything before it).
    public func rotate() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    private func openSegment(first: UInt64) throws(DurableError) {
        if fd >= 0 { close(fd) }
        var digits = String(first)
        digits = String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        let path = directory + "/" + digits + ".seg"
        fd = open(path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        try FileSystem.syncDirectory(directory)
        segments.append((first, first - 1, path, 0))
    }

    /// Everything committed is in the lake and nothing is pending: close the segment being
    /// written and delete them all, so a restart replays nothing (the next append starts a
    /// new segment).
    public func resetIfDelivered(through sequence: UInt64) {
        guard pendingCount == 0, sequence >= committedSequence else { return }
        rotate()
        for segment in segments { unlink(segment.path) }
        segments.removeAll()
    }

    /// Deletes the segments whose records are all at or below `sequence` (durable in the
    /// lake). The segment being written stays.
    public func reclaim(through sequence: UInt64) {
        let active = fd >= 0 ? 1 : 0  // the last segment, while it is open for appends
        while segments.count > active, let oldest = segments.first, oldest.last <= sequence {
            unlink(oldest.path)
            segments.removeFirst()
        }
    }

    /// Like `reclaim(through:)`, deleting the newest of those segments first: for a log
    /// that a snapshot supersedes, a crash part-way leaves a prefix of the old history and
    /// the whole snapshot (which replay adopts), never a history with a hole at its start.
    public func discardHistory(through sequence: UInt64) {
        let active = fd >= 0 ? 1 : 0
        let old = segments.dropLast(active).filter { $0.last <= sequence }
        for segment in old.reversed() { unlink(segment.path) }
        segments.removeAll { segment in old.contains { $0.path == segment.path } }
    }

    static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }
    static func readUInt64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }
}
