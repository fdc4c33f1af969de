/// Counters behind the $SYS topics (Mosquitto's names and meanings).
struct BrokerStats {
    var messagesReceived: UInt64 = 0
    var messagesSent: UInt64 = 0
    var messagesDropped: UInt64 = 0
    /// QoS 1 PUBLISHes received with DUP set: a publisher resending after a lost PUBACK —
    /// the only source of duplicates in streams (QoS 1 has no id to recognise them by).
    var duplicatesReceived: UInt64 = 0
    var bytesReceived: UInt64 = 0
    var bytesSent: UInt64 = 0
    var clientsConnected = 0
    /// Of `clientsConnected`, those speaking MQTT 5.
    var clientsConnectedV5 = 0
    var connectionsRefused: UInt64 = 0
    var publishersPaused: UInt64 = 0
    /// PUBLISHes refused by the ACL or policies, and deliveries held back by them.
    var publishesDenied: UInt64 = 0
    var deliveriesDenied: UInt64 = 0
}
