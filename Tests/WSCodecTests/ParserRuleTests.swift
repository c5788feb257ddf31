import Testing
import WSCodec

struct ParserCase: CustomTestStringConvertible, Sendable {
    var name: String
    var chunks: [[UInt8]]
    var events: [Recorded] = []
    var code: UInt16?  // expected error close code, nil: no error
    var role: WebSocketParser.Role = .server
    var max = 1000
    var testDescription: String { name }
}

extension Recorded: @unchecked Sendable {}

private let text = WebSocketOpcode.text
private let binary = WebSocketOpcode.binary
private let cont = WebSocketOpcode.continuation

/// A masked frame with a raw opcode (reserved ones included).
private func rawFrame(_ opcode: UInt8, fin: Bool = true, _ payload: [UInt8] = []) -> [UInt8] {
    WebSocketFrameEncoder.maskedFrame(rawOpcode: opcode, fin: fin, payload: payload, maskKey: testMaskKey)
}

/// A masked frame header with a hand-made length field (non-minimal encodings, huge lengths).
private func headerWithLength(_ b0: UInt8, lengthBytes: [UInt8]) -> [UInt8] {
    [b0] + [0x80 | lengthBytes[0]] + lengthBytes.dropFirst() + [testMaskKey.0, testMaskKey.1, testMaskKey.2, testMaskKey.3]
}

private func masked(_ payload: [UInt8]) -> [UInt8] {
    let mask = [testMaskKey.0, testMaskKey.1, testMaskKey.2, testMaskKey.3]
    return payload.enumerated().map { $1 ^ mask[$0 % 4] }
}

let parserErrorCases: [ParserCase] = {
    var cases: [ParserCase] = []
    for rsv: UInt8 in 1...7 {
        cases.append(ParserCase(name: "rsv \(rsv) on text", chunks: [cf(.text, Array("hi".utf8), rsv: rsv)], code: 1002))
    }
    cases.append(ParserCase(name: "rsv1 on ping", chunks: [cf(.ping, [], rsv: 4)], code: 1002))
    for op: UInt8 in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
        cases.append(ParserCase(name: "reserved opcode \(op)", chunks: [rawFrame(op, [1, 2])], code: 1002))
    }
    cases += [
        ParserCase(name: "unmasked frame to server", chunks: [WebSocketFrameEncoder.frame(opcode: .text, payload: Array("hi".utf8))], code: 1002),
        ParserCase(name: "masked frame to client", chunks: [cf(.text, "hi")], code: 1002, role: .client),
        ParserCase(name: "ping of 126 bytes", chunks: [cf(.ping, [UInt8](repeating: 1, count: 126))], code: 1002),
        ParserCase(name: "close of 126 bytes", chunks: [cf(.close, closeBytes(1000, [UInt8](repeating: 0x61, count: 124)))], code: 1002),
        ParserCase(name: "ping with FIN=0", chunks: [cf(.ping, fin: false, [1])], code: 1002),
        ParserCase(name: "pong with FIN=0", chunks: [cf(.pong, fin: false, [])], code: 1002),
        ParserCase(name: "continuation without message", chunks: [cf(cont, "x")], code: 1002),
        ParserCase(name: "continuation after a complete message", chunks: [cf(text, "a") + cf(cont, "b")], events: [.text("a")], code: 1002),
        ParserCase(name: "text during fragmented text", chunks: [cf(text, fin: false, "a") + cf(text, "b")], code: 1002),
        ParserCase(name: "binary during fragmented text", chunks: [cf(text, fin: false, "a") + cf(binary, [1])], code: 1002),
        ParserCase(name: "64-bit length with top bit set", chunks: [headerWithLength(0x82, lengthBytes: [127, 0x80, 0, 0, 0, 0, 0, 0, 1])], code: 1002),
        ParserCase(name: "64-bit length all ones", chunks: [headerWithLength(0x82, lengthBytes: [127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])], code: 1002),
        ParserCase(name: "too big announced, no payload yet", chunks: [headerWithLength(0x82, lengthBytes: [126, 0x03, 0xE9])], code: 1009),
        ParserCase(name: "too big, 64-bit length", chunks: [headerWithLength(0x81, lengthBytes: [127, 0, 0, 0, 1, 0, 0, 0, 0])], code: 1009),
        ParserCase(name: "fragments sum over max", chunks: [cf(binary, fin: false, [UInt8](repeating: 1, count: 600)) + cf(cont, [UInt8](repeating: 1, count: 401))], code: 1009),
        ParserCase(name: "invalid UTF-8 text", chunks: [cf(text, [0x61, 0xFF])], code: 1007),
        ParserCase(name: "surrogate in text", chunks: [cf(text, [0xED, 0xA0, 0x80])], code: 1007),
        ParserCase(name: "truncated UTF-8 at message end", chunks: [cf(text, [0x61, 0xE2, 0x82])], code: 1007),
        ParserCase(name: "truncated UTF-8 at end of fragments", chunks: [cf(text, fin: false, [0xE2]) + cf(cont, [0x82])], code: 1007),
        ParserCase(name: "invalid UTF-8 across fragments", chunks: [cf(text, fin: false, [0xE2, 0x82]) + cf(cont, [0x41])], code: 1007),
        ParserCase(name: "invalid UTF-8 in a fragment with a ping between", chunks: [cf(text, fin: false, [0xCE]) + cf(.ping, [9]) + cf(cont, [0xC0])], events: [.ping([9])], code: 1007),
        ParserCase(name: "close with 1-byte payload", chunks: [cf(.close, [0x03])], code: 1002),
        ParserCase(name: "close reason invalid UTF-8", chunks: [cf(.close, closeBytes(1000, [0xCE, 0xBA, 0xFF]))], code: 1007),
        ParserCase(name: "close reason truncated UTF-8", chunks: [cf(.close, closeBytes(1000, [0xCE]))], code: 1007),
    ]
    for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        cases.append(ParserCase(name: "close code \(code)", chunks: [cf(.close, closeBytes(code))], code: 1002))
    }
    return cases
}()

let parserValidCases: [ParserCase] = {
    var cases: [ParserCase] = [
        ParserCase(name: "text", chunks: [cf(text, "Hello")], events: [.text("Hello")]),
        ParserCase(name: "empty text", chunks: [cf(text, "")], events: [.text("")]),
        ParserCase(name: "empty binary", chunks: [cf(binary, [])], events: [.binary([])]),
        ParserCase(name: "empty fragmented text", chunks: [cf(text, fin: false, "") + cf(cont, fin: false, "") + cf(cont, "")], events: [.text("")]),
        ParserCase(name: "empty fragments split", chunks: [cf(text, fin: false, ""), cf(cont, fin: false, ""), cf(cont, "")], events: [.text("")]),
        ParserCase(name: "fragmented text", chunks: [cf(text, fin: false, "Hel") + cf(cont, fin: false, "lo, ") + cf(cont, "世界")], events: [.text("Hello, 世界")]),
        ParserCase(name: "fragmented binary", chunks: [cf(binary, fin: false, [1, 2]) + cf(cont, [3])], events: [.binary([1, 2, 3])]),
        ParserCase(
            name: "control frames between fragments",
            chunks: [cf(text, fin: false, "a") + cf(.ping, [1]) + cf(cont, fin: false, "b") + cf(.pong, []) + cf(cont, "c")],
            events: [.ping([1]), .pong([]), .text("abc")]),
        ParserCase(name: "ping 125 bytes", chunks: [cf(.ping, [UInt8](repeating: 7, count: 125))], events: [.ping([UInt8](repeating: 7, count: 125))]),
        ParserCase(name: "empty ping and pong", chunks: [cf(.ping) + cf(.pong)], events: [.ping([]), .pong([])]),
        ParserCase(name: "empty close", chunks: [cf(.close)], events: [.close(nil, [])]),
        ParserCase(name: "close with reason", chunks: [cf(.close, closeBytes(1000, Array("bye 👋".utf8)))], events: [.close(1000, Array("bye 👋".utf8))]),
        ParserCase(name: "input after close ignored", chunks: [cf(.close, closeBytes(1001)) + [0xFF, 0xFF, 0xFF], cf(text, "x")], events: [.close(1001, [])]),
        ParserCase(name: "message of exactly max", chunks: [cf(binary, [UInt8](repeating: 2, count: 1000))], events: [.binary([UInt8](repeating: 2, count: 1000))]),
        ParserCase(name: "fragments summing to exactly max", chunks: [cf(binary, fin: false, [UInt8](repeating: 2, count: 999)) + cf(cont, [2])], events: [.binary([UInt8](repeating: 2, count: 1000))]),
        ParserCase(name: "non-minimal 16-bit length", chunks: [headerWithLength(0x81, lengthBytes: [126, 0, 2]) + masked(Array("hi".utf8))], events: [.text("hi")]),
        ParserCase(name: "non-minimal 64-bit length", chunks: [headerWithLength(0x82, lengthBytes: [127, 0, 0, 0, 0, 0, 0, 0, 1]) + masked([5])], events: [.binary([5])]),
        ParserCase(name: "client role, unmasked", chunks: [WebSocketFrameEncoder.frame(opcode: .text, payload: Array("ok".utf8))], events: [.text("ok")], role: .client),
        ParserCase(name: "two messages in one read", chunks: [cf(text, "a") + cf(binary, [1])], events: [.text("a"), .binary([1])]),
        ParserCase(name: "valid UTF-8 split across fragments", chunks: [cf(text, fin: false, [0xF0, 0x9F]) + cf(cont, fin: false, [0x98]) + cf(cont, [0x80])], events: [.text("😀")]),
    ]
    for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
        cases.append(ParserCase(name: "close code \(code)", chunks: [cf(.close, closeBytes(code))], events: [.close(code, [])]))
    }
    return cases
}()

@Suite struct ParserRuleTests {
    @Test(arguments: parserErrorCases)
    func protocolErrors(_ c: ParserCase) {
        let outcome = feed(c.chunks, role: c.role, maxMessageBytes: c.max)
        #expect(outcome.error?.code.rawValue == c.code, "\(outcome)")
        #expect(outcome.events == c.events)
        // The same stream one byte at a time fails identically.
        let bytewise = feed(c.chunks.flatMap { $0 }.map { [$0] }, role: c.role, maxMessageBytes: c.max)
        #expect(bytewise == outcome)
    }

    @Test(arguments: parserValidCases)
    func validStreams(_ c: ParserCase) {
        let outcome = feed(c.chunks, role: c.role, maxMessageBytes: c.max)
        #expect(outcome.error == nil)
        #expect(outcome.events == c.events)
        let bytewise = feed(c.chunks.flatMap { $0 }.map { [$0] }, role: c.role, maxMessageBytes: c.max)
        #expect(bytewise == outcome)
    }

    @Test func errorIsStickyAndNothingIsDeliveredAfterIt() {
        var parser = WebSocketParser()
        let first = feed([cf(.ping, fin: false, [])], into: &parser)
        #expect(first.error?.code == .protocolError)
        let second = feed([cf(.text, "ignored")], into: &parser)
        #expect(second.error == first.error)
        #expect(second.events.isEmpty)
        #expect(parser.failure == first.error)
    }

    @Test func tooBigIsReportedBeforeThePayloadArrives() {
        var parser = WebSocketParser(maxMessageBytes: 100)
        // Only the header of a 101-byte binary frame.
        let header = Array(cf(.binary, [UInt8](repeating: 0, count: 101)).prefix(6))
        let outcome = feed([header], into: &parser)
        #expect(outcome.error?.code == .messageTooBig)
    }

    @Test func invalidUTF8IsReportedMidFrame() {
        // A 1000-byte text frame whose first bytes are already invalid: the error comes with the
        // first chunk, before the rest of the frame arrives.
        var payload = [UInt8](repeating: 0x61, count: 1000)
        payload[3] = 0xFF
        let frame = cf(.text, payload)
        var parser = WebSocketParser()
        let outcome = feed([Array(frame.prefix(20))], into: &parser)
        #expect(outcome.error?.code == .invalidPayload)
    }

    @Test func invalidUTF8IsReportedMidFragmentAcrossReads() {
        var parser = WebSocketParser()
        let ok = feed([cf(.text, fin: false, [0xE2])], into: &parser)
        #expect(ok.error == nil)
        let frame = cf(.continuation, [0x28, 0x61, 0x61, 0x61])  // 0xE2 then '(' is invalid
        let outcome = feed([Array(frame.prefix(7))], into: &parser)  // header + 1 payload byte
        #expect(outcome.error?.code == .invalidPayload)
    }

    @Test func bufferIsReleasedAfterASplitMessage() {
        var parser = WebSocketParser()
        let frame = cf(.binary, [UInt8](repeating: 3, count: 5000))
        var recorder = Recorder()
        var a = Array(frame.prefix(2000))
        var b = Array(frame.dropFirst(2000))
        _ = a.withUnsafeMutableBytes { parser.parse($0, into: &recorder) }
        #expect(parser.bufferedBytes >= 1992)
        _ = b.withUnsafeMutableBytes { parser.parse($0, into: &recorder) }
        #expect(parser.bufferedBytes == 0)
        #expect(recorder.events == [.binary([UInt8](repeating: 3, count: 5000))])
    }

    @Test func wholeMessagesAreDeliveredZeroCopyWithoutBuffering() {
        struct PointerSink: WebSocketEventSink {
            var pointers: [UnsafeRawPointer?] = []
            mutating func webSocketEvent(_ event: WebSocketEvent) {
                if case .binary(let b) = event { pointers.append(b.baseAddress) }
            }
        }
        var parser = WebSocketParser()
        var bytes = cf(.binary, [1, 2, 3]) + cf(.binary, [4])
        var sink = PointerSink()
        bytes.withUnsafeMutableBytes { buf in
            #expect(parser.parse(buf, into: &sink) == nil)
            #expect(sink.pointers == [UnsafeRawPointer(buf.baseAddress! + 6), UnsafeRawPointer(buf.baseAddress! + 15)])
        }
        #expect(parser.bufferedBytes == 0)
    }

    @Test func partialHeaderIsKeptWithoutHeap() {
        var parser = WebSocketParser()
        let frame = cf(.binary, [UInt8](repeating: 9, count: 70000))  // 14-byte header
        for i in 0..<13 {
            let outcome = feed([[frame[i]]], into: &parser)
            #expect(outcome.error == nil && outcome.events.isEmpty)
            #expect(parser.bufferedBytes == 0)
        }
    }
}
