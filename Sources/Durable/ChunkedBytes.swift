/// Bytes kept in chunks of a fixed capacity: appending never moves what is already
/// buffered (a growing 16 MiB array copies itself and faults in fresh pages at every
/// doubling — measured as a fifth of a lake stream's batch thread). Written out with one
/// `writev` (see `FileSystem.writeAll(_:_:path:)`).
public struct ChunkedBytes: Sendable, Equatable {
    /// Capacity of each chunk (a line longer than this gets a chunk of its own size).
    public static let chunkBytes = 256 << 10

    public private(set) var chunks: [[UInt8]] = []
    public private(set) var count = 0

    public init() {}

    public init(_ bytes: [UInt8]) {
        append(contentsOf: bytes)
    }

    public var isEmpty: Bool { count == 0 }

    public mutating func append(contentsOf bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let last = chunks.count - 1
        if last >= 0 && chunks[last].capacity - chunks[last].count >= bytes.count {
            chunks[last].append(contentsOf: bytes)
        } else {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(max(Self.chunkBytes, bytes.count))
            chunk.append(contentsOf: bytes)
            chunks.append(chunk)
        }
        count += bytes.count
    }

    public static func += (lhs: inout ChunkedBytes, rhs: [UInt8]) {
        lhs.append(contentsOf: rhs)
    }

    /// All the bytes in one array (error paths, tests, compression input).
    public var joined: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for chunk in chunks { out.append(contentsOf: chunk) }
        return out
    }

    /// The bytes split at `separator` (lines without their newline), across chunks.
    public func split(separator: UInt8) -> [[UInt8]] {
        joined.split(separator: separator).map(Array.init)
    }

    public static func == (lhs: ChunkedBytes, rhs: ChunkedBytes) -> Bool {
        lhs.count == rhs.count && lhs.joined == rhs.joined
    }
}
