import Durable
import MQTT

/// The PUBACK or PUBREC of one QoS 1/2 PUBLISH, held until every log the publish was
/// handed to has it (DESIGN.md "Guarantees"): the stream records in `marks` (released when
/// each stream's watermark passes them: integers compared, nothing counted down), then the
/// session-state records up to `stateMark` (released by the state committer's watermark,
/// `Broker.stateCommitted`). Acknowledgements of one connection go out in arrival order
/// ([MQTT-4.6.0-2]).
struct HeldAcknowledgement {
    let packetId: UInt16
    let qos: QoS
    let stateMark: UInt64
    let marks: DurabilityMarks
    /// MQTT 5: Success, or why the message was not accepted (0x99 Payload format invalid).
    var reasonCode: ReasonCode = .success
}
