import Auth
import Broker
import CSystem
import Foundation
import Pipelines
import Storage
import Streams
import Synchronization

/// `hydrant run`: the broker on the calling thread, SIGINT/SIGTERM for a clean stop.
public enum Daemon {
    /// Returns the process exit code.
    public static func run(_ options: RunOptions) -> Int32 {
        let logger = Logger(level: options.logLevel)
        for listener in options.anonymousExposure {
            logger.error("not starting: listener \(listener.host):\(listener.port) is reachable from other machines and no client authentication is configured; set \"allowAnonymous\": true in the configuration file (or --allow-anonymous) to accept anonymous clients there, or listen on 127.0.0.1")
            return 1
        }
        // Blocked before any thread starts, so every thread inherits the mask and only the
        // waiter below receives them; SIGPIPE stays blocked (writes use MSG_NOSIGNAL).
        _ = hy_block_shutdown_signals()
        let limit = hy_raise_nofile_limit()
        if limit > 0 && limit < options.broker.maxConnections + 64 {
            logger.warning("open file limit \(limit) is below --max-connections \(options.broker.maxConnections)")
        }
        do {
            try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
        } catch {
            logger.error("cannot create data directory \(options.dataDirectory): \(error.localizedDescription)")
            return 1
        }
        guard let loaded = loadAccess(options, logger) else {
            logger.error("not starting: fix the access files above")
            return 1
        }
        // Swapped on SIGHUP; nil parts ask nothing (every client, every topic).
        let access = ReloadableAccess(authenticator: loaded.authenticator, authorizer: loaded.authorizer)
        let reloadable = options.passwordFile != nil || options.aclFile != nil || options.policies != nil
        guard let pipelines = loadPipelines(options, logger) else { return 1 }
        guard applyMigrations(options, logger) else { return 1 }
        var streams: [String: DeliveryStream] = [:]
        let flowControl = FlowControl()
        for definition in pipelines.streams {
            do {
                let reason = DeliveryStream.pauseReason(definition.name)
                streams[definition.name] = try DeliveryStream(
                    config: definition.config, lakeRoot: options.dataDirectory + "/lake", journalRoot: options.dataDirectory + "/journal",
                    databasePath: options.dataDirectory + "/hydrant.sqlite",
                    log: { logger.warning($0) }, onDrained: { flowControl.resume(reason: reason) })
            } catch {
                logger.error("not starting: stream '\(definition.name)' (\(definition.location)): \(error)")
                return 1
            }
        }
        let injector = MessageInjector()
        let engine = RulesEngine(pipelines: pipelines, injector: injector, streams: streams, flowControl: flowControl, logger: logger)
        let server: BrokerServer
        var brokerConfig = options.broker
        brokerConfig.stateDirectory = options.persistence ? options.dataDirectory + "/state" : nil
        do {
            server = try BrokerServer(config: brokerConfig, logger: logger, tap: engine, injector: injector, flowControl: flowControl,
                authenticator: reloadable ? access.authenticator : nil, authorizer: reloadable ? access.authorizer : nil)
        } catch {
            logger.error("\(error)")
            return 1
        }
        let shutdownStarted = ShutdownClock()
        let waiter = Thread {
            var signal = hy_wait_shutdown_signal()
            while signal == SIGHUP {
                // Re-read the password, ACL and policy files; a file with errors is refused
                // and the ones in use stay. Connections stay; new rules apply at their next action.
                if let fresh = loadAccess(options, logger) {
                    access.replace(authenticator: fresh.authenticator, authorizer: fresh.authorizer)
                    logger.info("SIGHUP: access files reloaded")
                } else {
                    logger.error("SIGHUP: access files not reloaded; the ones loaded before stay in use")
                }
                signal = hy_wait_shutdown_signal()
            }
            logger.info("shutdown requested signal=\(signal == SIGTERM ? "SIGTERM" : "SIGINT") timeout=\(options.shutdownTimeout)s")
            shutdownStarted.started.store(hy_monotonic_ns(), ordering: .releasing)
            server.stop()
            // Watchdog: whatever still runs after the timeout (a stream retrying a failing
            // disk, say) is cut short. Nothing acknowledged is lost: it is in a journal.
            Thread.sleep(forTimeInterval: Double(options.shutdownTimeout))
            logger.error("shutdown did not finish within \(options.shutdownTimeout)s: exiting now; undelivered records stay in the journals and are delivered at the next start")
            _exit(1)
        }
        waiter.start()
        do {
            try server.run()
        } catch {
            logger.error("\(error)")
            return 1
        }
        // SIGTERM: every buffer becomes a file before exit, within what is left of the timeout.
        let started = shutdownStarted.started.load(ordering: .acquiring)
        for stream in streams.values {
            let spent = started == 0 ? 0 : Double(hy_monotonic_ns() - started) / 1e9
            stream.shutdown(timeout: max(0.1, Double(options.shutdownTimeout) - spent - 0.5))
            logger.info("stream flushed stream=\(stream.config.name) files_written=\(stream.metrics.filesWritten.load(ordering: .relaxed)) records_written=\(stream.metrics.recordsWritten.load(ordering: .relaxed))")
        }
        return 0
    }

    /// The password file, ACL file and policies of `options`, checked whole; nil (and every
    /// problem logged) when one has errors.
    static func loadAccess(_ options: RunOptions, _ logger: Logger) -> (authenticator: (any ClientAuthenticator)?, authorizer: (any ClientAuthorizer)?)? {
        var authenticator: (any ClientAuthenticator)?
        if let path = options.passwordFile {
            do throws(PasswordFile.Problems) {
                let file = try PasswordFile.load(path)
                authenticator = PasswordAuthenticator(file: file, allowAnonymous: options.allowAnonymous)
                logger.info("password file loaded path=\(path) users=\(file.users.count) anonymous=\(options.allowAnonymous ? "allowed" : "refused")")
            } catch {
                for problem in error.problems { logger.error("invalid password file: \(problem)") }
                logger.error("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in \(path)")
                return nil
            }
        }
        var authorizers: [any ClientAuthorizer] = []
        if let path = options.policies {
            do throws(PolicySet.Problems) {
                authorizers.append(PolicyAuthorizer(set: try PolicySet.load(path)))
                logger.info("IoT policies loaded path=\(path)")
            } catch {
                for problem in error.problems { logger.error("invalid policies: \(problem)") }
                logger.error("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in \(path)")
                return nil
            }
        }
        if let path = options.aclFile {
            do throws(AccessControlList.Problems) {
                authorizers.append(ACLAuthorizer(list: try AccessControlList.load(path)))
                logger.info("ACL file loaded path=\(path)")
            } catch {
                for problem in error.problems { logger.error("invalid ACL file: \(problem)") }
                logger.error("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in \(path)")
                return nil
            }
        }
        let authorizer: (any ClientAuthorizer)? = authorizers.isEmpty ? nil : authorizers.count == 1 ? authorizers[0] : AllOfAuthorizer(authorizers)
        return (authenticator, authorizer)
    }

    /// Pending migrations are applied at start; a failing or edited migration stops start-up.
    static func applyMigrations(_ options: RunOptions, _ logger: Logger) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.migrationsDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            if options.migrationsGiven {
                logger.error("not starting: migrations directory \(options.migrationsDirectory) does not exist")
                return false
            }
            return true
        }
        do throws(StorageError) {
            let runner = MigrationRunner(directory: options.migrationsDirectory, database: try Database(path: options.dataDirectory + "/hydrant.sqlite"))
            let applied = try runner.migrate(now: Migrations.now())
            for migration in applied { logger.info("migration applied name=\(migration.name)") }
            return true
        } catch {
            logger.error("not starting: \(error)")
            return false
        }
    }

    /// The daemon refuses to start on an invalid pipeline and names every problem.
    static func loadPipelines(_ options: RunOptions, _ logger: Logger) -> PipelineSet? {
        var isDirectory: ObjCBool = false
        if !options.pipelinesGiven && !FileManager.default.fileExists(atPath: options.pipelinesDirectory, isDirectory: &isDirectory) {
            logger.info("no pipelines directory at \(options.pipelinesDirectory): running without rules")
            return PipelineSet()
        }
        let pipelines: PipelineSet
        do {
            pipelines = try PipelineLoader.load(directory: options.pipelinesDirectory)
        } catch {
            for problem in error.problems { logger.error("invalid pipeline: \(problem)") }
            logger.error("not starting: \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in \(options.pipelinesDirectory)")
            return nil
        }
        logger.info("pipelines loaded directory=\(options.pipelinesDirectory) files=\(pipelines.files.count) rules=\(pipelines.rules.count) streams=\(pipelines.streams.count)")
        return pipelines
    }
}

/// When SIGTERM/SIGINT arrived (monotonic ns; 0 before), shared by the signal thread and main.
final class ShutdownClock: Sendable {
    let started = Atomic<UInt64>(0)
}
