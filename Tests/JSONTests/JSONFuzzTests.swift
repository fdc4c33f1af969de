import JSON
import Testing

/// Mutated JSON never traps the parser, and whatever parses round-trips.
@Suite struct JSONFuzzTests {
    @Test func mutatedDocuments() throws {
        var state: UInt64 = 3
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        let seed = Array(#"{"device":"d3","temp":-21.5e1,"tags":["a","\u00fc\n"],"n":null,"ok":true,"deep":{"x":[1,2,{"y":0}]}}"#.utf8)
        let alphabet = Array("{}[]\",:\\0123456789.eE+-tfnu \u{7F}".utf8) + [0x00, 0xC3, 0xFF, 0x80]
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = seed
            for _ in 0..<Int(next() % 4 + 1) {
                let position = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[position] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: position)
                }
            }
            if let value = try? JSONParser().parse(bytes) {
                parsed += 1
                #expect(try JSONParser().parse(value.serialized()) == value)
            }
        }
        #expect(parsed > 0)
    }
}
