import Foundation
import HydrantTesting
import Testing

/// The shipped example (Pipelines/ + Migrations/) into SQLite, read back with the sqlite3
/// CLI and `hydrant query`.
@Suite(.timeLimit(.minutes(2))) struct StorageEndToEndTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func exampleTablesFilledAndQueried() throws {
        let data = try TemporaryDirectory(prefix: "hydrant-sqlite")
        defer { data.remove() }
        let daemon = try Daemon(["--pipelines", Self.repository + "/Pipelines", "--migrations", Self.repository + "/Migrations"], logLevel: "info", dataDirectory: data)
        #expect(daemon.log.contains("migration applied name=0001_factory"))
        let publisher = try E2E.paho("sequence", daemon, ["1", "60"])
        #expect(publisher.stdoutLines.count == 60)
        try E2E.publish(daemon, ["-t", "factory/1/machine/2/alerts", "-m", "{\"severity\": 4, \"code\": \"HOT\"}", "-q", "1"])
        try E2E.publish(daemon, ["-t", "factory/1/machine/3/alerts", "-m", "{\"severity\": 40, \"code\": \"BAD\"}", "-q", "1"])
        #expect(try daemon.stop() == 0)
        let database = data.path + "/hydrant.sqlite"
        let sqlite = try ChildProcess.run("sqlite3", [database, "SELECT count(*), count(DISTINCT json_extract(payload, '$.seq')), min(temp), max(temp) FROM machine_status; SELECT factory, machine, severity, code FROM machine_alerts;"])
        #expect(sqlite.stdoutLines == ["60|60|20.5|29.5", "1|2|4|HOT"])
        let query = try ChildProcess.run(Daemon.executablePath, ["query", "--data", data.path, "--format", "ndjson", "SELECT factory, count(*) AS n, avg(temp) AS t FROM machine_status GROUP BY factory ORDER BY factory"])
        #expect(query.status == 0)
        #expect(query.stdoutLines == [#"{"factory":"0","n":20,"t":25.0}"#, #"{"factory":"1","n":20,"t":25.0}"#, #"{"factory":"2","n":20,"t":25.0}"#])
        let csv = try ChildProcess.run(Daemon.executablePath, ["query", "--data", data.path, "--format", "csv", "SELECT machine, code FROM machine_alerts"])
        #expect(csv.stdoutLines == ["machine,code", "2,HOT"])
        // The row the CHECK constraint refused is in the error output with SQLite's reason.
        let errors = FileManager.default.enumerator(atPath: data.path + "/lake/errors/machine-alerts-table/sqlite-rejected")?.compactMap { $0 as? String }.filter { $0.hasSuffix(".ndjson") } ?? []
        #expect(errors.count == 1)
        let envelope = try String(contentsOfFile: data.path + "/lake/errors/machine-alerts-table/sqlite-rejected/" + errors[0], encoding: .utf8)
        #expect(envelope.contains("\"errorCode\":\"SQLiteRejected\"") && envelope.contains("CHECK constraint failed"))
    }

    @Test func queryRefusesWritesAndPointsAtBadSQL() throws {
        let data = try TemporaryDirectory(prefix: "hydrant-query")
        defer { data.remove() }
        let migrate = try ChildProcess.run(Daemon.executablePath, ["migrate", "--data", data.path, "--migrations", Self.repository + "/Migrations"])
        #expect(migrate.status == 0)
        #expect(migrate.stdoutLines == ["applied 0001_factory", "1 migration applied"])
        let status = try ChildProcess.run(Daemon.executablePath, ["migrate", "status", "--data", data.path, "--migrations", Self.repository + "/Migrations"])
        #expect(status.stdoutLines.last == "1 applied, 0 pending")
        let write = try ChildProcess.run(Daemon.executablePath, ["query", "--data", data.path, "DELETE FROM machine_status"])
        #expect(write.status == 1)
        #expect(write.stderr.contains("read-only"))
        let bad = try ChildProcess.run(Daemon.executablePath, ["query", "--data", data.path, "SELECT * FROM machine_status WHER x"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("near \"x\": syntax error\nSELECT * FROM machine_status WHER x\n                                  ^"))
        let json = try ChildProcess.run(Daemon.executablePath, ["query", "--data", data.path, "--format", "json", "SELECT 1 AS one, 'a' AS s, NULL AS n"])
        #expect(json.stdout == "[\n{\"one\":1,\"s\":\"a\",\"n\":null}\n]\n")
    }
}
