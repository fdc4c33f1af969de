import JSON

/// A delivery stream's settings (Firehose's shape and ranges), validated from its pipeline
/// entry. Problems carry the setting's path inside the stream object.
public struct StreamConfig: Sendable {
    public enum Destination: Sendable {
        case lake(prefix: Prefix, errorPrefix: Prefix, compression: LakeWriter.Compression)
        case sqlite(table: String, errorPrefix: Prefix)
    }

    public var name: String
    public var destination: Destination
    public var buffering: BufferingPolicy
    public var maxActivePartitions: Int
    public var retrySeconds: Int
    public var maxRecordBytes: Int
    public var maxJournalBytes: Int

    public struct Problem: Sendable, Hashable {
        /// Path inside the stream object, e.g. `buffering.sizeMiB`.
        public var path: String
        public var message: String
    }

    /// Parses every setting; all problems together, or the config.
    public static func parse(name: String, _ object: JSONObject) -> Result<StreamConfig, ProblemList> {
        var problems: [Problem] = []
        func integer(_ container: JSONObject?, _ key: String, path: String, range: ClosedRange<Int>, default value: Int?) -> Int? {
            guard let raw = container?[key] else { return value }
            guard case let .int(number) = raw, range.contains(Int(number)) else {
                problems.append(Problem(path: path, message: "'\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound)"))
                return value
            }
            return Int(number)
        }
        var buffering = BufferingPolicy()
        if let raw = object["buffering"] {
            guard case let .object(settings) = raw else {
                return .failure(ProblemList(problems: [Problem(path: "buffering", message: "'buffering' must be an object")]))
            }
            for key in settings.keys where !["sizeMiB", "intervalSeconds", "records"].contains(key) {
                problems.append(Problem(path: "buffering.\(key)", message: "unknown key '\(key)' in buffering (allowed: intervalSeconds, records, sizeMiB)"))
            }
            buffering.maxBytes = integer(settings, "sizeMiB", path: "buffering.sizeMiB", range: 1...128, default: 5)! << 20
            buffering.intervalMillis = Int64(integer(settings, "intervalSeconds", path: "buffering.intervalSeconds", range: 0...900, default: 300)!) * 1000
            buffering.maxRecords = integer(settings, "records", path: "buffering.records", range: 1...100_000_000, default: nil)
        }
        let maxActivePartitions = integer(object, "maxActivePartitions", path: "maxActivePartitions", range: 1...100_000, default: 500)!
        let retrySeconds = integer(object, "retrySeconds", path: "retrySeconds", range: 0...86_400, default: 3600)!
        let maxRecordKiB = integer(object, "maxRecordKiB", path: "maxRecordKiB", range: 1...131_072, default: 1000)!
        let maxJournalMiB = integer(object, "maxJournalMiB", path: "maxJournalMiB", range: 1...1_048_576, default: 1024)!

        var destination: Destination?
        if case let .object(kinds)? = object["destination"], let kind = kinds.keys.first, case let .object(settings)? = kinds[kind] {
            switch kind {
            case "lake":
                for key in settings.keys where !["prefix", "errorOutputPrefix", "compression"].contains(key) {
                    problems.append(Problem(path: "destination.lake.\(key)", message: "unknown key '\(key)' in lake (allowed: compression, errorOutputPrefix, prefix)"))
                }
                var compression = LakeWriter.Compression.none
                switch settings["compression"] {
                case nil: break
                case let .string(text)? where LakeWriter.Compression(rawValue: text) != nil: compression = LakeWriter.Compression(rawValue: text)!
                default: problems.append(Problem(path: "destination.lake.compression", message: "compression must be \"none\" or \"gzip\""))
                }
                func prefix(_ key: String, errorPrefix: Bool, fallback: String?) -> Prefix? {
                    var text = fallback
                    if let raw = settings[key] {
                        guard case let .string(value) = raw else {
                            problems.append(Problem(path: "destination.lake.\(key)", message: "'\(key)' must be a string"))
                            return nil
                        }
                        text = value
                    }
                    do {
                        return try Prefix(text, stream: name, errorPrefix: errorPrefix)
                    } catch {
                        if case let .invalidSetting(_, message) = error {
                            problems.append(Problem(path: "destination.lake.\(key)", message: message))
                        }
                        return nil
                    }
                }
                let main = prefix("prefix", errorPrefix: false, fallback: nil)
                let errors = prefix("errorOutputPrefix", errorPrefix: true, fallback: "errors/\(name)/!{firehose:error-output-type}/")
                if let main, let errors { destination = .lake(prefix: main, errorPrefix: errors, compression: compression) }
            case "sqlite":
                for key in settings.keys where !["table", "errorOutputPrefix"].contains(key) {
                    problems.append(Problem(path: "destination.sqlite.\(key)", message: "unknown key '\(key)' in sqlite (allowed: errorOutputPrefix, table)"))
                }
                guard case let .string(table)? = settings["table"], !table.isEmpty else {
                    problems.append(Problem(path: "destination.sqlite", message: "sqlite destination needs a 'table'"))
                    break
                }
                var errorText = "errors/\(name)/!{firehose:error-output-type}/"
                if case let .string(text)? = settings["errorOutputPrefix"] { errorText = text }
                do {
                    destination = .sqlite(table: table, errorPrefix: try Prefix(errorText, stream: name, errorPrefix: true))
                } catch {
                    if case let .invalidSetting(_, message) = error {
                        problems.append(Problem(path: "destination.sqlite.errorOutputPrefix", message: message))
                    }
                }
            default:
                break
            }
        } else {
            problems.append(Problem(path: "destination", message: "a stream needs a destination: {\"lake\": {…}} or {\"sqlite\": {\"table\": …}}"))
        }
        guard problems.isEmpty, let destination else { return .failure(ProblemList(problems: problems)) }
        return .success(StreamConfig(
            name: name, destination: destination, buffering: buffering, maxActivePartitions: maxActivePartitions,
            retrySeconds: retrySeconds, maxRecordBytes: maxRecordKiB * 1024, maxJournalBytes: maxJournalMiB << 20))
    }

    public struct ProblemList: Error, Sendable {
        public var problems: [Problem]
    }

    /// Partition keys the rule's output must carry.
    public var partitionKeys: [String] {
        if case let .lake(prefix, _, _) = destination { return prefix.partitionKeys }
        return []
    }
}
