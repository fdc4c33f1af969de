import JSON

/// A SQL function: how many arguments it takes and what it computes. Arguments arrive
/// evaluated; `nil` is Undefined. Wrong-typed arguments give Undefined, as in IoT Core.
struct FunctionDefinition: Sendable {
    let arity: ClosedRange<Int>
    /// The result depends on the arguments alone: not on the message, the clock or chance.
    var deterministic = false
    let body: @Sendable ([JSONValue?], MessageContext) throws(RuleEvaluationError) -> JSONValue?
}

/// The function library (AWS IoT SQL reference, "Functions").
enum Functions {
    static let table: [String: FunctionDefinition] = {
        var table: [String: FunctionDefinition] = [:]
        for (name, definition) in messageFunctions + stringFunctions + mathFunctions + conversionFunctions + timeFunctions {
            precondition(table[name] == nil, "function \(name) defined twice")
            table[name] = definition
        }
        return table
    }()

    /// Names for `--help` and the README.
    static var names: [String] { table.keys.sorted() }

    static func define(_ name: String, _ arity: ClosedRange<Int>, _ body: @escaping @Sendable ([JSONValue?], MessageContext) -> JSONValue?) -> (String, FunctionDefinition) {
        (name, FunctionDefinition(arity: arity, body: body))
    }

    /// A function of its arguments only.
    static func pure(_ name: String, _ arity: ClosedRange<Int>, _ body: @escaping @Sendable ([JSONValue?]) -> JSONValue?) -> (String, FunctionDefinition) {
        (name, FunctionDefinition(arity: arity, deterministic: true) { arguments, _ in body(arguments) })
    }

    static func string(_ value: JSONValue?) -> String? {
        if case let .string(text)? = value { return text }
        return nil
    }

    static let messageFunctions: [(String, FunctionDefinition)] = [
        define("topic", 0...1) { arguments, context in
            guard let index = arguments.first else { return .string(context.topic) }
            guard let level = Conversions.integer(index) else { return nil }
            return context.topicLevel(Int(level)).map(JSONValue.string)
        },
        define("clientid", 0...0) { _, context in .string(context.clientId) },
        define("username", 0...0) { _, context in context.username.map(JSONValue.string) },
        define("timestamp", 0...0) { _, context in .int(context.timestamp) },
        define("newuuid", 0...0) { _, _ in .string(RandomUUID.make()) },
        // MQTT 5 (IoT Core's names): Undefined when the message does not carry it.
        define("get_mqtt_property", 1...1) { arguments, context in
            let properties = context.properties
            switch string(arguments[0]) {
            case "format_indicator"?:
                return properties.payloadFormatIndicator.map { .string($0 == 1 ? "UTF8_DATA" : "UNSPECIFIED_BYTES") }
            case "content_type"?: return properties.contentType.map(JSONValue.string)
            case "response_topic"?: return properties.responseTopic.map(JSONValue.string)
            case "correlation_data"?: return properties.correlationData.map { .string(Base64.encode($0)) }
            default: return nil
            }
        },
        // The values of one user property key, in order; without a key every property as
        // a one-key object ([{"k": "v"}, …], IoT Core's userProperties shape).
        define("get_user_properties", 0...1) { arguments, context in
            let all = context.properties.userProperties
            guard let first = arguments.first else {
                return all.isEmpty ? nil : .array(all.map { JSONValue.object(JSONObject([($0.key, JSONValue.string($0.value))])) })
            }
            guard let key = string(first) else { return nil }
            let values = all.filter { $0.key == key }.map { JSONValue.string($0.value) }
            return values.isEmpty ? nil : .array(values)
        },
    ]

    static let conversionFunctions: [(String, FunctionDefinition)] = [
        pure("encode", 2...2) { arguments in
            guard let scheme = string(arguments[1]), scheme.lowercased() == "base64", let text = Conversions.string(arguments[0]) else { return nil }
            return .string(Base64.encode(Array(text.utf8)))
        },
        pure("decode", 2...2) { arguments in
            guard let scheme = string(arguments[1]), scheme.lowercased() == "base64", let text = string(arguments[0]),
                let bytes = Base64.decode(text), let decoded = String(validating: bytes, as: UTF8.self)
            else { return nil }
            return .string(decoded)
        },
        pure("get", 2...2) { arguments in
            switch arguments[1] {
            case let .int(index)?:
                guard case let .array(array)? = arguments[0], index >= 0, index < array.count else { return nil }
                return array[Int(index)]
            case let .string(key)?: return arguments[0]?[key]
            default: return nil
            }
        },
        pure("isnull", 1...1) { arguments in .bool(arguments[0] == .null) },
        pure("isundefined", 1...1) { arguments in .bool(arguments[0] == nil) },
        pure("coalesce", 1...64) { arguments in
            for case let value? in arguments where value != .null { return value }
            return .null
        },
        pure("md5", 1...1) { arguments in string(arguments[0]).map { .string(Hash.hex(Hash.md5(Array($0.utf8)))) } },
        pure("sha1", 1...1) { arguments in string(arguments[0]).map { .string(Hash.hex(Hash.sha1(Array($0.utf8)))) } },
        pure("sha256", 1...1) { arguments in string(arguments[0]).map { .string(Hash.hex(Hash.sha256(Array($0.utf8)))) } },
    ]

    /// `cast(x AS String|Int|Decimal|Boolean)`.
    static func cast(_ value: JSONValue?, to type: CastType) -> JSONValue? {
        switch type {
        case .string:
            return Conversions.string(value).map(JSONValue.string)
        case .int:
            if case let .bool(flag)? = value { return .int(flag ? 1 : 0) }
            return Conversions.integer(value).map(JSONValue.int)
        case .decimal:
            if case let .bool(flag)? = value { return .double(flag ? 1 : 0) }
            return Conversions.double(value).map(JSONValue.double)
        case .boolean:
            switch value {
            case let .bool(flag)?: return .bool(flag)
            case let .int(v)?: return .bool(v != 0)
            case let .double(v)?: return .bool(v != 0)
            default: return Conversions.boolean(value).map(JSONValue.bool)
            }
        }
    }
}

/// Every SQL function name the engine knows (lowercase), plus `cast`.
public let functionNames: [String] = Functions.names + ["cast"]
