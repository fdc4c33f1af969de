/// A byte-level RFC 8259 parser. No Foundation on the hot path: telemetry payloads are
/// parsed straight from the MQTT payload bytes.
public struct JSONParser: Sendable {
    public struct Options: Sendable {
        /// Allows `//` and `/* */` comments (pipeline files, not payloads).
        public var allowComments = false
        /// Maximum nesting of arrays and objects.
        public var maxDepth = 256

        public init(allowComments: Bool = false, maxDepth: Int = 256) {
            self.allowComments = allowComments
            self.maxDepth = maxDepth
        }
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    public func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) -> JSONValue in try parse(raw) }
        }
        return try result.get()
    }

    public func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        var reader = JSONReader(bytes: bytes, options: options, locations: nil)
        return try reader.parseDocument()
    }

    /// Parses and records where each value starts: `"rules[0].sql"` → byte offset. The
    /// pipeline loader turns those into file:line:col for its messages.
    public func parseWithLocations(_ bytes: [UInt8]) throws(JSONError) -> (JSONValue, [String: Int]) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) -> (JSONValue, [String: Int]) in
                var reader = JSONReader(bytes: raw, options: options, locations: [:])
                let value = try reader.parseDocument()
                return (value, reader.locations ?? [:])
            }
        }
        return try result.get()
    }
}

private struct JSONReader: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    let options: JSONParser.Options
    var index = 0
    var depth = 0
    var locations: [String: Int]?
    var path = ""

    init(bytes: UnsafeRawBufferPointer, options: JSONParser.Options, locations: [String: Int]?) {
        self.bytes = bytes
        self.options = options
        self.locations = locations
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        // A UTF-8 byte order mark is tolerated (RFC 8259 §8.1 allows ignoring it).
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        try skipWhitespace()
        let value = try parseValue()
        try skipWhitespace()
        guard index == bytes.count else { throw error("unexpected character after the JSON value") }
        return value
    }

    func error(_ message: String) -> JSONError {
        JSONError(offset: index, message: message)
    }

    mutating func skipWhitespace() throws(JSONError) {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09:
                index += 1
            case UInt8(ascii: "/") where options.allowComments:
                try skipComment()
            default:
                return
            }
        }
    }

    mutating func skipComment() throws(JSONError) {
        guard index + 1 < bytes.count else { throw error("unexpected '/'") }
        if bytes[index + 1] == UInt8(ascii: "/") {
            index += 2
            while index < bytes.count && bytes[index] != 0x0A { index += 1 }
        } else if bytes[index + 1] == UInt8(ascii: "*") {
            let start = index
            index += 2
            while index + 1 < bytes.count && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) {
                index += 1
            }
            guard index + 1 < bytes.count else { throw JSONError(offset: start, message: "unterminated /* comment") }
            index += 2
        } else {
            throw error("unexpected '/'")
        }
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        if locations != nil { locations![path] = index }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(printable(bytes[index]))', expected a value")
        }
    }

    func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
    }

    mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("invalid literal") }
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("invalid literal")
        }
        index += count
        return value
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= options.maxDepth else { throw error("nesting deeper than \(options.maxDepth)") }
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enter()
        index += 1
        var object = JSONObject()
        try skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(object)
        }
        let parentPath = path
        while true {
            try skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
            let keyOffset = index
            let key = try parseString()
            try skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after object key") }
            index += 1
            try skipWhitespace()
            if locations != nil {
                path = parentPath.isEmpty ? key : parentPath + "." + key
                locations![path + "#key"] = keyOffset
            }
            let value = try parseValue()
            object[key] = value
            try skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}' in object") }
            index += 1
            break
        }
        path = parentPath
        depth -= 1
        return .object(object)
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        index += 1
        var array: [JSONValue] = []
        try skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(array)
        }
        let parentPath = path
        while true {
            try skipWhitespace()
            if locations != nil { path = parentPath + "[\(array.count)]" }
            array.append(try parseValue())
            try skipWhitespace()
            guard index < bytes.count else { throw error("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']' in array") }
            index += 1
            break
        }
        path = parentPath
        depth -= 1
        return .array(array)
    }

    mutating func parseString() throws(JSONError) -> String {
        let start = index
        index += 1
        var ascii = true
        // Fast path: no escapes — decode the bytes in place.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<index])
                index += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice, as: UTF8.self) else {
                    throw JSONError(offset: start, message: "string is not valid UTF-8")
                }
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        guard index < bytes.count else { throw JSONError(offset: start, message: "unterminated string") }
        var buffer = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let string = String(validating: buffer, as: UTF8.self) else {
                    throw JSONError(offset: start, message: "string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                try parseEscape(into: &buffer)
            case 0..<0x20:
                throw error("control character in string")
            default:
                buffer.append(byte)
                index += 1
            }
        }
        throw JSONError(offset: start, message: "unterminated string")
    }

    mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONError) {
        guard index + 1 < bytes.count else { throw error("unterminated escape") }
        let escaped = bytes[index + 1]
        index += 2
        switch escaped {
        case UInt8(ascii: "\""): buffer.append(0x22)
        case UInt8(ascii: "\\"): buffer.append(0x5C)
        case UInt8(ascii: "/"): buffer.append(0x2F)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low one (RFC 8259 §7).
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate \\u\(String(scalar, radix: 16))")
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate \\u\(String(low, radix: 16))") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate \\u\(String(scalar, radix: 16))")
            }
            buffer.append(contentsOf: String(Character(UnicodeScalar(scalar)!)).utf8)
        default:
            index -= 2
            throw error("invalid escape '\\\(printable(escaped))'")
        }
    }

    mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit") }
        var integer: Int64 = 0
        var overflow = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && isDigit(bytes[index]) { throw error("leading zero in number") }
        } else {
            while index < bytes.count && isDigit(bytes[index]) {
                let digit = Int64(bytes[index] - UInt8(ascii: "0"))
                // Accumulate negatively so Int64.min parses.
                let (times, o1) = integer.multipliedReportingOverflow(by: 10)
                let (next, o2) = times.subtractingReportingOverflow(digit)
                if o1 || o2 { overflow = true }
                integer = next
                index += 1
            }
        }
        var isInteger = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit after '.'") }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit in exponent") }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if isInteger && !overflow {
            if negative { return .int(integer) }
            if integer != Int64.min { return .int(-integer) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text) else { throw JSONError(offset: start, message: "invalid number") }
        return .double(double)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
