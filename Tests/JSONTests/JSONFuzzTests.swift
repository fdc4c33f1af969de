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

    /// The validation-only scan (`JSONShape`) accepts and refuses exactly what the document
    /// parser does, with the same error, and reports the same top-level shape and keys.
    @Test func shapeAgreesWithTheDocument() throws {
        var state: UInt64 = 11
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        let seeds = [
            #"{"device":"d3","temp":-21.5e1,"tags":["a","\u00fc\n"],"n":null,"ok":true,"deep":{"temp":[1,2,{"y":0}]}}"#,
            #"{"te\u006dp": 1, "x": "}"}"#, "{}", " { } ", "[1,{\"temp\":2}]", "\"temp\"", "12.5", "\u{FEFF}{\"a\":1}",
        ].map { Array($0.utf8) }
        let alphabet = Array("{}[]\",:\\0123456789.eE+-tfnu \u{7F}".utf8) + [0x00, 0xC3, 0xFF, 0x80]
        let names = [Array("temp".utf8), Array("ok".utf8)]
        var valid = 0
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int(next() % 3) where !bytes.isEmpty {
                let position = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[position] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: position)
                }
            }
            let document = Result { () throws(JSONError) in try JSONDocument(bytes) }
            let shape = Result { () throws(JSONError) in try JSONShape(bytes, probing: names) }
            switch (document, shape) {
            case let (.success(document), .success(shape)):
                valid += 1
                #expect(shape.isObject == document.isObject)
                #expect(shape.isEmptyObject == document.isEmptyObject)
                #expect(shape.hasProbedKey == (document.field("temp") != nil || document.field("ok") != nil), "\(String(decoding: bytes, as: UTF8.self))")
            case let (.failure(expected), .failure(error)):
                #expect(error.offset == expected.offset && error.message == expected.message)
            default:
                Issue.record("document and shape disagree on \(bytes)")
            }
        }
        #expect(valid > 1_000)
    }
}
