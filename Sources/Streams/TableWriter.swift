import JSON
import Storage

/// Writes batches into a SQLite table (from Migrations/): output fields map to columns by
/// name, objects and arrays are stored as JSON text, a `payload` column (if the table has
/// one and the record no such field) receives the whole record. One transaction per batch
/// with one prepared INSERT; a record SQLite rejects (constraint, type) is returned with
/// SQLite's message for the error output, and the rest of the batch still commits.
///
/// Exactly-once: each batch's transaction also inserts its journal span into
/// `hydrant_stream_offsets` (created here, beside `schema_migrations`) and deletes the spans
/// the stream's watermark has passed, so rows and watermark commit together and a replay
/// after a crash skips what the table already has.
///
/// Opened and used only on the stream's thread.
struct TableWriter: @unchecked Sendable {
    let path: String
    let table: String
    private var database: Database?
    private var columns: [String] = []
    private var insertSQL = ""

    init(path: String, table: String) {
        self.path = path
        self.table = table
    }

    /// Opens the database and checks the table; called at stream start so a missing table
    /// stops the daemon with a clear message.
    mutating func open() throws(StorageError) {
        let database = try Database(path: path)
        // The stream deletes its journal span once a batch is committed here, so the commit
        // must survive power loss too, not only a crash: fsync the WAL on every commit (one
        // per batch, not per row).
        try database.execute("PRAGMA synchronous = FULL")
        let info = try database.rows("SELECT name FROM pragma_table_info(?)", [.text(table)])
        columns = info.compactMap { if case let .text(name) = $0.first { return name } else { return nil } }
        guard !columns.isEmpty else {
            throw .sqlite(code: 1, message: "no such table: \(table) (create it in Migrations/)", sql: nil)
        }
        let quoted = columns.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        try database.execute(Self.offsetsSchema)
        insertSQL = "INSERT INTO \"\(table)\" (\(quoted.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
        self.database = database
    }

    static let offsetsSchema = """
        CREATE TABLE IF NOT EXISTS hydrant_stream_offsets (
            stream TEXT NOT NULL, first_sequence INTEGER NOT NULL, last_sequence INTEGER NOT NULL,
            PRIMARY KEY (stream, first_sequence))
        """

    /// The spans of `stream` committed here and not yet passed by its watermark.
    mutating func deliveredSpans(stream: String) throws(StorageError) -> [DeliveredSpan] {
        if database == nil { try open() }
        let rows = try database!.rows("SELECT first_sequence, last_sequence FROM hydrant_stream_offsets WHERE stream = ?", [.text(stream)])
        return rows.compactMap { row in
            guard row.count == 2, case let .integer(first) = row[0], case let .integer(last) = row[1] else { return nil }
            return DeliveredSpan(target: .partition([]), first: UInt64(bitPattern: first), last: UInt64(bitPattern: last), path: "")
        }
    }

    struct Outcome {
        var inserted = 0
        var ignoredFields = 0
        var rejected = 0
    }

    /// Writes `batch` in one transaction with its `span`; `beforeCommit` gets the records
    /// SQLite rejected (index in the batch, line, SQLite's message) and must make them
    /// durable elsewhere before the commit — throwing rolls the batch back.
    mutating func write(
        _ batch: Batch, stream: String, span: DeliveredSpan, delivered: UInt64,
        beforeCommit: ([(index: Int, line: [UInt8], message: String)]) throws(StorageError) -> Void
    ) throws(StorageError) -> Outcome {
        if database == nil { try open() }
        let database = database!
        var outcome = Outcome()
        let lines = batch.data.split(separator: 0x0A)
        let columns = columns
        let insertSQL = insertSQL
        var rejected: [(index: Int, line: [UInt8], message: String)] = []
        try database.transaction { () throws(StorageError) in
            let insert = try database.statement(insertSQL)
            for (index, line) in lines.enumerated() {
                guard case let .object(record)? = try? JSONParser().parse(line) else {
                    rejected.append((index, Array(line), "record is not a JSON object"))
                    continue
                }
                outcome.ignoredFields += record.keys.filter { !columns.contains($0) }.count
                let values = columns.map { column -> SQLValue in
                    if column == "payload" && record["payload"] == nil { return .text(JSONValue.object(record).serialized()) }
                    switch record[column] {
                    case nil, .null?: return .null
                    case let .string(text)?: return .text(text)
                    case let .int(number)?: return .integer(number)
                    case let .double(number)?: return .real(number)
                    case let .bool(flag)?: return .integer(flag ? 1 : 0)
                    case let value?: return .text(value.serialized())
                    }
                }
                do throws(StorageError) {
                    try insert.bind(values)
                    try insert.step()
                    outcome.inserted += 1
                } catch {
                    if case let .sqlite(_, message, _) = error { rejected.append((index, Array(line), message)) } else { throw error }
                }
            }
            let offsets = try database.statement("INSERT OR REPLACE INTO hydrant_stream_offsets (stream, first_sequence, last_sequence) VALUES (?, ?, ?)")
            try offsets.bind([.text(stream), .integer(Int64(bitPattern: span.first)), .integer(Int64(bitPattern: span.last))])
            _ = try offsets.step()
            let prune = try database.statement("DELETE FROM hydrant_stream_offsets WHERE stream = ? AND last_sequence <= ?")
            try prune.bind([.text(stream), .integer(Int64(bitPattern: delivered))])
            _ = try prune.step()
            if !rejected.isEmpty { try beforeCommit(rejected) }
        }
        outcome.rejected = rejected.count
        return outcome
    }
}
