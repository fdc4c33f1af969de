import Durable
import CSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A broker listening on a TCP socket. `init` binds (so errors and the chosen port are
/// known before anything runs); `run()` runs the event loop on the calling thread until
/// `stop()` is called from any thread.
public final class BrokerServer: Sendable {
    public let config: BrokerConfig
    /// The bound port of the first listener (differs from `config.port` when that is 0).
    public var port: Int { ports[0] }
    /// Every listener's bound port, in `config.effectiveListeners` order.
    public let ports: [Int]
    private let listenFDs: [Int32]
    private let wakeFD: Int32
    private let logger: Logger
    private let tap: (any PublishTap)?
    private let injector: MessageInjector?
    private let flowControl: FlowControl?
    private let authenticator: (any ClientAuthenticator)?
    private let authorizer: (any ClientAuthorizer)?
    private let retainedLog: RetainedLog?
    private let sessionLog: SessionLog?
    /// Tests wrap the state store (fault injection); nil in production.
    let wrapStore: (@Sendable (any BrokerStateStore) -> any BrokerStateStore)?
    private let stopRequested = Atomic<Bool>(false)

    public convenience init(
        config: BrokerConfig, logger: Logger, tap: (any PublishTap)? = nil, injector: MessageInjector? = nil, flowControl: FlowControl? = nil,
        authenticator: (any ClientAuthenticator)? = nil, authorizer: (any ClientAuthorizer)? = nil
    ) throws(BrokerError) {
        try self.init(
            config: config, logger: logger, tap: tap, injector: injector, flowControl: flowControl, authenticator: authenticator, authorizer: authorizer,
            wrapStore: nil)
    }

    init(
        config: BrokerConfig, logger: Logger, tap: (any PublishTap)?, injector: MessageInjector?, flowControl: FlowControl?,
        authenticator: (any ClientAuthenticator)? = nil, authorizer: (any ClientAuthorizer)? = nil,
        wrapStore: (@Sendable (any BrokerStateStore) -> any BrokerStateStore)?
    ) throws(BrokerError) {
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.wrapStore = wrapStore
        var fds: [Int32] = []
        var boundPorts: [Int] = []
        for listener in config.effectiveListeners {
            var bound: Int32 = 0
            let fd = hy_listen_tcp(listener.host, Int32(listener.port), 1024, &bound)
            guard fd >= 0 else {
                let code = errno
                for open in fds { close(open) }
                throw .listenFailed(host: listener.host, port: listener.port, errno: code)
            }
            fds.append(fd)
            boundPorts.append(Int(bound))
        }
        let wake = hy_eventfd()
        guard wake >= 0 else {
            for fd in fds { close(fd) }
            throw .systemCallFailed("eventfd", errno: errno)
        }
        if let directory = config.stateDirectory {
            do throws(BrokerError) {
                let log: RetainedLog
                do throws(DurableError) {
                    log = try RetainedLog(directory: directory + "/retained")
                } catch {
                    throw .state("\(error)")
                }
                for repair in log.repairs { logger.warning("retained messages journal repaired: \(repair)") }
                retainedLog = log
                let started = hy_monotonic_ns()
                let sessions = try SessionLog(directory: directory + "/sessions")
                for repair in sessions.repairs { logger.warning("session state journal repaired: \(repair)") }
                if sessions.danglingRecords > 0 {
                    logger.warning("session state: \(sessions.danglingRecords) records referred to sessions or messages the log does not have (skipped)")
                }
                let queued = sessions.restored.reduce(0) { $0 + $1.queued.count + $1.inflight.count }
                logger.info("session state loaded sessions=\(sessions.restored.count) messages=\(queued) records=\(sessions.replayedRecords) millis=\((hy_monotonic_ns() - started) / 1_000_000)")
                sessionLog = sessions
            } catch {
                for fd in fds { close(fd) }
                close(wake)
                throw error
            }
        } else {
            retainedLog = nil
            sessionLog = nil
        }
        self.config = config
        self.ports = boundPorts
        self.listenFDs = fds
        self.wakeFD = wake
        self.logger = logger
        self.tap = tap
        self.injector = injector
        self.flowControl = flowControl
    }

    deinit {
        for fd in listenFDs { close(fd) }
        close(wakeFD)
    }

    /// Runs until `stop()`; then closes every connection and returns.
    public func run() throws(BrokerError) {
        let broker = try Broker(
            config: config, logger: logger, tap: tap, injector: injector, flowControl: flowControl, authenticator: authenticator, authorizer: authorizer, retainedLog: retainedLog, sessionLog: sessionLog, wrapStore: wrapStore, listenFDs: listenFDs, wakeFD: wakeFD,
            shouldStop: { [self] in stopRequested.load(ordering: .acquiring) })
        for (listener, port) in zip(config.effectiveListeners, ports) { logger.info("listening address=\(listener.host):\(port)") }
        broker.run()
    }

    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        _ = hy_eventfd_signal(wakeFD)
    }
}
