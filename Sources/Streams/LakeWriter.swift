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

    /// The path (relative to the lake root) of the object for a batch whose oldest record
    /// arrived at `arrivalMillis`, under `prefix` (a rendered, relative directory).
    public func relativePath(prefix: String, arrivalMillis: Int64, uuid: String) -> String {
        let directory = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        return directory + objectName(arrivalMillis: arrivalMillis, uuid: uuid)
    }

    /// Writes `data` under `prefix` with a random name; returns the path relative to the root.
    @discardableResult
    public func write(_ data: [UInt8], prefix: String, arrivalMillis: Int64) throws(DurableError) -> String {
        let path = relativePath(prefix: prefix, arrivalMillis: arrivalMillis, uuid: RandomUUID.make())
        try write(ChunkedBytes(data), relativePath: path)
        return path
    }

    /// Writes `data` as the object at `relativePath`, replacing one of that name.
    public func write(_ data: ChunkedBytes, relativePath: String) throws(DurableError) {
        let final = root + "/" + relativePath
        try FileSystem.makeDirectories(FileSystem.parent(of: final))
        let temporary = Self.temporaryPath(of: final)
        let bytes = compression == .gzip ? ChunkedBytes(Gzip.compress(data.joined)) : data
        // O_TRUNC: a temp file left by a crash while writing this same object is rewritten.
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
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
    }

    /// The hidden name an object is written under before its rename: `.<name>.tmp` beside it.
    static func temporaryPath(of final: String) -> String {
        FileSystem.parent(of: final) + "/." + final.split(separator: "/").last! + ".tmp"
    }

    /// Recovery: whether the object at `relativePath` exists; if so its directory is
    /// fsynced (a rename the crash left unsynced is made durable before it is relied on)
    /// and a temp file beside it is removed.
    public func exists(_ relativePath: String) -> Bool {
        let final = root + "/" + relativePath
        unlink(Self.temporaryPath(of: final))
        guard access(final, F_OK) == 0 else { return false }
        try? FileSystem.syncDirectory(FileSystem.parent(of: final))
        return true
    }
}
