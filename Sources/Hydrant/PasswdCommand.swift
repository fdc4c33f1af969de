import Auth
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `hydrant passwd [-c] FILE USER [--password P]`: adds or replaces a user in a password file
/// in mosquitto_passwd's format (`$7$101$salt$hash`, PBKDF2-HMAC-SHA512), so Mosquitto reads
/// it too. `-c` starts a new file. Without `--password` the password is asked for twice on
/// the terminal (not echoed).
public enum PasswdCommand {
    public static let usage = "usage: hydrant passwd [-c] FILE USER [--password PASSWORD]"

    public static func main(_ arguments: [String], err: (String) -> Void) -> Int32 {
        var create = false
        var password: String?
        var positional: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-c": create = true
            case "--password":
                guard index + 1 < arguments.count else {
                    err("hydrant passwd: --password needs a value\n\(usage)")
                    return 2
                }
                index += 1
                password = arguments[index]
            default:
                if argument.hasPrefix("-") {
                    err("hydrant passwd: unknown option '\(argument)'\n\(usage)")
                    return 2
                }
                positional.append(argument)
            }
            index += 1
        }
        guard positional.count == 2 else {
            err(usage)
            return 2
        }
        let (path, user) = (positional[0], positional[1])
        guard !user.isEmpty, !user.contains(":") else {
            err("hydrant passwd: a user name must not be empty or contain ':'")
            return 2
        }
        var file = PasswordFile()
        if !create {
            do throws(PasswordFile.Problems) {
                file = try PasswordFile.load(path)
            } catch {
                err("hydrant passwd: \(error)")
                return 1
            }
        }
        if password == nil {
            guard let first = getpass("Password: ").map({ String(cString: $0) }), let second = getpass("Reenter password: ").map({ String(cString: $0) }) else {
                err("hydrant passwd: no terminal to ask for the password on; use --password")
                return 1
            }
            guard first == second else {
                err("hydrant passwd: passwords do not match")
                return 1
            }
            password = first
        }
        file.set(user, PasswordHash.make(password!))
        // Written whole to a temporary file, then renamed: a crash never leaves half a file.
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(file.text.utf8), attributes: [.posixPermissions: 0o600]),
            rename(temporary, path) == 0
        else {
            unlink(temporary)
            err("hydrant passwd: cannot write \(path): \(String(cString: strerror(errno)))")
            return 1
        }
        return 0
    }
}
