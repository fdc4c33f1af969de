import Storage

#if canImport(Glibc)
import Glibc
#endif

/// `hydrant query [--data DIR] [--format table|csv|json|ndjson] 'SELECT …'`.
public enum QueryCommand {
    public static let usage = """
        usage: hydrant query [--data ./data] [--format table|csv|json|ndjson] 'SELECT …'
        """

    public static func main(_ arguments: [String], out: (String) -> Void, err: (String) -> Void) -> Int32 {
        var data = "./data"
        var format: Query.Format = isatty(1) != 0 ? .table : .ndjson
        var sql: String?
        var index = 0
        var flags: [String] = []
        // The SQL is the one argument that is not a flag or a flag's value.
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                flags.append(argument)
                if !argument.contains("="), index + 1 < arguments.count {
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
                default: throw parser.error("unknown option '\(flag)'")
                }
            }
            guard let sql else { throw parser.error("query needs the SQL to run") }
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
}
