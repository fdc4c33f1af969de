import CSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Publisher backpressure: something downstream that cannot keep up (a stream whose journal
/// passed its limit) pauses reading from the connections that feed it — TCP then slows the
/// publishers — and resumes them when it has drained. Nothing is dropped and memory stays
/// bounded. Callable from any thread; the broker's loop applies the changes.
public final class FlowControl: Sendable {
    enum Change {
        case pause(connection: UInt64, reason: String)
        case resume(reason: String)
    }

    let wakeFD: Int32
    private let changes = Mutex<[Change]>([])

    public init() {
        wakeFD = hy_eventfd()
    }

    deinit { close(wakeFD) }

    /// Stop reading from the connection that published `message` until `resume(reason:)`.
    public func pause(publisherOf message: Message, reason: String) {
        guard message.origin != 0 else { return }  // the broker's own messages
        enqueue(.pause(connection: message.origin, reason: reason))
    }

    /// Resume every connection paused for `reason`.
    public func resume(reason: String) {
        enqueue(.resume(reason: reason))
    }

    private func enqueue(_ change: Change) {
        let first = changes.withLock { pending in
            pending.append(change)
            return pending.count == 1
        }
        if first { _ = hy_eventfd_signal(wakeFD) }
    }

    func drain() -> [Change] {
        _ = hy_eventfd_drain(wakeFD)
        return changes.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}
