import Foundation
import Storage
import TestSupport
import Testing

private func temporaryDirectory() throws -> String {
    try TemporaryDirectory(prefix: "hydrant-storage").path
}

@Suite struct DatabaseTests {
    @Test func bindsAndReadsEveryType() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Database(path: directory + "/t.sqlite")
        try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        let values: [SQLValue] = [.integer(Int64.min), .real(21.5), .text("ü 'quoted' \"x\""), .blob([0, 1, 255]), .null]
        let insert = try db.statement("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
        try insert.bind(values)
        try insert.step()
        #expect(try db.rows("SELECT * FROM t") == [values])
        #expect(try db.rows("SELECT count(*) FROM t WHERE s = ?", [.text("ü 'quoted' \"x\"")]) == [[.integer(1)]])
        #expect(try db.rows("PRAGMA journal_mode") == [[.text("wal")]])
    }

    @Test func errorsCarryCodeMessageAndSQLButNoValues() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Database(path: directory + "/t.sqlite")
        #expect(throws: StorageError.sqlite(code: 1, message: "near \"SELEC\": syntax error", sql: "SELEC 1")) { try db.execute("SELEC 1") }
        try db.execute("CREATE TABLE u (k TEXT PRIMARY KEY)")
        let insert = try db.statement("INSERT INTO u VALUES (?)")
        try insert.bind([.text("secret-value")])
        try insert.step()
        do {
            try insert.bind([.text("secret-value")])
            try insert.step()
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.description.contains("UNIQUE constraint failed: u.k"))
            #expect(error.description.contains("INSERT INTO u VALUES (?)"))
            #expect(!error.description.contains("secret-value"))
        }
    }

    @Test func transactionsRollBack() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Database(path: directory + "/t.sqlite")
        try db.execute("CREATE TABLE t (x INTEGER)")
        do {
            try db.transaction { () throws(StorageError) in
                try db.execute("INSERT INTO t VALUES (1)")
                try db.execute("INSERT INTO nope VALUES (1)")
            }
        } catch {}
        #expect(try db.rows("SELECT count(*) FROM t") == [[.integer(0)]])
    }

    @Test func readOnlyRefusesWrites() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let db = try Database(path: directory + "/t.sqlite")
            try db.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);")
        }
        let reader = try Database(path: directory + "/t.sqlite", readOnly: true)
        #expect(try reader.rows("SELECT x FROM t") == [[.integer(7)]])
        #expect(throws: StorageError.self) { try reader.execute("INSERT INTO t VALUES (8)") }
    }
}

@Suite struct MigrationTests {
    func write(_ directory: String, _ name: String, _ sql: String) throws {
        try sql.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }

    @Test func appliesInOrderOnceAndRecordsThem() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/m", withIntermediateDirectories: true)
        try write(directory + "/m", "0002_index.sql", "CREATE INDEX status_time ON status (ts);")
        try write(directory + "/m", "0001_tables.sql", "-- status of machines\nCREATE TABLE status (ts INTEGER, machine TEXT);\nCREATE TABLE alerts (ts INTEGER, severity INTEGER; -- not yet\n".replacingOccurrences(of: "INTEGER; -- not yet\n", with: "INTEGER);\n"))
        let db = try Database(path: directory + "/d.sqlite")
        let runner = MigrationRunner(directory: directory + "/m", database: db)
        #expect(try runner.migrate(dryRun: true, now: "t0").map(\.version) == [1, 2])
        #expect(try runner.status().applied.isEmpty)
        #expect(try runner.migrate(now: "t1").map(\.version) == [1, 2])
        #expect(try runner.migrate(now: "t2").isEmpty)
        let status = try runner.status()
        #expect(status.applied.map(\.version) == [1, 2])
        #expect(status.applied.map(\.appliedAt) == ["t1", "t1"])
        #expect(try db.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'status_time'") == [[.text("status_time")]])
    }

    @Test func failingMigrationRollsBackAndNamesFileLineStatement() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/m", withIntermediateDirectories: true)
        try write(directory + "/m", "0001_ok.sql", "CREATE TABLE a (x INTEGER);")
        try write(directory + "/m", "0002_bad.sql", "CREATE TABLE b (x INTEGER);\n\nINSERT INTO missing VALUES (1);\n")
        let db = try Database(path: directory + "/d.sqlite")
        let runner = MigrationRunner(directory: directory + "/m", database: db)
        #expect(throws: StorageError.migrationFailed(file: directory + "/m/0002_bad.sql", line: 3, statement: "INSERT INTO missing VALUES (1);", message: "no such table: missing")) {
            try runner.migrate(now: "t")
        }
        #expect(try runner.status().applied.map(\.version) == [1])
        #expect(try db.rows("SELECT count(*) FROM sqlite_master WHERE name = 'b'") == [[.integer(0)]])  // rolled back
    }

    @Test func editedOrMissingAppliedMigrationStopsEverything() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/m", withIntermediateDirectories: true)
        try write(directory + "/m", "0001_a.sql", "CREATE TABLE a (x INTEGER);")
        let db = try Database(path: directory + "/d.sqlite")
        let runner = MigrationRunner(directory: directory + "/m", database: db)
        try runner.migrate(now: "t")
        try write(directory + "/m", "0001_a.sql", "CREATE TABLE a (x INTEGER, y INTEGER);")
        #expect(throws: StorageError.migrationChanged(version: 1, file: directory + "/m/0001_a.sql")) { try runner.migrate(now: "t") }
        try FileManager.default.removeItem(atPath: directory + "/m/0001_a.sql")
        #expect(throws: StorageError.migrationMissing(version: 1, name: "0001_a")) { try runner.status() }
    }

    @Test func badFileNames() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write(directory, "create_tables.sql", "SELECT 1;")
        let db = try Database(path: directory + "/d.sqlite")
        #expect(throws: StorageError.invalidMigrationFile(file: directory + "/create_tables.sql", reason: "a migration is named NNNN_description.sql")) {
            try MigrationRunner(directory: directory, database: db).status()
        }
        try FileManager.default.removeItem(atPath: directory + "/create_tables.sql")
        try write(directory, "0001_a.sql", "SELECT 1;")
        try write(directory, "01_b.sql", "SELECT 1;")
        #expect(throws: StorageError.self) { try MigrationRunner(directory: directory, database: db).status() }
    }
}
