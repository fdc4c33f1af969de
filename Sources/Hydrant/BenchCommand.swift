import Broker
import CSystem
import Durable
import Foundation
import JSON
import Pipelines
import Rules
import Storage

/// `hydrant bench json|rules`: micro-benchmarks of the hot paths, run on a release build
/// (`swift run -c release hydrant bench …`). Figures go to docs/benchmarks.md.
public enum BenchCommand {
    public static let usage = """
        usage: hydrant bench json [--count 200000]     byte-level JSON parser vs Foundation's JSONSerialization
               hydrant bench rules [--count 1000000]   rule evaluations/s: SELECT a, b, topic(2) AS f FROM 'x/+/y' WHERE temp > 50
               hydrant bench dispatch [--count 1000000] messages/s through the rules engine with 1 and with 1,000 rules loaded
               hydrant bench state [--count 200000]    session-state store candidates: append-only journal vs SQLite (WAL, synchronous=FULL),
                                                       store + acknowledge 200-byte messages in groups of 256 with one fsync per group
        """

    /// A 200-byte telemetry object, the shape mqttload publishes.
    static func telemetry(_ sequence: Int) -> [UInt8] {
        let head = "{\"device\":\"d3\",\"run\":7,\"seq\":\(sequence),\"ts\":1732752000123,\"temp\":\(50 + sequence % 20).5,\"hum\":40,\"status\":\"running\",\"pad\":\""
        return Array((head + String(repeating: "x", count: max(0, 198 - head.utf8.count)) + "\"}").utf8)
    }

    public static func main(_ arguments: [String], out: (String) -> Void, err: (String) -> Void) -> Int32 {
        guard let which = arguments.first else {
            err(usage)
            return 2
        }
        var parser = ArgumentParser(Array(arguments.dropFirst()), usage: usage)
        var count = which == "json" || which == "state" ? 200_000 : 1_000_000
        do throws(UsageError) {
            while let flag = try parser.nextFlag() {
                guard flag == "--count" else { throw parser.error("unknown option '\(flag)'") }
                count = try parser.integer(for: flag, in: 1...100_000_000)
            }
        } catch {
            err("hydrant bench: \(error.message)\n\(usage)")
            return 2
        }
        let payloads = (0..<1000).map(telemetry)
        switch which {
        case "json":
            // Interleaved rounds, medians: the machine is shared and its speed drifts, so
            // each round compares the parsers under the same conditions.
            let datas = payloads.map { Data($0) }
            let perRound = max(1, count / 10)
            var tape: [Double] = []
            var tree: [Double] = []
            var foundation: [Double] = []
            for _ in 0..<10 {
                tape.append(measure(perRound) { i in _ = try? JSONDocument(payloads[i % payloads.count]) })
                tree.append(measure(perRound) { i in _ = try? JSONParser().parse(payloads[i % payloads.count]) })
                foundation.append(measure(perRound) { i in _ = try? JSONSerialization.jsonObject(with: datas[i % datas.count]) })
            }
            let ratios = zip(tape, foundation).map { $0 / $1 }
            let treeRatios = zip(tree, foundation).map { $0 / $1 }
            out("json parse, \(payloads[0].count)-byte telemetry objects, 10 interleaved rounds of \(perRound), medians")
            out("  hydrant JSONDocument (validate + tape)   \(format(median(tape))) objects/s  \(String(format: "%.1f", median(ratios)))x Foundation")
            out("  hydrant JSONParser (full JSONValue tree) \(format(median(tree))) objects/s  \(String(format: "%.1f", median(treeRatios)))x Foundation")
            out("  Foundation JSONSerialization             \(format(median(foundation))) objects/s")
        case "rules":
            let statement = try! Parser.parseStatement("SELECT device, seq, topic(2) AS f FROM 'x/+/y' WHERE temp > 50")
            let topics = (0..<8).map { "x/\($0)/y" }
            var outputs = 0
            var bytes: [UInt8] = []
            func evaluate(_ i: Int, serialize: Bool) {
                let context = MessageContext(topic: topics[i % 8], payload: payloads[i % payloads.count], clientId: "bench", timestamp: 0)
                guard case let .records(records)? = try? statement.evaluate(context) else { return }
                outputs += records.count
                guard serialize else { return }
                for record in records {
                    bytes.removeAll(keepingCapacity: true)
                    record.serialize(into: &bytes)
                }
            }
            var evaluated: [Double] = []
            var serialized: [Double] = []
            for _ in 0..<5 {
                evaluated.append(measure(count / 5) { evaluate($0, serialize: false) })
                serialized.append(measure(count / 5) { evaluate($0, serialize: true) })
            }
            out("rule: SELECT device, seq, topic(2) AS f FROM 'x/+/y' WHERE temp > 50 on \(payloads[0].count)-byte payloads, medians of 5 rounds of \(count / 5)")
            out("  \(format(median(evaluated))) evaluations/s on one core (parse payload, WHERE, SELECT: the output record)")
            out("  \(format(median(serialized))) evaluations/s with the record serialized to JSON text as well")
        case "dispatch":
            // One rule matching every message vs the same rule among 999 that never match:
            // the trie keeps the per-message cost flat.
            let matching = "{\"name\": \"bench_rule\", \"sql\": \"SELECT device, seq, topic(2) AS publisher FROM 'bench/+/data' WHERE temp > 100\", \"actions\": [{\"republish\": {\"topic\": \"out\"}}]}"
            let others = (1..<1000).map { "{\"name\": \"other_\($0)\", \"sql\": \"SELECT * FROM 'factory/\($0)/machine/+/status'\", \"actions\": [{\"republish\": {\"topic\": \"ops/\($0)\"}}]}" }
            let messages = payloads.enumerated().map { Message(topic: "bench/\($0.offset % 8)/data", payload: $0.element, qos: .atMostOnce, retain: false, clientId: "bench") }
            var rates: [Int: [Double]] = [1: [], 1000: []]
            for (size, rules) in [(1, [matching]), (1000, [matching] + others)] {
                let file = Array("{\"rules\": [\(rules.joined(separator: ","))]}".utf8)
                let pipelines = try! PipelineLoader.load(files: [(path: "bench.json", bytes: file)])
                let engine = RulesEngine(pipelines: pipelines, injector: MessageInjector(), logger: Logger(level: .error))
                for _ in 0..<5 {
                    rates[size]!.append(measure(count / 5) { i in
                        var marks = DurabilityMarks()
                        engine.publishAccepted(messages[i % messages.count], marks: &marks)
                    })
                }
            }
            out("rules engine dispatch + evaluation per message, medians of 5 rounds of \(count / 5)")
            out("  1 rule      \(format(median(rates[1]!))) messages/s")
            out("  1000 rules  \(format(median(rates[1000]!))) messages/s  (\(String(format: "%.2f", median(rates[1000]!) / median(rates[1]!)))x)")
        case "state":
            do {
                try benchState(count: count, payload: payloads[0], out: out)
            } catch {
                err("hydrant bench state: \(error)")
                return 1
            }
        default:
            err("hydrant bench: unknown benchmark '\(which)'\n\(usage)")
            return 2
        }
        return 0
    }

    /// Operations per second over `count` runs (after a short warm-up).
    static func measure(_ count: Int, _ body: (Int) -> Void) -> Double {
        for i in 0..<min(count, 1000) { body(i) }
        let start = hy_monotonic_ns()
        for i in 0..<count { body(i) }
        let seconds = Double(hy_monotonic_ns() - start) / 1e9
        return Double(count) / seconds
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func format(_ rate: Double) -> String {
        rate >= 1e6 ? String(format: "%.2fM", rate / 1e6) : String(format: "%.0fk", rate / 1e3)
    }

    /// Issue #7 asks to measure both candidate stores cheaply: each message is stored (message
    /// + queue entry) and later acknowledged (removed), in groups of 256 with one durable
    /// commit per group — what the broker does per loop round for an offline session.
    static func benchState(count: Int, payload: [UInt8], out: (String) -> Void) throws {
        let group = 256
        let root = NSTemporaryDirectory() + "hydrant-bench-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let topic = Array("bench/3/data".utf8)

        let journal = try Journal(directory: root + "/journal")
        _ = try journal.recover()
        var record: [UInt8] = []
        let journalStart = hy_monotonic_ns()
        for start in stride(from: 0, to: count, by: group) {
            for id in start..<min(count, start + group) {
                record.removeAll(keepingCapacity: true)
                record.append(7)
                record.append(contentsOf: String(id).utf8)
                record.append(contentsOf: topic)
                record.append(contentsOf: payload)
                journal.append(record)
                journal.append([8, 1, UInt8(truncatingIfNeeded: id), 1])
            }
            try journal.commit()
        }
        for start in stride(from: 0, to: count, by: group) {
            for id in start..<min(count, start + group) { journal.append([11, 1, UInt8(truncatingIfNeeded: id)]) }
            try journal.commit()
        }
        let journalRate = Double(count) / (Double(hy_monotonic_ns() - journalStart) / 1e9)

        let database = try Database(path: root + "/state.sqlite")
        try database.execute("PRAGMA synchronous = FULL")
        try database.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, topic BLOB, payload BLOB); CREATE TABLE queue (session INTEGER, message INTEGER, PRIMARY KEY (session, message)) WITHOUT ROWID")
        let sqliteStart = hy_monotonic_ns()
        for start in stride(from: 0, to: count, by: group) {
            try database.transaction { () throws(StorageError) in
                for id in start..<min(count, start + group) {
                    let message = try database.statement("INSERT INTO messages VALUES (?, ?, ?)")
                    try message.bind([.integer(Int64(id)), .blob(topic), .blob(payload)])
                    _ = try message.step()
                    let queue = try database.statement("INSERT INTO queue VALUES (1, ?)")
                    try queue.bind([.integer(Int64(id))])
                    _ = try queue.step()
                }
            }
        }
        for start in stride(from: 0, to: count, by: group) {
            try database.transaction { () throws(StorageError) in
                for id in start..<min(count, start + group) {
                    let queue = try database.statement("DELETE FROM queue WHERE session = 1 AND message = ?")
                    try queue.bind([.integer(Int64(id))])
                    _ = try queue.step()
                    let message = try database.statement("DELETE FROM messages WHERE id = ?")
                    try message.bind([.integer(Int64(id))])
                    _ = try message.step()
                }
            }
        }
        let sqliteRate = Double(count) / (Double(hy_monotonic_ns() - sqliteStart) / 1e9)
        out("session state store, \(count) messages of \(payload.count) bytes stored then acknowledged, groups of \(group), one durable commit per group")
        out("  append-only journal (chosen)        \(format(journalRate)) messages/s")
        out("  SQLite WAL, synchronous=FULL        \(format(sqliteRate)) messages/s  (\(String(format: "%.2f", sqliteRate / journalRate))x the journal)")
    }
}
