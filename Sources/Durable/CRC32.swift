import CCRC32
import CZlib

/// CRC-32 (the gzip/zlib polynomial): journal frame checksums. The 16-byte blocks of
/// records of 64 bytes or more go through PCLMULQDQ folding where the CPU has it (`CCRC32`),
/// the rest through the system zlib; both compute the same function (tests compare them).
public enum CRC32 {
    static let simd = hy_crc32_simd_available() != 0

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var crc: UInt32 = 0
        var start = 0
        if simd && bytes.count >= 64 {
            let blocks = bytes.count & ~15
            crc = hy_crc32_simd(0, base, blocks)
            start = blocks
        }
        return zlib(crc, base + start, bytes.count - start)
    }

    /// zlib's table-driven CRC-32, continuing `crc` (also the reference in tests).
    public static func zlib(_ crc: UInt32, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        count == 0 ? crc : UInt32(CZlib.crc32(UInt(crc), bytes, UInt32(count)))
    }
}
