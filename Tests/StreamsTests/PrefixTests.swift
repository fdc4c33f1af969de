import Streams
import Testing

@Suite struct PrefixTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let prefix: String?
        let values: [String]
        let expected: String
        var testDescription: String { prefix ?? "(default)" }
    }

    // 2026-11-28T09:05:07.123Z
    static let instant: Int64 = 1_795_856_707_123

    @Test(arguments: [
        Case(prefix: nil, values: [], expected: "alerts/year=2026/month=11/day=28/hour=09/"),
        Case(prefix: "alerts/", values: [], expected: "alerts/year=2026/month=11/day=28/hour=09/"),
        Case(prefix: "alerts", values: [], expected: "alerts/year=2026/month=11/day=28/hour=09/"),
        Case(prefix: "alerts/factory=!{partitionKeyFromQuery:factory}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/",
             values: ["7"], expected: "alerts/factory=7/dt=2026-11-28/hour=09/"),
        Case(prefix: "raw/!{timestamp:yyyy/MM/dd/HH}/", values: [], expected: "raw/2026/11/28/09/"),
        Case(prefix: "m/!{partitionKeyFromQuery:a}/!{partitionKeyFromQuery:b}/!{partitionKeyFromQuery:a}/!{timestamp:'t='HHmm}/",
             values: ["x", "y"], expected: "m/x/y/x/t=0905/"),
        Case(prefix: "m/!{partitionKeyFromQuery:k}", values: ["v"], expected: "m/v/year=2026/month=11/day=28/hour=09/"),
    ])
    func renders(_ example: Case) throws {
        let prefix = try Prefix(example.prefix, stream: "alerts")
        #expect(prefix.render(arrivalMillis: Self.instant, partitionValues: example.values) == example.expected)
    }

    @Test func errorPrefixAndRandomString() throws {
        let prefix = try Prefix("errors/!{firehose:error-output-type}/!{firehose:random-string}/!{timestamp:yyyy}/", stream: "s", errorPrefix: true)
        #expect(prefix.render(arrivalMillis: Self.instant, partitionValues: [], errorOutputType: "partitionKeyMissing", randomString: { "abcdefghijk" }) ==
                "errors/partitionKeyMissing/abcdefghijk/2026/")
        #expect(Prefix.randomString().count == 11)
    }

    @Test(arguments: [
        ("a/!{firehose:error-output-type}/", "prefix: !{firehose:error-output-type} is only allowed in errorOutputPrefix"),
        ("a/!{timestamp:yyyy", "prefix: unterminated !{ in 'a/!{timestamp:yyyy/'"),
        ("a/!{nope:x}/", "prefix: unknown namespace 'nope' in '!{nope:x}'"),
        ("a/!{timestamp}/", "prefix: '!{timestamp}' needs a namespace (timestamp:, partitionKeyFromQuery:, firehose:)"),
        ("a/!{timestamp:qq}/", "prefix: invalid timestamp pattern 'qq'"),
        ("a/!{partitionKeyFromQuery:}/", "prefix: partitionKeyFromQuery needs a key name"),
        ("../escape/", "prefix: '..' path segment in '../escape/'"),
        ("a/../../b/", "prefix: '..' path segment in 'a/../../b/'"),
        ("/abs/", "prefix: prefix must be relative, got '/abs/'"),
        ("a\\b/", "prefix: backslash or NUL in 'a\\b/'"),
        ("a/!{firehose:other}/", "prefix: unknown !{firehose:other}"),
    ])
    func rejects(_ text: String, _ message: String) {
        #expect(throws: StreamError.self) { try Prefix(text, stream: "s") }
        do {
            _ = try Prefix(text, stream: "s")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test(arguments: [
        ("7", "7"),
        ("", "__HIVE_DEFAULT_PARTITION__"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        ("../../etc", "..%2F..%2Fetc"),
        ("a/b", "a%2Fb"),
        ("a\\b", "a%5Cb"),
        ("nul\u{0}byte", "nul%00byte"),
        ("k=v", "k%3Dv"),
        ("50%", "50%25"),
        ("Zürich", "Zürich"),
        ("line\nbreak", "line%0Abreak"),
    ])
    func sanitizesPartitionValues(_ value: String, _ expected: String) {
        #expect(PartitionValue.sanitize(value) == expected)
    }

    @Test func longValuesAreCappedWithAHash() {
        let long = String(repeating: "é", count: 300)
        let sanitized = PartitionValue.sanitize(long)
        #expect(sanitized.utf8.count <= 200)
        #expect(sanitized.contains("~"))
        #expect(sanitized != PartitionValue.sanitize(long + "x"))
        #expect(!sanitized.contains("/"))
    }
}

@Suite struct BatcherTests {
    func line(_ n: Int, size: Int = 10) -> [UInt8] {
        Array(String(repeating: "x", count: size - 1).utf8) + [0x0A]
    }

    @Test func closesOnTimeFromTheFirstRecord() {
        var batcher = Batcher(policy: BufferingPolicy(maxBytes: 1000, intervalMillis: 60_000))
        _ = batcher.add(line(1), partition: ["a"], arrivalMillis: 5, sequence: 1, now: 1_000)
        _ = batcher.add(line(2), partition: ["a"], arrivalMillis: 6, sequence: 2, now: 30_000)
        #expect(batcher.due(now: 60_999).isEmpty)
        #expect(batcher.nextDeadline == 61_000)
        let due = batcher.due(now: 61_000)
        #expect(due.count == 1)
        #expect(due[0].records == 2)
        #expect(due[0].firstArrivalMillis == 5)
        #expect(due[0].lastSequence == 2)
        #expect(batcher.activePartitions == 0)
        #expect(batcher.nextDeadline == nil)
    }

    @Test func aRecordThatWouldOverflowClosesTheBatchFirst() {
        var batcher = Batcher(policy: BufferingPolicy(maxBytes: 25, intervalMillis: 60_000))
        guard case let .added(first) = batcher.add(line(1), partition: [], arrivalMillis: 0, sequence: 1, now: 0),
            case let .added(second) = batcher.add(line(2), partition: [], arrivalMillis: 0, sequence: 2, now: 0),
            case let .added(third) = batcher.add(line(3), partition: [], arrivalMillis: 0, sequence: 3, now: 0)
        else { Issue.record("not added"); return }
        #expect(first.isEmpty && second.isEmpty)
        #expect(third.count == 1)
        #expect(third[0].records == 2)
        #expect(third[0].data.count == 20)
        #expect(batcher.bufferedRecords == 1)
    }

    @Test func closesAtExactlyTheSizeOrCount() {
        var bySize = Batcher(policy: BufferingPolicy(maxBytes: 20, intervalMillis: 60_000))
        _ = bySize.add(line(1), partition: [], arrivalMillis: 0, sequence: 1, now: 0)
        guard case let .added(closed) = bySize.add(line(2), partition: [], arrivalMillis: 0, sequence: 2, now: 0) else { return }
        #expect(closed.map(\.records) == [2])
        var byCount = Batcher(policy: BufferingPolicy(maxBytes: 1000, intervalMillis: 60_000, maxRecords: 3))
        var closedByCount: [Batch] = []
        for n in 1...7 {
            if case let .added(closed) = byCount.add(line(n), partition: [], arrivalMillis: 0, sequence: UInt64(n), now: 0) { closedByCount += closed }
        }
        #expect(closedByCount.map(\.records) == [3, 3])
        #expect(byCount.drain().map(\.records) == [1])
    }

    @Test func oversizedSingleRecordIsItsOwnBatch() {
        var batcher = Batcher(policy: BufferingPolicy(maxBytes: 5, intervalMillis: 60_000))
        guard case let .added(closed) = batcher.add(line(1, size: 50), partition: [], arrivalMillis: 0, sequence: 1, now: 0) else { return }
        #expect(closed.map(\.records) == [1])
    }

    @Test func zeroIntervalDeliversEveryRecord() {
        var batcher = Batcher(policy: BufferingPolicy(maxBytes: 1000, intervalMillis: 0))
        guard case let .added(closed) = batcher.add(line(1), partition: [], arrivalMillis: 0, sequence: 1, now: 0) else { return }
        #expect(closed.count == 1)
    }

    @Test func onePartitionPerKeyAndALimitOnActivePartitions() {
        var batcher = Batcher(policy: BufferingPolicy(maxBytes: 1000, intervalMillis: 60_000), maxActivePartitions: 2)
        _ = batcher.add(line(1), partition: ["1"], arrivalMillis: 0, sequence: 1, now: 0)
        _ = batcher.add(line(2), partition: ["2"], arrivalMillis: 0, sequence: 2, now: 10)
        _ = batcher.add(line(3), partition: ["1"], arrivalMillis: 0, sequence: 3, now: 20)
        guard case .tooManyPartitions = batcher.add(line(4), partition: ["3"], arrivalMillis: 0, sequence: 4, now: 30) else {
            Issue.record("third partition accepted")
            return
        }
        #expect(batcher.activePartitions == 2)
        let drained = batcher.drain()
        #expect(drained.map(\.partition) == [["1"], ["2"]])
        #expect(drained.map(\.records) == [2, 1])
    }
}
