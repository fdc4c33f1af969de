import Durable
import Foundation
import Testing

@Suite struct ChunkedBytesTests {
    /// Lines of many sizes, one longer than a chunk: the chunks hold them in order, no
    /// line is split, and `writeAll` (writev over every chunk) puts exactly the bytes on disk.
    @Test func appendsInChunksAndWritesThemAll() throws {
        var bytes = ChunkedBytes()
        var expected: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for n in 0..<5_000 {
            let size = n == 2_500 ? ChunkedBytes.chunkBytes + 17 : Int.random(in: 1...400, using: &generator)
            let line = [UInt8](repeating: UInt8(ascii: "a") + UInt8(n % 26), count: size) + [0x0A]
            bytes += line
            expected += line
        }
        #expect(bytes.count == expected.count)
        #expect(bytes.joined == expected)
        #expect(bytes.chunks.count > 4)
        #expect(bytes.chunks.allSatisfy { $0.last == 0x0A }, "a line never straddles two chunks")
        #expect(bytes.split(separator: 0x0A).count == 5_000)

        let path = NSTemporaryDirectory() + "hydrant-chunks-\(UUID().uuidString)"
        defer { unlink(path) }
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        #expect(fd >= 0)
        try FileSystem.writeAll(fd, bytes, path: path)
        close(fd)
        #expect(FileManager.default.contents(atPath: path) == Data(expected))
        #expect(ChunkedBytes().isEmpty && ChunkedBytes([1, 2]) == ChunkedBytes([1, 2]))
    }
}

@Suite struct CRC32Tests {
    /// The folded (PCLMULQDQ) checksum equals zlib's for every length and alignment, and
    /// the check value of the standard ("123456789" → 0xCBF43926).
    @Test func foldingAgreesWithZlib() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4_200).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBytes { raw in
            for offset in [0, 1, 7] {
                for count in Array(0...300) + [511, 512, 513, 1_000, 4_096] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
                    let expected = slice.baseAddress.map { CRC32.zlib(0, $0.assumingMemoryBound(to: UInt8.self), count) } ?? 0
                    #expect(CRC32.checksum(slice) == expected, "offset \(offset) count \(count)")
                }
            }
        }
    }
}
