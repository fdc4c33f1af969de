import CSystem
import Durable
import MQTT

#if canImport(Glibc)
import Glibc
#endif

/// The broker: every connection, session, subscription and retained message, owned by
/// the one thread that runs `run()` — no locks on routing state (rumqttd's and
/// Mosquitto's single-owner shape). Other threads talk to it only through `wakeFD`.
final class Broker {
    /// Listener i has token `listenerTokenBase + i`; connection tokens stay below 2^63.
    static let listenerTokenBase: UInt64 = 1 << 63
    static let wakeToken = UInt64.max - 1
    static let injectorToken = UInt64.max - 2
    static let acksToken = UInt64.max - 3
    static let flowToken = UInt64.max - 4
    static let stateToken = UInt64.max - 5
    static let tickNanos: UInt64 = 250_000_000

    let config: BrokerConfig
    let logger: Logger
    let tap: (any PublishTap)?
    let injector: MessageInjector?
    let flowControl: FlowControl?
    let authenticator: (any ClientAuthenticator)?
    let authorizer: (any ClientAuthorizer)?
    /// Writes persistent sessions and retained messages on its own thread (Broker+State);
    /// nil when state is kept in memory only.
    let committer: StateCommitter?
    var lastStateFailureLog: UInt64 = 0
    /// Persistent sessions and retained messages as state records (`ledger.appends` of
    /// them so far); of those, handed to the committer and durable. Output that depends on
    /// a record above `stateCommitted` waits (Broker+State).
    let ledger: StateLedger
    var stateSubmitted: UInt64 = 0
    var stateCommitted: UInt64 = 0
    /// `stateCommitted` for other threads' and the tap's eyes (prerequisites of QoS 2
    /// records handed to streams).
    let stateWatermark = Watermark(name: "broker/state")
    var stateDirty: Bool { ledger.appends != stateCommitted }
    var commitInFlight = false
    /// Counters for `$SYS/hydrant/state/…`.
    var stateCommits: UInt64 = 0
    var stateCommitFailures: UInt64 = 0
    var sessionLogBytes = 0
    var compactAt = 0  // set from the config in init
    /// The last commit failed (disk full, I/O error): held output stays held, and the
    /// connections holding it are not read, until a retry succeeds.
    var stateBlocked = false
    var nextStateRetryAt: UInt64 = 0
    /// Connections with output that depends on uncommitted state (`Connection.holds`).
    var heldConnections: [Connection] = []
    /// Signalled by the tap's logs after their watermark advanced: held acknowledgements
    /// of the connections in `acknowledgementsWaiting` are compared again.
    let durableFD: Int32
    var acknowledgementsWaiting: [Connection] = []
    let epollFD: Int32
    let listenFDs: [Int32]
    let wakeFD: Int32
    let shouldStop: () -> Bool
    let decoder: PacketDecoder
    /// For a connection's first packet: `--max-connect-packet` bounds it.
    let connectDecoder: PacketDecoder
    /// Per address: the second counted, connections accepted in it, when it was last logged.
    var connectRates: [String: (second: UInt64, count: Int, loggedAt: UInt64)] = [:]

    var slots: [Connection?] = []
    var freeSlots: [Int] = []
    var generation: UInt64 = 0
    var flushList: [Connection] = []
    var sessions: [String: Session] = [:]
    /// Sessions with a delayed will or an expiry pending (offline MQTT 5 sessions): the
    /// tick checks these only.
    var timedSessions: Set<ObjectIdentifier> = []
    let subscriptions = SubscriptionTree()
    let retained = RetainedStore()
    var stats = BrokerStats()
    /// Topic → routes, valid until the subscription set changes. Devices publish to the
    /// same topics over and over; this turns the tree walk into one hash lookup.
    var routeCache: [String: SubscriptionTree.Routes] = [:]
    let startedAt: UInt64
    var nextTickAt: UInt64
    var nextSysAt: UInt64
    var assignedIdCounter: UInt64 = 0

    let readBuffer: UnsafeMutableRawBufferPointer
    private let events: UnsafeMutablePointer<hy_epoll_event>
    private static let maxEvents: Int32 = 256

    init(
        config: BrokerConfig, logger: Logger, tap: (any PublishTap)?, injector: MessageInjector?, flowControl: FlowControl?, authenticator: (any ClientAuthenticator)? = nil,
        authorizer: (any ClientAuthorizer)? = nil, retainedLog: RetainedLog?, sessionLog: SessionLog?,
        wrapStore: (@Sendable (any BrokerStateStore) -> any BrokerStateStore)? = nil, listenFDs: [Int32], wakeFD: Int32,
        shouldStop: @escaping () -> Bool
    ) throws(BrokerError) {
        self.config = config
        self.logger = logger
        self.tap = tap
        self.injector = injector
        self.flowControl = flowControl
        self.authenticator = authenticator
        self.authorizer = authorizer
        ledger = StateLedger(persistSessions: sessionLog != nil, persistRetained: retainedLog != nil)
        if sessionLog != nil || retainedLog != nil {
            let store = JournalStateStore(sessionLog: sessionLog, retainedLog: retainedLog)
            committer = StateCommitter(store: wrapStore?(store) ?? store)
        } else {
            committer = nil
        }
        self.listenFDs = listenFDs
        self.wakeFD = wakeFD
        self.shouldStop = shouldStop
        self.decoder = PacketDecoder(version: .v311, maxPacketSize: config.maxPacketSize, maxTopicLevels: config.maxTopicLevels)
        self.connectDecoder = PacketDecoder(version: .v311, maxPacketSize: min(config.maxPacketSize, config.maxConnectPacket), maxTopicLevels: config.maxTopicLevels)
        let epollFD = hy_epoll_create()
        guard epollFD >= 0 else { throw .systemCallFailed("epoll_create1", errno: errno) }
        self.epollFD = epollFD
        guard listenFDs.indices.allSatisfy({ hy_epoll_add(epollFD, listenFDs[$0], UInt32(HY_EPOLLIN), Broker.listenerTokenBase + UInt64($0)) == 0 }),
            hy_epoll_add(epollFD, wakeFD, UInt32(HY_EPOLLIN), Broker.wakeToken) == 0
        else {
            close(epollFD)
            throw .systemCallFailed("epoll_ctl", errno: errno)
        }
        durableFD = hy_eventfd()
        for log in tap?.logs ?? [] { log.notify(eventFD: durableFD) }
        if hy_epoll_add(epollFD, durableFD, UInt32(HY_EPOLLIN), Broker.acksToken) != 0 {
            close(epollFD)
            throw .systemCallFailed("epoll_ctl", errno: errno)
        }
        if let flowControl, hy_epoll_add(epollFD, flowControl.queue.wakeFD, UInt32(HY_EPOLLIN), Broker.flowToken) != 0 {
            close(epollFD)
            throw .systemCallFailed("epoll_ctl", errno: errno)
        }
        if let committer, hy_epoll_add(epollFD, committer.results.wakeFD, UInt32(HY_EPOLLIN), Broker.stateToken) != 0 {
            close(epollFD)
            throw .systemCallFailed("epoll_ctl", errno: errno)
        }
        if let injector, hy_epoll_add(epollFD, injector.queue.wakeFD, UInt32(HY_EPOLLIN), Broker.injectorToken) != 0 {
            close(epollFD)
            throw .systemCallFailed("epoll_ctl", errno: errno)
        }
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        events = UnsafeMutablePointer<hy_epoll_event>.allocate(capacity: Int(Broker.maxEvents))
        if let retainedLog {
            for message in retainedLog.recovered { retained.store(message) }
            if !retainedLog.recovered.isEmpty { logger.info("retained messages restored count=\(retainedLog.recovered.count)") }
            retainedLog.releaseRecovered()
        }
        let now = hy_monotonic_ns()
        startedAt = now
        nextTickAt = now + Broker.tickNanos
        nextSysAt = now
        if let sessionLog { restoreSessions(sessionLog) }
        sessionLogBytes = committer?.initialSessionLogBytes ?? 0
        compactAt = config.sessionLogCompactBytes
    }

    deinit {
        readBuffer.deallocate()
        events.deallocate()
        close(epollFD)
        close(durableFD)
    }

    /// Runs the event loop until `shouldStop` turns true after a wake-up.
    func run() {
        logger.info("broker started version=\(HydrantVersion.string) max_packet_size=\(config.maxPacketSize) max_inflight=\(config.maxInflight) max_queued=\(config.maxQueuedMessages) max_connections=\(config.maxConnections)")
        committer?.start()
        var running = true
        var drainDeadline: UInt64?
        while running {
            let now = hy_monotonic_ns()
            let timeout = nextTickAt > now ? Int32((nextTickAt - now) / 1_000_000) + 1 : 0
            let count = Int(max(hy_epoll_wait(epollFD, events, Broker.maxEvents, timeout), 0))
            // Completed acknowledgements first, and out at once: a round of reads can take
            // milliseconds, and a publisher waiting for its PUBACK sends nothing meanwhile.
            var acknowledged = false
            for index in 0..<count where events[index].data == Broker.acksToken {
                _ = hy_eventfd_drain(durableFD)
                releaseAcknowledgements()
                acknowledged = true
            }
            if acknowledged { flushConnections() }
            for index in 0..<count {
                let event = events[index]
                switch event.data {
                case Broker.wakeToken:
                    _ = hy_eventfd_drain(wakeFD)
                    if shouldStop() && drainDeadline == nil {
                        drainDeadline = hy_monotonic_ns() + UInt64(config.shutdownGrace * 1e9)
                        beginDrain()
                    }
                case Broker.injectorToken:
                    for message in injector?.queue.drain() ?? [] { accept(message) }
                case Broker.acksToken:
                    break  // handled above
                case Broker.flowToken:
                    applyFlowControl(flowControl?.queue.drain() ?? [])
                case Broker.stateToken:
                    for result in committer?.results.drain() ?? [] { stateCommitFinished(result) }
                case Broker.listenerTokenBase..<(Broker.listenerTokenBase + UInt64(listenFDs.count)):
                    acceptConnections(on: listenFDs[Int(event.data - Broker.listenerTokenBase)])
                default:
                    handleEvent(token: event.data, events: event.events)
                }
            }
            endRound()
            let after = hy_monotonic_ns()
            if after >= nextTickAt {
                tick(now: after)
                nextTickAt = after + Broker.tickNanos
            }
            if let deadline = drainDeadline, after >= deadline || !hasHeldAcknowledgements() {
                running = false
            }
        }
        shutdown()
    }

    /// Stop: no new connections, no more reading; acknowledgements already owed (held by
    /// a stream journal or a state commit) still go out while the loop keeps running.
    private func beginDrain() {
        for fd in listenFDs { _ = hy_epoll_del(epollFD, fd) }
        let held = slots.reduce(0) { $0 + ($1.map { $0.pendingAcks.isEmpty ? 0 : 1 } ?? 0) }
        logger.info("broker stopping: not accepting or reading; connections waiting for acknowledgements=\(held) grace=\(config.shutdownGrace)s")
        for case let connection? in slots {
            connection.pausedFor.insert("shutting down")
            updateEvents(connection)
        }
    }

    private func hasHeldAcknowledgements() -> Bool {
        slots.contains { $0.map { !$0.pendingAcks.isEmpty } ?? false } || stateDirty || commitInFlight
    }

    private func shutdown() {
        var open = 0
        commitStateAndWait(timeoutNanos: 5_000_000_000)
        for case let connection? in slots {
            open += 1
            flush(connection)
            sendDisconnect(.serverShuttingDown, "the broker is shutting down", to: connection)
            closeConnection(connection, reason: "broker shutting down", publishWill: false)
        }
        committer?.stop()
        logger.info("broker stopped connections_closed=\(open) messages_received=\(stats.messagesReceived) messages_sent=\(stats.messagesSent) messages_dropped=\(stats.messagesDropped)")
    }

    func connection(for token: UInt64) -> Connection? {
        let slot = Int(token & 0xFFFF_FFFF)
        guard slot < slots.count, let connection = slots[slot], connection.token == token else { return nil }
        return connection
    }
}

/// The version reported by `--version` and `$SYS/broker/version`.
public enum HydrantVersion {
    public static let string = "0.1.0"
}
