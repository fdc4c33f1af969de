#if canImport(Glibc)
import Glibc
#endif

/// A record as the journal keeps it: enough to rebuild its batch after a crash.
public struct JournalRecord: Sendable, Hashable {
    public var sequence: UInt64
    public var arrivalMillis: Int64
    public var partition: [String]
    /// The record's NDJSON line (newline included).
    public var line: [UInt8]

    public init(sequence: UInt64, arrivalMillis: Int64, partition: [String], line: [UInt8]) {
        self.sequence = sequence
        self.arrivalMillis = arrivalMillis
        self.partition = partition
        self.line = line
    }
}

/// A stream's write-ahead journal: records are appended before the broker acknowledges the
/// publish that produced them, many appends share one fsync (group commit), and a segment
/// is deleted once every record in it is in a durable lake file.
///
/// On disk: segment files `<first sequence, 20 digits>.seg` of frames
/// `[u32 length][u32 CRC-32 of payload][payload]` (little endian); payload =
/// `[u64 sequence][i64 arrival ms][u16 keys]([u16 length][bytes])…[line]`. A torn or corrupt
/// frame ends its segment: recovery truncates there and reports it.
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
        guard length >= 18, offset + 8 + length <= bytes.count else { return .damaged("torn frame (length \(length))") }
        let payload = bytes[(offset + 8)..<(offset + 8 + length)]
        guard payload.withUnsafeBytes({ CRC32.checksum($0) }) == crc else { return .damaged("CRC mismatch") }
        var p = payload.startIndex
        let sequence = readUInt64(bytes, p)
        let arrival = Int64(bitPattern: readUInt64(bytes, p + 8))
        let keys = Int(readUInt16(bytes, p + 16))
        p += 18
        var partition: [String] = []
        for _ in 0..<keys {
            guard p + 2 <= payload.endIndex else { return .damaged("bad partition key") }
            let keyLength = Int(readUInt16(bytes, p))
            guard p + 2 + keyLength <= payload.endIndex else { return .damaged("bad partition key") }
            partition.append(String(decoding: bytes[(p + 2)..<(p + 2 + keyLength)], as: UTF8.self))
            p += 2 + keyLength
        }
        let record = JournalRecord(sequence: sequence, arrivalMillis: arrival, partition: partition, line: Array(bytes[p..<payload.endIndex]))
        return .record(record, length: 8 + length)
    }

    /// Adds a record to the pending group; it is durable after the next `commit()`. The
    /// frame is built in place in the group buffer: one growth of the buffer, then stores
    /// through a pointer (appending field by field cost more than the CRC).
    @discardableResult
    public func append(arrivalMillis: Int64, partition: [String], line: [UInt8]) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        var payloadLength = 18 + line.count
        for key in partition { payloadLength += 2 + min(key.utf8.count, 65_535) }
        if pendingCount + 8 + payloadLength > pendingCapacity {
            resizePending(max(pendingCapacity * 2, pendingCount + 8 + payloadLength))
        }
        do {
            let frame = pending + pendingCount
            var offset = 8
            @inline(__always) func put<T: FixedWidthInteger>(_ value: T) {
                (frame + offset).storeBytes(of: value.littleEndian, as: T.self)
                offset += MemoryLayout<T>.size
            }
            put(sequence)
            put(UInt64(bitPattern: arrivalMillis))
            put(UInt16(partition.count))
            for key in partition {
                var key = key
                key.withUTF8 { bytes in
                    let count = min(bytes.count, 65_535)
                    put(UInt16(count))
                    if count > 0 { (frame + offset).copyMemory(from: bytes.baseAddress!, byteCount: count) }
                    offset += count
                }
            }
            line.withUnsafeBytes { bytes in
                if bytes.count > 0 { (frame + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            let crc = CRC32.checksum(UnsafeRawBufferPointer(start: frame + 8, count: payloadLength))
            frame.storeBytes(of: UInt32(payloadLength).littleEndian, as: UInt32.self)
            (frame + 4).storeBytes(of: crc.littleEndian, as: UInt32.self)
        }
        pendingCount += 8 + payloadLength
        pendingLast = sequence
        return sequence
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
            try openSegment(first: committedSequence + 1)
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

    static func readUInt16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }
    static func readUInt64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }
}
