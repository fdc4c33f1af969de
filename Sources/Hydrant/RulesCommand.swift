import Foundation
import JSON
import Pipelines
import Rules

/// `hydrant rules validate|test|eval`.
public enum RulesCommand {
    public static let usage = """
        usage: hydrant rules validate [--pipelines ./Pipelines]
               hydrant rules test [--pipelines ./Pipelines]
               hydrant rules eval --sql 'SELECT …' --topic TOPIC --payload PAYLOAD [--client-id ID] [--batch-mode]
        """

    /// Runs the subcommand; output goes to `out` and `err`. Returns the exit code.
    public static func main(_ arguments: [String], out: (String) -> Void, err: (String) -> Void) -> Int32 {
        guard let subcommand = arguments.first else {
            err(usage)
            return 2
        }
        var parser = ArgumentParser(Array(arguments.dropFirst()), usage: usage)
        do throws(UsageError) {
            switch subcommand {
            case "validate", "test":
                var directory = "./Pipelines"
                while let flag = try parser.nextFlag() {
                    guard flag == "--pipelines" else { throw parser.error("unknown option '\(flag)'") }
                    directory = try parser.value(for: flag)
                }
                let pipelines: PipelineSet
                do {
                    pipelines = try PipelineLoader.load(directory: directory)
                } catch {
                    err(error.description)
                    err("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in \(directory)")
                    return 1
                }
                if subcommand == "validate" {
                    out("ok: \(pipelines.rules.count) rules, \(pipelines.streams.count) streams in \(pipelines.files.count) files")
                    return 0
                }
                return runTests(pipelines, out: out)
            case "eval":
                var sql: String?
                var topic: String?
                var payload: String?
                var clientId = "hydrant-cli"
                var batchMode = false
                while let flag = try parser.nextFlag() {
                    switch flag {
                    case "--sql": sql = try parser.value(for: flag)
                    case "--topic": topic = try parser.value(for: flag)
                    case "--payload": payload = try parser.value(for: flag)
                    case "--client-id": clientId = try parser.value(for: flag)
                    case "--batch-mode": batchMode = true
                    default: throw parser.error("unknown option '\(flag)'")
                    }
                }
                guard let sql, let topic, let payload else { throw parser.error("eval needs --sql, --topic and --payload") }
                return eval(sql: sql, topic: topic, payload: payload, clientId: clientId, batchMode: batchMode, out: out, err: err)
            default:
                throw parser.error("unknown rules command '\(subcommand)'")
            }
        } catch {
            err("hydrant rules: \(error.message)\n\(error.usage)")
            return 2
        }
    }

    static func eval(sql: String, topic: String, payload: String, clientId: String, batchMode: Bool, out: (String) -> Void, err: (String) -> Void) -> Int32 {
        let statement: Statement
        do {
            statement = try Parser.parseStatement(sql)
        } catch {
            err("invalid SQL: \(error.message)\n\(error.pointing(into: sql))")
            return 1
        }
        let context = MessageContext(topic: topic, payload: Array(payload.utf8), clientId: clientId, timestamp: Int64(Date().timeIntervalSince1970 * 1000))
        do {
            guard case let .records(records) = try statement.evaluate(context, batchMode: batchMode) else { return 0 }
            for record in records { out(record.serialized()) }
            return 0
        } catch {
            err("rule failed: \(error.message)")
            return 1
        }
    }

    static func runTests(_ pipelines: PipelineSet, out: (String) -> Void) -> Int32 {
        var passed = 0
        var failed = 0
        for rule in pipelines.rules {
            for (number, test) in rule.tests.enumerated() {
                let label = "\(rule.name) #\(number + 1) (\(test.location))"
                let context = MessageContext(topic: test.topic, payload: test.payload, clientId: test.clientId, timestamp: 0)
                var failure: String?
                do {
                    let outcome = try rule.statement.evaluate(context, batchMode: rule.batchMode)
                    let records: [JSONValue]
                    if case let .records(output) = outcome { records = output } else { records = [] }
                    if let expectedError = test.expectedError {
                        failure = "expected an error containing '\(expectedError)', got \(JSONValue.array(records).serialized())"
                    } else if records.count != test.expected.count || !zip(records, test.expected).allSatisfy({ $0.isEquivalent(to: $1) }) {
                        failure = "expected \(JSONValue.array(test.expected).serialized()), got \(JSONValue.array(records).serialized())"
                    }
                } catch {
                    if let expectedError = test.expectedError, error.message.contains(expectedError) {
                        failure = nil
                    } else {
                        failure = "rule failed: \(error.message)"
                    }
                }
                if let failure {
                    failed += 1
                    out("FAIL \(label): \(failure)")
                } else {
                    passed += 1
                    out("PASS \(label)")
                }
            }
        }
        out("\(passed) passed, \(failed) failed")
        return failed == 0 ? 0 : 1
    }
}
