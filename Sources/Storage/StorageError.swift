/// Errors of the SQLite layer. They carry the result code, SQLite's message and the SQL
/// text, never bound values (GRDB's rule: no payloads in logs).
public enum StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    case sqlite(code: Int32, message: String, sql: String?)
    /// A migration file's statement failed; the migration was rolled back.
    case migrationFailed(file: String, line: Int, statement: String, message: String)
    /// An applied migration's file changed since it was applied.
    case migrationChanged(version: Int, file: String)
    /// An applied migration's file is gone.
    case migrationMissing(version: Int, name: String)
    /// A file in Migrations/ that is not `NNNN_description.sql`, or a duplicate version.
    case invalidMigrationFile(file: String, reason: String)
    /// The caller of a transaction refused to commit it (something that must be durable
    /// before the commit was not); it was rolled back.
    case rolledBack(reason: String)

    public var description: String {
        switch self {
        case let .sqlite(code, message, sql):
            return "SQLite error \(code): \(message)" + (sql.map { " in: \($0)" } ?? "")
        case let .migrationFailed(file, line, statement, message):
            return "\(file):\(line): migration failed and was rolled back: \(message)\n    \(statement)"
        case let .migrationChanged(version, file):
            return "\(file): migration \(version) was applied with different contents; an applied migration must never change (write a new one)"
        case let .migrationMissing(version, name):
            return "migration \(version) (\(name)) was applied but its file is gone"
        case let .invalidMigrationFile(file, reason):
            return "\(file): \(reason)"
        case let .rolledBack(reason):
            return "transaction rolled back: \(reason)"
        }
    }
}
