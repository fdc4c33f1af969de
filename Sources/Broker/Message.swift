import Durable
import MQTT

/// An accepted application message. One instance is shared by every queue and in-flight
/// window it is delivered to, so fan-out never copies the payload.
public final class Message: Sendable {
    public let topic: String
    public let payload: [UInt8]
    public let qos: QoS
    public let retain: Bool
    /// Client that published it (empty for messages the broker itself publishes).
    public let clientId: String
    /// The publisher's CONNECT user name, if it gave one.
    public let username: String?
    /// How many rule republications led to this message (0 for client publishes); rules
    /// refuse to republish past a limit, so no chain of rules can loop forever.
    public let hops: Int
    /// The connection it arrived on (0 for messages the broker or a rule published); flow
    /// control pauses that connection.
    public let origin: UInt64
    /// The MQTT 5 parts, nil for a message that has none (every 3.1.1 message): kept
    /// behind one reference so the object stays in malloc's fast size class (measured:
    /// four more fields cost ~200 instructions per QoS 1 message in malloc alone).
    private let extras: Extras?

    private final class Extras: Sendable {
        let properties: Properties
        let expiryInterval: UInt32?
        let receivedAt: Int64
        let forwardedProperties: [UInt8]

        init(properties: Properties, expiryInterval: UInt32?, receivedAt: Int64) {
            self.properties = properties
            self.expiryInterval = expiryInterval
            self.receivedAt = receivedAt
            self.forwardedProperties = properties.isEmpty ? [] : properties.encodedBody
        }
    }

    /// MQTT 5 properties that travel with the message unchanged (§3.3.2.3): Payload Format
    /// Indicator, Content Type, Response Topic, Correlation Data, User Properties. The
    /// expiry is kept apart; Topic Alias and Subscription Identifiers belong to one
    /// connection and are never stored.
    public var properties: Properties { extras?.properties ?? Properties() }
    /// Message Expiry Interval (seconds), if the publisher set one.
    public var expiryInterval: UInt32? { extras?.expiryInterval }
    /// Wall-clock second (UNIX time) it was accepted: a forwarded expiry is the interval
    /// less the time waited, across restarts too.
    public var receivedAt: Int64 { extras?.receivedAt ?? 0 }
    /// `properties` encoded (no length prefix): an MQTT 5 delivery appends these bytes.
    public var forwardedProperties: [UInt8] { extras?.forwardedProperties ?? [] }

    public init(
        topic: String, payload: [UInt8], qos: QoS, retain: Bool, clientId: String, username: String? = nil, hops: Int = 0, origin: UInt64 = 0,
        properties: Properties = Properties(), expiryInterval: UInt32? = nil, receivedAt: Int64 = 0
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.clientId = clientId
        self.username = username
        self.hops = hops
        self.origin = origin
        extras = properties.isEmpty && expiryInterval == nil ? nil : Extras(properties: properties, expiryInterval: expiryInterval, receivedAt: receivedAt)
    }

    /// Seconds left before it expires at wall-clock second `now` (nil: it never does;
    /// 0: expired, not to be delivered, §3.3.2.3.3).
    public func remainingExpiry(now: Int64) -> UInt32? {
        guard let expiryInterval else { return nil }
        let left = Int64(expiryInterval) - max(0, now - receivedAt)
        return left > 0 ? UInt32(left) : 0
    }
}

/// Where every accepted PUBLISH leaves the broker (client publishes and will messages,
/// not the broker's own $SYS updates). Called on the broker's event-loop thread, once per
/// message, after the message was routed to subscribers; implementations must not block.
public protocol PublishTap: Sendable {
    /// A tap that hands the message to a log (a stream journal) adds the sequence numbers
    /// it was given there to `marks`; the broker acknowledges a QoS 1/2 publish only once
    /// every mark is durable (each log's `Watermark`, one of `logs`).
    func publishAccepted(_ message: Message, marks: inout DurabilityMarks)

    /// A QoS 2 PUBLISH resent after a restart, whose first copy was routed before the
    /// crash and left `previous` in the tap's logs (nil: unknown, a log of an older
    /// format): hand it again to the logs that lost it, adding the new marks.
    func publishResent(_ message: Message, previous: [LogMark]?, marks: inout DurabilityMarks)

    /// The logs whose marks the tap hands out; the broker listens to their watermarks.
    var logs: [Watermark] { get }

    /// The end of an event-loop round, after its last `publishAccepted`: a tap that hands
    /// messages to other threads hands over the round's batch here (one lock and one
    /// wake-up per round instead of per message).
    func roundEnded()

    /// Extra topics for `$SYS` (name below `$SYS/`, value), read on the event-loop thread
    /// at every `--sys-interval`.
    func sysTopics() -> [(String, String)]
}

extension PublishTap {
    public func publishResent(_ message: Message, previous: [LogMark]?, marks: inout DurabilityMarks) {}
    public var logs: [Watermark] { [] }
    public func roundEnded() {}
    public func sysTopics() -> [(String, String)] { [] }
}
