import JSON
import MQTT
import Rules
import Streams

/// Where something is in a pipeline file, for messages (`file:line:col`).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem in a pipeline file.
public struct PipelineProblem: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public var description: String { "\(location): \(message)" }
}

/// Every problem found in every pipeline file (Vector's config compiler reports them
/// all at once rather than stopping at the first).
public struct PipelineErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [PipelineProblem]

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// What a rule does with its output (or, as errorAction, with its error record).
public enum RuleAction: Sendable {
    /// Records go to the named delivery stream.
    case stream(String)
    /// The record is published back into the broker, with IoT Core's MQTT 5 `headers`.
    case republish(topic: Template, qos: QoS, headers: RepublishHeaders)

    public var kind: String {
        switch self {
        case .stream: return "stream"
        case .republish: return "republish"
        }
    }

    public var resource: String {
        switch self {
        case let .stream(name): return name
        case let .republish(topic, _, _): return topic.source
        }
    }
}

/// IoT Core's republish `headers` (MQTT 5 properties of the republished message), each a
/// `${}` template evaluated per message.
public struct RepublishHeaders: Sendable {
    /// "UTF8_DATA" or "UNSPECIFIED_BYTES".
    public var payloadFormatIndicator: Template?
    public var contentType: Template?
    public var responseTopic: Template?
    /// Base64 of the bytes.
    public var correlationData: Template?
    /// Seconds.
    public var messageExpiry: Template?
    public var userProperties: [(key: Template, value: Template)] = []

    public init() {}

    public var isEmpty: Bool {
        payloadFormatIndicator == nil && contentType == nil && responseTopic == nil && correlationData == nil && messageExpiry == nil && userProperties.isEmpty
    }
}

/// A test case carried by a rule: the message, and the records (or error) it must give.
public struct RuleTestCase: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var clientId: String
    public var expected: [JSONValue]
    /// When set, evaluation must fail with a message containing this text.
    public var expectedError: String?
    public var location: SourceLocation
}

public struct RuleDefinition: Sendable {
    public var name: String
    public var statement: Statement
    public var actions: [RuleAction]
    public var errorAction: RuleAction?
    public var disabled: Bool
    public var batchMode: Bool
    public var tests: [RuleTestCase]
    public var location: SourceLocation
}

/// A delivery stream as declared, its settings validated.
public struct StreamDefinition: Sendable {
    public var config: StreamConfig
    public var location: SourceLocation

    public var name: String { config.name }
}

/// Everything in a pipelines directory.
public struct PipelineSet: Sendable {
    public var rules: [RuleDefinition] = []
    public var streams: [StreamDefinition] = []
    public var files: [String] = []

    public init() {}
}
