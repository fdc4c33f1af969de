import FuzzTargets

#if canImport(Glibc)
import Glibc
#endif

/// Replays files (a corpus, an input that once crashed) through a target —
/// `hydrant-fuzz TARGET FILE…`; the tests run the seed corpus this way. The libFuzzer build
/// of the same targets is scripts/fuzz.sh.
@main
struct Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let target = arguments.first, FuzzTargets.names.contains(target) else {
            print("usage: hydrant-fuzz TARGET FILE… (targets: \(FuzzTargets.names.joined(separator: ", ")))")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            guard let file = fopen(path, "rb") else {
                print("cannot read \(path)")
                exit(1)
            }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = fread(&buffer, 1, buffer.count, file)
                if n <= 0 { break }
                bytes.append(contentsOf: buffer[0..<n])
            }
            fclose(file)
            FuzzTargets.run(target, bytes)
            count += 1
        }
        print("replayed \(count) input\(count == 1 ? "" : "s") through \(target)")
    }
}
