import JSON
import MQTT
import Rules
import Testing

/// One row per function at least (AWS IoT SQL reference examples where it gives them).
@Suite struct FunctionTests {
    @Test(arguments: [
        ExprCase("topic()", "factory/1/machine/2/status"),
        ExprCase("topic(1)", "factory"),
        ExprCase("topic(4)", "2"),
        ExprCase("topic(9)", nil),
        ExprCase("clientid()", "dev-1"),
        ExprCase("username()", "alice"),
        ExprCase("timestamp()", 1_732_752_000_123),
        ExprCase("length(newuuid())", 36),
        ExprCase("encode('hello', 'base64')", "aGVsbG8="),
        ExprCase("encode('hello', 'hex')", nil),
        ExprCase("decode('aGVsbG8=', 'base64')", "hello"),
        ExprCase("decode('not base64!', 'base64')", nil),
        ExprCase("get(tags, 0)", "a"),
        ExprCase("get(pos, 'x')", 1),
        ExprCase("get(tags, 9)", nil),
        ExprCase("isNull(n)", true),
        ExprCase("isNull(missing)", false),
        ExprCase("isUndefined(missing)", true),
        ExprCase("isUndefined(n)", false),
        ExprCase("coalesce(missing, n, 'x', 'y')", "x"),
        ExprCase("coalesce(missing)", .null),
        ExprCase("nanvl('NaN', 0)", 0),
        ExprCase("nanvl(temp, 0)", 21.5),
        ExprCase("concat('a', 'b', 1)", "ab1"),
        ExprCase("concat(tags, ['c'])", ["a", "b", "c"]),
        ExprCase("concat(tags, 'c')", ["a", "b", "c"]),
        ExprCase("concat('a', missing)", nil),
        ExprCase("substring('123456', 0)", "123456"),
        ExprCase("substring('123456', 2)", "3456"),
        ExprCase("substring('123456', 2, 4)", "34"),
        ExprCase("substring('123456', 4, 2)", ""),
        ExprCase("substring('123456', 10)", ""),
        ExprCase("upper('Hello')", "HELLO"),
        ExprCase("lower('Hello')", "hello"),
        ExprCase("trim('  a b  ')", "a b"),
        ExprCase("ltrim('  a ')", "a "),
        ExprCase("rtrim('  a ')", "  a"),
        ExprCase("lpad('hello', 2)", "  hello"),
        ExprCase("rpad('hello', 2)", "hello  "),
        ExprCase("replace('abcabc', 'b', 'XY')", "aXYcaXYc"),
        ExprCase("startswith('ranger', 'ran')", true),
        ExprCase("endswith('ranger', 'ger')", true),
        ExprCase("startswith(1, 'r')", nil),
        ExprCase("indexof('abcd', 'cd')", 2),
        ExprCase("indexof('abcd', 'x')", -1),
        ExprCase("length('héllo')", 5),
        ExprCase("length(tags)", 2),
        ExprCase("numbytes('héllo')", 6),
        ExprCase("regexp_matches('aaaa', 'a{2,}')", true),
        ExprCase("regexp_matches('aaaa', 'b')", false),
        ExprCase("regexp_matches('x', '(')", nil),
        ExprCase("regexp_replace('abcd', 'bc', 'x')", "axd"),
        ExprCase("regexp_replace('abc', '(b)', '[$1]')", "a[b]c"),
        ExprCase("regexp_substr('hihihello', 'hi')", "hi"),
        ExprCase("regexp_substr('hihihello', 'x')", ""),
        ExprCase("abs(-5)", 5),
        ExprCase("abs('-5.123')", 5.123),
        ExprCase("abs('x')", nil),
        ExprCase("ceil(1.2)", 2),
        ExprCase("ceil(-1.2)", -1),
        ExprCase("floor(1.8)", 1),
        ExprCase("floor(-1.2)", -2),
        ExprCase("round(1.5)", 2),
        ExprCase("round(-1.5)", -2),
        ExprCase("round(7)", 7),
        ExprCase("trunc(2.3456, 2)", 2.34),
        ExprCase("trunc(-2.3456, 1)", -2.3),
        ExprCase("mod(8, 3)", 2),
        ExprCase("mod(8, 0)", nil),
        ExprCase("power(2, 10)", 1024.0),
        ExprCase("sqrt(16)", 4.0),
        ExprCase("sqrt(-1)", nil),
        ExprCase("ln(1)", 0.0),
        ExprCase("log(100)", 2.0),
        ExprCase("log(2, 8)", 3.0),
        ExprCase("exp(0)", 1.0),
        ExprCase("sign(-3.5)", -1),
        ExprCase("sign(0)", 0),
        ExprCase("sign(9)", 1),
        ExprCase("sin(0)", 0.0),
        ExprCase("cos(0)", 1.0),
        ExprCase("tan(0)", 0.0),
        ExprCase("asin(0)", 0.0),
        ExprCase("acos(1)", 0.0),
        ExprCase("atan(0)", 0.0),
        ExprCase("atan2(0, 1)", 0.0),
        ExprCase("bitand(13, 5)", 5),
        ExprCase("bitor(8, 5)", 13),
        ExprCase("bitxor(13, 5)", 8),
        ExprCase("bitnot(13)", -14),
        ExprCase("bitand(1.5, 1)", nil),
        ExprCase("md5('')", "d41d8cd98f00b204e9800998ecf8427e"),
        ExprCase("md5('abc')", "900150983cd24fb0d6963f7d28e17f72"),
        ExprCase("md5('The quick brown fox jumps over the lazy dog')", "9e107d9d372bb6826bd81d3542a419d6"),
        ExprCase("sha1('')", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ExprCase("sha1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ExprCase("sha1('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ExprCase("sha256('')", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ExprCase("sha256('abc')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ExprCase("sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ExprCase("parse_time('yyyy-MM-dd HH:mm:ss.SSS', 1732752000123)", "2024-11-28 00:00:00.123"),
        ExprCase("parse_time('yyyy-MM-dd''T''HH:mm:ssZ', 0)", "1970-01-01T00:00:00+0000"),
        ExprCase("parse_time('yyyy-MM-dd HH:mm', 1732752000123, '+05:30')", "2024-11-28 05:30"),
        ExprCase("parse_time('yyyy-MM-dd HH:mm z', 0, 'Nowhere/City')", nil),
        ExprCase("parse_time('dd MMM yyyy hh:mm a', 1732795200000)", "28 Nov 2024 12:00 PM"),
        ExprCase("parse_time('yyyy-MM-dd HH:mm', 1732752000000, 'America/New_York')", "2024-11-27 19:00"),
        ExprCase("time_to_epoch('2024-11-28 00:00:00.123', 'yyyy-MM-dd HH:mm:ss.SSS')", 1_732_752_000_123),
        ExprCase("time_to_epoch('1970-01-01T01:00:00+01:00', 'yyyy-MM-dd''T''HH:mm:ssZZ')", 0),
        ExprCase("time_to_epoch('20241128', 'yyyyMMdd')", 1_732_752_000_000),
        ExprCase("time_to_epoch('not a date', 'yyyy-MM-dd')", nil),
    ])
    func function(_ example: ExprCase) throws {
        #expect(try eval(example.expression) == example.expected)
    }

    @Test func newuuidIsVersion4AndUnique() throws {
        let a = try #require(try eval("newuuid()"))
        let b = try #require(try eval("newuuid()"))
        #expect(a != b)
        guard case let .string(text) = a else { Issue.record("not a string"); return }
        #expect(text.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#, options: .regularExpression) != nil)
    }

    @Test func parseTimeAndTimeToEpochRoundTrip() throws {
        for millis in [0, 951_782_400_000, 1_732_752_000_123, 4_102_444_799_999] as [Int64] {
            let text = try #require(try eval("parse_time('yyyy-MM-dd''T''HH:mm:ss.SSSXXX', \(millis))"))
            guard case let .string(s) = text else { Issue.record("\(text)"); return }
            #expect(try eval("time_to_epoch('\(s)', 'yyyy-MM-dd''T''HH:mm:ss.SSSXXX')") == .int(millis))
        }
    }

    /// IoT Core's MQTT 5 functions: the properties the message was published with.
    @Test func mqtt5PropertyFunctions() throws {
        var properties = Properties()
        properties.payloadFormatIndicator = 1
        properties.contentType = "application/json"
        properties.responseTopic = "replies/dev-1"
        properties.correlationData = Array("req-7".utf8)
        properties.userProperties = [.init("site", "7"), .init("line", "4"), .init("site", "8")]
        let ctx = MessageContext(topic: "t", payload: Array("{}".utf8), timestamp: 0, properties: properties)
        #expect(try eval("get_mqtt_property('format_indicator')", ctx) == "UTF8_DATA")
        #expect(try eval("get_mqtt_property('content_type')", ctx) == "application/json")
        #expect(try eval("get_mqtt_property('response_topic')", ctx) == "replies/dev-1")
        #expect(try eval("get_mqtt_property('correlation_data')", ctx) == .string(Base64.encode(Array("req-7".utf8))))
        #expect(try eval("get_mqtt_property('nonsense')", ctx) == nil)
        #expect(try eval("get_user_properties('site')", ctx) == ["7", "8"])
        #expect(try eval("get_user_properties('absent')", ctx) == nil)
        #expect(try eval("get_user_properties()", ctx) == [["site": "7"], ["line": "4"], ["site": "8"]])
        // A 3.1.1 message (or a 5.0 one without them): Undefined.
        #expect(try eval("get_mqtt_property('content_type')") == nil)
        #expect(try eval("get_user_properties()") == nil)
        #expect(try eval("get_mqtt_property('format_indicator')", MessageContext(topic: "t", payload: [], timestamp: 0, properties: { var p = Properties(); p.payloadFormatIndicator = 0; return p }())) == "UNSPECIFIED_BYTES")
    }

    @Test func thereAreAtLeastFiftyFunctions() {
        #expect(Rules.functionNames.count >= 50)
    }
}

import Foundation
