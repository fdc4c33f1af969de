// swift-tools-version:6.0
import PackageDescription

// No package dependencies, by design: toolchain + system C libraries only.
let package = Package(
    name: "Hydrant",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hydrant", targets: ["hydrant"]),
        // The fuzz targets as a dynamic library: scripts/fuzz.sh builds it with
        // -sanitize=fuzzer and links libFuzzer's driver against it.
        .library(name: "HydrantFuzz", type: .dynamic, targets: ["FuzzTargets"]),
    ],
    targets: [
        .target(name: "MQTT"),
        .target(name: "CSystem"),
        .target(name: "CJSON"),
        .target(name: "JSON", dependencies: ["CJSON"]),
        .target(name: "UTC"),
        // System zlib (apt: zlib1g-dev) for gzip lake objects and CRC-32 journal frames.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Write-ahead journals and durable file writes, shared by streams and broker state.
        .target(name: "CCRC32"),
        .target(name: "Durable", dependencies: ["CZlib", "CCRC32", "CSystem"]),
        .target(name: "Streams", dependencies: ["JSON", "UTC", "CZlib", "CSystem", "Storage", "Durable"]),
        // System SQLite (apt: libsqlite3-dev) for tables from Migrations/ and `hydrant query`.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Storage", dependencies: ["CSQLite", "JSON", "Durable"]),
        .target(name: "Rules", dependencies: ["JSON", "MQTT", "UTC"]),
        .target(name: "Broker", dependencies: ["MQTT", "CSystem", "UTC", "Durable"]),
        // System OpenSSL (apt: libssl-dev) for TLS and crypto (issue #14).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // Client authentication and authorization: password files, later ACLs and policies.
        .target(name: "Auth", dependencies: ["Broker", "COpenSSL", "JSON", "MQTT"]),
        // The pipeline runtime: pipeline files, the rules engine on the broker's tap, stream metrics.
        .target(name: "Pipelines", dependencies: ["Broker", "Durable", "MQTT", "JSON", "Rules", "Streams", "Storage", "CSystem"]),
        .target(name: "Hydrant", dependencies: ["Broker", "Durable", "MQTT", "JSON", "Pipelines", "Rules", "Streams", "Storage", "UTC", "Auth"]),
        .executableTarget(name: "hydrant", dependencies: ["Hydrant"]),
        // The fuzz targets (decoders and parsers fed arbitrary bytes); hydrant-fuzz replays
        // files through them (the tests replay Tests/FuzzCorpus).
        .target(name: "FuzzTargets", dependencies: ["Auth", "Hydrant", "JSON", "MQTT", "Pipelines", "Rules"]),
        .executableTarget(name: "hydrant-fuzz", dependencies: ["FuzzTargets"]),
        // Test support in two layers: TestSupport (locks, temp dirs, child processes) for every
        // test target; HydrantTesting (broker harness, MQTT test client, the daemon) on top.
        .target(name: "TestSupport", dependencies: ["CSystem"]),
        .target(name: "HydrantTesting", dependencies: ["MQTT", "Broker", "Durable", "Hydrant", "TestSupport"]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "UTCTests", dependencies: ["UTC"]),
        .testTarget(name: "StreamsTests", dependencies: ["Streams", "JSON", "UTC", "Durable", "Storage", "TestSupport"]),
        .testTarget(name: "DurableTests", dependencies: ["Durable", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "JSON", "MQTT"]),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "Durable", "MQTT", "HydrantTesting"]),
        .testTarget(name: "PipelinesTests", dependencies: ["Pipelines", "Broker", "Streams", "JSON", "MQTT", "HydrantTesting"]),
        .testTarget(name: "HydrantTests", dependencies: ["Hydrant", "HydrantTesting"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "Broker", "HydrantTesting"]),
        .testTarget(name: "EndToEndTests", dependencies: ["hydrant", "HydrantTesting", "MQTT"], exclude: ["Scripts"]),
    ],
    swiftLanguageModes: [.v6]
)
