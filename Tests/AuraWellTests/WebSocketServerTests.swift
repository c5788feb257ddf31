import Foundation
import Testing

/// The gateway's WebSocket behaviour over real sockets, against the real binary.
@Suite struct WebSocketServerTests {
    @Test func chatEndpointGreetsWithWelcome() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        let head = try client.upgrade(path: "/ws/chat/user_1")
        #expect(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        let frame = try client.readFrame()
        #expect(frame.opcode == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any])
        #expect(json["type"] as? String == "welcome")
        #expect(json["user_id"] as? String == "user_1")
        #expect(json["active_member_id"] as? String == "user_1")
        #expect(json["message"] as? String == "欢迎使用AuraWell健康助手！")
        #expect((json["connection_id"] as? String)?.hasPrefix("conn_") == true)
        let timestamp = try #require(json["timestamp"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }

    @Test(arguments: [
        ("/ws/chat/bad%20id", 400), ("/ws/chat/" + String(repeating: "a", count: 65), 400), ("/ws/chat/", 400),
        ("/nowhere", 404), ("/ws/echo", 404),  // echo is off unless enabled
    ])
    func requestsThatCannotUpgradeGetAnHTTPStatus(path: String, status: Int) throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        try client.send(TestClient.request(path: path))
        #expect(try client.readResponseHead().status == status)
        #expect(client.waitForEOF())
    }

    @Test func unsupportedVersionGets426WithTheSupportedOne() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        let request = TestClient.request(path: "/ws/chat/u1").replacingOccurrences(
            of: "Sec-WebSocket-Version: 13", with: "Sec-WebSocket-Version: 8")
        try client.send(request)
        let (status, head) = try client.readResponseHead()
        #expect(status == 426)
        #expect(head.lowercased().contains("sec-websocket-version: 13"))
    }

    @Test func oversizedRequestHeadGets431() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        try client.send(TestClient.request(path: "/ws/chat/u1", extraHeaders: ["X-Filler: " + String(repeating: "x", count: 9000)]))
        #expect(try client.readResponseHead().status == 431)
    }

    @Test(arguments: [0, 1, 125, 126, 65535, 65536, 1 << 20])
    func echoesBinaryOfEverySize(size: Int) throws {
        let server = try ServerProcess(arguments: ["--enable-echo", "--max-message-bytes", "\(2 << 20)"])
        let client = try TestClient(port: server.port)
        try client.upgrade(path: "/ws/echo")
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try client.sendFrame(opcode: 2, payload: payload)
        let echo = try client.readFrame()
        #expect(echo.opcode == 2)
        #expect(echo.fin)
        #expect(echo.payload == payload)
    }

    @Test func fragmentedTextWithInterleavedPingIsReassembled() throws {
        let server = try ServerProcess(arguments: ["--enable-echo"])
        let client = try TestClient(port: server.port)
        try client.upgrade(path: "/ws/echo")
        let text = Array("健康助手: hello".utf8)
        // Split inside a multi-byte character on purpose.
        try client.sendFrame(opcode: 1, payload: Array(text[..<4]), fin: false)
        try client.sendFrame(opcode: 9, payload: Array("p1".utf8))
        try client.sendFrame(opcode: 0, payload: Array(text[4..<9]), fin: false)
        try client.sendFrame(opcode: 0, payload: Array(text[9...]), fin: true)
        let pong = try client.readFrame()
        #expect(pong.opcode == 10)
        #expect(pong.payload == Array("p1".utf8))
        let echo = try client.readFrame()
        #expect(echo.opcode == 1)
        #expect(echo.payload == text)
    }

    @Test func framesPipelinedBehindTheUpgradeRequestAreServed() throws {
        let server = try ServerProcess(arguments: ["--enable-echo"])
        let client = try TestClient(port: server.port)
        try client.send(Array(TestClient.request(path: "/ws/echo").utf8) + TestClient.frame(opcode: 1, payload: Array("early".utf8)))
        #expect(try client.readResponseHead().status == 101)
        #expect(try client.readFrame().text == "early")
    }

    @Test func requestSplitIntoTinyPiecesStillUpgrades() throws {
        let server = try ServerProcess(arguments: ["--enable-echo"])
        let client = try TestClient(port: server.port)
        for byte in TestClient.request(path: "/ws/echo").utf8 {
            try client.send([byte])
        }
        #expect(try client.readResponseHead().status == 101)
        try client.sendText("ok")
        #expect(try client.readFrame().text == "ok")
    }

    /// Each violation by name, with the frame that commits it and the close code it earns.
    static let violations: [String: (frame: [UInt8], code: UInt16)] = [
        "unmasked frame": (TestClient.frame(opcode: 1, payload: Array("x".utf8), masked: false), 1002),
        "rsv1 without extension": (TestClient.frame(opcode: 1, payload: Array("x".utf8), rsv: 4), 1002),
        "reserved opcode": (TestClient.frame(opcode: 3, payload: []), 1002),
        "fragmented ping": (TestClient.frame(opcode: 9, payload: [], fin: false), 1002),
        "ping over 125 bytes": (TestClient.frame(opcode: 9, payload: [UInt8](repeating: 0, count: 126)), 1002),
        "orphan continuation": (TestClient.frame(opcode: 0, payload: Array("x".utf8)), 1002),
        "invalid utf-8": (TestClient.frame(opcode: 1, payload: [0xce, 0xba, 0xed, 0xa0, 0x80]), 1007),
        "over the size limit": (TestClient.frame(opcode: 2, payload: [UInt8](repeating: 1, count: 65537)), 1009),
        "one-byte close": (TestClient.frame(opcode: 8, payload: [3]), 1002),
        "close code 1005": (TestClient.frame(opcode: 8, payload: [0x03, 0xED]), 1002),
    ]

    @Test(arguments: violations.keys.sorted())
    func protocolViolationsCloseWithTheirCode(name: String) throws {
        let (frame, code) = try #require(Self.violations[name])
        let server = try ServerProcess(arguments: ["--enable-echo"])
        let client = try TestClient(port: server.port)
        try client.upgrade(path: "/ws/echo")
        try client.send(frame)
        let close = try client.readClose()
        #expect(close.closeCode == code)
        #expect(client.waitForEOF(), "the server must close TCP after a protocol error")
    }

    @Test func closeHandshakeEchoesTheCode() throws {
        let server = try ServerProcess(arguments: ["--enable-echo"])
        let client = try TestClient(port: server.port)
        try client.upgrade(path: "/ws/echo")
        try client.sendFrame(opcode: 8, payload: [0x0B, 0xB8] + Array("bye".utf8))  // 3000
        #expect(try client.readClose().closeCode == 3000)
        #expect(client.waitForEOF())
    }

    @Test func oneBadClientDoesNotDisturbAnother() throws {
        let server = try ServerProcess(arguments: ["--enable-echo"])
        let good = try TestClient(port: server.port)
        try good.upgrade(path: "/ws/echo")
        let bad = try TestClient(port: server.port)
        try bad.upgrade(path: "/ws/echo")
        try bad.sendFrame(opcode: 1, payload: [0xff])
        #expect(try bad.readClose().closeCode == 1007)
        try good.sendText("still here")
        #expect(try good.readFrame().text == "still here")
    }

    @Test func slowHandshakeIsClosedAtItsDeadline() throws {
        let server = try ServerProcess(environment: ["AURAWELL_HANDSHAKE_TIMEOUT_S": "1"])
        let slow = try TestClient(port: server.port)
        try slow.send("GET /ws/chat/u1 HTTP/1.1\r\nHost: x\r\n")  // and never the rest
        let started = Date()
        #expect(slow.waitForEOF())
        #expect(Date().timeIntervalSince(started) < 5)
        // Meanwhile others are served.
        let other = try TestClient(port: server.port)
        try other.upgrade(path: "/ws/chat/u2")
        #expect(try other.readFrame().opcode == 1)
    }

    @Test func sigtermClosesClientsWith1001AndExitsZero() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        try client.upgrade(path: "/ws/chat/u1")
        _ = try client.readFrame()
        kill(server.process.processIdentifier, SIGTERM)
        let close = try client.readClose()
        #expect(close.closeCode == 1001)
        try client.sendFrame(opcode: 8, payload: [0x03, 0xE9])
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
    }
}
