import Durable
import JSON
import UTC

#if canImport(Glibc)
import Glibc
#endif

/// Writes closed batches as lake objects: `<prefix><stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>.ndjson[.gz]`.
/// A file appears under its final name only when complete: written to a hidden temp name
/// in the same directory, fsynced, renamed, and the directory fsynced (so readers never see
/// a partial file and a crash never leaves one).
public struct LakeWriter: Sendable {
    public enum Compression: String, Sendable {
        case none, gzip
    }

    public let root: String
    public let stream: String
    public let compression: Compression
    public let version: Int

    public init(root: String, stream: String, compression: Compression = .none, version: Int = 1) {
        self.root = root
        self.stream = stream
        self.compression = compression
        self.version = version
    }

    /// The object name for a file whose oldest record arrived at `arrivalMillis`.
    public func objectName(arrivalMillis: Int64, uuid: String) -> String {
        let time = TimePattern("yyyy-MM-dd-HH-mm-ss")!.format(millis: arrivalMillis)
        return "\(stream)-\(version)-\(time)-\(uuid).ndjson" + (compression == .gzip ? ".gz" : "")
    }

    /// Writes `data` under `prefix` (a rendered, relative directory); returns the object's
    /// path relative to the lake root.
    @discardableResult
    public func write(_ data: [UInt8], prefix: String, arrivalMillis: Int64) throws(DurableError) -> String {
        try write(ChunkedBytes(data), prefix: prefix, arrivalMillis: arrivalMillis)
    }

    @discardableResult
    public func write(_ data: ChunkedBytes, prefix: String, arrivalMillis: Int64) throws(DurableError) -> String {
        let directory = root + "/" + prefix
        try FileSystem.makeDirectories(directory)
        let name = objectName(arrivalMillis: arrivalMillis, uuid: RandomUUID.make())
        let final = directory + (directory.hasSuffix("/") ? "" : "/") + name
        let temporary = FileSystem.parent(of: final) + "/." + name + ".tmp"
        let bytes = compression == .gzip ? ChunkedBytes(Gzip.compress(data.joined)) : data
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: temporary, errno: errno) }
        do throws(DurableError) {
            try FileSystem.writeAll(fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw DurableError.io(operation: "fsync", path: temporary, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, final) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(operation: "rename", path: final, errno: code)
        }
        try FileSystem.syncDirectory(FileSystem.parent(of: final))
        return String(final.dropFirst(root.count + 1))
    }
}
