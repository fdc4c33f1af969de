import JSON
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        (" false ", .bool(false)),
        ("0", .int(0)),
        ("-0", .int(0)),
        ("42", .int(42)),
        ("-9223372036854775808", .int(Int64.min)),
        ("9223372036854775807", .int(Int64.max)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("1.5", .double(1.5)),
        ("1.0", .double(1.0)),
        ("-2.5e3", .double(-2500)),
        ("1E2", .double(100)),
        ("1e-2", .double(0.01)),
        (#""a\"b\\c\/d\b\f\n\r\t""#, .string("a\"b\\c/d\u{8}\u{c}\n\r\t")),
        (#""\u00fc\u6F22""#, .string("ü漢")),
        (#""\ud83d\ude00""#, .string("😀")),
        ("\"ü😀\"", .string("ü😀")),
        ("[]", .array([])),
        ("[1,[2,[3]]]", .array([1, [2, [3]]])),
        ("{}", .object(JSONObject())),
        (#"{"a":1,"b":{"c":[true,null]}}"#, ["a": 1, "b": ["c": [true, .null]]] as JSONValue),
        ("\u{FEFF}{\"bom\":1}", ["bom": 1] as JSONValue),
    ])
    func parses(_ text: String, _ expected: JSONValue) throws {
        #expect(try JSONParser().parse(text) == expected)
    }

    @Test func intAndDoubleStayApart() throws {
        #expect(try JSONParser().parse("1") != JSONParser().parse("1.0"))
    }

    @Test func duplicateKeysLastWinsKeepingFirstPosition() throws {
        let value = try JSONParser().parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.serialized() == #"{"a":3,"b":2}"#)
    }

    @Test func keyOrderIsPreserved() throws {
        let text = #"{"z":1,"a":2,"m":{"y":1,"b":2}}"#
        #expect(try JSONParser().parse(text).serialized() == text)
    }

    @Test func manyKeysStayFastAndCorrect() throws {
        let keys = (0..<5000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONParser().parse("{\(keys),\"k17\":-1}")
        #expect(value["k4999"] == .int(4999))
        #expect(value["k17"] == .int(-1))
        guard case let .object(object) = value else { Issue.record("not an object"); return }
        #expect(object.count == 5000)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let text: String
        let offset: Int
        let message: String
        var testDescription: String { text.debugDescription }
    }

    @Test(arguments: [
        Bad(text: "", offset: 0, message: "unexpected end of input, expected a value"),
        Bad(text: "{", offset: 1, message: "unterminated object"),
        Bad(text: "{\"a\":1,", offset: 7, message: "unterminated object"),
        Bad(text: "{1:2}", offset: 1, message: "expected a string key in object"),
        Bad(text: "{\"a\" 1}", offset: 5, message: "expected ':' after object key"),
        Bad(text: "{\"a\":1,}", offset: 7, message: "expected a string key in object"),
        Bad(text: "[1,]", offset: 3, message: "unexpected character ']', expected a value"),
        Bad(text: "[1 2]", offset: 3, message: "expected ',' or ']' in array"),
        Bad(text: "01", offset: 1, message: "leading zero in number"),
        Bad(text: "1.", offset: 2, message: "expected a digit after '.'"),
        Bad(text: "1e", offset: 2, message: "expected a digit in exponent"),
        Bad(text: "-", offset: 1, message: "expected a digit"),
        Bad(text: "tru", offset: 0, message: "invalid literal"),
        Bad(text: "nul1", offset: 0, message: "invalid literal"),
        Bad(text: "\"abc", offset: 0, message: "unterminated string"),
        Bad(text: "\"a\u{01}\"", offset: 2, message: "control character in string"),
        Bad(text: #""\x""#, offset: 1, message: "invalid escape '\\x'"),
        Bad(text: #""\u12G4""#, offset: 5, message: "invalid hex digit in \\u escape"),
        Bad(text: #""\ud800""#, offset: 7, message: "unpaired surrogate \\ud800"),
        Bad(text: #""\udc00""#, offset: 7, message: "unpaired surrogate \\udc00"),
        Bad(text: "{} x", offset: 3, message: "unexpected character after the JSON value"),
        Bad(text: "// c\n1", offset: 0, message: "unexpected character '/', expected a value"),
        Bad(text: "NaN", offset: 0, message: "unexpected character 'N', expected a value"),
    ])
    func rejects(_ bad: Bad) {
        #expect(throws: JSONError(offset: bad.offset, message: bad.message)) { try JSONParser().parse(bad.text) }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONError(offset: 0, message: "string is not valid UTF-8")) {
            try JSONParser().parse([0x22, 0xC3, 0x28, 0x22])
        }
    }

    @Test func depthIsLimited() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONError.self) { try JSONParser().parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONParser().parse(ok)
    }

    @Test func commentsOnlyWhenAllowed() throws {
        let text = """
            // pipeline
            { /* inline */ "a": 1, // trailing
              "b": [2] }
            """
        #expect(try JSONParser(options: .init(allowComments: true)).parse(text) == ["a": 1, "b": [2]] as JSONValue)
        #expect(throws: JSONError.self) { try JSONParser().parse(text) }
        #expect(throws: JSONError(offset: 2, message: "unterminated /* comment")) {
            try JSONParser(options: .init(allowComments: true)).parse("1 /* open")
        }
    }

    @Test func locationsPointAtEachValue() throws {
        let text = "{\n  \"rules\": [\n    {\"sql\": \"SELECT\"}\n  ]\n}"
        let (_, locations) = try JSONParser().parseWithLocations(Array(text.utf8))
        let offset = try #require(locations["rules[0].sql"])
        #expect(Array(text.utf8)[offset] == UInt8(ascii: "\""))
        #expect(locations["rules[0].sql#key"] == offset - 7)
    }
}

@Suite struct JSONSerializerTests {
    @Test(arguments: [
        (JSONValue.string("q\"b\\s\n\u{1}é"), #""q\"b\\s\n\u0001é""#),
        (.double(21.5), "21.5"),
        (.double(1e20), "1e+20"),
        (.double(.nan), "null"),
        (.double(-.infinity), "null"),
        (.int(-7), "-7"),
        ([1, "a", .null, true, ["k": 2.5]] as JSONValue, #"[1,"a",null,true,{"k":2.5}]"#),
    ])
    func serializes(_ value: JSONValue, _ expected: String) {
        #expect(value.serialized() == expected)
    }

    @Test(arguments: [
        #"{"device":"d3","run":1,"seq":42,"ts":1732752000123,"temp":21.5,"pad":"xxxx"}"#,
        #"[{"a":[1,2.25,{"b":null}]},"\u0000",-0.0,1e-7]"#,
    ])
    func roundTrips(_ text: String) throws {
        let value = try JSONParser().parse(text)
        #expect(try JSONParser().parse(value.serialized()) == value)
    }
}
