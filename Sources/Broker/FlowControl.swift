/// Publisher backpressure: something downstream that cannot keep up (a stream whose journal
/// passed its limit) pauses reading from the connections that feed it — TCP then slows the
/// publishers — and resumes them when it has drained. Nothing is dropped and memory stays
/// bounded. Callable from any thread; the broker's loop applies the changes.
public final class FlowControl: Sendable {
    enum Change: Sendable {
        case pause(connection: UInt64, reason: String)
        case resume(reason: String)
    }

    let queue = WakeupQueue<Change>()

    public init() {}

    /// Stop reading from the connection that published `message` until `resume(reason:)`.
    public func pause(publisherOf message: Message, reason: String) {
        guard message.origin != 0 else { return }  // the broker's own messages
        queue.push(.pause(connection: message.origin, reason: reason))
    }

    /// Resume every connection paused for `reason`.
    public func resume(reason: String) {
        queue.push(.resume(reason: reason))
    }
}
