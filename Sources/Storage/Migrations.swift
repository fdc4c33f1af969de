import Durable

/// One `NNNN_description.sql` file of the migrations directory.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var file: String
    public var sql: String
    /// FNV-1a 64 of the file's bytes: detects an edited, already-applied migration.
    public var checksum: String

    static func checksum(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Applies `Migrations/` to a database: in version order, each in its own transaction,
/// recorded in `schema_migrations(version, name, checksum, applied_at)`. An applied migration
/// whose file changed or disappeared stops everything; it is never re-run.
public struct MigrationRunner {
    public struct Status: Sendable {
        public var applied: [(version: Int, name: String, appliedAt: String)]
        public var pending: [Migration]
    }

    public let directory: String
    public let database: Database

    public init(directory: String, database: Database) {
        self.directory = directory
        self.database = database
    }

    /// The migration files, checked: names, duplicate versions.
    public func migrations() throws(StorageError) -> [Migration] {
        var result: [Migration] = []
        for name in FileSystem.list(directory) where name.hasSuffix(".sql") {
            let digits = name.prefix { $0.isNumber }
            guard digits.count >= 1, let version = Int(digits), name.dropFirst(digits.count).first == "_" else {
                throw .invalidMigrationFile(file: directory + "/" + name, reason: "a migration is named NNNN_description.sql")
            }
            if let other = result.first(where: { $0.version == version }) {
                throw .invalidMigrationFile(file: directory + "/" + name, reason: "version \(version) is also \(other.file)")
            }
            let path = directory + "/" + name
            guard let bytes = try? FileSystem.readFile(path) else { throw .invalidMigrationFile(file: path, reason: "cannot read the file") }
            let text = String(decoding: bytes, as: UTF8.self)
            result.append(Migration(version: version, name: String(name.dropLast(4)), file: path, sql: text, checksum: Migration.checksum(text)))
        }
        return result.sorted { $0.version < $1.version }
    }

    private func ensureTable() throws(StorageError) {
        try database.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)")
    }

    /// Applied and pending migrations, after checking the applied ones still match.
    public func status() throws(StorageError) -> Status {
        try ensureTable()
        let files = try migrations()
        var applied: [(Int, String, String)] = []
        for row in try database.rows("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version") {
            guard case let .integer(version) = row[0], case let .text(name) = row[1], case let .text(checksum) = row[2], case let .text(at) = row[3] else { continue }
            guard let file = files.first(where: { $0.version == Int(version) }) else {
                throw .migrationMissing(version: Int(version), name: name)
            }
            guard file.checksum == checksum else { throw .migrationChanged(version: Int(version), file: file.file) }
            applied.append((Int(version), name, at))
        }
        let done = Set(applied.map(\.0))
        return Status(applied: applied, pending: files.filter { !done.contains($0.version) })
    }

    /// Applies the pending migrations (or only lists them with `dryRun`); returns them.
    @discardableResult
    public func migrate(dryRun: Bool = false, now: String) throws(StorageError) -> [Migration] {
        let pending = try status().pending
        guard !dryRun else { return pending }
        for migration in pending {
            try database.transaction { () throws(StorageError) in
                for piece in Statement.split(migration.sql) {
                    do throws(StorageError) {
                        try database.execute(piece.sql)
                    } catch {
                        // The line of the statement's first character, past leading blank lines.
                        let leading = piece.sql.utf8.prefix { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }.count
                        let line = migration.sql.utf8.prefix(piece.offset + leading).filter { $0 == 0x0A }.count + 1
                        let message: String
                        if case let .sqlite(_, text, _) = error { message = text } else { message = "\(error)" }
                        throw .migrationFailed(file: migration.file, line: line, statement: piece.sql.trimmed, message: message)
                    }
                }
                let insert = try database.statement("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)")
                try insert.bind([.integer(Int64(migration.version)), .text(migration.name), .text(migration.checksum), .text(now)])
                try insert.step()
            }
        }
        return pending
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
