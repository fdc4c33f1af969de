import CSystem
import MQTT

#if canImport(Glibc)
import Glibc
#endif

/// Failures of the raw test client.
public enum TestClientError: Error, CustomStringConvertible {
    case connectFailed(port: Int, errno: Int32)
    case timedOut(waitingFor: String)
    case closedByPeer
    case unexpected(Packet, expected: String)
    case decode(MQTTError)

    public var description: String {
        switch self {
        case let .connectFailed(port, code): return "cannot connect to 127.0.0.1:\(port): errno \(code)"
        case let .timedOut(what): return "timed out waiting for \(what)"
        case .closedByPeer: return "connection closed by the broker"
        case let .unexpected(packet, expected): return "expected \(expected), got \(packet)"
        case let .decode(error): return "undecodable bytes from broker: \(error)"
        }
    }
}

/// A raw MQTT client over a blocking socket, using the one `MQTT` codec. Tests send exact
/// bytes or packets and assert on every packet that comes back.
public final class TestClient {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var offset = 0
    /// Packets read while waiting for a specific acknowledgement, returned by `receive` later.
    private var stash: [Packet] = []
    private let decoder = PacketDecoder()
    private var nextId: UInt16 = 0
    /// The protocol version packets are encoded and decoded in (set by `connect`).
    public var version: ProtocolVersion

    public init(port: Int, host: String = "127.0.0.1", version: ProtocolVersion = .v311) throws {
        let fd = hy_connect_tcp(host, Int32(port), 2_000)
        guard fd >= 0 else { throw TestClientError.connectFailed(port: port, errno: errno) }
        self.fd = fd
        self.version = version
    }

    deinit { close(fd) }

    public func packetId() -> UInt16 {
        nextId = nextId == UInt16.max ? 1 : nextId + 1
        return nextId
    }

    public func sendRaw(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { hy_send(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    public func send(_ packet: Packet) { sendRaw(packet.encoded(version: version)) }

    /// The next packet, or an error after `timeout` seconds.
    public func receive(timeout: Double = 5) throws -> Packet {
        if !stash.isEmpty { return stash.removeFirst() }
        return try receiveFromSocket(timeout: timeout)
    }

    /// The next packet satisfying `matches`; other packets are kept for `receive`.
    public func receive(_ what: String, timeout: Double = 5, where matches: (Packet) -> Bool) throws -> Packet {
        if let index = stash.firstIndex(where: matches) { return stash.remove(at: index) }
        while true {
            let packet = try receiveFromSocket(timeout: timeout)
            if matches(packet) { return packet }
            stash.append(packet)
        }
    }

    private func receiveFromSocket(timeout: Double) throws -> Packet {
        let deadline = hy_monotonic_ns() + UInt64(timeout * 1e9)
        while true {
            switch try decodeBuffered() {
            case let .packet(packet, consumed):
                offset += consumed
                if offset == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    offset = 0
                }
                return packet
            case .needMoreData:
                break
            }
            let now = hy_monotonic_ns()
            guard now < deadline else { throw TestClientError.timedOut(waitingFor: "a packet") }
            if try readMore(timeoutMs: Int32(max(1, (deadline - now) / 1_000_000))) == false {
                throw TestClientError.closedByPeer
            }
        }
    }

    private func decodeBuffered() throws -> PacketDecoder.Result {
        let outcome = buffer.withUnsafeBytes { raw in
            Result { () throws(MQTTError) -> PacketDecoder.Result in
                try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset...]), version: version)
            }
        }
        do { return try outcome.get() } catch { throw TestClientError.decode(error) }
    }

    /// Reads once; false when the peer closed the connection.
    private func readMore(timeoutMs: Int32) throws -> Bool {
        _ = hy_set_recv_timeout(fd, timeoutMs)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            if offset > 0 {
                buffer.removeFirst(offset)
                offset = 0
            }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        if n == 0 { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return true }
        return false  // ECONNRESET and friends: closed
    }

    /// True when the broker closes the connection within `timeout` seconds (any packets
    /// before the close are skipped).
    public func waitForClose(timeout: Double = 5) -> Bool {
        let deadline = hy_monotonic_ns() + UInt64(timeout * 1e9)
        while hy_monotonic_ns() < deadline {
            guard let open = try? readMore(timeoutMs: 100) else { return true }
            if !open { return true }
            buffer.removeAll()
            offset = 0
        }
        return false
    }

    /// Asserts silence: throws if a packet arrives within `seconds`.
    public func expectNothing(for seconds: Double = 0.3) throws {
        do {
            let packet = try receive(timeout: seconds)
            throw TestClientError.unexpected(packet, expected: "no packet")
        } catch TestClientError.timedOut {
            return
        }
    }

    // MARK: - Protocol conveniences

    @discardableResult
    public func connect(
        clientId: String, cleanSession: Bool = true, keepAlive: UInt16 = 60, will: Connect.Will? = nil, properties: Properties = Properties()
    ) throws -> ConnAck {
        send(.connect(Connect(version: version, clientId: clientId, cleanSession: cleanSession, keepAlive: keepAlive, will: will, properties: properties)))
        let packet = try receive()
        guard case let .connack(ack) = packet else { throw TestClientError.unexpected(packet, expected: "CONNACK") }
        return ack
    }

    @discardableResult
    public func subscribe(_ filters: [(String, QoS)]) throws -> [UInt8] {
        try subscribe(filters.map { .init(filter: $0.0, qos: $0.1) })
    }

    /// SUBSCRIBE with full options (MQTT 5) and properties; returns the SUBACK's codes.
    @discardableResult
    public func subscribe(_ requests: [Subscribe.Request], properties: Properties = Properties()) throws -> [UInt8] {
        let id = packetId()
        send(.subscribe(Subscribe(packetId: id, requests: requests, properties: properties)))
        let packet = try receive("SUBACK \(id)") { if case .suback = $0 { return true } else { return false } }
        guard case let .suback(ack) = packet, ack.packetId == id else {
            throw TestClientError.unexpected(packet, expected: "SUBACK \(id)")
        }
        return ack.returnCodes
    }

    @discardableResult
    public func subscribe(_ filter: String, qos: QoS = .atMostOnce) throws -> UInt8 {
        try subscribe([(filter, qos)])[0]
    }

    public func unsubscribe(_ filters: [String]) throws {
        let id = packetId()
        send(.unsubscribe(Unsubscribe(packetId: id, filters: filters)))
        let packet = try receive("UNSUBACK \(id)") { if case .unsuback = $0 { return true } else { return false } }
        guard case let .unsuback(ack) = packet, ack.packetId == id else { throw TestClientError.unexpected(packet, expected: "UNSUBACK \(id)") }
    }

    /// Publishes and completes the QoS handshake.
    public func publish(_ topic: String, _ payload: String, qos: QoS = .atMostOnce, retain: Bool = false, properties: Properties = Properties()) throws {
        let id = qos == .atMostOnce ? nil : packetId()
        send(.publish(Publish(topic: topic, payload: Array(payload.utf8), qos: qos, retain: retain, packetId: id, properties: properties)))
        switch qos {
        case .atMostOnce:
            return
        case .atLeastOnce:
            _ = try receive("PUBACK \(id!)") { $0 == .puback(packetId: id!) }
        case .exactlyOnce:
            _ = try receive("PUBREC \(id!)") { $0 == .pubrec(packetId: id!) }
            send(.pubrel(packetId: id!))
            _ = try receive("PUBCOMP \(id!)") { $0 == .pubcomp(packetId: id!) }
        }
    }

    /// The next PUBLISH (acknowledging it per its QoS unless `acknowledge` is false).
    public func receivePublish(timeout: Double = 5, acknowledge: Bool = true) throws -> Publish {
        let packet = try receive(timeout: timeout)
        guard case let .publish(publish) = packet else { throw TestClientError.unexpected(packet, expected: "PUBLISH") }
        if acknowledge, let id = publish.packetId {
            if publish.qos == .atLeastOnce {
                send(.puback(packetId: id))
            } else {
                send(.pubrec(packetId: id))
                _ = try receive("PUBREL \(id)", timeout: timeout) { $0 == .pubrel(packetId: id) }
                send(.pubcomp(packetId: id))
            }
        }
        return publish
    }

    public func disconnect() { send(.disconnect) }

    /// Drops the TCP connection without DISCONNECT (an abnormal close, as a crash would).
    public func dropConnection() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Makes the kernel buffer little, to play a slow subscriber.
    public func shrinkReceiveBuffer() { _ = hy_set_recv_buffer(fd, 65_536) }
}

extension Publish {
    /// The payload as UTF-8 text (test assertions).
    public var text: String { String(decoding: payload, as: UTF8.self) }
}
