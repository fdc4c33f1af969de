import Durable

/// Where a journaled record goes: a partition of the stream's destination (the values of
/// its partition keys, in order; none for a table or an unpartitioned prefix), or the
/// stream's error output with Firehose's error-output type.
enum StreamTarget: Sendable, Hashable {
    case partition([String])
    case error(type: String)

    var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// The batcher key: partition values, or the error-output type.
    var key: [String] {
        switch self {
        case let .partition(values): return values
        case let .error(type): return [type]
        }
    }
}

/// A record the journal has on disk, on its way into a batch.
struct JournaledRecord: Sendable {
    var target: StreamTarget
    var line: [UInt8]
    var arrival: Int64
    var sequence: UInt64
    var origin: RecordOrigin
}

/// A stream record as its journal frame body holds it:
/// `[i64 arrival ms][u16 n | 0x8000 for the error output]([u16 length][bytes])×n[line]`
/// (little endian). For the error output n is 1, the error-output type. The origin is not
/// journaled (measured: 3 more strings per record cost 7–20 % of the lake's throughput); a
/// record replayed after a crash has an unknown origin.
///
/// Journals written before the error output was typed marked it with a first partition
/// value "\u{0}error" and the type as the second; they are read as the error output.
enum StreamRecordCodec {
    static let errorFlag: UInt16 = 0x8000
    static let legacyErrorMarker = "\u{0}error"

    static func bodyLength(target: StreamTarget, line: [UInt8]) -> Int {
        var length = 10 + line.count
        for key in target.key { length += 2 + min(key.utf8.count, 65_535) }
        return length
    }

    /// Writes the body at `out` (exactly `bodyLength(target:line:)` bytes).
    static func encode(arrival: Int64, target: StreamTarget, line: [UInt8], into out: UnsafeMutableRawPointer) {
        var offset = 0
        @inline(__always) func put<T: FixedWidthInteger>(_ value: T) {
            (out + offset).storeBytes(of: value.littleEndian, as: T.self)
            offset += MemoryLayout<T>.size
        }
        put(UInt64(bitPattern: arrival))
        let keys = target.key
        put(UInt16(keys.count) | (target.isError ? errorFlag : 0))
        for key in keys {
            var key = key
            key.withUTF8 { bytes in
                let count = min(bytes.count, 65_535)
                put(UInt16(count))
                if count > 0 { (out + offset).copyMemory(from: bytes.baseAddress!, byteCount: count) }
                offset += count
            }
        }
        line.withUnsafeBytes { bytes in
            if bytes.count > 0 { (out + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        }
    }

    /// Strict: nil for a body this version does not understand.
    static func decode(_ record: JournalRecord) -> JournaledRecord? {
        var reader = RecordReader(record.body)
        guard let arrival = reader.u64(), let header = reader.u16() else { return nil }
        var keys: [String] = []
        for _ in 0..<(header & ~errorFlag) {
            guard let key = reader.short() else { return nil }
            keys.append(key)
        }
        let target: StreamTarget
        if header & errorFlag != 0 {
            guard keys.count == 1 else { return nil }
            target = .error(type: keys[0])
        } else if keys.count == 2 && keys[0] == legacyErrorMarker {
            target = .error(type: keys[1])
        } else {
            target = .partition(keys)
        }
        return JournaledRecord(target: target, line: reader.rest(), arrival: Int64(bitPattern: arrival), sequence: record.sequence, origin: .unknown)
    }
}
