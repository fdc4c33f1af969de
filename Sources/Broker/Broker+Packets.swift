import MQTT

/// Packet dispatch: only a switch on the packet type (Mosquitto's read_handle.c).
extension Broker {
    func handle(_ packet: Packet, from connection: Connection) {
        // Output answering a packet whose handling changed durable state (a new persistent
        // session's CONNACK, a SUBACK, a PUBCOMP…) waits for the state's commit.
        let mark = ledger.appends
        let start = connection.outbound.count
        dispatch(packet, from: connection)
        if ledger.appends != mark && !connection.closed { holdOutput(connection, from: min(start, connection.outbound.count)) }
    }

    private func dispatch(_ packet: Packet, from connection: Connection) {
        guard let session = connection.session else {
            // [MQTT-3.1.0-1]: the first packet must be CONNECT.
            guard case let .connect(connect) = packet else {
                protocolError(.protocolViolation("first packet is \(packet.type), not CONNECT"), on: connection)
                return
            }
            handleConnect(connect, on: connection)
            return
        }
        switch packet {
        case let .publish(publish): handlePublish(publish, from: connection, session: session)
        case let .ack(ack):
            switch ack.type {
            case .puback: handlePubAck(ack.packetId, from: connection, session: session)
            case .pubrec: handlePubRec(ack, from: connection, session: session)
            case .pubrel: handlePubRel(ack.packetId, from: connection, session: session)
            default: handlePubComp(ack.packetId, from: connection, session: session)
            }
        case let .subscribe(subscribe): handleSubscribe(subscribe, from: connection, session: session)
        case let .unsubscribe(unsubscribe): handleUnsubscribe(unsubscribe, from: connection, session: session)
        case .pingreq: send(.pingresp, to: connection)
        case let .disconnect(disconnect):
            handleDisconnect(disconnect, from: connection, session: session)
        case .connect:
            // [MQTT-3.1.0-2]: a second CONNECT is a protocol violation.
            protocolError(.protocolViolation("second CONNECT"), on: connection)
        case .auth:
            protocolError(.protocolViolation("AUTH without an authentication method"), on: connection)
        case .connack, .suback, .unsuback, .pingresp:
            protocolError(.protocolViolation("\(packet.type) is sent only by servers"), on: connection)
        }
    }
}
