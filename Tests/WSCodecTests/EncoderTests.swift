import Testing
import WSCodec

@Suite struct EncoderTests {
    static let lengths = [0, 1, 125, 126, 127, 65535, 65536, 70000]

    private static func payload(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) } }

    @Test(arguments: lengths)
    func headerSizes(length: Int) {
        let expected = length < 126 ? 2 : length < 65536 ? 4 : 10
        #expect(WebSocketFrameEncoder.headerSize(payloadLength: length) == expected)
        #expect(WebSocketFrameEncoder.headerSize(payloadLength: length, masked: true) == expected + 4)
        var out = [UInt8](repeating: 0, count: 14)
        let written = out.withUnsafeMutableBytes {
            WebSocketFrameEncoder.writeHeader(opcode: .binary, payloadLength: length, to: $0.baseAddress!)
        }
        #expect(written == expected)
        #expect(out[0] == 0x82)
        #expect(out[1] & 0x80 == 0)
    }

    @Test(arguments: lengths, [WebSocketOpcode.binary, .text])
    func serverFrameRoundTripsThroughClientParser(length: Int, opcode: WebSocketOpcode) {
        let p = opcode == .text ? [UInt8](repeating: 0x61, count: length) : Self.payload(length)
        let frame = WebSocketFrameEncoder.frame(opcode: opcode, payload: p)
        #expect(frame.count == WebSocketFrameEncoder.headerSize(payloadLength: length) + length)
        let outcome = feed([frame], role: .client, maxMessageBytes: 1 << 20)
        #expect(outcome.error == nil)
        #expect(outcome.events == [opcode == .text ? .text(p) : .binary(p)])
    }

    @Test(arguments: lengths)
    func maskedFrameRoundTripsThroughServerParser(length: Int) {
        let p = Self.payload(length)
        let frame = WebSocketFrameEncoder.maskedFrame(opcode: .binary, payload: p, maskKey: (0xDE, 0xAD, 0xBE, 0xEF))
        #expect(frame.count == WebSocketFrameEncoder.headerSize(payloadLength: length, masked: true) + length)
        #expect(length < 4 || Array(frame.suffix(length)) != p)  // really masked
        let outcome = feed([frame], role: .server, maxMessageBytes: 1 << 20)
        #expect(outcome.error == nil)
        #expect(outcome.events == [.binary(p)])
        // And split in three.
        let a = frame.count / 3
        let b = 2 * frame.count / 3
        let split = feed([Array(frame[..<a]), Array(frame[a..<b]), Array(frame[b...])], role: .server, maxMessageBytes: 1 << 20)
        #expect(split == outcome)
    }

    @Test func fragmentedServerFrames() {
        let frames = WebSocketFrameEncoder.frame(opcode: .text, fin: false, payload: Array("ab".utf8))
            + WebSocketFrameEncoder.frame(opcode: .continuation, fin: true, payload: Array("c".utf8))
        #expect(frames[0] == 0x01)
        #expect(feed([frames], role: .client).events == [.text("abc")])
    }

    @Test(arguments: [
        ("", 0), ("bye", 3), (String(repeating: "a", count: 123), 123), (String(repeating: "a", count: 200), 123),
        (String(repeating: "a", count: 122) + "é", 122), (String(repeating: "a", count: 121) + "é", 123),
        (String(repeating: "世", count: 50), 123), (String(repeating: "a", count: 120) + "😀", 120),
    ])
    func closePayloadTruncation(reason: String, reasonBytes: Int) {
        let p = WebSocketFrameEncoder.closePayload(code: .goingAway, reason: reason)
        #expect(p.count == 2 + reasonBytes)
        #expect(p[0] == 0x03 && p[1] == 0xE9)
        #expect(String(validating: p[2...], as: UTF8.self) != nil)
        #expect(Array(reason.utf8).starts(with: p[2...]))
        // Fits a control frame and the parser accepts it.
        let outcome = feed([WebSocketFrameEncoder.frame(opcode: .close, payload: p)], role: .client)
        #expect(outcome.events == [.close(1001, Array(p[2...]))])
    }

    @Test func rsvBitsAreSettable() {
        let f = WebSocketFrameEncoder.maskedFrame(opcode: .text, payload: [], maskKey: (0, 0, 0, 0), rsv: 0b101)
        #expect(f[0] == 0x80 | 0x50 | 0x01)
    }
}

@Suite struct CloseHandshakeTests {
    @Test func weInitiate() {
        var h = WebSocketCloseHandshake()
        #expect(h.state == .open)
        let frame = h.initiate(code: .normal, reason: "idle timeout")
        #expect(frame == WebSocketFrameEncoder.frame(opcode: .close, payload: closeBytes(1000, Array("idle timeout".utf8))))
        #expect(h.state == .closeSent)
        #expect(h.initiate(code: .goingAway, reason: "") == nil)
        #expect(h.receivedClose(code: .normal) == nil)
        #expect(h.state == .closed)
    }

    @Test(arguments: [nil, 1000, 1001, 4000] as [UInt16?])
    func peerInitiates(code: UInt16?) {
        var h = WebSocketCloseHandshake()
        let echo = h.receivedClose(code: code.map(WebSocketCloseCode.init(rawValue:)))
        #expect(h.state == .closed)
        let expected = WebSocketFrameEncoder.frame(opcode: .close, payload: code.map { closeBytes($0) } ?? [])
        #expect(echo == expected)
        #expect(h.initiate(code: .normal, reason: "") == nil)
        #expect(h.receivedClose(code: .normal) == nil)
        // The echo parses back to the same code.
        #expect(feed([echo ?? []], role: .client).events == [.close(code, [])])
    }

    @Test func closeCodeValidity() {
        let valid = (0...5000).filter { WebSocketCloseCode.isSendableOnWire(UInt16($0)) }
        #expect(valid == Array(1000...1003) + Array(1007...1014) + Array(3000...4999))
        #expect(!WebSocketCloseCode.isSendableOnWire(65535))
        #expect(WebSocketCloseCode.normal.rawValue == 1000 && WebSocketCloseCode.internalError.rawValue == 1011)
    }
}
