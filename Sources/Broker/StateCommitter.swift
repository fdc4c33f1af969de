import CSystem
import Durable
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where broker state goes: the persistence protocol the broker writes through (DESIGN.md
/// "persistence behind a protocol"). Called on the committer thread only. `write` must make
/// the records durable before it returns, or throw and keep them to write again (in order)
/// on the next call.
protocol BrokerStateStore: AnyObject {
    func write(records: [StateRecord], retained: [Message]) throws(DurableError)
    /// Rewrites the session state as `sessions` (after everything written before).
    func compact(_ sessions: [SessionLog.RestoredSession]) throws(DurableError)
    var sessionLogBytes: Int { get }
}

/// The store this broker uses: the session log and the retained-message journal, both
/// append-only CRC-framed journals (chosen over SQLite by measurement, docs/design-notes.md).
final class JournalStateStore: BrokerStateStore {
    private let sessionLog: SessionLog?
    private let retainedLog: RetainedLog?

    init(sessionLog: SessionLog?, retainedLog: RetainedLog?) {
        self.sessionLog = sessionLog
        self.retainedLog = retainedLog
    }

    /// Appends everything first, then commits both logs: a failed commit keeps its group
    /// pending in the journal, so the next call writes it again, in order.
    func write(records: [StateRecord], retained: [Message]) throws(DurableError) {
        for record in records { sessionLog?.append(record) }
        for message in retained { retainedLog?.append(message) }
        if let sessionLog, sessionLog.hasPending { try sessionLog.commit() }
        if let retainedLog, retainedLog.hasPending { try retainedLog.commit() }
    }

    func compact(_ sessions: [SessionLog.RestoredSession]) throws(DurableError) {
        try sessionLog?.compact(sessions)
    }

    var sessionLogBytes: Int { sessionLog?.sizeBytes ?? 0 }
}

/// Writes broker state on its own thread, so the event loop never waits for a disk: the
/// loop hands over the records of a round (`Job`), keeps serving — output that depends on
/// them stays held — and releases that output when the result comes back through
/// `results`. One job is in flight at a time; records produced meanwhile form the next group
/// (pipelined group commit). After `start()` only this thread touches the two logs.
final class StateCommitter: @unchecked Sendable {
    struct Job: Sendable {
        /// The loop's record count this job brings the logs up to.
        let mark: UInt64
        var records: [StateRecord]
        var retained: [Message]
        /// Compaction: the live persistent sessions, written as a snapshot after `records`.
        var snapshot: [SessionLog.RestoredSession]?
    }

    enum Result: Sendable {
        case committed(mark: UInt64, sessionLogBytes: Int, compaction: (before: Int, after: Int, millis: UInt64)?)
        case failed(mark: UInt64, DurableError)
    }

    let results = WakeupQueue<Result>()
    private let store: any BrokerStateStore
    private let queue = Mutex<(jobs: [Job], stopping: Bool)>(([], false))
    private let wakeFD: Int32
    private let thread = Mutex<JoinableThread?>(nil)

    init(store: any BrokerStateStore) {
        self.store = store
        wakeFD = hy_eventfd()
    }

    deinit { close(wakeFD) }

    var initialSessionLogBytes: Int { store.sessionLogBytes }

    func start() {
        thread.withLock { $0 = JoinableThread(name: "state commit") { [self] in run() } }
    }

    /// Loop thread.
    func submit(_ job: Job) {
        queue.withLock { $0.jobs.append(job) }
        _ = hy_eventfd_signal(wakeFD)
    }

    /// Loop thread, at shutdown, after the last result: the thread ends.
    func stop() {
        queue.withLock { $0.stopping = true }
        _ = hy_eventfd_signal(wakeFD)
        thread.withLock { $0 }?.join(timeout: 1)
    }

    private func run() {
        var pollFD = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        while true {
            _ = poll(&pollFD, 1, 1000)
            _ = hy_eventfd_drain(wakeFD)
            let (jobs, stopping) = queue.withLock { state in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return (state.jobs, state.stopping)
            }
            for job in jobs { results.push(process(job)) }
            if stopping && jobs.isEmpty { return }
        }
    }

    private func process(_ job: Job) -> Result {
        do throws(DurableError) {
            try store.write(records: job.records, retained: job.retained)
            var compaction: (Int, Int, UInt64)?
            if let snapshot = job.snapshot {
                let before = store.sessionLogBytes
                let started = hy_monotonic_ns()
                try store.compact(snapshot)
                compaction = (before, store.sessionLogBytes, (hy_monotonic_ns() - started) / 1_000_000)
            }
            return .committed(mark: job.mark, sessionLogBytes: store.sessionLogBytes, compaction: compaction)
        } catch {
            return .failed(mark: job.mark, error)
        }
    }
}
