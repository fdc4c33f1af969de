/// Builds a log record's bytes: little-endian integers and length-prefixed byte strings.
public struct RecordWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func put(_ value: UInt8) { bytes.append(value) }
    public mutating func put(_ value: UInt16) { putLittleEndian(value) }
    public mutating func put(_ value: UInt32) { putLittleEndian(value) }
    public mutating func put(_ value: UInt64) { putLittleEndian(value) }

    private mutating func putLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `u16` length, then the bytes (at most 65,535).
    public mutating func put(short value: String) {
        let utf8 = Array(value.utf8.prefix(65_535))
        put(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func put(raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

/// Reads what `RecordWriter` wrote. Strict: every read returns nil past the end, so a
/// decoder refuses a short or damaged record instead of guessing.
public struct RecordReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func u8() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16() -> UInt16? { integer() }
    public mutating func u32() -> UInt32? { integer() }
    public mutating func u64() -> UInt64? { integer() }

    private mutating func integer<T: FixedWidthInteger>() -> T? {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { return nil }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    public mutating func short() -> String? {
        guard let length = u16().map(Int.init), offset + length <= bytes.count else { return nil }
        defer { offset += length }
        return String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
    }

    /// The next `count` bytes.
    public mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Everything left.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }
}
