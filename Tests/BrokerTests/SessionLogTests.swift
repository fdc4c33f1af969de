@testable import Broker
import Durable
import Foundation
import HydrantTesting
import MQTT
import Testing

/// The session log's format: every record kind round-trips, replay rebuilds the sessions,
/// a torn tail is cut and reported, the version header is checked, an unfinished snapshot
/// is ignored and compaction keeps only what is live.
@Suite struct SessionLogTests {
    static let records: [StateRecord] = [
        .snapshotBegin(version: 1),
        .snapshotEnd,
        .sessionOpen(session: 1, clientId: "logger"),
        .sessionOpen(session: 300, clientId: "ünïcode-id"),
        .sessionEnd(session: 1),
        .subscribe(session: 7, filter: "factory/+/machine/+/status", qos: .exactlyOnce),
        .unsubscribe(session: 7, filter: "#"),
        .message(id: 1, topic: "a/b", qos: .atLeastOnce, retain: false, payload: []),
        .message(id: UInt64.max, topic: "t", qos: .exactlyOnce, retain: true, payload: Array(repeating: 0xFF, count: 70_000)),
        .enqueue(session: 2, message: 99, qos: .atLeastOnce, retain: true),
        .inflight(session: 2, message: 99, qos: .exactlyOnce, retain: false, packetId: 65_535, fromQueue: true),
        .inflight(session: 2, message: 100, qos: .atLeastOnce, retain: true, packetId: 1, fromQueue: false),
        .pubrecReceived(session: 2, packetId: 17),
        .completed(session: 2, packetId: 18),
        .incomingQoS2(session: 3, packetId: 4096, marks: nil),
        .incomingQoS2(session: 3, packetId: 4097, marks: []),
        .incomingQoS2(session: 3, packetId: 4098, marks: [LogMark(log: "stream/a", first: 1 << 44 + 1, last: 1 << 44 + 3), LogMark(log: "stream/ü", first: 7, last: 7)]),
        .incomingReleased(session: 3, packetId: 4096),
        // Format 3 (MQTT 5).
        .subscribeOptions(session: 7, filter: "a/#", options: SubscriptionOptions(qos: .atLeastOnce, noLocal: true, retainAsPublished: true, retainHandling: 2, identifier: 268_435_455)),
        .subscribeOptions(session: 7, filter: "b", options: SubscriptionOptions(qos: .exactlyOnce, retainHandling: 1)),
        .message5(id: 5, topic: "p", qos: .atLeastOnce, retain: true, payload: [1, 2], properties: [0x03, 0, 1, 0x61], expiryInterval: 60, receivedAt: 1_795_856_707),
        .message5(id: 6, topic: "p", qos: .atMostOnce, retain: false, payload: [], properties: [], expiryInterval: nil, receivedAt: 0),
        .dequeued(session: 2, message: 99),
        .sessionExpiry(session: 2, interval: 600, deadline: 0),
        .sessionExpiry(session: 2, interval: UInt32.max, deadline: 1_795_856_707),
    ]

    @Test(arguments: records) func recordRoundTrips(_ record: StateRecord) {
        var bytes: [UInt8] = []
        record.encode(into: &bytes)
        #expect(StateRecord.decode(bytes) == record)
        // Every strict prefix is refused rather than misread.
        for cut in 0..<bytes.count where cut < 64 {
            #expect(StateRecord.decode(Array(bytes[0..<cut])) == nil)
        }
        #expect(StateRecord.decode(bytes + [0]) == nil)  // trailing garbage
    }

    @Test func unknownKindsAndBadFieldsAreRefused() {
        #expect(StateRecord.decode([]) == nil)
        #expect(StateRecord.decode([0]) == nil)
        #expect(StateRecord.decode([200, 1]) == nil)
        #expect(StateRecord.decode([5, 1, 3, 1, 0x61]) == nil)  // subscribe with QoS 3
        #expect(StateRecord.decode([9, 1, 1, 1, 0]) == nil)  // in-flight with packet id 0
        #expect(StateRecord.decode([4] + Array(repeating: 0xFF, count: 11)) == nil)  // varint too long
    }

    @Test func replayRebuildsSessions() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-sessions")
        defer { directory.remove() }
        do {
            let log = try SessionLog(directory: directory.path)
            let logger: UInt64 = 1
            let gone: UInt64 = 2
            for record: StateRecord in [
                .sessionOpen(session: logger, clientId: "logger"),
                .subscribe(session: logger, filter: "a/#", qos: .atLeastOnce),
                .subscribe(session: logger, filter: "b", qos: .exactlyOnce),
                .subscribe(session: logger, filter: "a/#", qos: .exactlyOnce),  // replaced
                .unsubscribe(session: logger, filter: "b"),
                .sessionOpen(session: gone, clientId: "gone"),
                .subscribe(session: gone, filter: "x", qos: .atLeastOnce),
                .sessionEnd(session: gone),
                .message(id: 1, topic: "a/1", qos: .atLeastOnce, retain: false, payload: Array("one".utf8)),
                .message(id: 2, topic: "a/2", qos: .exactlyOnce, retain: false, payload: Array("two".utf8)),
                .message(id: 3, topic: "a/3", qos: .atLeastOnce, retain: true, payload: Array("three".utf8)),
                .enqueue(session: logger, message: 1, qos: .atLeastOnce, retain: false),
                .enqueue(session: logger, message: 2, qos: .exactlyOnce, retain: false),
                .enqueue(session: logger, message: 3, qos: .atLeastOnce, retain: true),
                .inflight(session: logger, message: 1, qos: .atLeastOnce, retain: false, packetId: 10, fromQueue: true),
                .inflight(session: logger, message: 2, qos: .exactlyOnce, retain: false, packetId: 11, fromQueue: true),
                .completed(session: logger, packetId: 10),
                .pubrecReceived(session: logger, packetId: 11),
                .incomingQoS2(session: logger, packetId: 5, marks: nil),
                .incomingQoS2(session: logger, packetId: 6, marks: [LogMark(log: "stream/s", first: 9, last: 10)]),
                .incomingReleased(session: logger, packetId: 5),
            ] {
                log.append(record)
            }
            try log.commit()
        }
        let log = try SessionLog(directory: directory.path)
        #expect(log.repairs.isEmpty)
        #expect(log.restored.count == 1)
        let session = try #require(log.restored.first)
        #expect(session.clientId == "logger")
        #expect(session.subscriptions.map(\.filter) == ["a/#"])
        #expect(session.subscriptions.map(\.options.qos) == [.exactlyOnce])
        #expect(session.inflight.map(\.packetId) == [11])
        #expect(session.inflight.first?.state == .awaitingPubComp)
        #expect(session.inflight.first?.delivery.message.topic == "a/2")
        #expect(session.queued.map { String(decoding: $0.message.payload, as: UTF8.self) } == ["three"])
        #expect(session.queued.first?.retain == true)
        #expect(session.incomingQoS2 == [6: [LogMark(log: "stream/s", first: 9, last: 10)]])
        // New ids continue after the restored ones.
        #expect(log.lastSessionId == 2)
        #expect(log.lastMessageId == 3)
    }

    @Test func tornTailIsCutAndReported() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-sessions")
        defer { directory.remove() }
        do {
            let log = try SessionLog(directory: directory.path)
            log.append(.sessionOpen(session: 1, clientId: "kept"))
            try log.commit()
            log.append(.sessionOpen(session: 2, clientId: "torn"))
            try log.commit()
        }
        let segment = try #require(try segments(directory.path).last)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: segment))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 3)  // a crash in the middle of the last frame
        try handle.close()
        let log = try SessionLog(directory: directory.path)
        #expect(log.restored.map(\.clientId) == ["kept"])
        #expect(log.repairs.count == 1)
        #expect("\(log.repairs[0])".contains("torn"))
        // And the repaired log takes new records.
        log.append(.sessionOpen(session: 3, clientId: "after"))
        try log.commit()
        #expect(try SessionLog(directory: directory.path).restored.map(\.clientId) == ["kept", "after"])
    }

    @Test func versionHeaderIsChecked() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-sessions")
        defer { directory.remove() }
        let journal = try Journal(directory: directory.path)
        _ = try journal.recover()
        var bytes: [UInt8] = []
        StateRecord.snapshotBegin(version: 99).encode(into: &bytes)
        journal.append(bytes)
        try journal.commit()
        #expect {
            _ = try SessionLog(directory: directory.path)
        } throws: { error in
            "\(error)".contains("state format 99") && "\(error)".contains("reads format \(StateRecord.formatVersion)")
        }

        let other = try TemporaryDirectory(prefix: "hydrant-sessions")
        defer { other.remove() }
        let headless = try Journal(directory: other.path)
        _ = try headless.recover()
        bytes = []
        StateRecord.sessionOpen(session: 1, clientId: "x").encode(into: &bytes)
        headless.append(bytes)
        try headless.commit()
        #expect {
            _ = try SessionLog(directory: other.path)
        } throws: { error in
            "\(error)".contains("format header")
        }
    }

    @Test func unfinishedSnapshotIsIgnored() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-sessions")
        defer { directory.remove() }
        do {
            let log = try SessionLog(directory: directory.path)
            log.append(.sessionOpen(session: 1, clientId: "old"))
            // A compaction that crashed before its end record: must not replace "old".
            log.append(.snapshotBegin(version: 1))
            log.append(.sessionOpen(session: 2, clientId: "half"))
            try log.commit()
        }
        let log = try SessionLog(directory: directory.path)
        #expect(log.restored.map(\.clientId) == ["old"])
        // Start-up rewrote it as a complete snapshot.
        #expect(try SessionLog(directory: directory.path).restored.map(\.clientId) == ["old"])
    }

    @Test func compactionKeepsOnlyWhatIsLive() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-sessions")
        defer { directory.remove() }
        do {
            let log = try SessionLog(directory: directory.path)
            log.append(.sessionOpen(session: 1, clientId: "busy"))
            let payload = Array(repeating: UInt8(ascii: "x"), count: 200)
            for id in 1...30_000 as ClosedRange<UInt64> {
                log.append(.message(id: id, topic: "t", qos: .atLeastOnce, retain: false, payload: payload))
                log.append(.inflight(session: 1, message: id, qos: .atLeastOnce, retain: false, packetId: UInt16(id % 1000 + 1), fromQueue: false))
                if id < 29_990 { log.append(.completed(session: 1, packetId: UInt16(id % 1000 + 1))) }
            }
            try log.commit()
        }
        let before = try bytes(directory.path)
        let log = try SessionLog(directory: directory.path)  // replays 90k records, rewrites
        #expect(log.restored.first?.inflight.count == 11)
        #expect(try bytes(directory.path) < before / 100)
        let again = try SessionLog(directory: directory.path)
        #expect(again.restored.first?.inflight.map(\.packetId) == log.restored.first?.inflight.map(\.packetId))
        #expect(again.lastMessageId == 30_000)
    }

    func segments(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted().map { directory + "/" + $0 }
    }

    func bytes(_ directory: String) throws -> Int {
        try segments(directory).reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }
}

/// Logs written before the journal framed opaque bytes (each body behind a zero arrival
/// time and "partition keys") still load.
@Suite struct LegacyLogTests {
    /// `[i64 0][u16 n]([u16 length][bytes])×n[rest]`: the body layout of format 1.
    static func legacyBody(_ keys: [String], _ rest: [UInt8]) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: 8)
        body += [UInt8(keys.count), 0]
        for key in keys {
            let utf8 = Array(key.utf8)
            body += [UInt8(utf8.count & 0xFF), UInt8(utf8.count >> 8)] + utf8
        }
        return body + rest
    }

    @Test func sessionLogOfFormatOneLoads() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-legacy-sessions")
        defer { directory.remove() }
        let journal = try Journal(directory: directory.path)
        _ = try journal.recover()
        for record: StateRecord in [
            .snapshotBegin(version: 1), .snapshotEnd, .sessionOpen(session: 1, clientId: "old"), .subscribe(session: 1, filter: "a/#", qos: .atLeastOnce),
            .incomingQoS2(session: 1, packetId: 9, marks: nil),
        ] {
            var bytes: [UInt8] = []
            record.encode(into: &bytes)
            journal.append(Self.legacyBody([], bytes))
        }
        try journal.commit()
        let log = try SessionLog(directory: directory.path)
        let session = try #require(log.restored.first)
        #expect(session.clientId == "old")
        #expect(session.subscriptions.map(\.filter) == ["a/#"])
        let marks: [LogMark]?? = session.incomingQoS2[9]
        #expect(marks != nil && marks! == nil)  // routed, logs unknown: offered to every stream again
    }

    @Test func retainedLogOfFormatOneLoads() throws {
        let directory = try TemporaryDirectory(prefix: "hydrant-legacy-retained")
        defer { directory.remove() }
        let journal = try Journal(directory: directory.path)
        _ = try journal.recover()
        journal.append(Self.legacyBody(["kept/topic", "1"], Array("on".utf8)))
        journal.append(Self.legacyBody(["gone", "0"], Array("x".utf8)))
        journal.append(Self.legacyBody(["gone", "0"], []))
        journal.append(RetainedLog.encode(Message(topic: "new/topic", payload: [7], qos: .exactlyOnce, retain: true, clientId: "")))
        try journal.commit()
        let log = try RetainedLog(directory: directory.path)
        #expect(log.recovered.map(\.topic) == ["kept/topic", "new/topic"])
        #expect(log.recovered.map(\.qos) == [.atLeastOnce, .exactlyOnce])
        #expect(log.recovered.map(\.payload) == [Array("on".utf8), [7]])
    }
}
