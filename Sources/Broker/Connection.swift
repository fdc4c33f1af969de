import MQTT

/// One client's network connection: socket, buffers and the per-connection part of the
/// protocol state. Owned by the event loop thread.
final class Connection {
    let fd: Int32
    /// epoll token: slot index in the low 32 bits, a generation above, so an event for a
    /// closed connection can never reach a new one that reused the fd.
    let token: UInt64
    let peer: String
    /// Bytes of a packet that arrived incompletely.
    var inbound: [UInt8] = []
    var outbound: [UInt8] = []
    var outboundOffset = 0
    /// EPOLLOUT is registered (the kernel buffer was full at the last write).
    var waitingForWritable = false
    /// In the loop's list of connections to flush after this batch of events.
    var needsFlush = false
    var closed = false
    /// Why reading is paused (flow control); empty when reading.
    var pausedFor: Set<String> = []
    /// In the epoll set (a paused connection is taken out).
    var registered = true

    /// Bytes of `outbound` that depend on broker state not yet durable: from `offset` on,
    /// nothing is written until the state committer reports records up to `mark` durable
    /// (Broker+State). Offsets and marks increase; usually zero or one entry.
    var holds: [(offset: Int, mark: UInt64)] = []

    /// Outbound bytes were removed from the front.
    func shiftHolds(by count: Int) {
        for index in holds.indices { holds[index].offset = max(0, holds[index].offset - count) }
    }

    /// The protocol version of its CONNECT (3.1.1 until one arrived).
    var version: ProtocolVersion = .v311
    /// MQTT 5 limits the client set in CONNECT (§3.1.2.11): in-flight QoS 1/2 PUBLISHes
    /// towards it, the largest packet it accepts, the topic aliases it accepts.
    var clientReceiveMaximum = Int.max
    var clientMaximumPacketSize = Int.max
    /// Broker → client topic aliases (nil: the client accepts none).
    var outboundAliases: TopicAliases?
    /// Client → broker topic aliases (alias → topic name), at most `--max-topic-alias`.
    var inboundAliases: [UInt16: String] = [:]
    /// QoS 1/2 PUBLISHes from the client not yet answered with PUBACK or PUBCOMP (its
    /// Receive Maximum quota, §4.9).
    var inboundInflight = 0
    /// MQTT 5 Request Problem Information (§3.1.2.11.7): reason strings may be sent.
    var wantsProblemInformation = true
    /// MQTT 5 session expiry (seconds) this connection set; 3.1.1: 0 for a clean session,
    /// `UInt32.max` for a persistent one.
    var sessionExpiry: UInt32 = 0
    /// The will's MQTT 5 delay (seconds) before it is published (§3.1.3.2.2).
    var willDelay: UInt32 = 0

    /// Set once CONNECT was accepted.
    var session: Session?
    var clientId = ""
    var username: String?
    var keepAlive: UInt16 = 0
    var will: Message?
    let acceptedAt: UInt64
    var lastReceivedAt: UInt64
    /// Acknowledgements of this connection's publishes not yet sent, oldest first: they go
    /// out in arrival order even when later ones complete first ([MQTT-4.6.0-2]).
    var pendingAcks = FIFO<HeldAcknowledgement>()
    /// QoS 0 messages dropped because the write buffer was full, not yet logged.
    var unreportedDrops = 0

    init(fd: Int32, token: UInt64, peer: String, now: UInt64) {
        self.fd = fd
        self.token = token
        self.peer = peer
        self.acceptedAt = now
        self.lastReceivedAt = now
    }

    var isConnected: Bool { session != nil }
    var pendingBytes: Int { outbound.count - outboundOffset }

    /// How the connection appears in log lines.
    var logName: String { clientId.isEmpty ? "peer=\(peer)" : "client=\(clientId)" }
}
