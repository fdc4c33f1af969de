/// Listener and limits of one broker. Defaults follow Mosquitto's where it has one and
/// EMQX's where Mosquitto has none (max packet size).
public struct BrokerConfig: Sendable, Hashable {
    /// One listening socket.
    public struct Listener: Sendable, Hashable {
        public var host: String
        /// 0 picks an ephemeral port (tests); `BrokerServer.ports` tells which.
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public var host: String = "127.0.0.1"
    /// 0 picks an ephemeral port (tests); `BrokerServer.port` tells which.
    public var port: Int = 1883
    /// Several listeners (the config file's `listeners`); empty: one on `host`:`port`.
    public var listeners: [Listener] = []

    /// What the broker listens on.
    public var effectiveListeners: [Listener] { listeners.isEmpty ? [Listener(host: host, port: port)] : listeners }
    /// Largest accepted packet, fixed header included (EMQX: 1 MiB). Larger ones close the
    /// connection before their body is read.
    public var maxPacketSize: Int = 1 << 20
    /// Unacknowledged outgoing QoS 1/2 PUBLISHes per client. Mosquitto uses 20; measured
    /// here (docs/benchmarks.md), 20 caps one QoS 1 subscriber at ~70k msgs/s and overflows
    /// its queue under fan-in, 1000 keeps it lossless at >1M msgs/s.
    public var maxInflight: Int = 1000
    /// QoS 1/2 messages queued per session beyond the in-flight window, online or offline
    /// (Mosquitto: 1000). Messages beyond it are dropped, counted and logged.
    public var maxQueuedMessages: Int = 1000
    /// Open client connections; further connections are closed right after accept.
    public var maxConnections: Int = 10_000
    /// Bytes waiting in one connection's write buffer before QoS 0 messages to it are
    /// dropped (and counted) and QoS 1/2 ones wait in its session queue.
    public var maxWriteBuffer: Int = 1 << 20
    /// Seconds between $SYS updates; 0 disables them.
    public var sysInterval: Int = 10
    /// Where broker state lives (retained messages); nil keeps it in memory only.
    public var stateDirectory: String?
    /// Seconds a connection may stay open without sending CONNECT.
    public var connectTimeout: Int = 10
    /// On stop: seconds to wait for acknowledgements still held by streams or state
    /// commits (reading and accepting stop at once), before connections are closed.
    public var shutdownGrace: Double = 10
    /// The session log is considered for compaction once it passes this size (and then four
    /// times its size after the last compaction); it is rewritten only when mostly history.
    public var sessionLogCompactBytes: Int = 64 << 20
    /// The longest keep alive a client may ask for (Mosquitto's `max_keepalive`, 65535);
    /// an MQTT 5 client asking for more, or for 0, gets Server Keep Alive with this value
    /// (§3.2.2.3.14). 3.1.1 has no way to say so: its value is kept.
    public var maxKeepAlive: Int = 65_535
    /// Topic names and filters deeper than this are refused (Mosquitto's limit), so no
    /// client makes the topic trees recurse 65,535 levels deep.
    public var maxTopicLevels: Int = 200
    /// MQTT 5 Topic Alias Maximum the broker accepts from a client (Mosquitto: 10).
    public var maxTopicAlias: Int = 10
    /// MQTT 5 Receive Maximum of the broker (§3.2.2.3.3): unacknowledged QoS 1/2
    /// PUBLISHes a client may have towards it; one more gets DISCONNECT 0x93.
    public var receiveMaximum: Int = 65_535
    /// Until its CONNECT is accepted a connection may send one packet of at most this many
    /// bytes: an unauthenticated client cannot make the broker buffer a megabyte.
    public var maxConnectPacket: Int = 64 << 10
    /// New connections accepted per second from one address (0: no limit); the rest are
    /// closed at accept, with one log line per address per 10 s.
    public var maxConnectionsPerSecondPerAddress: Int = 0

    public init() {}
}
