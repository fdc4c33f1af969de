import Broker

/// The `hydrant` command line; the executable only forwards `CommandLine.arguments`.
public enum HydrantCommand {
    public static let usage = """
        usage: hydrant <command> [options]

        commands:
          run        run the broker (MQTT 3.1.1 and 5.0) and the rules of --pipelines in the foreground
          rules      validate, test or evaluate rules (hydrant rules --help)
          query      read-only SQL over <data>/hydrant.sqlite
          migrate    apply Migrations/ to <data>/hydrant.sqlite (hydrant migrate --help)
          passwd     add a user to a password file (mosquitto_passwd's format)
          bench      micro-benchmarks of the JSON parser and rule evaluation (release build)

        options:
          --help     show this help
          --version  print the version

        \(RunOptions.usage)
        \(RulesCommand.usage)
        \(QueryCommand.usage)
        \(MigrateCommand.usage)
        \(PasswdCommand.usage)
        \(BenchCommand.usage)
        """

    /// Runs the command and returns the process exit code: 0 ok, 1 failure, 2 usage error.
    public static func main(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return 2
        }
        switch command {
        case "--help", "-h", "help":
            print(usage)
            return 0
        case "--version":
            print("hydrant \(HydrantVersion.string)")
            return 0
        case "run":
            if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
                print(RunOptions.usage)
                return 0
            }
            do {
                return Daemon.run(try RunOptions.resolve(Array(arguments.dropFirst())))
            } catch let error as UsageError {
                printError("hydrant run: \(error.message)\n\(error.usage)")
                return 2
            } catch {
                printError("hydrant run: invalid configuration file:\n\(error)")
                return 1
            }
        case "passwd":
            return PasswdCommand.main(Array(arguments.dropFirst()), err: { printError($0) })
        case "rules":
            if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
                print(RulesCommand.usage)
                return 0
            }
            return RulesCommand.main(Array(arguments.dropFirst()), out: { print($0) }, err: { printError($0) })
        case "query":
            if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
                print(QueryCommand.usage)
                return 0
            }
            return QueryCommand.main(Array(arguments.dropFirst()), out: { print($0) }, err: { printError($0) })
        case "migrate":
            if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
                print(MigrateCommand.usage)
                return 0
            }
            return MigrateCommand.main(Array(arguments.dropFirst()), out: { print($0) }, err: { printError($0) })
        case "bench":
            return BenchCommand.main(Array(arguments.dropFirst()), out: { print($0) }, err: { printError($0) })
        default:
            printError("hydrant: unknown command '\(command)'\n\(usage)")
            return 2
        }
    }

    static func printError(_ text: String) {
        var line = text
        line += "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
