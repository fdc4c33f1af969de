import MQTT

/// One change to the persistent-session state, as the session log stores it (one journal
/// frame each; the journal adds length, CRC-32 and sequence). Encoding: a kind byte, then
/// fields as LEB128 varints, length-prefixed strings and byte strings.
///
/// Only persistent sessions (CleanSession=0) are logged: a clean session ends with its
/// connection, so a crash ends it too (§3.1.2.4). Messages are stored once (`message`) and
/// referenced by id from every session queue and in-flight window they are in.
enum StateRecord: Equatable {
    /// Starts a snapshot: replay builds a fresh state from here and adopts it at
    /// `snapshotEnd`, so a torn compaction never replaces a good state with half a one.
    /// The first record of every log is one; it carries the format version.
    case snapshotBegin(version: UInt32)
    case snapshotEnd
    case sessionOpen(session: UInt64, clientId: String)
    /// A persistent session discarded (a CleanSession=1 CONNECT with its client id).
    case sessionEnd(session: UInt64)
    case subscribe(session: UInt64, filter: String, qos: QoS)
    case unsubscribe(session: UInt64, filter: String)
    case message(id: UInt64, topic: String, qos: QoS, retain: Bool, payload: [UInt8])
    /// Appended to the session's queue (offline, or its in-flight window is full).
    case enqueue(session: UInt64, message: UInt64, qos: QoS, retain: Bool)
    /// Sent with `packetId`: now in the in-flight window; `fromQueue` when it was the head
    /// of the queue (otherwise it went out directly).
    case inflight(session: UInt64, message: UInt64, qos: QoS, retain: Bool, packetId: UInt16, fromQueue: Bool)
    /// PUBREC received for an outgoing QoS 2 message: PUBREL is what is resent now.
    case pubrecReceived(session: UInt64, packetId: UInt16)
    /// PUBACK or PUBCOMP received: the outgoing message is done.
    case completed(session: UInt64, packetId: UInt16)
    /// Incoming QoS 2 PUBLISH routed, PUBREC (about to be) sent (§4.3.3 method B), with
    /// the records it left in other logs (stream journals): after a restart, a resent
    /// PUBLISH goes again to exactly the logs that lost it. nil: written by format 1,
    /// which did not know (the message is offered to every log again).
    case incomingQoS2(session: UInt64, packetId: UInt16, marks: [LogMark]?)
    /// PUBREL received for it.
    case incomingReleased(session: UInt64, packetId: UInt16)
    /// Format 3 (MQTT 5): a subscription with options beyond its QoS.
    case subscribeOptions(session: UInt64, filter: String, options: SubscriptionOptions)
    /// Format 3: a message with MQTT 5 properties (their encoded body) or an expiry.
    case message5(id: UInt64, topic: String, qos: QoS, retain: Bool, payload: [UInt8], properties: [UInt8], expiryInterval: UInt32?, receivedAt: Int64)
    /// Format 3: a queued message left the queue unsent (expired, or too large for the client).
    case dequeued(session: UInt64, message: UInt64)
    /// Format 3: the session's expiry interval (seconds) and, once its connection closed,
    /// the wall-clock second it ends (0: connected when written).
    case sessionExpiry(session: UInt64, interval: UInt32, deadline: Int64)

    /// 2: incoming QoS 2 ids carry their log marks (`incomingQoS2Marked`). 3: MQTT 5
    /// subscription options, message properties and expiry, session expiry.
    static let formatVersion: UInt32 = 3

    private enum Kind: UInt8 {
        case snapshotBegin = 1, snapshotEnd, sessionOpen, sessionEnd, subscribe, unsubscribe, message, enqueue, inflight, pubrecReceived, completed, incomingQoS2, incomingReleased
        case incomingQoS2Marked
        case subscribeOptions, message5, dequeued, sessionExpiry
    }

    func encode(into out: inout [UInt8]) {
        switch self {
        case let .snapshotBegin(version):
            out.append(Kind.snapshotBegin.rawValue)
            Self.putVarint(UInt64(version), &out)
        case .snapshotEnd:
            out.append(Kind.snapshotEnd.rawValue)
        case let .sessionOpen(session, clientId):
            out.append(Kind.sessionOpen.rawValue)
            Self.putVarint(session, &out)
            Self.putBytes(Array(clientId.utf8), &out)
        case let .sessionEnd(session):
            out.append(Kind.sessionEnd.rawValue)
            Self.putVarint(session, &out)
        case let .subscribe(session, filter, qos):
            out.append(Kind.subscribe.rawValue)
            Self.putVarint(session, &out)
            out.append(qos.rawValue)
            Self.putBytes(Array(filter.utf8), &out)
        case let .unsubscribe(session, filter):
            out.append(Kind.unsubscribe.rawValue)
            Self.putVarint(session, &out)
            Self.putBytes(Array(filter.utf8), &out)
        case let .message(id, topic, qos, retain, payload):
            out.append(Kind.message.rawValue)
            Self.putVarint(id, &out)
            out.append(qos.rawValue | (retain ? 0x80 : 0))
            Self.putBytes(Array(topic.utf8), &out)
            Self.putBytes(payload, &out)
        case let .enqueue(session, message, qos, retain):
            out.append(Kind.enqueue.rawValue)
            Self.putVarint(session, &out)
            Self.putVarint(message, &out)
            out.append(qos.rawValue | (retain ? 0x80 : 0))
        case let .inflight(session, message, qos, retain, packetId, fromQueue):
            out.append(Kind.inflight.rawValue)
            Self.putVarint(session, &out)
            Self.putVarint(message, &out)
            out.append(qos.rawValue | (retain ? 0x80 : 0) | (fromQueue ? 0x40 : 0))
            Self.putVarint(UInt64(packetId), &out)
        case let .pubrecReceived(session, packetId):
            Self.putSessionPacket(.pubrecReceived, session, packetId, &out)
        case let .completed(session, packetId):
            Self.putSessionPacket(.completed, session, packetId, &out)
        case let .incomingQoS2(session, packetId, marks?):
            Self.putSessionPacket(.incomingQoS2Marked, session, packetId, &out)
            Self.putVarint(UInt64(marks.count), &out)
            for mark in marks {
                Self.putBytes(Array(mark.log.utf8), &out)
                Self.putVarint(mark.first, &out)
                Self.putVarint(mark.last, &out)
            }
        case let .incomingQoS2(session, packetId, nil):
            Self.putSessionPacket(.incomingQoS2, session, packetId, &out)
        case let .incomingReleased(session, packetId):
            Self.putSessionPacket(.incomingReleased, session, packetId, &out)
        case let .subscribeOptions(session, filter, options):
            out.append(Kind.subscribeOptions.rawValue)
            Self.putVarint(session, &out)
            out.append(options.qos.rawValue | (options.noLocal ? 0x04 : 0) | (options.retainAsPublished ? 0x08 : 0) | options.retainHandling << 4)
            Self.putVarint(UInt64(options.identifier ?? 0), &out)
            Self.putBytes(Array(filter.utf8), &out)
        case let .message5(id, topic, qos, retain, payload, properties, expiryInterval, receivedAt):
            out.append(Kind.message5.rawValue)
            Self.putVarint(id, &out)
            out.append(qos.rawValue | (retain ? 0x80 : 0) | (expiryInterval != nil ? 0x40 : 0))
            Self.putBytes(Array(topic.utf8), &out)
            if let expiryInterval {
                Self.putVarint(UInt64(expiryInterval), &out)
                Self.putVarint(UInt64(bitPattern: receivedAt), &out)
            }
            Self.putBytes(properties, &out)
            Self.putBytes(payload, &out)
        case let .dequeued(session, message):
            out.append(Kind.dequeued.rawValue)
            Self.putVarint(session, &out)
            Self.putVarint(message, &out)
        case let .sessionExpiry(session, interval, deadline):
            out.append(Kind.sessionExpiry.rawValue)
            Self.putVarint(session, &out)
            Self.putVarint(UInt64(interval), &out)
            Self.putVarint(UInt64(bitPattern: deadline), &out)
        }
    }

    /// Decodes one record; a frame that passed its CRC but does not decode was written by
    /// another format version (or a bug), which start-up reports instead of guessing.
    static func decode(_ bytes: [UInt8]) -> StateRecord? {
        var reader = Reader(data: bytes)
        guard let kindByte = reader.byte(), let kind = Kind(rawValue: kindByte) else { return nil }
        let record: StateRecord?
        switch kind {
        case .snapshotBegin:
            record = reader.varint().flatMap { $0 <= UInt32.max ? .snapshotBegin(version: UInt32($0)) : nil }
        case .snapshotEnd:
            record = .snapshotEnd
        case .sessionOpen:
            guard let session = reader.varint(), let clientId = reader.string() else { return nil }
            record = .sessionOpen(session: session, clientId: clientId)
        case .sessionEnd:
            record = reader.varint().map { .sessionEnd(session: $0) }
        case .subscribe:
            guard let session = reader.varint(), let qos = reader.byte().flatMap(QoS.init(rawValue:)), let filter = reader.string() else { return nil }
            record = .subscribe(session: session, filter: filter, qos: qos)
        case .unsubscribe:
            guard let session = reader.varint(), let filter = reader.string() else { return nil }
            record = .unsubscribe(session: session, filter: filter)
        case .message:
            guard let id = reader.varint(), let flags = reader.byte(), let qos = QoS(rawValue: flags & 0x03), let topic = reader.string(), let payload = reader.bytes() else { return nil }
            record = .message(id: id, topic: topic, qos: qos, retain: flags & 0x80 != 0, payload: payload)
        case .enqueue:
            guard let session = reader.varint(), let message = reader.varint(), let flags = reader.byte(), let qos = QoS(rawValue: flags & 0x03) else { return nil }
            record = .enqueue(session: session, message: message, qos: qos, retain: flags & 0x80 != 0)
        case .inflight:
            guard let session = reader.varint(), let message = reader.varint(), let flags = reader.byte(), let qos = QoS(rawValue: flags & 0x03),
                let packetId = reader.varint(), packetId > 0, packetId <= UInt16.max
            else { return nil }
            record = .inflight(session: session, message: message, qos: qos, retain: flags & 0x80 != 0, packetId: UInt16(packetId), fromQueue: flags & 0x40 != 0)
        case .pubrecReceived, .completed, .incomingQoS2, .incomingReleased:
            guard let session = reader.varint(), let packetId = reader.varint(), packetId <= UInt16.max else { return nil }
            let id = UInt16(packetId)
            switch kind {
            case .pubrecReceived: record = .pubrecReceived(session: session, packetId: id)
            case .completed: record = .completed(session: session, packetId: id)
            case .incomingQoS2: record = .incomingQoS2(session: session, packetId: id, marks: nil)
            default: record = .incomingReleased(session: session, packetId: id)
            }
        case .incomingQoS2Marked:
            guard let session = reader.varint(), let packetId = reader.varint(), packetId <= UInt16.max, let count = reader.varint(),
                count <= UInt64(bytes.count)
            else { return nil }
            var marks: [LogMark] = []
            for _ in 0..<count {
                guard let log = reader.string(), let first = reader.varint(), let last = reader.varint() else { return nil }
                marks.append(LogMark(log: log, first: first, last: last))
            }
            record = .incomingQoS2(session: session, packetId: UInt16(packetId), marks: marks)
        case .subscribeOptions:
            guard let session = reader.varint(), let flags = reader.byte(), let qos = QoS(rawValue: flags & 0x03), flags & 0xC0 == 0, (flags >> 4) & 0x03 != 3,
                let identifier = reader.varint(), identifier <= 268_435_455, let filter = reader.string()
            else { return nil }
            let options = SubscriptionOptions(
                qos: qos, noLocal: flags & 0x04 != 0, retainAsPublished: flags & 0x08 != 0, retainHandling: (flags >> 4) & 0x03,
                identifier: identifier == 0 ? nil : Int(identifier))
            record = .subscribeOptions(session: session, filter: filter, options: options)
        case .message5:
            guard let id = reader.varint(), let flags = reader.byte(), let qos = QoS(rawValue: flags & 0x03), let topic = reader.string() else { return nil }
            var expiryInterval: UInt32?
            var receivedAt: Int64 = 0
            if flags & 0x40 != 0 {
                guard let interval = reader.varint(), interval <= UInt32.max, let at = reader.varint() else { return nil }
                expiryInterval = UInt32(interval)
                receivedAt = Int64(bitPattern: at)
            }
            guard let properties = reader.bytes(), let payload = reader.bytes() else { return nil }
            record = .message5(
                id: id, topic: topic, qos: qos, retain: flags & 0x80 != 0, payload: payload, properties: properties, expiryInterval: expiryInterval,
                receivedAt: receivedAt)
        case .dequeued:
            guard let session = reader.varint(), let message = reader.varint() else { return nil }
            record = .dequeued(session: session, message: message)
        case .sessionExpiry:
            guard let session = reader.varint(), let interval = reader.varint(), interval <= UInt32.max, let deadline = reader.varint() else { return nil }
            record = .sessionExpiry(session: session, interval: UInt32(interval), deadline: Int64(bitPattern: deadline))
        }
        return reader.atEnd ? record : nil
    }

    /// The record that stores `message`: format 1's when it has no MQTT 5 parts.
    static func storing(_ message: Message, id: UInt64) -> StateRecord {
        guard !message.properties.isEmpty || message.expiryInterval != nil else {
            return .message(id: id, topic: message.topic, qos: message.qos, retain: message.retain, payload: message.payload)
        }
        return .message5(
            id: id, topic: message.topic, qos: message.qos, retain: message.retain, payload: message.payload, properties: message.forwardedProperties,
            expiryInterval: message.expiryInterval, receivedAt: message.receivedAt)
    }

    /// The record of a subscription: format 1's when only its QoS is set.
    static func subscribing(_ session: UInt64, _ filter: String, _ options: SubscriptionOptions) -> StateRecord {
        options == SubscriptionOptions(qos: options.qos) ? .subscribe(session: session, filter: filter, qos: options.qos) : .subscribeOptions(session: session, filter: filter, options: options)
    }

    private static func putSessionPacket(_ kind: Kind, _ session: UInt64, _ packetId: UInt16, _ out: inout [UInt8]) {
        out.append(kind.rawValue)
        putVarint(session, &out)
        putVarint(UInt64(packetId), &out)
    }

    static func putVarint(_ value: UInt64, _ out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    private static func putBytes(_ bytes: [UInt8], _ out: inout [UInt8]) {
        putVarint(UInt64(bytes.count), &out)
        out.append(contentsOf: bytes)
    }

    private struct Reader {
        let data: [UInt8]
        var offset = 0

        var atEnd: Bool { offset == data.count }

        mutating func byte() -> UInt8? {
            guard offset < data.count else { return nil }
            defer { offset += 1 }
            return data[offset]
        }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while let byte = byte() {
                guard shift < 64 else { return nil }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }

        mutating func bytes() -> [UInt8]? {
            guard let length = varint(), length <= UInt64(data.count - offset) else { return nil }
            defer { offset += Int(length) }
            return Array(data[offset..<(offset + Int(length))])
        }

        mutating func string() -> String? {
            bytes().map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

/// A `DurabilityMark` as a session log keeps it: the log by name, the records' numbers.
public struct LogMark: Sendable, Hashable {
    public let log: String
    public let first: UInt64
    public let last: UInt64

    public init(log: String, first: UInt64, last: UInt64) {
        self.log = log
        self.first = first
        self.last = last
    }
}
