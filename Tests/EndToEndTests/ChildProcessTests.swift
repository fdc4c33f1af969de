import Foundation
import HydrantTesting
import Testing

/// The harness every end-to-end test reads child output through: it must return all of it.
@Suite struct ChildProcessTests {
    /// A 20 KB line, 100 times (with FileHandle's readabilityHandler, 12 of 150 came back cut
    /// at 8 or 16 KB in a loaded run).
    @Test func outputIsCompleteWhenTheChildExits() throws {
        var short: [Int] = []
        for _ in 0..<100 {
            let child = try ChildProcess.run("sh", ["-c", "head -c 20016 /dev/zero | tr '\\\\0' x; echo"])
            if child.stdout.utf8.count != 20017 { short.append(child.stdout.utf8.count) }
        }
        #expect(short.isEmpty, "short outputs: \(short)")
    }
}
