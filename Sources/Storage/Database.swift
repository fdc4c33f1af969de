import CSQLite

/// A value bound to or read from SQLite.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One SQLite connection. The writer is opened in WAL mode with a busy timeout; readers
/// open read-only. Statements are prepared once and cached by SQL text.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var cache: [String: Statement] = [:]

    public init(path: String, readOnly: Bool = false) throws(StorageError) {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let code = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw .sqlite(code: code, message: "\(message) (\(path))", sql: nil)
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 5000)
        if !readOnly {
            try execute("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = NORMAL")
        }
    }

    deinit {
        cache.removeAll()  // statements finalize before the connection closes
        sqlite3_close_v2(handle)
    }

    func error(_ code: Int32, sql: String?) -> StorageError {
        .sqlite(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs every statement of `sql` (no results).
    public func execute(_ sql: String) throws(StorageError) {
        // Prepared one at a time: a statement may use a table the previous one created.
        for piece in Statement.split(sql) {
            let statement = try Statement(piece.sql, database: self)
            while try statement.step() {}
        }
    }

    /// A prepared statement, cached by its text.
    public func statement(_ sql: String) throws(StorageError) -> Statement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        let statement = try Statement(sql, database: self)
        cache[sql] = statement
        return statement
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rows of a query as arrays of values (small results: migrations, tests).
    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws(StorageError) -> [[SQLValue]] {
        let statement = try statement(sql)
        try statement.bind(arguments)
        var rows: [[SQLValue]] = []
        while try statement.step() { rows.append((0..<statement.columnCount).map { statement.value(at: $0) }) }
        return rows
    }
}

/// A prepared statement: prepared in `init`, finalized in `deinit` (GRDB's lifetime rule).
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database
    public let sql: String

    init(_ sql: String, database: Database) throws(StorageError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(database.handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else { throw database.error(code, sql: sql) }
        handle = statement
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Splits SQL text into statements as SQLite reads them (its own tokenizer decides where
    /// each ends); returns each statement's text and UTF-8 offset.
    static func split(_ text: String) -> [(sql: String, offset: Int)] {
        var pieces: [(String, Int)] = []
        var bytes = Array(text.utf8)
        bytes.append(0)
        var start = 0
        while start < bytes.count - 1 {
            // sqlite3_complete finds the end of one statement (trailing ';' outside strings,
            // comments and triggers).
            var end = start
            var found = false
            while end < bytes.count - 1 {
                if bytes[end] == UInt8(ascii: ";") {
                    let candidate = Array(bytes[start...end]) + [0]
                    if candidate.withUnsafeBufferPointer({ sqlite3_complete(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }) != 0 {
                        found = true
                        break
                    }
                }
                end += 1
            }
            let stop = found ? end + 1 : bytes.count - 1
            let piece = String(decoding: bytes[start..<stop], as: UTF8.self)
            if piece.contains(where: { !$0.isWhitespace && $0 != ";" }) && !isOnlyComments(piece) { pieces.append((piece, start)) }
            start = stop
        }
        return pieces
    }

    private static func isOnlyComments(_ piece: String) -> Bool {
        var rest = Substring(piece)
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == ";" }
            if rest.hasPrefix("--") {
                rest = rest.drop { $0 != "\n" }
            } else if rest.hasPrefix("/*"), let close = rest.firstRange(of: "*/") {
                rest = rest[close.upperBound...]
            } else {
                return rest.isEmpty
            }
        }
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(_ index: Int) -> String { String(cString: sqlite3_column_name(handle, Int32(index))) }

    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    public func bind(_ values: [SQLValue]) throws(StorageError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(handle, index)
            case let .integer(v): code = sqlite3_bind_int64(handle, index, v)
            case let .real(v): code = sqlite3_bind_double(handle, index, v)
            case let .text(v): code = sqlite3_bind_text(handle, index, v, -1, Statement.transient)
            case let .blob(v): code = v.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), Statement.transient) }
            }
            guard code == SQLITE_OK else { throw database.error(code, sql: sql) }
        }
    }

    /// Advances; true while there is a row.
    @discardableResult
    public func step() throws(StorageError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.error(code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    public func reset() {
        sqlite3_reset(handle)
    }

    public func value(at index: Int) -> SQLValue {
        let column = Int32(index)
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(handle, column)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default: return .null
        }
    }
}
