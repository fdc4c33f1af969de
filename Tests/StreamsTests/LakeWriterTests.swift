import Durable
import Foundation
import Streams
import TestSupport
import Testing

private func temporaryDirectory() throws -> String {
    try TemporaryDirectory(prefix: "hydrant-streams").path
}

@Suite struct LakeWriterTests {
    @Test func writesCompleteFilesUnderTheirFinalNameOnly() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = LakeWriter(root: root, stream: "alerts")
        let data = Array("{\"a\":1}\n{\"a\":2}\n".utf8)
        let path = try writer.write(data, prefix: "alerts/factory=1/year=2026/", arrivalMillis: 1_795_856_707_123)
        #expect(path.hasPrefix("alerts/factory=1/year=2026/alerts-1-2026-11-28-09-05-07-"))
        #expect(path.hasSuffix(".ndjson"))
        #expect(FileManager.default.contents(atPath: root + "/" + path) == Data(data))
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/alerts/factory=1/year=2026")
        #expect(names.count == 1)
        #expect(!names.contains { $0.hasPrefix(".") })
    }

    @Test func gzipObjectsDecompress() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = LakeWriter(root: root, stream: "s", compression: .gzip)
        let text = (0..<1000).map { "{\"seq\":\($0)}\n" }.joined()
        let path = try writer.write(Array(text.utf8), prefix: "s/", arrivalMillis: 0)
        #expect(path.hasSuffix(".ndjson.gz"))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", root + "/" + path]
        let pipe = Pipe()
        gunzip.standardOutput = pipe
        try gunzip.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        gunzip.waitUntilExit()
        #expect(String(decoding: output, as: UTF8.self) == text)
    }

    @Test func unwritableDirectoryIsAnError() throws {
        let root = try temporaryDirectory()
        defer {
            chmod(root, 0o755)
            try? FileManager.default.removeItem(atPath: root)
        }
        chmod(root, 0o555)
        guard getuid() != 0 else { return }  // root ignores permissions; the e2e test covers it differently
        #expect(throws: DurableError.self) { try LakeWriter(root: root, stream: "s").write([0x0A], prefix: "s/", arrivalMillis: 0) }
    }
}
