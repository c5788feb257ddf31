import Testing

@testable import AuraWell

extension ParserTests {
    @Suite struct SSEParsing {
        struct Outcome: Equatable {
            var events: [String]
            var ok: Bool
        }

        /// Feeds `pieces` one after another and collects every event's data.
        static func run(_ pieces: [[UInt8]], maxEventBytes: Int = 1 << 20) -> Outcome {
            var parser = SSEParser(maxEventBytes: maxEventBytes)
            var events: [String] = []
            var ok = true
            for piece in pieces where ok {
                ok = piece.withUnsafeBytes { bytes in
                    parser.feed(bytes) { data in events.append(String(decoding: data, as: UTF8.self)) }
                }
            }
            return Outcome(events: events, ok: ok)
        }

        static func run(_ pieces: [String], maxEventBytes: Int = 1 << 20) -> Outcome {
            run(pieces.map { [UInt8]($0) }, maxEventBytes: maxEventBytes)
        }

        static let cases: [(name: String, pieces: [String], events: [String])] = [
            ("LF", ["data: a\n\ndata: b\n\n"], ["a", "b"]),
            ("CRLF", ["data: a\r\n\r\ndata: b\r\n\r\n"], ["a", "b"]),
            ("CR", ["data: a\r\rdata: b\r\r"], ["a", "b"]),
            ("mixed line ends", ["data: a\r\ndata: b\rdata: c\n\r\n"], ["a\nb\nc"]),
            ("CR lines, then LF and CRLF lines", ["data: a\r\rdata: b\n\ndata: c\r\n\r\n"], ["a", "b", "c"]),
            ("data: prefix split", ["da", "ta: x\n\n", "data", ": y\n", "\n"], ["x", "y"]),
            ("CRLF split before LF", ["data: a\r", "\n\r", "\n"], ["a"]),
            ("CRLF split, data line follows", ["data: a\r", "\ndata: b\r\n\r\n"], ["a\nb"]),
            ("CR then LF in a later empty-line position", ["data: a\r\n\r", "\ndata: b\r\n\r\n"], ["a", "b"]),
            ("CR at end then CR", ["data: a\r", "\r"], ["a"]),
            ("comment keep-alive only", [": keep-alive\n\n", ": keep-alive\n\n"], []),
            ("comment between events", [": keep-alive\n\ndata: x\n\n:c\n\n"], ["x"]),
            ("comment inside an event", ["data: a\n: note\ndata: b\n\n"], ["a\nb"]),
            ("multi-line data", ["data: a\ndata: b\ndata: c\n\n"], ["a\nb\nc"]),
            ("data without space", ["data:x\n\n"], ["x"]),
            ("only one space stripped", ["data:  x \n\n"], [" x "]),
            ("empty data value", ["data:\n\n"], [""]),
            ("data field without colon", ["data\n\n"], [""]),
            ("two empty data lines", ["data\ndata\n\n"], ["\n"]),
            ("event without data is not dispatched", ["event: ping\n\n"], []),
            ("id and retry alone are not dispatched", ["id: 7\nretry: 100\n\n"], []),
            ("fields around data", ["event: message\nid: 1\nretry: 3000\ndata: x\n\n"], ["x"]),
            ("unknown field ignored", ["foo: bar\ndata: x\nfoo\n\n"], ["x"]),
            ("field names are case-sensitive", ["Data: x\n\n", "data : y\n\n"], []),
            ("field name longer than data", ["datax: 1\ndata: y\n\n"], ["y"]),
            ("colon in value kept", ["data: {\"a\":\"b: c\"}\n\n"], ["{\"a\":\"b: c\"}"]),
            ("leading BOM skipped", ["\u{FEFF}data: x\n\n"], ["x"]),
            ("BOM only at stream start", ["data: a\n\n\u{FEFF}data: b\n\n"], ["a"]),
            ("several empty lines", ["\n\n\ndata: a\n\n\n\n"], ["a"]),
            ("trailing event without empty line is pending", ["data: a\n\ndata: b\n"], ["a"]),
            ("DeepSeek-like stream", [
                ": keep-alive\n\n",
                "data: {\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}\n\n",
                "data: [DONE]\n\n",
            ], ["{\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}", "[DONE]"]),
        ]

        @Test(arguments: cases)
        func parses(_ example: (name: String, pieces: [String], events: [String])) {
            #expect(Self.run(example.pieces) == Outcome(events: example.events, ok: true), "\(example.name)")
        }

        /// The same stream, cut at every byte boundary (and byte by byte), yields the same events.
        @Test(arguments: cases.map(\.pieces) + [[Self.mixedStream]])
        func splitAnywhereGivesTheSameEvents(_ pieces: [String]) {
            let whole = pieces.flatMap { [UInt8]($0) }
            let expected = Self.run([whole])
            #expect(expected.ok)
            for cut in 0...whole.count {
                #expect(Self.run([Array(whole[..<cut]), Array(whole[cut...])]) == expected, "cut at \(cut)")
            }
            for first in 0...whole.count {
                for second in first...min(whole.count, first + 9) {
                    let parts = [Array(whole[..<first]), Array(whole[first..<second]), Array(whole[second...])]
                    #expect(Self.run(parts) == expected, "cuts at \(first), \(second)")
                }
            }
            #expect(Self.run(whole.map { [$0] }) == expected, "byte by byte")
        }

        static let mixedStream =
            "\u{FEFF}: hi\r\n\r\nevent: x\r\ndata: one\r\ndata:two\r\r" + "data: 三\n\n" + "id: 1\ndata\rdata: \r\n\n"
            + "retry: 10\n\n" + "data: {\"a\":1}\r\n\r\n" + "data: tail"

        @Test func mixedStreamEvents() {
            #expect(Self.run([Self.mixedStream]).events == ["one\ntwo", "三", "\n", "{\"a\":1}"])
        }

        @Test func eventTypeIsReportedAndReset() {
            var parser = SSEParser()
            var seen: [String] = []
            let stream = [UInt8]("event: error\ndata: {}\n\ndata: x\n\nevent: a\n\nevent: b\ndata: y\n\n")
            let ok = stream.withUnsafeBytes { bytes in
                parser.feedEvents(bytes, onEvent: { event in
                    seen.append(String(decoding: event.type, as: UTF8.self) + "=" + String(decoding: event.data, as: UTF8.self))
                })
            }
            #expect(ok)
            #expect(seen == ["error={}", "=x", "b=y"])
        }

        @Test func wholeEventInOneInputIsDeliveredFromTheInput() {
            var parser = SSEParser()
            let stream = [UInt8]("data: {\"x\":1}\n\n")
            var inInput = false
            let ok = stream.withUnsafeBytes { bytes in
                parser.feed(bytes) { data in
                    let start = bytes.baseAddress!
                    inInput = data.baseAddress! >= start && data.baseAddress! + data.count <= start + bytes.count
                }
            }
            #expect(ok && inInput)
        }

        @Test(arguments: [
            (["data: 0123456789abcdef\n\n"], 16, true),
            (["data: 0123456789abcdefg\n\n"], 16, false),
            (["data: 01234567\ndata: 89abcdef\n\n"], 16, false),  // 17 bytes with the joining LF
            (["data: 01234567\ndata: 89abcde\n\n"], 16, true),
            (["data: 0123456789", "abcdefg\n\n"], 16, false),
            (["data: 0123456789", "abcdef\n\n"], 16, true),
            (["event: 0123456789abcdefg\n\n"], 16, false),
            ([": a comment longer than the limit is fine\n\n"], 16, true),
        ])
        func oversizeEventFails(pieces: [String], limit: Int, ok: Bool) {
            #expect(Self.run(pieces, maxEventBytes: limit).ok == ok)
        }

        @Test func failureIsSticky() {
            var parser = SSEParser(maxEventBytes: 4)
            var count = 0
            func feed(_ text: String) -> Bool {
                [UInt8](text).withUnsafeBytes { bytes in parser.feed(bytes) { _ in count += 1 } }
            }
            let first = feed("data: 12345\n\n")
            let second = feed("data: 1\n\n")
            #expect(!first && !second && count == 0)
            parser.reset()
            let third = feed("data: 1\n\n")
            #expect(third && count == 1)
        }

        @Test func emptyInputIsFine() {
            var parser = SSEParser()
            let empty: [UInt8] = []
            let ok = empty.withUnsafeBytes { parser.feed($0) { _ in Issue.record("no event expected") } }
            #expect(ok)
        }
    }
}
