import Testing
import WavehostJSON

@Suite struct JSONParserTests {
    @Test(arguments: [
        #"{}"#, #"[]"#, #" {"a": [1, -2.5e3, true, false, null, "x"]} "#, #""\u00e9\ud83d\ude00""#,
        "0", "-0", "1.0E+2", #""é😀""#, #"{"nested": {"deep": [[[]]]}}"#,
    ])
    func acceptsValidJSON(_ text: String) throws {
        let value = try JSON.parse(text)
        #expect(try JSON.parse(value.text) == value)
        try Array(text.utf8).withUnsafeBytes { try JSON.validate($0) }
    }

    @Test(arguments: [
        ("", "empty input"), ("{", "unterminated object"), (#"{"a" 1}"#, "expected ':'"), ("[1,]", "unexpected character"),
        ("01", "leading zeros"), ("1.", "expected a digit after '.'"), ("tru", "invalid literal"),
        (#""\x""#, "invalid escape"), (#""\ud800""#, "unpaired surrogate"), ("{} {}", "unexpected data after"),
        ("\"a\tb\"", "control character"), (#"{"a":1,}"#, "expected a string key"),
    ])
    func refusesInvalidJSON(_ text: String, _ reason: String) {
        #expect {
            try JSON.parse(text)
        } throws: { error in
            (error as? JSONParseError)?.reason.contains(reason) == true
        }
    }

    @Test(arguments: [
        [0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
    ] as [[UInt8]])
    func refusesMalformedUTF8InStrings(_ sequence: [UInt8]) {
        let bytes = Array(#"[""#.utf8) + sequence + Array(#""]"#.utf8)
        #expect(throws: JSONParseError.self) { try JSON.parse(bytes) }
        #expect(throws: JSONParseError.self) { try bytes.withUnsafeBytes { try JSON.validate($0) } }
    }

    @Test func refusesNestingPastTheLimitWithoutExhaustingTheStack() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError(reason: "nesting deeper than 512", offset: 512)) { try JSON.parse(deep) }
        let limit = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSON.parse(limit)
    }

    @Test func reportsTheOffsetOfTheFault() {
        #expect(throws: JSONParseError(reason: "expected ',' or ']' in array", offset: 6)) { try JSON.parse("[1, 2 3]") }
    }

    @Test func printsEscapesAndKeepsKeyOrder() throws {
        let value: JSON = ["z": "quote \" backslash \\ newline \n tab \t bell \u{07}", "a": [1, nil, true]]
        #expect(value.text == #"{"z":"quote \" backslash \\ newline \n tab \t bell \u0007","a":[1,null,true]}"#)
        #expect(try JSON.parse(value.text) == value)
    }

    @Test func equalityIgnoresKeyOrderAndNumberSpelling() throws {
        #expect(try JSON.parse(#"{"a":1,"b":[2.0]}"#) == JSON.parse(#"{"b":[2],"a":1.0}"#))
        #expect(try JSON.parse(#"{"a":1}"#) != JSON.parse(#"{"a":1,"b":2}"#))
        #expect(try JSON.parse("12345678901234567890") == .number("12345678901234567890"))
    }
}
