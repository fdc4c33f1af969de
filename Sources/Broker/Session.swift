import MQTT

/// One message on its way to one session, at the QoS it is delivered with.
struct Delivery {
    let message: Message
    let qos: QoS
    /// RETAIN flag on the wire: set only when sent because of a new subscription
    /// ([MQTT-3.3.1-8], [MQTT-3.3.1-9]).
    let retain: Bool
    /// The message's id in the session log (0: not stored; clean sessions and QoS 0).
    var storeId: UInt64 = 0
    /// Subscription identifiers and shared group, behind one reference (nil for most
    /// deliveries): a delivery is copied into queues and in-flight windows.
    private var extras: Extras?

    private final class Extras: @unchecked Sendable {
        // Immutable; the group is touched on the event loop only (see `SharedGroup`).
        let identifiers: [Int]
        let sharedGroup: SubscriptionTree.SharedGroup?
        init(_ identifiers: [Int], _ sharedGroup: SubscriptionTree.SharedGroup?) {
            self.identifiers = identifiers
            self.sharedGroup = sharedGroup
        }
    }

    init(message: Message, qos: QoS, retain: Bool, storeId: UInt64 = 0, subscriptionIdentifiers: [Int] = [], sharedGroup: SubscriptionTree.SharedGroup? = nil) {
        self.message = message
        self.qos = qos
        self.retain = retain
        self.storeId = storeId
        if !subscriptionIdentifiers.isEmpty || sharedGroup != nil { extras = Extras(subscriptionIdentifiers, sharedGroup) }
    }

    /// MQTT 5: the Subscription Identifiers of the subscriptions it matched (§3.3.4).
    var subscriptionIdentifiers: [Int] {
        get { extras?.identifiers ?? [] }
        set { extras = newValue.isEmpty && extras?.sharedGroup == nil ? nil : Extras(newValue, extras?.sharedGroup) }
    }

    /// Sent through this shared-subscription group: if its session ends (or goes offline
    /// with it still queued), another member gets it (§4.8.2).
    var sharedGroup: SubscriptionTree.SharedGroup? { extras?.sharedGroup }
}

/// What a client asked for with one topic filter (§3.8.3.1).
struct SubscriptionOptions: Hashable {
    var qos: QoS
    /// MQTT 5: not sent messages the session itself published.
    var noLocal = false
    /// MQTT 5: forwarded with the RETAIN flag the publisher set.
    var retainAsPublished = false
    /// MQTT 5: 0 retained messages on subscribe, 1 only for a new subscription, 2 never.
    var retainHandling: UInt8 = 0
    /// MQTT 5 Subscription Identifier (§3.8.2.1.2).
    var identifier: Int?
}

/// An outgoing QoS 1/2 PUBLISH waiting for its acknowledgement.
struct InflightMessage {
    enum State {
        /// QoS 1 sent, waiting for PUBACK.
        case awaitingPubAck
        /// QoS 2 sent, waiting for PUBREC.
        case awaitingPubRec
        /// PUBREL sent, waiting for PUBCOMP.
        case awaitingPubComp
    }

    let delivery: Delivery
    var state: State
    /// Send order, so a resumed session resends in the original order ([MQTT-4.6.0-1]).
    let sequence: UInt64
}

/// The state the broker keeps for one client id (§3.1.2.4): subscriptions, in-flight and
/// queued QoS 1/2 messages, and incoming QoS 2 packet ids awaiting PUBREL. A clean
/// session lives only as long as its connection; a persistent one outlives it.
final class Session {
    let clientId: String
    /// The session ends with its connection (3.1.1 clean session; 5.0 session expiry 0).
    var clean: Bool
    /// Its id in the session log (0: not persisted — a clean session, or no state directory).
    var storeId: UInt64 = 0
    weak var connection: Connection?
    var subscriptions: [String: SubscriptionOptions] = [:]
    var inflight: [UInt16: InflightMessage] = [:]
    var queue = FIFO<Delivery>()
    /// Incoming QoS 2 packet ids whose PUBLISH was routed but whose PUBREL has not come:
    /// a resent PUBLISH with one of these ids is acknowledged, not routed again (§4.3.3).
    /// The value: the records the publish left in stream journals (persistent sessions;
    /// nil when a log of format 1 did not say).
    var incomingQoS2: [UInt16: [LogMark]?] = [:]
    /// Those of `incomingQoS2` restored from the session log: routed to subscribers before a
    /// restart; a resent PUBLISH goes again to the streams whose journal lost it (the id is
    /// committed with the routing, streams commit on their own threads).
    var unconfirmedQoS2: Set<UInt16> = []
    /// MQTT 5 Session Expiry Interval (seconds); `UInt32.max`: never (3.1.1 persistent
    /// sessions); 0: ends with its connection (`clean`).
    var expiryInterval: UInt32 = UInt32.max
    /// Offline with a finite expiry: the wall-clock millisecond the session ends.
    var expiresAt: Int64?
    /// A will waiting for its delay (§3.1.3.2.2): published at `at` (wall-clock ms) or when the session
    /// ends, whichever comes first; cancelled if the client reconnects in time.
    var pendingWill: (message: Message, at: Int64)?
    /// What the client may read, write and subscribe to (nil: no authorizer, everything),
    /// resolved at its last CONNECT; deliveries to it while offline are checked with it too.
    var permissions: (any ClientPermissions)?
    /// Messages dropped because the queue was full, not yet reported in the log.
    var unreportedDrops = 0
    private var lastPacketId: UInt16 = 0
    private var sendSequence: UInt64 = 0

    /// Routing scratch: the route generation this session was last matched in, and its
    /// index in that route's result, to merge overlapping subscriptions.
    var routeMark: UInt64 = 0
    var routeIndex = 0

    init(clientId: String, clean: Bool) {
        self.clientId = clientId
        self.clean = clean
    }

    /// The next packet id not in use by an in-flight message (§2.3.1).
    func nextPacketId() -> UInt16 {
        repeat {
            lastPacketId = lastPacketId == UInt16.max ? 1 : lastPacketId + 1
        } while inflight[lastPacketId] != nil
        return lastPacketId
    }

    func nextSequence() -> UInt64 {
        sendSequence += 1
        return sendSequence
    }
}
