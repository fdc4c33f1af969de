import Durable
import CSystem
import MQTT

#if canImport(Glibc)
import Glibc
#endif

/// Sockets: accept, read and frame, buffered writes, close.
extension Broker {
    func acceptConnections(on listenFD: Int32) {
        var peerBuffer = [CChar](repeating: 0, count: 64)
        // Bounded so a connection storm cannot starve clients that are already connected.
        for _ in 0..<256 {
            let fd = hy_accept(listenFD, &peerBuffer, Int32(peerBuffer.count))
            if fd < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    logger.warning("accept failed: \(SystemError.message(errno))")
                }
                return
            }
            let peer = String(decoding: peerBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if config.maxConnectionsPerSecondPerAddress > 0 && !admitByRate(peer) {
                close(fd)
                continue
            }
            if stats.clientsConnected + pendingConnections() >= config.maxConnections {
                stats.connectionsRefused += 1
                logger.warning("connection refused peer=\(peer) reason=max-connections limit=\(config.maxConnections)")
                close(fd)
                continue
            }
            _ = hy_set_nodelay(fd)
            let slot: Int
            if let free = freeSlots.popLast() {
                slot = free
            } else {
                slot = slots.count
                slots.append(nil)
            }
            generation &+= 1
            let token = (generation & 0x7FFF_FFFF) << 32 | UInt64(slot)
            let connection = Connection(fd: fd, token: token, peer: peer, now: hy_monotonic_ns())
            guard hy_epoll_add(epollFD, fd, UInt32(HY_EPOLLIN | HY_EPOLLRDHUP), token) == 0 else {
                logger.warning("epoll_ctl failed peer=\(peer): \(SystemError.message(errno))")
                close(fd)
                freeSlots.append(slot)
                continue
            }
            slots[slot] = connection
            logger.debug("connection accepted peer=\(peer)")
        }
    }

    /// `--max-connections-per-second-per-address`: false (and counted) when this address
    /// already opened that many connections in the current second.
    private func admitByRate(_ peer: String) -> Bool {
        let address = peer.lastIndex(of: ":").map { String(peer[..<$0]) } ?? peer
        let now = hy_monotonic_ns()
        let second = now / 1_000_000_000
        if connectRates.count > 100_000 { connectRates.removeAll(keepingCapacity: true) }
        var entry = connectRates[address] ?? (second, 0, 0)
        if entry.second != second { entry = (second, 0, entry.loggedAt) }
        entry.count += 1
        defer { connectRates[address] = entry }
        guard entry.count > config.maxConnectionsPerSecondPerAddress else { return true }
        stats.connectionsRefused += 1
        if now - entry.loggedAt > 10_000_000_000 || entry.loggedAt == 0 {
            entry.loggedAt = now
            logger.warning("connections refused address=\(address) reason=rate limit=\(config.maxConnectionsPerSecondPerAddress)/s (logged once per 10 s)")
        }
        return false
    }

    /// Connections accepted but not yet through CONNECT (counted against the limit too).
    private func pendingConnections() -> Int {
        (slots.count - freeSlots.count) - stats.clientsConnected
    }

    func handleEvent(token: UInt64, events: UInt32) {
        guard let connection = connection(for: token) else { return }
        if events & UInt32(HY_EPOLLIN) != 0 {
            readAvailable(connection)
        } else if events & UInt32(HY_EPOLLERR | HY_EPOLLHUP) != 0 {
            closeConnection(connection, reason: "connection reset", publishWill: true)
            return
        }
        if !connection.closed, events & UInt32(HY_EPOLLOUT) != 0 {
            flush(connection)
        }
    }

    /// One read per readiness event (level-triggered), so a busy publisher cannot starve
    /// the others; what is left is read on the next round.
    private func readAvailable(_ connection: Connection) {
        let count = read(connection.fd, readBuffer.baseAddress, readBuffer.count)
        if count == 0 {
            closeConnection(connection, reason: "connection closed by client", publishWill: true)
            return
        }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            closeConnection(connection, reason: "read error: \(SystemError.message(errno))", publishWill: true)
            return
        }
        stats.bytesReceived += UInt64(count)
        connection.lastReceivedAt = hy_monotonic_ns()
        let fresh = UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])
        if connection.inbound.isEmpty {
            let consumed = process(fresh, on: connection)
            if !connection.closed && consumed < count {
                connection.inbound.append(contentsOf: fresh[consumed...])
            }
        } else {
            // Moved out while handlers run: closing the connection resets `inbound`.
            var buffered = connection.inbound
            connection.inbound = []
            buffered.append(contentsOf: fresh)
            let consumed = buffered.withUnsafeBytes { process($0, on: connection) }
            if !connection.closed {
                buffered.removeFirst(consumed)
                connection.inbound = buffered
            }
        }
    }

    /// Decodes and handles every complete packet in `bytes`; returns the bytes consumed.
    private func process(_ bytes: UnsafeRawBufferPointer, on connection: Connection) -> Int {
        var offset = 0
        while !connection.closed && offset < bytes.count {
            do {
                let decoder = connection.isConnected ? self.decoder : connectDecoder
                switch try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...]), version: connection.version) {
                case .needMoreData:
                    return offset
                case let .packet(packet, consumed):
                    offset += consumed
                    handle(packet, from: connection)
                }
            } catch {
                protocolError(error, on: connection)
                return offset
            }
        }
        return offset
    }

    /// Queues bytes for the socket; they go out in one write after the current batch.
    @inline(__always)
    func send(_ connection: Connection, _ build: (inout [UInt8]) -> Void) {
        let before = connection.outbound.count
        build(&connection.outbound)
        stats.bytesSent += UInt64(connection.outbound.count - before)
        if !connection.needsFlush && !connection.waitingForWritable {
            connection.needsFlush = true
            flushList.append(connection)
        }
    }

    func send(_ packet: Packet, to connection: Connection) {
        let version = connection.version
        send(connection) { packet.encode(into: &$0, version: version) }
    }

    /// MQTT 5: a DISCONNECT with `reason` (and, if the client asked for problem
    /// information, a reason string) before the connection closes (§3.14, §4.13).
    func sendDisconnect(_ reason: ReasonCode, _ explanation: String, to connection: Connection) {
        guard connection.version == .v5, connection.isConnected else { return }
        var properties = Properties()
        if connection.wantsProblemInformation { properties.reasonString = explanation }
        send(.disconnect(Disconnect(reasonCode: reason, properties: properties)), to: connection)
        flush(connection)
    }

    /// The end of an event-loop round (and of a tick): the tap hands over what the round's
    /// publishes produced, then state and output go out.
    func endRound() {
        tap?.roundEnded()
        flushPending()
    }

    func flushPending() {
        submitState()
        flushConnections()
    }

    /// Writes the output of every connection that has some (see `flushPending`).
    func flushConnections() {
        var index = 0
        // Flushing may pump session queues, which can schedule more flushes.
        while index < flushList.count {
            let connection = flushList[index]
            index += 1
            connection.needsFlush = false
            if !connection.closed { flush(connection) }
        }
        flushList.removeAll(keepingCapacity: true)
    }

    /// Writes as much of the buffer as the kernel takes; waits for EPOLLOUT for the rest.
    func flush(_ connection: Connection) {
        // Bytes that depend on state not yet durable stay (Broker+State).
        let end = connection.holds.first?.offset ?? connection.outbound.count
        let pending = end - connection.outboundOffset
        guard pending > 0 else {
            if connection.waitingForWritable { setWritableInterest(connection, false) }
            return
        }
        let written = connection.outbound.withUnsafeBytes { raw in
            hy_send(connection.fd, raw.baseAddress! + connection.outboundOffset, pending)
        }
        if written < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK {
                if !connection.waitingForWritable { setWritableInterest(connection, true) }
                return
            }
            closeConnection(connection, reason: "write error: \(SystemError.message(errno))", publishWill: true)
            return
        }
        if written == connection.pendingBytes {
            connection.shiftHolds(by: connection.outbound.count)
            connection.outboundOffset = 0
            if connection.outbound.capacity > 4 * config.maxWriteBuffer {
                connection.outbound = []  // give a burst's memory back
            } else {
                connection.outbound.removeAll(keepingCapacity: true)
            }
            if connection.waitingForWritable { setWritableInterest(connection, false) }
            // Room again: QoS 1/2 messages held back by a full buffer can go out now.
            if let session = connection.session, !session.queue.isEmpty { pumpQueue(session) }
        } else {
            connection.outboundOffset += written
            if connection.outboundOffset > connection.outbound.count / 2 {
                connection.outbound.removeFirst(connection.outboundOffset)
                connection.shiftHolds(by: connection.outboundOffset)
                connection.outboundOffset = 0
            }
            // The kernel buffer is full only if it took less than was offered.
            if written < pending {
                if !connection.waitingForWritable { setWritableInterest(connection, true) }
            } else if connection.waitingForWritable {
                setWritableInterest(connection, false)
            }
        }
    }

    private func setWritableInterest(_ connection: Connection, _ enabled: Bool) {
        connection.waitingForWritable = enabled
        updateEvents(connection)
    }

    /// Registers the events the connection waits for: reading, and writing while its kernel
    /// buffer is full. A connection paused by flow control leaves epoll altogether: with
    /// level-triggered epoll a peer's close (RDHUP/HUP) would otherwise be reported over and
    /// over, and its unread data must still be read before the close is handled.
    func updateEvents(_ connection: Connection) {
        if !connection.pausedFor.isEmpty {
            if connection.registered {
                _ = hy_epoll_del(epollFD, connection.fd)
                connection.registered = false
            }
            return
        }
        var events = UInt32(HY_EPOLLIN | HY_EPOLLRDHUP)
        if connection.waitingForWritable { events |= UInt32(HY_EPOLLOUT) }
        if connection.registered {
            _ = hy_epoll_mod(epollFD, connection.fd, events, connection.token)
        } else {
            _ = hy_epoll_add(epollFD, connection.fd, events, connection.token)
            connection.registered = true
        }
    }

    /// Applies flow-control pauses and resumes.
    func applyFlowControl(_ changes: [FlowControl.Change]) {
        for change in changes {
            switch change {
            case let .pause(token, reason):
                guard let connection = connection(for: token), !connection.pausedFor.contains(reason) else { continue }
                connection.pausedFor.insert(reason)
                stats.publishersPaused += 1
                logger.warning("publisher paused client=\(connection.clientId) reason=\"\(reason)\"")
                updateEvents(connection)
            case let .resume(reason):
                for case let connection? in slots where connection.pausedFor.contains(reason) {
                    connection.pausedFor.remove(reason)
                    if connection.pausedFor.isEmpty {
                        // Time spent paused is not silence: restart the keepalive clock.
                        connection.lastReceivedAt = hy_monotonic_ns()
                        logger.info("publisher resumed client=\(connection.clientId) reason=\"\(reason)\"")
                        updateEvents(connection)
                    }
                }
            }
        }
    }

    /// A client broke the protocol: §4.8 says close the network connection. The will is
    /// published ([MQTT-3.1.2-8]: closed "due to a protocol error").
    func protocolError(_ error: MQTTError, on connection: Connection) {
        if case .unacceptableProtocol = error, !connection.isConnected {
            // [MQTT-3.1.2-2]: CONNACK 0x01, then close.
            send(.connack(ConnAck(sessionPresent: false, returnCode: .unacceptableProtocolVersion)), to: connection)
            flush(connection)
        }
        // MQTT 5 (§4.13.1): the reason code first, on a DISCONNECT.
        sendDisconnect(ReasonCode(error.reasonCode), "\(error)", to: connection)
        closeConnection(connection, reason: "\(error) (reason 0x\(String(error.reasonCode, radix: 16)))", publishWill: true, level: .warning)
    }

    /// Closes the socket and ends the connection's hold on its session. A clean session
    /// ends with it (§3.1.2.4); the will is published unless the client sent DISCONNECT.
    func closeConnection(_ connection: Connection, reason: String, publishWill: Bool, level: Logger.Level = .info) {
        guard !connection.closed else { return }
        connection.closed = true
        close(connection.fd)
        let slot = Int(connection.token & 0xFFFF_FFFF)
        slots[slot] = nil
        freeSlots.append(slot)
        connection.inbound = []
        connection.outbound = []
        guard let session = connection.session else {
            logger.log(level, "connection closed \(connection.logName) reason=\"\(reason)\"")
            return
        }
        stats.clientsConnected -= 1
        if connection.version == .v5 { stats.clientsConnectedV5 -= 1 }
        logger.log(level, "client disconnected \(connection.logName) reason=\"\(reason)\"")
        let owner = session.connection === connection
        if publishWill, let will = connection.will {
            connection.will = nil
            if owner && connection.willDelay > 0 && !session.clean {
                // §3.1.3.2.2: at the earlier of the delay and the session's end.
                session.pendingWill = (will, wallClockMillis() + Int64(min(connection.willDelay, session.expiryInterval)) * 1000)
                timedSessions.insert(ObjectIdentifier(session))
                logger.info("will delayed client=\(connection.clientId) topic=\(will.topic) delay=\(connection.willDelay)s")
            } else {
                sendWill(will, of: session)
            }
        }
        if owner {
            session.connection = nil
            if !session.clean { redistributeShared(from: session, includingInflight: false) }
            if session.clean {
                endSession(session)
            } else if session.expiryInterval != UInt32.max {
                // MQTT 5: the session expires this many seconds from now (also across restarts).
                let deadline = wallClockMillis() + Int64(session.expiryInterval) * 1000
                session.expiresAt = deadline
                timedSessions.insert(ObjectIdentifier(session))
                ledger.expiry(session, interval: session.expiryInterval, deadline: (deadline + 999) / 1000)
            }
        }
    }

    /// A will goes out if its client may publish to its topic (checked when sent).
    func sendWill(_ will: Message, of session: Session) {
        if let permissions = session.permissions, !permissions.allows(.publish(will.topic)) {
            logger.info("will not published client=\(session.clientId) topic=\(will.topic) reason=not-authorized")
            return
        }
        logger.info("will published client=\(session.clientId) topic=\(will.topic) qos=\(will.qos.rawValue) retain=\(will.retain)")
        accept(will)
    }
}
