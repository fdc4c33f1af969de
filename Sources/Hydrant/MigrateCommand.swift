import Foundation
import Storage
import UTC

/// `hydrant migrate [status] [--dry-run] [--data DIR] [--migrations DIR]`.
public enum MigrateCommand {
    public static let usage = """
        usage: hydrant migrate [status] [--dry-run] [--data ./data] [--migrations ./Migrations]
        """

    public static func main(_ arguments: [String], out: (String) -> Void, err: (String) -> Void) -> Int32 {
        var rest = arguments
        let statusOnly = rest.first == "status"
        if statusOnly { rest.removeFirst() }
        var parser = ArgumentParser(rest, usage: usage)
        var data = "./data"
        var migrations = "./Migrations"
        var dryRun = false
        do throws(UsageError) {
            while let flag = try parser.nextFlag() {
                switch flag {
                case "--data": data = try parser.value(for: flag)
                case "--migrations": migrations = try parser.value(for: flag)
                case "--dry-run": dryRun = true
                default: throw parser.error("unknown option '\(flag)'")
                }
            }
        } catch {
            err("hydrant migrate: \(error.message)\n\(error.usage)")
            return 2
        }
        guard (try? FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)) != nil else {
            err("hydrant migrate: cannot create data directory \(data)")
            return 1
        }
        do throws(StorageError) {
            let runner = MigrationRunner(directory: migrations, database: try Database(path: data + "/hydrant.sqlite"))
            if statusOnly {
                let status = try runner.status()
                for applied in status.applied { out("applied  \(applied.name)  \(applied.appliedAt)") }
                for pending in status.pending { out("pending  \(pending.name)") }
                out("\(status.applied.count) applied, \(status.pending.count) pending")
                return 0
            }
            let done = try runner.migrate(dryRun: dryRun, now: Migrations.now())
            for migration in done { out((dryRun ? "would apply " : "applied ") + migration.name) }
            out(done.isEmpty ? "up to date" : "\(done.count) migration\(done.count == 1 ? "" : "s") \(dryRun ? "pending" : "applied")")
            return 0
        } catch {
            err("hydrant migrate: \(error)")
            return 1
        }
    }
}

enum Migrations {
    /// ISO 8601 UTC, the `applied_at` column.
    static func now() -> String {
        CivilTime.iso8601(seconds: Int64(Date().timeIntervalSince1970), milliseconds: 0)
    }
}
