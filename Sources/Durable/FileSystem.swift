#if canImport(Glibc)
import Glibc
#endif

/// The POSIX calls the lake writer and the journal need, with errors as `DurableError`.
public enum FileSystem {
    public static func makeDirectories(_ path: String) throws(DurableError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                // A new directory is durable only once its parent's entry is.
                try syncDirectory(parent(of: current))
            } else if errno != EEXIST {
                throw .io(operation: "mkdir", path: current, errno: errno)
            }
        }
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func syncDirectory(_ path: String) throws(DurableError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    /// Writes every chunk in order: one `writev` per up to 1024 chunks, resumed after a
    /// short write.
    public static func writeAll(_ fd: Int32, _ bytes: ChunkedBytes, path: String) throws(DurableError) {
        var chunk = 0
        var offset = 0  // into `bytes.chunks[chunk]`
        let chunks = bytes.chunks
        while chunk < chunks.count {
            let result = withIOVectors(chunks, from: chunk, offset: offset) { vectors in
                writev(fd, vectors.baseAddress, Int32(vectors.count))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            var written = result
            while chunk < chunks.count && written >= chunks[chunk].count - offset {
                written -= chunks[chunk].count - offset
                chunk += 1
                offset = 0
            }
            offset += written
        }
    }

    /// Calls `body` with iovecs over `chunks[from...]` (at most 1024, IOV_MAX), the first
    /// starting at `offset`. The arrays' storage is pinned for the call.
    private static func withIOVectors(_ chunks: [[UInt8]], from first: Int, offset: Int, _ body: (UnsafeBufferPointer<iovec>) -> Int) -> Int {
        let end = min(chunks.count, first + 1024)
        var vectors: [iovec] = []
        vectors.reserveCapacity(end - first)
        func pin(_ index: Int) -> Int {
            if index == end { return vectors.withUnsafeBufferPointer(body) }
            return chunks[index].withUnsafeBytes { raw in
                let skip = index == first ? offset : 0
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + skip), iov_len: raw.count - skip))
                return pin(index + 1)
            }
        }
        return pin(first)
    }

    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(DurableError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    public static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func readFile(_ path: String) throws(DurableError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
