import CSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A queue other threads push to and the event loop drains when its eventfd fires: how
/// injected messages, completed acknowledgements and flow-control changes reach the loop.
final class WakeupQueue<Element: Sendable>: Sendable {
    let wakeFD: Int32
    private let items = Mutex<[Element]>([])

    init() {
        wakeFD = hy_eventfd()
    }

    deinit { close(wakeFD) }

    /// Any thread. Only the push that makes the queue non-empty writes the eventfd.
    func push(_ element: Element) {
        let first = items.withLock { pending in
            pending.append(element)
            return pending.count == 1
        }
        if first { _ = hy_eventfd_signal(wakeFD) }
    }

    /// The event loop, when `wakeFD` is readable.
    func drain() -> [Element] {
        _ = hy_eventfd_drain(wakeFD)
        return items.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}
