import Foundation
import Pipelines
import Storage
import Streams
import UTC

#if canImport(Glibc)
import Glibc
#endif

/// `hydrant query [--data DIR] [--format table|csv|json|ndjson] 'SELECT …'`.
public enum QueryCommand {
    public static let usage = """
        usage: hydrant query [--data ./data] [--format table|csv|json|ndjson] 'SELECT …'
               hydrant query --lake STREAM [--since 2h | --from T --until T] [--partition KEY=VALUE]… [--pipelines ./Pipelines]
                             [--data ./data] [--format …] [--verbose] 'SELECT … FROM lake …'
        """

    public static func main(_ arguments: [String], out: (String) -> Void, err: (String) -> Void) -> Int32 {
        var data = "./data"
        var format: Query.Format = isatty(1) != 0 ? .table : .ndjson
        var sql: String?
        var lake: String?
        var pipelines = "./Pipelines"
        var from: Int64?
        var until: Int64?
        var verbose = false
        var partitions: [String: String] = [:]
        var index = 0
        var flags: [String] = []
        // The SQL is the one argument that is not a flag or a flag's value.
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                flags.append(argument)
                if !argument.contains("="), argument != "--verbose", index + 1 < arguments.count {
                    flags.append(arguments[index + 1])
                    index += 1
                }
            } else if sql == nil {
                sql = argument
            } else {
                err("hydrant query: unexpected argument '\(argument)' (quote the SQL as one argument)\n\(usage)")
                return 2
            }
            index += 1
        }
        var parser = ArgumentParser(flags, usage: usage)
        do throws(UsageError) {
            while let flag = try parser.nextFlag() {
                switch flag {
                case "--data": data = try parser.value(for: flag)
                case "--format":
                    let name = try parser.value(for: flag)
                    guard let chosen = Query.Format(rawValue: name) else {
                        throw parser.error("--format must be table, csv, json or ndjson, got '\(name)'")
                    }
                    format = chosen
                case "--lake": lake = try parser.value(for: flag)
                case "--pipelines": pipelines = try parser.value(for: flag)
                case "--verbose": verbose = true
                case "--partition":
                    let text = try parser.value(for: flag)
                    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                        throw parser.error("--partition takes KEY=VALUE (a hive partition directory), got '\(text)'")
                    }
                    partitions[String(text[..<equals])] = String(text[text.index(after: equals)...])
                case "--since":
                    let text = try parser.value(for: flag)
                    guard let span = duration(text) else { throw parser.error("--since takes a duration like 90s, 30m, 2h or 7d, got '\(text)'") }
                    from = Int64(Date().timeIntervalSince1970 * 1000) - span
                case "--from", "--until":
                    let text = try parser.value(for: flag)
                    guard let time = instant(text) else { throw parser.error("\(flag) takes a UTC time like 2026-11-28T09:00:00Z, got '\(text)'") }
                    if flag == "--from" { from = time } else { until = time }
                default: throw parser.error("unknown option '\(flag)'")
                }
            }
            guard let sql else { throw parser.error("query needs the SQL to run") }
            if let lake {
                return queryLake(stream: lake, sql: sql, data: data, pipelines: pipelines, from: from, until: until, partitions: partitions, format: format, verbose: verbose, out: out, err: err)
            }
            if from != nil || until != nil || !partitions.isEmpty { throw parser.error("--since, --from, --until and --partition go with --lake") }
            let path = data + "/hydrant.sqlite"
            guard access(path, R_OK) == 0 else {
                err("hydrant query: no database at \(path) (run the daemon or `hydrant migrate --data \(data)` first)")
                return 1
            }
            do throws(StorageError) {
                try Query.run(sql, on: try Database(path: path, readOnly: true), format: format, output: out)
                return 0
            } catch {
                err("hydrant query: \(error)")
                return 1
            }
        } catch {
            err("hydrant query: \(error.message)\n\(error.usage)")
            return 2
        }
    }

    static func queryLake(
        stream: String, sql: String, data: String, pipelines directory: String, from: Int64?, until: Int64?, partitions: [String: String],
        format: Query.Format, verbose: Bool, out: (String) -> Void, err: (String) -> Void
    ) -> Int32 {
        let pipelines: PipelineSet
        do {
            pipelines = try PipelineLoader.load(directory: directory)
        } catch {
            err(error.description)
            return 1
        }
        guard let definition = pipelines.streams.first(where: { $0.name == stream }), case .lake = definition.config.destination else {
            let known = pipelines.streams.filter { if case .lake = $0.config.destination { return true } else { return false } }.map(\.name)
            err("hydrant query: unknown lake stream '\(stream)' (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
            return 1
        }
        let lakeQuery = LakeQuery(root: data + "/lake", stream: stream, fileSpanMillis: max(definition.config.buffering.intervalMillis, 1000))
        let selection = lakeQuery.files(from: from, until: until, partitions: partitions)
        do throws(StorageError) {
            let database = try Database(path: ":memory:")
            let records = try lakeQuery.load(selection.files, into: database)
            if verbose { err("hydrant query: \(selection.files.count) files read (\(records) records), \(selection.pruned) pruned by time or partition") }
            try Query.run(sql, on: database, format: format, output: out)
            return 0
        } catch {
            err("hydrant query: \(error)")
            return 1
        }
    }

    /// "90s", "30m", "2h", "7d" in milliseconds.
    static func duration(_ text: String) -> Int64? {
        guard let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 else { return nil }
        switch unit {
        case "s": return amount * 1000
        case "m": return amount * 60_000
        case "h": return amount * 3_600_000
        case "d": return amount * 86_400_000
        default: return nil
        }
    }

    /// UTC instants: 2026-11-28T09:00:00Z, 2026-11-28T09:00Z, 2026-11-28 09:00, 2026-11-28.
    static func instant(_ text: String) -> Int64? {
        for pattern in ["yyyy-MM-dd'T'HH:mm:ssX", "yyyy-MM-dd'T'HH:mmX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            if let millis = TimePattern(pattern)?.parse(text) { return millis }
        }
        return nil
    }
}
