import Durable
import CZlib
import JSON
import Storage
import UTC

/// SQL over a stream's NDJSON lake: the files in the time range are loaded into an
/// in-memory SQLite table `lake` — one column per top-level field, one per Hive partition
/// key (`key=value` directories), and `json` with the whole record for nested access
/// (`json ->> '$.a.b'`) — and the query runs on it. Files are pruned by the time in their
/// names (the arrival of their oldest record; a file spans at most its stream's buffering
/// interval), so files outside the range are never opened.
public struct LakeQuery {
    public let root: String
    public let stream: String
    /// Longest time one file can span (the stream's buffering interval).
    public let fileSpanMillis: Int64

    public init(root: String, stream: String, fileSpanMillis: Int64) {
        self.root = root
        self.stream = stream
        self.fileSpanMillis = fileSpanMillis
    }

    public struct Selection: Sendable {
        public var files: [String] = []
        public var pruned = 0
    }

    /// The stream's object files (relative to the lake root) overlapping [from, until] and,
    /// for every `partitions` key, under its `key=value` directory (other directories of
    /// that key are not even listed).
    public func files(from: Int64?, until: Int64?, partitions: [String: String] = [:]) -> Selection {
        var selection = Selection()
        let objectPrefix = stream + "-"
        for path in walk("", partitions: partitions, pruned: &selection.pruned) where isObject(path, prefix: objectPrefix) {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            guard let start = Self.objectTime(name, stream: stream) else {
                selection.files.append(path)  // no time in the name: cannot prune, so read it
                continue
            }
            if let until, start > until { selection.pruned += 1; continue }
            if let from, start + fileSpanMillis < from { selection.pruned += 1; continue }
            selection.files.append(path)
        }
        return selection
    }

    private func isObject(_ path: String, prefix: String) -> Bool {
        guard let name = path.split(separator: "/").last, name.hasPrefix(prefix) else { return false }
        return !path.hasPrefix("errors/") && (name.hasSuffix(".ndjson") || name.hasSuffix(".ndjson.gz"))
    }

    /// Arrival of the oldest record, from `<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>`.
    static func objectTime(_ name: String, stream: String) -> Int64? {
        let rest = name.dropFirst(stream.count + 1)
        guard let dash = rest.firstIndex(of: "-") else { return nil }
        let stamp = rest[rest.index(after: dash)...].prefix(19)
        return TimePattern("yyyy-MM-dd-HH-mm-ss")?.parse(String(stamp))
    }

    private func walk(_ relative: String, partitions: [String: String], pruned: inout Int) -> [String] {
        var result: [String] = []
        let directory = relative.isEmpty ? root : root + "/" + relative
        for name in FileSystem.list(directory) where !name.hasPrefix(".") {
            let path = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard stat(root + "/" + path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                if let equals = name.firstIndex(of: "="), let wanted = partitions[String(name[..<equals])],
                    String(name[name.index(after: equals)...]) != wanted {
                    pruned += 1
                    continue
                }
                result += walk(path, partitions: partitions, pruned: &pruned)
            } else {
                result.append(path)
            }
        }
        return result
    }

    /// Loads `files` into table `lake` of `database`; returns the number of records.
    @discardableResult
    public func load(_ files: [String], into database: Database) throws(StorageError) -> Int {
        var columns: [String] = []
        var records: [(JSONObject, [(String, String)])] = []
        for file in files {
            let partitions = file.split(separator: "/").dropLast().compactMap { segment -> (String, String)? in
                guard let equals = segment.firstIndex(of: "=") else { return nil }
                return (String(segment[..<equals]), String(segment[segment.index(after: equals)...]))
            }
            for (key, _) in partitions where !columns.contains(key) { columns.append(key) }
            guard var bytes = try? FileSystem.readFile(root + "/" + file) else { continue }
            if file.hasSuffix(".gz") { bytes = Gzip.decompress(bytes) ?? [] }
            for line in bytes.split(separator: 0x0A) where !line.isEmpty {
                guard case let .object(object)? = try? JSONParser().parse(Array(line)) else { continue }
                for key in object.keys where !columns.contains(key) { columns.append(key) }
                records.append((object, partitions))
            }
        }
        if !columns.contains("json") { columns.append("json") }
        let quoted = columns.map { "\"" + $0.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" }
        try database.execute("CREATE TABLE lake (\(quoted.joined(separator: ", ")))")
        try database.transaction { () throws(StorageError) in
            let insert = try database.statement("INSERT INTO lake VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))")
            for (object, partitions) in records {
                let values = columns.map { column -> SQLValue in
                    if column == "json" && object["json"] == nil { return .text(JSONValue.object(object).serialized()) }
                    if let value = object[column] { return Self.sqlValue(value) }
                    if let partition = partitions.first(where: { $0.0 == column }) {
                        return Int64(partition.1).map(SQLValue.integer) ?? .text(partition.1)
                    }
                    return .null
                }
                try insert.bind(values)
                try insert.step()
            }
        }
        return records.count
    }

    static func sqlValue(_ value: JSONValue) -> SQLValue {
        switch value {
        case .null: return .null
        case let .bool(flag): return .integer(flag ? 1 : 0)
        case let .int(v): return .integer(v)
        case let .double(v): return .real(v)
        case let .string(v): return .text(v)
        default: return .text(value.serialized())
        }
    }
}

extension Gzip {
    /// gunzip; nil for data that is not gzip.
    static func decompress(_ input: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let ok = input.withUnsafeMutableBufferPointer { source -> Bool in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
                if status == Z_STREAM_END { return true }
                if status != Z_OK { return false }
            }
        }
        return ok ? output : nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
