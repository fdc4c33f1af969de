/// The validating pass: checks the grammar (RFC 8259), string escapes and UTF-8, and
/// writes one tape entry per value and key.
struct TapeScanner: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    let options: JSONParser.Options
    var index = 0
    var depth = 0
    var tape: [TapeEntry] = []
    var locations: [String: Int]?
    var path = ""
    /// Validation only (`JSONShape`): entries are counted, not stored; `last` is the most
    /// recent one.
    let tapeless: Bool
    var entries = 0
    var last = TapeEntry(kind: .null, flags: 0, start: 0, end: 0, bits: 0)
    /// Kind of the first entry: the document's top-level value.
    var topKind: TapeEntry.Kind = .null
    /// Top-level keys to look for (tapeless mode) and whether one was seen.
    var probe: [[UInt8]] = []
    var probeHit = false

    init(bytes: UnsafeRawBufferPointer, options: JSONParser.Options, locations: [String: Int]?, tapeless: Bool = false) {
        self.bytes = bytes
        self.options = options
        self.locations = locations
        self.tapeless = tapeless
        if !tapeless { tape.reserveCapacity(32) }
    }

    mutating func scanDocument() throws(JSONError) {
        // A UTF-8 byte order mark is tolerated (RFC 8259 §8.1 allows ignoring it).
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        try skipWhitespace()
        try scanValue()
        try skipWhitespace()
        guard index == bytes.count else { throw error("unexpected character after the JSON value") }
    }

    func error(_ message: String) -> JSONError {
        JSONError(offset: index, message: message)
    }

    @inline(__always)
    mutating func skipWhitespace() throws(JSONError) {
        // Compact JSON (the common case on the wire) has no whitespace at all.
        if index < bytes.count, bytes[index] > 0x20, bytes[index] != UInt8(ascii: "/") { return }
        try skipWhitespaceSlowly()
    }

    mutating func skipWhitespaceSlowly() throws(JSONError) {
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

    func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
    }

    @inline(__always)
    mutating func append(_ kind: TapeEntry.Kind, start: Int, end: Int, flags: UInt8 = 0, bits: UInt64 = 0) {
        let entry = TapeEntry(kind: kind, flags: flags, start: UInt32(truncatingIfNeeded: start), end: UInt32(truncatingIfNeeded: end), bits: bits)
        if entries == 0 { topKind = kind }
        entries += 1
        if tapeless { last = entry } else { tape.append(entry) }
    }

    /// In tapeless mode, after a top-level key: whether it is one of `probe` (escaped keys
    /// are decoded first).
    mutating func checkProbe() {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(last.start)..<Int(last.end)])
        if last.flags & 1 == 0 {
            if probe.contains(where: { $0.elementsEqual(slice) }) { probeHit = true }
        } else {
            let key = TapeScanner.unescape(slice)
            if probe.contains(key) { probeHit = true }
        }
    }

    mutating func scanValue() throws(JSONError) {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        if locations != nil { locations![path] = index }
        switch bytes[index] {
        case UInt8(ascii: "{"): try scanObject()
        case UInt8(ascii: "["): try scanArray()
        case UInt8(ascii: "\""): try scanString()
        case UInt8(ascii: "t"): try scanLiteral("true", .true)
        case UInt8(ascii: "f"): try scanLiteral("false", .false)
        case UInt8(ascii: "n"): try scanLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
        default: throw error("unexpected character '\(printable(bytes[index]))', expected a value")
        }
    }

    mutating func scanLiteral(_ word: StaticString, _ kind: TapeEntry.Kind) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("invalid literal") }
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("invalid literal")
        }
        append(kind, start: index, end: index + count)
        index += count
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= options.maxDepth else { throw error("nesting deeper than \(options.maxDepth)") }
    }

    mutating func scanObject() throws(JSONError) {
        try enter()
        let slot = entries
        append(.object, start: index, end: 0)
        index += 1
        try skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            let parentPath = path
            while true {
                try skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                guard bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
                let keyOffset = index
                try scanString()
                if tapeless && depth == 1 && !probe.isEmpty { checkProbe() }
                try skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after object key") }
                index += 1
                try skipWhitespace()
                if locations != nil {
                    let key = tape[tape.count - 1]
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(key.start)..<Int(key.end)])
                    let name = key.flags & 1 == 0 ? String(decoding: slice, as: UTF8.self) : String(decoding: TapeScanner.unescape(slice), as: UTF8.self)
                    path = parentPath.isEmpty ? name : parentPath + "." + name
                    locations![path + "#key"] = keyOffset
                }
                try scanValue()
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
        }
        if !tapeless { tape[slot].end = UInt32(tape.count) }
        depth -= 1
    }

    mutating func scanArray() throws(JSONError) {
        try enter()
        let slot = entries
        append(.array, start: index, end: 0)
        index += 1
        try skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
        } else {
            let parentPath = path
            var count = 0
            while true {
                try skipWhitespace()
                if locations != nil { path = parentPath + "[\(count)]" }
                try scanValue()
                count += 1
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
        }
        if !tapeless { tape[slot].end = UInt32(tape.count) }
        depth -= 1
    }

    mutating func scanString() throws(JSONError) {
        let quote = index
        let start = index + 1
        var escapes: UInt8 = 0
        // Locals, not `self`, in the hot loop so the position stays in a register.
        let base = bytes.baseAddress!
        let count = bytes.count
        var position = start
        defer { index = position }
        while position < count {
            // Eight bytes at a time: a word of plain ASCII (no quote, backslash, control or
            // non-ASCII byte) is skipped whole, otherwise the scan jumps straight to the
            // first byte that needs a look (short keys cost one word, not a loop per byte).
            if position + 8 <= count {
                let mask = TapeScanner.attentionMask(base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                if mask == 0 {
                    position += 8
                    continue
                }
                position += mask.trailingZeroBitCount >> 3
            }
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            if byte == UInt8(ascii: "\"") {
                append(.string, start: start, end: position, flags: escapes)
                position += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                escapes = 1
                index = position
                try scanEscape()
                position = index
            } else if byte < 0x20 {
                index = position
                throw error("control character in string")
            } else if byte < 0x80 {
                position += 1
            } else {
                guard let length = UTF8Validation.sequenceLength(bytes, at: position) else {
                    throw JSONError(offset: quote, message: "string is not valid UTF-8")
                }
                position += length
            }
        }
        throw JSONError(offset: quote, message: "unterminated string")
    }

    /// A word (little endian: byte 0 in the low bits) whose lowest set bit falls in the
    /// first byte that is `"`, `\\`, below 0x20 or at least 0x80; zero when there is none.
    /// (Bits above the first such byte may be spurious — the subtraction borrows — so only
    /// the lowest one is meaningful.)
    @inline(__always)
    static func attentionMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        let quote = zeroBytes(word ^ (ones &* 0x22))
        let backslash = zeroBytes(word ^ (ones &* 0x5C))
        let control = (word &- ones &* 0x20) & ~word & highs
        return quote | backslash | control | (word & highs)
    }

    mutating func scanEscape() throws(JSONError) {
        guard index + 1 < bytes.count else { throw error("unterminated escape") }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            index += 2
            let scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low one (RFC 8259 §7).
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate \\u\(String(scalar, radix: 16))")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate \\u\(String(low, radix: 16))") }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate \\u\(String(scalar, radix: 16))")
            }
        default:
            throw error("invalid escape '\\\(printable(bytes[index + 1]))'")
        }
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = TapeScanner.hexValue(bytes[index]) else { throw error("invalid hex digit in \\u escape") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Decodes the escapes of an already validated string body.
    static func unescape(_ slice: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var i = 0
        func hex(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | (hexValue(slice[at + $1]) ?? 0) }
        }
        while i < slice.count {
            let byte = slice[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let escaped = slice[i + 1]
            i += 2
            switch escaped {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex(i + 2) - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: String(Character(UnicodeScalar(scalar)!)).utf8)
            default: out.append(escaped)  // \" \\ \/
            }
        }
        return out
    }

    /// The digit at `offset` (0–9), or nil at the end or on another byte.
    @inline(__always)
    static func digit(_ base: UnsafeRawPointer, _ count: Int, _ offset: Int) -> UInt8? {
        guard offset < count else { return nil }
        let value = base.load(fromByteOffset: offset, as: UInt8.self) &- UInt8(ascii: "0")
        return value < 10 ? value : nil
    }

    /// The byte at `offset`, or 0 at the end.
    @inline(__always)
    static func byte(_ base: UnsafeRawPointer, _ count: Int, _ offset: Int) -> UInt8 {
        offset < count ? base.load(fromByteOffset: offset, as: UInt8.self) : 0
    }

    mutating func scanNumber() throws(JSONError) {
        let start = index
        // Locals, not `self`, in the digit loops (as in `scanString`); no nested function
        // captures `position`, so it stays in a register.
        let base = UnsafeRawPointer(bytes.baseAddress!)
        let count = bytes.count
        var position = index
        var negative = false
        if Self.byte(base, count, position) == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard let first = Self.digit(base, count, position) else {
            index = position
            throw error("expected a digit")
        }
        // Accumulated negatively so Int64.min parses.
        var integer: Int64 = 0
        var overflow = false
        if first == 0 {
            position += 1
            if Self.digit(base, count, position) != nil {
                index = position
                throw error("leading zero in number")
            }
        } else {
            // Up to 18 digits cannot overflow an Int64; longer runs check each step.
            let safeEnd = position + 18
            while let value = Self.digit(base, count, position) {
                if position < safeEnd {
                    integer = integer &* 10 &- Int64(value)
                } else {
                    let (times, o1) = integer.multipliedReportingOverflow(by: 10)
                    let (next, o2) = times.subtractingReportingOverflow(Int64(value))
                    if o1 || o2 { overflow = true }
                    integer = next
                }
                position += 1
            }
        }
        var isInteger = true
        var mantissa = integer
        var fractionDigits = 0
        var exactMantissa = !overflow && integer > -(1 << 53)
        if Self.byte(base, count, position) == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard Self.digit(base, count, position) != nil else {
                index = position
                throw error("expected a digit after '.'")
            }
            while let value = Self.digit(base, count, position) {
                if exactMantissa {
                    mantissa = mantissa * 10 - Int64(value)
                    fractionDigits += 1
                    if mantissa <= -(1 << 53) { exactMantissa = false }
                }
                position += 1
            }
        }
        let marker = Self.byte(base, count, position)
        if marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") {
            isInteger = false
            exactMantissa = false
            position += 1
            let sign = Self.byte(base, count, position)
            if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { position += 1 }
            guard Self.digit(base, count, position) != nil else {
                index = position
                throw error("expected a digit in exponent")
            }
            while Self.digit(base, count, position) != nil { position += 1 }
        }
        index = position
        if isInteger && !overflow && (negative || integer != Int64.min) {
            append(.integer, start: start, end: position, bits: UInt64(bitPattern: negative ? integer : -integer))
            return
        }
        let value: Double
        if exactMantissa && fractionDigits <= 22 {
            // Clinger's fast path: a mantissa below 2^53 divided by an exact power of ten
            // is correctly rounded, so short decimals like 21.5 need no string conversion.
            let magnitude = Double(-mantissa) / TapeScanner.powersOfTen[fractionDigits]
            value = negative ? -magnitude : magnitude
        } else {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let parsed = Double(text) else { throw JSONError(offset: start, message: "invalid number") }
            value = parsed
        }
        append(.double, start: start, end: position, bits: value.bitPattern)
    }

    static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}

/// Well-formed UTF-8 (RFC 3629 table 3-7): no overlong forms, no surrogates, ≤ U+10FFFF.
enum UTF8Validation {
    /// Length of the valid multi-byte sequence starting at `index`, or nil.
    static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
        let lead = bytes[index]
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < bytes.count && range.contains(bytes[index + offset])
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : nil
        case 0xE0:
            return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : nil
        case 0xED:
            return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : nil
        case 0xF0:
            return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4:
            return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default:
            return nil
        }
    }
}
