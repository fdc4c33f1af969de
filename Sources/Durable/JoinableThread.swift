import CSystem
import Synchronization

/// A thread running a closure, joined by whoever stops it: shutdown waits on the thread's
/// end (bounded), instead of polling a flag. Foundation-free.
public final class JoinableThread: Sendable {
    private enum State {
        case running(UInt)
        case joined
    }

    private let state: Mutex<State>

    /// Starts `body` on a new thread named `name` (at most 15 bytes show in `top -H`).
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body))
        var thread: UInt = 0
        let result = hy_thread_start(&thread, name, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "cannot start thread \(name): error \(result)")
        state = Mutex(.running(thread))
    }

    /// Waits for the thread to end, at most `timeout` seconds (nil: without limit).
    /// Returns whether it ended; a thread still running can be joined again later.
    @discardableResult
    public func join(timeout: Double? = nil) -> Bool {
        state.withLock { state in
            guard case let .running(thread) = state else { return true }
            let millis = timeout.map { Int(max(0, $0) * 1000) } ?? -1
            guard hy_thread_join(thread, millis) == 0 else { return false }
            state = .joined
            return true
        }
    }

    deinit {
        // Never joined (the process ends, or a stop that timed out): its resources go when it ends.
        if case let .running(thread) = state.withLock({ $0 }) { _ = hy_thread_detach(thread) }
    }

    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
