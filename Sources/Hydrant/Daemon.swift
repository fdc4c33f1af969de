import Broker
import CSystem
import Foundation

/// `hydrant run`: the broker on the calling thread, SIGINT/SIGTERM for a clean stop.
public enum Daemon {
    /// Returns the process exit code.
    public static func run(_ options: RunOptions) -> Int32 {
        let logger = Logger(level: options.logLevel)
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
        let server: BrokerServer
        do {
            server = try BrokerServer(config: options.broker, logger: logger)
        } catch {
            logger.error("\(error)")
            return 1
        }
        let waiter = Thread {
            let signal = hy_wait_shutdown_signal()
            logger.info("shutdown requested signal=\(signal == SIGTERM ? "SIGTERM" : "SIGINT")")
            server.stop()
        }
        waiter.start()
        do {
            try server.run()
        } catch {
            logger.error("\(error)")
            return 1
        }
        return 0
    }
}
