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
