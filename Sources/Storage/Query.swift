import CSQLite
import JSON

/// Read-only SQL over `<data>/hydrant.sqlite`, rows streamed to the output as they are
/// stepped (a 10M-row result never sits in memory; `table` buffers its first 1,000 rows
/// to size the columns).
public enum Query {
    public enum Format: String, Sendable, CaseIterable {
        case table, csv, json, ndjson
    }

    /// Runs one read-only statement; returns the number of rows.
    @discardableResult
    public static func run(_ sql: String, on database: Database, format: Format, output: (String) -> Void) throws(StorageError) -> Int {
        let statement: Statement
        do {
            statement = try Statement(sql, database: database)
        } catch {
            throw Query.pointing(error, into: sql, database: database)
        }
        guard sqlite3_stmt_readonly(statement.handle) != 0 else {
            throw .sqlite(code: SQLITE_READONLY, message: "hydrant query is read-only; this statement would write", sql: sql)
        }
        let names = (0..<statement.columnCount).map(statement.columnName)
        var count = 0
        var buffered: [[SQLValue]] = []
        var widths: [Int]?
        func emitTable(_ row: [SQLValue]) {
            output(zip(row, widths!).map { pad(text($0), $1) }.joined(separator: " | "))
        }
        if format == .json { output("[") }
        if format == .csv { output(names.map(csvField).joined(separator: ",")) }
        while try statement.step() {
            let row = (0..<names.count).map(statement.value(at:))
            switch format {
            case .ndjson: output(object(names, row))
            case .json: output((count == 0 ? "" : ",") + object(names, row))
            case .csv: output(row.map { $0 == .null ? "" : csvField(text($0)) }.joined(separator: ","))
            case .table:
                if widths == nil {
                    buffered.append(row)
                    if buffered.count == 1000 {
                        widths = tableWidths(names, buffered)
                        tableHeader(names, widths!, output)
                        buffered.forEach(emitTable)
                        buffered.removeAll()
                    }
                } else {
                    emitTable(row)
                }
            }
            count += 1
        }
        switch format {
        case .json: output("]")
        case .table:
            if widths == nil {
                widths = tableWidths(names, buffered)
                tableHeader(names, widths!, output)
                buffered.forEach(emitTable)
            }
            output("(\(count) row\(count == 1 ? "" : "s"))")
        default: break
        }
        return count
    }

    /// SQLite's message with a caret under the byte offset it reports.
    static func pointing(_ error: StorageError, into sql: String, database: Database) -> StorageError {
        guard case let .sqlite(code, message, _) = error else { return error }
        let offset = Int(sqlite3_error_offset(database.handle))
        guard offset >= 0 else { return error }
        let column = String(decoding: Array(sql.utf8).prefix(offset), as: UTF8.self).count
        return .sqlite(code: code, message: "\(message)\n\(sql)\n\(String(repeating: " ", count: column))^", sql: nil)
    }

    static func text(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case let .integer(v): return String(v)
        case let .real(v): return String(v)
        case let .text(v): return v
        case let .blob(v): return Base64.encode(v)
        }
    }

    /// Numbers stay numbers; blobs become base64 strings.
    static func json(_ value: SQLValue) -> JSONValue {
        switch value {
        case .null: return .null
        case let .integer(v): return .int(v)
        case let .real(v): return .double(v)
        case let .text(v): return .string(v)
        case let .blob(v): return .string(Base64.encode(v))
        }
    }

    static func object(_ names: [String], _ row: [SQLValue]) -> String {
        var object = JSONObject(capacity: names.count)
        for (name, value) in zip(names, row) { object[name] = json(value) }
        return JSONValue.object(object).serialized()
    }

    /// RFC 4180: quoted when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    static func tableWidths(_ names: [String], _ rows: [[SQLValue]]) -> [Int] {
        names.indices.map { column in
            max(names[column].count, rows.map { text($0[column]).count }.max() ?? 0)
        }
    }

    static func tableHeader(_ names: [String], _ widths: [Int], _ output: (String) -> Void) {
        output(zip(names, widths).map { pad($0, $1) }.joined(separator: " | "))
        output(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-"))
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
