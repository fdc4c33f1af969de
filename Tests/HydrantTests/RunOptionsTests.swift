import Broker
import Hydrant
import Testing

@Suite struct RunOptionsTests {
    @Test func defaultsAreLoopbackAndMosquittoLike() throws {
        let options = try RunOptions.parse([])
        #expect(options.broker.host == "127.0.0.1")
        #expect(options.broker.port == 1883)
        #expect(options.dataDirectory == "./data")
        #expect(options.logLevel == .info)
        #expect(options.broker.sysInterval == 10)
        #expect(options.broker.maxQueuedMessages == 1000)
    }

    @Test func everyFlagInBothSpellings() throws {
        let options = try RunOptions.parse([
            "--host", "0.0.0.0", "--port=1884", "--data", "/tmp/d", "--log-level=debug", "--sys-interval", "0",
            "--max-packet-size", "2048", "--max-inflight=5", "--max-queued", "7", "--max-connections", "9",
            "--max-write-buffer", "4096",
        ])
        #expect(options.broker.host == "0.0.0.0")
        #expect(options.broker.port == 1884)
        #expect(options.dataDirectory == "/tmp/d")
        #expect(options.logLevel == .debug)
        #expect(options.broker.sysInterval == 0)
        #expect(options.broker.maxPacketSize == 2048)
        #expect(options.broker.maxInflight == 5)
        #expect(options.broker.maxQueuedMessages == 7)
        #expect(options.broker.maxConnections == 9)
        #expect(options.broker.maxWriteBuffer == 4096)
    }

    /// Issue #13's fixed interface: the MQTT 5 limits, Mosquitto's defaults.
    @Test func mqtt5Limits() throws {
        let defaults = try RunOptions.parse([])
        #expect(defaults.broker.maxKeepAlive == 65_535)
        #expect(defaults.broker.maxTopicLevels == 200)
        #expect(defaults.broker.maxTopicAlias == 10)
        #expect(defaults.broker.receiveMaximum == 65_535)
        let options = try RunOptions.parse(["--max-keepalive", "60", "--max-topic-levels=8", "--max-topic-alias", "0", "--receive-maximum", "20"])
        #expect(options.broker.maxKeepAlive == 60)
        #expect(options.broker.maxTopicLevels == 8)
        #expect(options.broker.maxTopicAlias == 0)
        #expect(options.broker.receiveMaximum == 20)
        #expect(throws: UsageError(message: "--receive-maximum must be an integer in 1...65535, got '0'", usage: RunOptions.usage)) {
            try RunOptions.parse(["--receive-maximum", "0"])
        }
        #expect(throws: UsageError(message: "--max-keepalive must be an integer in 1...65535, got '70000'", usage: RunOptions.usage)) {
            try RunOptions.parse(["--max-keepalive", "70000"])
        }
    }

    @Test(arguments: [
        (["--port", "65536"], "--port must be an integer in 0...65535, got '65536'"),
        (["--port", "-1"], "--port must be an integer in 0...65535, got '-1'"),
        (["--max-inflight", "0"], "--max-inflight must be an integer in 1...65535, got '0'"),
        (["--max-packet-size"], "--max-packet-size needs a value"),
        (["--log-level", "verbose"], "--log-level must be debug, info, warning or error, got 'verbose'"),
        (["--host", ""], "--host must not be empty"),
        (["--nope"], "unknown option '--nope'"),
        (["stray"], "unexpected argument 'stray'"),
    ])
    func errorsNameTheFlagAndValue(_ arguments: [String], _ message: String) {
        #expect(throws: UsageError(message: message, usage: RunOptions.usage)) { try RunOptions.parse(arguments) }
    }

    @Test func commandExitCodes() {
        #expect(HydrantCommand.main(["--version"]) == 0)
        #expect(HydrantCommand.main(["run", "--port", "x"]) == 2)
        #expect(HydrantCommand.main(["unknown"]) == 2)
    }
}
