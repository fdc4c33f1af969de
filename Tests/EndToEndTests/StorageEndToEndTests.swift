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
        #expect(envelope.contains("\"rule\":\"machine_alerts_to_table\"") && envelope.contains("\"topic\":\"factory/1/machine/3/alerts\""), "\(envelope)")
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

/// `hydrant query --lake`: SQL over NDJSON (and gzip) files, pruned by time, matching DuckDB.
@Suite(.timeLimit(.minutes(1))) struct LakeQueryEndToEndTests {
    @Test func prunesByTimeAndMatchesDuckDB() throws {
        let root = try TemporaryDirectory(prefix: "hydrant-lake-query")
        defer { root.remove() }
        let pipelines = root.path + "/pipelines"
        try FileManager.default.createDirectory(atPath: pipelines, withIntermediateDirectories: true)
        try """
            {"streams": [{"name": "status", "destination": {"lake": {"prefix": "status/factory=!{partitionKeyFromQuery:factory}/dt=!{timestamp:yyyy-MM-dd}/"}}, "buffering": {"intervalSeconds": 60}}]}
            """.write(toFile: pipelines + "/p.json", atomically: true, encoding: .utf8)
        // Three hours of files, one per hour and factory; hour 10 of factory 2 gzipped.
        for hour in [9, 10, 11] {
            for factory in [1, 2] {
                let directory = root.path + "/data/lake/status/factory=\(factory)/dt=2026-11-28"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let name = "status-1-2026-11-28-\(hour < 10 ? "0" : "")\(hour)-00-05-0000000\(factory)-0000-4000-8000-00000000000\(hour % 10).ndjson"
                let lines = (1...5).map { "{\"seq\":\(hour * 100 + $0),\"temp\":\(hour).5,\"nested\":{\"a\":\($0)}}" }.joined(separator: "\n") + "\n"
                let path = directory + "/" + name
                try lines.write(toFile: path, atomically: true, encoding: .utf8)
                if hour == 10 && factory == 2 {
                    _ = try ChildProcess.run("/bin/gzip", [path])
                }
            }
        }
        let sql = "SELECT count(*) AS n, sum(seq) AS s, min(factory) AS f FROM lake"
        let all = try ChildProcess.run(Daemon.executablePath, ["query", "--lake", "status", "--pipelines", pipelines, "--data", root.path + "/data", "--format", "ndjson", "--verbose", sql])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdoutLines == [#"{"n":30,"s":30090,"f":1}"#])
        #expect(all.stderr.contains("6 files read (30 records), 0 pruned by time or partition"))
        let window = try ChildProcess.run(Daemon.executablePath, [
            "query", "--lake", "status", "--pipelines", pipelines, "--data", root.path + "/data", "--format", "ndjson", "--verbose",
            "--from", "2026-11-28T10:00:00Z", "--until", "2026-11-28T10:30:00Z",
            "SELECT factory, count(*) AS n, max(json ->> '$.nested.a') AS a FROM lake GROUP BY factory ORDER BY factory",
        ])
        #expect(window.stdoutLines == [#"{"factory":1,"n":5,"a":5}"#, #"{"factory":2,"n":5,"a":5}"#])
        #expect(window.stderr.contains("2 files read (10 records), 4 pruned by time or partition"))
        // A partition predicate skips the other factory's directory without opening it.
        let onePartition = try ChildProcess.run(Daemon.executablePath, [
            "query", "--lake", "status", "--pipelines", pipelines, "--data", root.path + "/data", "--format", "csv", "--verbose",
            "--partition", "factory=2", "--since", "100000d", "SELECT count(*) AS n FROM lake",
        ])
        #expect(onePartition.stdoutLines == ["n", "15"])
        #expect(onePartition.stderr.contains("3 files read (15 records), 1 pruned by time or partition"))
        // DuckDB over the same files agrees.
        let duck = try ChildProcess.run("python3", ["-c", "import duckdb,sys; print(duckdb.sql(sys.argv[1]).fetchall())",
            "SELECT count(*), sum(seq) FROM read_json_auto(['\(root.path)/data/lake/status/**/*.ndjson', '\(root.path)/data/lake/status/**/*.ndjson.gz'], hive_partitioning = true)"], timeout: 60)
        #expect(duck.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[(30, 30090)]")
        let unknown = try ChildProcess.run(Daemon.executablePath, ["query", "--lake", "nope", "--pipelines", pipelines, "--data", root.path + "/data", sql])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown lake stream 'nope' (known: status)"))
    }
}
