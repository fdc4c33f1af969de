/// Publishes messages into a running broker from any thread (rules' republish action):
/// queued, the broker's event loop woken, routed there like any accepted PUBLISH.
public final class MessageInjector: Sendable {
    let queue = WakeupQueue<Message>()

    public init() {}

    public func publish(_ message: Message) {
        queue.push(message)
    }
}
