import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How far one log is durable: every record it was handed with a sequence number up to
/// `durableThrough` is on disk. The log's writer advances it once per commit group (one
/// atomic store, however many records the group held); whoever holds output back until a
/// record is durable compares integers (`DurabilityMark`). The one durability model of
/// Hydrant: stream journals publish theirs here, the broker's session log keeps its own on
/// the event loop, and a PUBACK goes out when every mark of its publish is covered.
public final class Watermark: Sendable {
    /// Names the log in marks persisted by others (a session log remembers which stream
    /// records an incoming QoS 2 publish produced): stable across restarts.
    public let name: String
    private let durable = Atomic<UInt64>(0)
    /// For each earlier run of the log (by epoch), the last sequence of that run that became
    /// durable; set once when the log is opened, read only for resent QoS 2 publishes.
    private let earlierRuns = Mutex<[UInt64: UInt64]>([:])
    /// An eventfd to signal after each advance (the broker's loop), or -1.
    private let listener = Atomic<Int32>(-1)

    public init(name: String) {
        self.name = name
    }

    /// Sequence numbers are `epoch << 44 | n`: each run of a log numbers from a new epoch
    /// (persisted before the first number is handed out), so a number handed out in a run
    /// that crashed before making it durable is never handed out again, and whether a
    /// number from an earlier run is durable is known exactly: runs make a prefix of their
    /// numbers durable (group commits in order).
    public static let epochShift: UInt64 = 44

    public static func epoch(of sequence: UInt64) -> UInt64 { sequence >> epochShift }
    public static func firstSequence(ofEpoch epoch: UInt64) -> UInt64 { epoch << epochShift }

    public var durableThrough: UInt64 { durable.load(ordering: .acquiring) }

    /// Opened: the last durable sequence of each earlier run (by epoch), and how far the
    /// log is durable now.
    public func recovered(runs: [UInt64: UInt64], through sequence: UInt64) {
        earlierRuns.withLock { $0 = runs }
        advance(to: sequence)
    }

    /// Whether the record numbered `sequence` is on disk (or delivered): in this run when
    /// the watermark has passed it, in an earlier run when that run made it durable.
    public func isDurable(_ sequence: UInt64) -> Bool {
        let epoch = Self.epoch(of: sequence)
        if let last = earlierRuns.withLock({ $0[epoch] }) { return sequence <= last }
        return sequence <= durableThrough && epoch >= Self.epoch(of: durableThrough)
    }

    /// A commit group made everything up to `sequence` durable (the log's thread).
    public func advance(to sequence: UInt64) {
        guard sequence > durable.load(ordering: .relaxed) else { return }
        durable.store(sequence, ordering: .releasing)
        let fd = listener.load(ordering: .acquiring)
        if fd >= 0 {
            var one: UInt64 = 1
            _ = write(fd, &one, 8)
        }
    }

    /// `eventFD` is signalled after every advance (one listener: the broker's event loop).
    public func notify(eventFD: Int32) {
        listener.store(eventFD, ordering: .releasing)
    }

    public func covers(_ sequence: UInt64) -> Bool { durableThrough >= sequence }
}

/// Output that waits for a log: the records `first...last` a publish produced in it.
public struct DurabilityMark: Sendable {
    public let log: Watermark
    public var first: UInt64
    public var last: UInt64

    public init(log: Watermark, first: UInt64, last: UInt64) {
        self.log = log
        self.first = first
        self.last = last
    }

    public var isDurable: Bool { log.covers(last) }
}

/// The marks one publish left in the logs it was handed to: usually none or one, kept
/// inline (an array per publish cost an allocation on the event loop's hottest path).
public struct DurabilityMarks: Sendable {
    private var single: DurabilityMark?
    private var more: [DurabilityMark] = []
    /// Set by whoever hands the publish over: a record that must be durable in its own log
    /// before the publish may reach any other (a QoS 2 id in the session log, so that a
    /// stream never has a publish whose id a crash made the broker forget).
    public var prerequisite: DurabilityMark?

    public init(prerequisite: DurabilityMark? = nil) {
        self.prerequisite = prerequisite
    }

    public var isEmpty: Bool { single == nil }

    public var marks: [DurabilityMark] {
        guard let single else { return [] }
        return [single] + more
    }

    /// Record `sequence` of `log` belongs to this publish (sequences of one log increase).
    public mutating func add(_ log: Watermark, _ sequence: UInt64) {
        guard let first = single else {
            single = DurabilityMark(log: log, first: sequence, last: sequence)
            return
        }
        if first.log === log {
            single!.last = sequence
            return
        }
        for index in more.indices where more[index].log === log {
            more[index].last = sequence
            return
        }
        more.append(DurabilityMark(log: log, first: sequence, last: sequence))
    }

    public var isDurable: Bool {
        guard let single else { return true }
        if !single.isDurable { return false }
        for mark in more where !mark.isDurable { return false }
        return true
    }
}
