import Testing

@testable import AuraWell

extension ParserTests {
    @Suite struct JSONValues {
        static func parse(_ bytes: [UInt8], maxDepth: Int = 32) -> Result<JSONValue, JSONParseError> {
            bytes.withUnsafeBytes { buffer in
                Result { () throws(JSONParseError) -> JSONValue in try JSONValue.parse(buffer, maxDepth: maxDepth) }
            }
        }

        static func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        }

        static let valid: [(text: String, value: JSONValue)] = [
            ("null", .null),
            ("true", .bool(true)),
            (" \t\r\nfalse\n ", .bool(false)),
            ("0", .number(0)),
            ("-0", .number(-0.0)),
            ("42", 42),
            ("-17", -17),
            ("1.5", 1.5),
            ("-1.25e2", -125),
            ("1E+2", 100),
            ("2e-3", 0.002),
            ("0.1", 0.1),
            ("12345678901234567890", .number(12_345_678_901_234_567_168)),
            ("-9223372036854775808", .number(-9_223_372_036_854_775_808)),
            ("1e308", .number(1e308)),
            ("1e-400", .number(0)),
            (#""""#, ""),
            (#""héllo 你好 😀""#, "héllo 你好 😀"),
            (#""a\u00e9\ud83d\ude00\n\"\\\/""#, "aé😀\n\"\\/"),
            (#""\ud800""#, "\u{FFFD}"),
            ("\"\u{7F}\"", "\u{7F}"),
            ("[]", []),
            ("{}", [:]),
            ("[1,[2,[3]]]", [1, [2, [3]]]),
            (#" { "a" : [ true , null ] , "b" : { } } "#, ["a": [true, .null], "b": [:]]),
            (#"{"a":1,"a":2}"#, ["a": 2]),
            (#"{"type":"health_chat","data":{"message":"我睡不好","context":{"sleep_hours":5.5}}}"#,
             ["type": "health_chat", "data": ["message": "我睡不好", "context": ["sleep_hours": 5.5]]]),
        ]

        @Test(arguments: valid)
        func parsesValid(_ example: (text: String, value: JSONValue)) throws {
            #expect(try JSONValue.parse(example.text) == example.value, "\(example.text)")
        }

        static let invalid: [(name: String, bytes: [UInt8], offset: Int)] = [
            ("empty", [], 0),
            ("whitespace only", [UInt8](" \n"), 2),
            ("trailing comma in array", [UInt8]("[1,]"), 3),
            ("trailing comma in object", [UInt8](#"{"a":1,}"#), 7),
            ("line comment", [UInt8]("// c\n1"), 0),
            ("block comment", [UInt8]("/* */1"), 0),
            ("comment after value", [UInt8]("1 // c"), 2),
            ("NaN", [UInt8]("NaN"), 0),
            ("Infinity", [UInt8]("Infinity"), 0),
            ("-Infinity", [UInt8]("-Infinity"), 1),
            ("leading zero", [UInt8]("01"), 1),
            ("negative leading zero", [UInt8]("-01"), 2),
            ("dot without digits", [UInt8]("1."), 2),
            ("leading dot", [UInt8](".5"), 0),
            ("plus sign", [UInt8]("+1"), 0),
            ("exponent without digits", [UInt8]("1e"), 2),
            ("hex", [UInt8]("0x10"), 1),
            ("too large", [UInt8]("1e400"), 0),
            ("single quotes", [UInt8]("'a'"), 0),
            ("unterminated string", [UInt8](#""abc"#), 4),
            ("invalid escape", [UInt8](#""\x""#), 1),
            ("bad \\u", [UInt8](#""\u00G0""#), 5),
            ("raw tab in string", [UInt8]("\"a\tb\""), 2),
            ("missing comma", [UInt8]("[1 2]"), 3),
            ("missing colon", [UInt8](#"{"a" 1}"#), 5),
            ("non-string key", [UInt8]("{1:2}"), 1),
            ("two values", [UInt8]("1 2"), 2),
            ("truncated literal", [UInt8]("tru"), 3),
            ("wrong literal", [UInt8]("nul1"), 3),
            ("unclosed array", [UInt8]("["), 1),
            ("lone closer", [UInt8]("]"), 0),
            ("missing value", [UInt8](#"{"a":}"#), 5),
            ("invalid UTF-8 byte", [0x22, 0xFF, 0x22], 1),
            ("overlong encoding", [0x22, 0xC0, 0xAF, 0x22], 1),
            ("encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22], 1),
            ("truncated sequence", [0x22, 0xE4, 0xBD, 0x22], 1),
            ("above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),
            ("invalid UTF-8 in key", [0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D], 2),
            ("non-ASCII outside strings", [0xC3, 0xA9], 0),
            ("33 levels", [UInt8](nested(33)), 32),
            ("deep object", [UInt8](String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)), 160),
        ]

        @Test(arguments: invalid)
        func rejectsInvalid(_ example: (name: String, bytes: [UInt8], offset: Int)) {
            switch Self.parse(example.bytes) {
            case .success(let value): Issue.record("\(example.name): accepted as \(value)")
            case .failure(let error): #expect(error.offset == example.offset, "\(example.name): \(error.message)")
            }
        }

        @Test func depthLimit() throws {
            #expect(throws: Never.self) { try JSONValue.parse(Self.nested(32)) }
            #expect(throws: JSONParseError.self) { try JSONValue.parse(Self.nested(33)) }
            #expect(throws: Never.self) { try JSONValue.parse(Self.nested(3), maxDepth: 3) }
            #expect(throws: JSONParseError.self) { try JSONValue.parse(Self.nested(4), maxDepth: 3) }
            #expect(throws: Never.self) { try JSONValue.parse("1", maxDepth: 0) }
            // Deep input is refused before the stack is at risk.
            #expect(throws: JSONParseError.self) { try JSONValue.parse(Self.nested(100_000)) }
        }

        @Test func accessors() throws {
            let value = try JSONValue.parse(#"{"s":"x","n":3,"f":3.5,"b":true,"z":null,"a":[1],"o":{"k":"v"}}"#)
            #expect(value["s"]?.stringValue == "x")
            #expect(value["n"]?.intValue == 3)
            #expect(value["n"]?.doubleValue == 3)
            #expect(value["f"]?.intValue == nil)
            #expect(value["f"]?.doubleValue == 3.5)
            #expect(value["b"]?.boolValue == true)
            #expect(value["z"]?.isNull == true)
            #expect(value["a"]?.arrayValue == [1])
            #expect(value["o"]?["k"] == "v")
            #expect(value["o"]?.objectValue == ["k": "v"])
            #expect(value["missing"] == nil)
            #expect(value["s"]?["k"] == nil)
            #expect(value["s"]?.intValue == nil)
            #expect(JSONValue.number(1e300).intValue == nil)
            #expect(JSONValue.string("1").isNull == false)
        }

        static let serializations: [(value: JSONValue, text: String)] = [
            (.null, "null"),
            (true, "true"),
            (3, "3"),
            (-3, "-3"),
            (.number(-0.0), "0"),
            (0.5, "0.5"),
            (-1.25, "-1.25"),
            (.number(9_007_199_254_740_992), "9007199254740992"),
            (.number(-9_007_199_254_740_992), "-9007199254740992"),
            (.number(18_014_398_509_481_984), "1.8014398509481984e+16"),
            (1e-7, "1e-07"),
            (.number(.infinity), "null"),
            (.number(.nan), "null"),
            ("", #""""#),
            ("\"\\\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é😀/", #""\"\\\n\r\t\b\f\u0001\u001f"# + "\u{7F}é😀/\""),
            ([], "[]"),
            ([:], "{}"),
            ([1, "a", [.null]], #"[1,"a",[null]]"#),
            (["b": [1, 2.5], "a": .null, "é": true, "A": false], #"{"A":false,"a":null,"b":[1,2.5],"é":true}"#),
        ]

        @Test(arguments: serializations)
        func serializes(_ example: (value: JSONValue, text: String)) {
            #expect(example.value.serialized() == example.text)
            var bytes: [UInt8] = [0x2A]
            example.value.serialize(into: &bytes)
            #expect(bytes == [0x2A] + [UInt8](example.text))
        }

        static let roundTripValues: [JSONValue] = [
            .null, true, false, 0, -1, 0.1, 1e300, -2.5e-300, 123_456_789.125, .number(Double.leastNonzeroMagnitude),
            .number(Double.greatestFiniteMagnitude), .number(9_007_199_254_740_994),
            "", "plain", "quote \" backslash \\ slash /", "控制\u{0}\u{1}\u{1F}\n\r\t\u{08}\u{0C}", "😀👍🏽 你好",
            [], [:], [[[]]], [1, "two", [3.5, .null], ["four": 4]],
            ["type": "health_chat", "data": ["message": "我最近睡眠不好", "context": ["sleep_hours": 5.5, "mood": "tired"]],
             "conversation_id": "c_1", "flags": [true, false, .null]],
        ]

        @Test(arguments: roundTripValues)
        func roundTrips(_ value: JSONValue) throws {
            let text = value.serialized()
            #expect(try JSONValue.parse(text) == value, "\(text)")
        }

        @Test func parsesFromBytesAndString() throws {
            let text = #"{"message":"你好"}"#
            let fromBytes = try [UInt8](text).withUnsafeBytes { bytes throws(JSONParseError) in try JSONValue.parse(bytes) }
            #expect(fromBytes == (try JSONValue.parse(text)))
            #expect(fromBytes["message"]?.stringValue == "你好")
        }

        @Test func errorsCarryAMessage() {
            #expect(Self.parse([UInt8]("[1,]")) == .failure(JSONParseError(message: "expected a value", offset: 3)))
            #expect(Self.parse([UInt8]("")) == .failure(JSONParseError(message: "unexpected end of input", offset: 0)))
        }
    }
}
