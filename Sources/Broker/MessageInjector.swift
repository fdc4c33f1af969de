import CSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Publishes messages into a running broker from any thread (rules' republish action):
/// queued under a lock, the broker's event loop woken through an eventfd, routed there
/// like any accepted PUBLISH.
public final class MessageInjector: Sendable {
    let wakeFD: Int32
    private let queue = Mutex<[Message]>([])

    public init() {
        wakeFD = hy_eventfd()
    }

    deinit { close(wakeFD) }

    public func publish(_ message: Message) {
        let wasEmpty = queue.withLock { pending in
            pending.append(message)
            return pending.count == 1
        }
        if wasEmpty { _ = hy_eventfd_signal(wakeFD) }
    }

    func drain() -> [Message] {
        _ = hy_eventfd_drain(wakeFD)
        return queue.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}
