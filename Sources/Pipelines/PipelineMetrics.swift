import CSystem
import Streams

/// The pipeline runtime's counters as `$SYS` topics: per stream (`hydrant/streams/<name>/…`)
/// and per rule (`hydrant/rules/<name>/…`).
extension RulesEngine {
    public func sysTopics() -> [(String, String)] {
        let streamTopics = streams.flatMap { stream -> [(String, String)] in
            let base = "hydrant/streams/\(stream.config.name)/"
            let m = stream.metrics
            let oldest = m.oldestUnflushedMillis.load(ordering: .relaxed)
            var seconds: Int64 = 0
            var nanos: Int32 = 0
            hy_realtime(&seconds, &nanos)
            return [
                (base + "records/in", String(m.recordsIn.load(ordering: .relaxed))),
                (base + "bytes/in", String(m.bytesIn.load(ordering: .relaxed))),
                (base + "files/written", String(m.filesWritten.load(ordering: .relaxed))),
                (base + "records/written", String(m.recordsWritten.load(ordering: .relaxed))),
                (base + "records/errors", String(m.errorRecords.load(ordering: .relaxed))),
                (base + "errors/partitionKeyMissing", String(m.partitionKeyMissing.load(ordering: .relaxed))),
                (base + "errors/recordTooLarge", String(m.recordTooLarge.load(ordering: .relaxed))),
                (base + "errors/activePartitionExceeded", String(m.activePartitionExceeded.load(ordering: .relaxed))),
                (base + "errors/retryExpired", String(m.retryExpired.load(ordering: .relaxed))),
                (base + "errors/sqliteRejected", String(m.sqliteRejected.load(ordering: .relaxed))),
                (base + "fields/ignored", String(m.ignoredFields.load(ordering: .relaxed))),
                (base + "writes/failed", String(m.writeFailures.load(ordering: .relaxed))),
                (base + "journal/bytes", String(m.journalBytes.load(ordering: .relaxed))),
                (base + "journal/pending/bytes", String(m.pendingBytes.load(ordering: .relaxed))),
                (base + "publishers/paused", m.publishersPaused.load(ordering: .relaxed) ? "1" : "0"),
                (base + "records/recovered", String(m.recoveredRecords.load(ordering: .relaxed))),
                (base + "records/skipped", String(m.skippedRecords.load(ordering: .relaxed))),
                (base + "oldest/unflushed/seconds", oldest == 0 ? "0" : String(max(0, seconds - oldest / 1000))),
            ]
        }
        return streamTopics + rules.flatMap { rule -> [(String, String)] in
            let base = "hydrant/rules/\(rule.definition.name)/"
            return [
                (base + "matched", String(rule.metrics.matched.load(ordering: .relaxed))),
                (base + "passed", String(rule.metrics.passed.load(ordering: .relaxed))),
                (base + "failed", String(rule.metrics.failed.load(ordering: .relaxed))),
                (base + "outputs", String(rule.metrics.outputs.load(ordering: .relaxed))),
            ]
        }
    }
}
