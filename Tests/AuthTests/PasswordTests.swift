import Auth
import Broker
import Foundation
import HydrantTesting
import MQTT
import Testing

/// Password files in mosquitto_passwd's format (issue #14): PBKDF2-HMAC-SHA512 against
/// published vectors, files written by `mosquitto_passwd` itself, the CONNECT checks.
@Suite struct PasswordTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// PBKDF2-HMAC-SHA512 vectors (P = "password", S = "salt", 64-byte output), the ones
    /// published alongside RFC 6070's SHA-1 set.
    @Test(arguments: [
        (1, "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"),
        (2, "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e"),
        (4096, "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5143f30602641b3d55cd335988cb36b84376060ecd532e039b742a239434af2d5"),
    ])
    func pbkdf2Vectors(_ iterations: Int, _ expected: String) {
        let derived = PasswordHash.derive("password", kind: .pbkdf2SHA512(iterations: iterations), salt: Array("salt".utf8))
        #expect(Self.hex(derived) == expected)
    }

    /// SHA-512 of password‖salt, Mosquitto's `$6$`: FIPS 180-2's "abc" vector split in two.
    @Test func sha512Kind() {
        let derived = PasswordHash.derive("ab", kind: .sha512, salt: Array("c".utf8))
        #expect(Self.hex(derived) == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    }

    @Test func encodedFormRoundTripsAndVerifies() throws {
        let hash = PasswordHash.make("s3cret")
        #expect(hash.salt.count == 12 && hash.hash.count == 64)
        #expect(hash.encoded.hasPrefix("$7$101$"))
        let parsed = try #require(PasswordHash(encoded: Substring(hash.encoded)))
        #expect(parsed == hash)
        #expect(parsed.verify("s3cret"))
        #expect(!parsed.verify("s3cret "))
        #expect(!parsed.verify(""))
        for bad in ["$7$101$salt", "$8$1$AA==$AA==", "$7$x$AA==$" + String(repeating: "A", count: 88), "plain", "$6$@@$AA=="] {
            #expect(PasswordHash(encoded: Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func fileProblemsHaveLineNumbers() {
        #expect(throws: PasswordFile.Problems.self) { try PasswordFile.parse("alice\n", path: "p") }
        do {
            _ = try PasswordFile.parse("# users\n\nalice:$7$101$AA==$AA==\nbob\n", path: "p")
            Issue.record("accepted a bad file")
        } catch {
            #expect(error.problems.count == 2)
            #expect(error.problems[0].hasPrefix("p:3: the hash of user 'alice'"))
            #expect(error.problems[1] == "p:4: expected user:hash")
        }
    }

    /// A file written by Debian's `mosquitto_passwd` verifies here, and a file written here
    /// is what mosquitto_passwd writes (same format, checked by parsing it back).
    @Test func filesOfMosquittoPasswdWork() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-passwd")
        defer { directory.remove() }
        let path = directory.path + "/passwd"
        let made = try ChildProcess.run("mosquitto_passwd", ["-c", "-b", path, "alice", "wonder land"], timeout: 10)
        try #require(made.status == 0, "mosquitto_passwd: \(made.stderr)")
        _ = try ChildProcess.run("mosquitto_passwd", ["-b", path, "bob", "builder"], timeout: 10)
        let file = try PasswordFile.load(path)
        #expect(Set(file.users.keys) == ["alice", "bob"])
        #expect(file.users["alice"]?.verify("wonder land") == true)
        #expect(file.users["alice"]?.verify("wonderland") == false)
        #expect(file.users["bob"]?.verify("builder") == true)
    }

    @Test func connectChecksCredentials() throws {
        var file = PasswordFile()
        file.set("alice", PasswordHash.make("right"))
        for allowAnonymous in [false, true] {
            let broker = try BrokerHarness(authenticator: PasswordAuthenticator(file: file, allowAnonymous: allowAnonymous))
            func connack(_ version: ProtocolVersion, _ user: String?, _ password: String?) throws -> ConnAck {
                let client = try TestClient(port: broker.port, version: version)
                client.send(.connect(Connect(version: version, clientId: "c", username: user, password: password.map { Array($0.utf8) })))
                guard case let .connack(ack) = try client.receive() else { throw TestClientError.timedOut(waitingFor: "CONNACK") }
                if ack.reasonCode != .success { #expect(client.waitForClose()) }
                return ack
            }
            #expect(try connack(.v311, "alice", "right").returnCode == .accepted)
            #expect(try connack(.v311, "alice", "wrong").returnCode == .notAuthorized)  // 0x05, as Mosquitto
            #expect(try connack(.v311, "mallory", "right").returnCode == .notAuthorized)
            #expect(try connack(.v5, "alice", "right").reasonCode == .success)
            #expect(try connack(.v5, "alice", "wrong").reasonCode == .badUserNameOrPassword)  // 0x86
            #expect(try connack(.v5, "alice", nil).reasonCode == .badUserNameOrPassword)
            #expect(try connack(.v5, nil, nil).reasonCode == (allowAnonymous ? .success : .notAuthorized))  // 0x87
            #expect(try connack(.v311, nil, nil).returnCode == (allowAnonymous ? .accepted : .notAuthorized))
        }
    }
}
