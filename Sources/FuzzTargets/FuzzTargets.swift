import Auth
import Hydrant
import JSON
import MQTT
import Pipelines
import Rules

/// The fuzz targets (issue #14): each takes arbitrary bytes and must never trap — every
/// outcome is a value or a typed error. `HYDRANT_FUZZ_TARGET` picks one.
public enum FuzzTargets {
    public static let names = ["mqtt311", "mqtt5", "json", "sql", "pipeline", "config", "acl", "policy"]

    public static func run(_ target: String, _ bytes: [UInt8]) {
        switch target {
        case "mqtt311", "mqtt5":
            let version: ProtocolVersion = target == "mqtt5" ? .v5 : .v311
            // Decode; whatever decodes must re-encode to bytes that decode to the same packet.
            guard case let .packet(packet, _)? = try? PacketDecoder(maxPacketSize: 1 << 20).decode(bytes, version: version) else { return }
            let again = packet.encoded(version: packet.type == .connect ? (packetVersion(packet) ?? version) : version)
            guard case let .packet(twice, _)? = try? PacketDecoder(maxPacketSize: 1 << 22).decode(again, version: packet.type == .connect ? (packetVersion(packet) ?? version) : version),
                twice == packet
            else { fatalError("\(packet) does not survive re-encoding") }
        case "json":
            if let value = try? JSONParser(options: .init(allowComments: true)).parse(bytes) {
                // What parses must serialize to JSON that parses to the same value.
                let text = value.serialized()
                guard (try? JSONParser().parse(Array(text.utf8))) == value else { fatalError("JSON round trip failed for \(text)") }
            }
        case "sql":
            _ = try? Parser.parseStatement(String(decoding: bytes, as: UTF8.self))
        case "pipeline":
            _ = try? PipelineLoader.load(files: [(path: "fuzz.json", bytes: bytes)])
        case "config":
            _ = RunOptions.checkConfig(bytes: bytes)
        case "acl":
            _ = try? AccessControlList.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz")
        case "policy":
            _ = try? PolicySet.parse(bytes: bytes)
        default:
            fatalError("unknown fuzz target '\(target)' (known: \(names.joined(separator: ", ")))")
        }
    }

    private static func packetVersion(_ packet: Packet) -> ProtocolVersion? {
        if case let .connect(connect) = packet { return connect.version }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's entry: scripts/fuzz.sh builds this module as a dynamic library with
/// -sanitize=fuzzer and links libFuzzer's driver against it; `HYDRANT_FUZZ_TARGET` picks
/// the target. Unused (and harmless) in normal builds.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let target = getenv("HYDRANT_FUZZ_TARGET").map { String(cString: $0) } ?? "mqtt5"
    FuzzTargets.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
