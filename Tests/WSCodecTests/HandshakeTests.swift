import Testing
import WSCodec

private let baseHeaders: [(name: String, value: String)] = [
    ("Host", "localhost:8000"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]

private func head(
    method: String = "GET", minor: Int = 1, removing: String? = nil, replacing: [(name: String, value: String)] = [],
    adding: [(name: String, value: String)] = []
) -> HTTPRequestHead {
    var headers = baseHeaders.filter { h in
        h.name.lowercased() != removing?.lowercased() && !replacing.contains { $0.name.lowercased() == h.name.lowercased() }
    }
    headers += replacing + adding
    return HTTPRequestHead(method: method, target: "/ws/chat/u1", versionMinor: minor, headers: headers)
}

struct HandshakeCase: CustomTestStringConvertible, @unchecked Sendable {
    var name: String
    var head: HTTPRequestHead
    var status: Int?  // nil: accepted
    var testDescription: String { name }
}

let handshakeCases: [HandshakeCase] = [
    HandshakeCase(name: "valid", head: head(), status: nil),
    HandshakeCase(name: "upgrade mixed case + list", head: head(replacing: [("Upgrade", "foo/1, WebSocket")]), status: nil),
    HandshakeCase(name: "connection list", head: head(replacing: [("Connection", "keep-alive, Upgrade")]), status: nil),
    HandshakeCase(name: "connection lower case", head: head(replacing: [("connection", "upgrade")]), status: nil),
    HandshakeCase(name: "POST", head: head(method: "POST"), status: 405),
    HandshakeCase(name: "lowercase get", head: head(method: "get"), status: 405),
    HandshakeCase(name: "HTTP/1.0", head: head(minor: 0), status: 400),
    HandshakeCase(name: "no Host", head: head(removing: "Host"), status: 400),
    HandshakeCase(name: "two Hosts", head: head(adding: [("Host", "other")]), status: 400),
    HandshakeCase(name: "no Upgrade", head: head(removing: "Upgrade"), status: 400),
    HandshakeCase(name: "Upgrade h2c", head: head(replacing: [("Upgrade", "h2c")]), status: 400),
    HandshakeCase(name: "Upgrade websocketx", head: head(replacing: [("Upgrade", "websocketx")]), status: 400),
    HandshakeCase(name: "no Connection", head: head(removing: "Connection"), status: 400),
    HandshakeCase(name: "Connection keep-alive", head: head(replacing: [("Connection", "keep-alive")]), status: 400),
    HandshakeCase(name: "no version", head: head(removing: "Sec-WebSocket-Version"), status: 426),
    HandshakeCase(name: "version 8", head: head(replacing: [("Sec-WebSocket-Version", "8")]), status: 426),
    HandshakeCase(name: "version 13, 8", head: head(replacing: [("Sec-WebSocket-Version", "13, 8")]), status: 426),
    HandshakeCase(name: "no key", head: head(removing: "Sec-WebSocket-Key"), status: 400),
    HandshakeCase(name: "empty key", head: head(replacing: [("Sec-WebSocket-Key", "")]), status: 400),
    HandshakeCase(name: "key not base64", head: head(replacing: [("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==")]), status: 400),
    HandshakeCase(name: "key bad length", head: head(replacing: [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=")]), status: 400),
    HandshakeCase(name: "key of 15 bytes", head: head(replacing: [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j")]), status: 400),
    HandshakeCase(name: "key of 17 bytes", head: head(replacing: [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZTE=")]), status: 400),
    HandshakeCase(name: "two keys", head: head(adding: [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")]), status: 400),
]

@Suite struct HandshakeTests {
    /// RFC 6455 §1.3 (the brief had a typo: the RFC value is ...ZRbK..., checked with openssl too).
    @Test func rfcAcceptExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test(arguments: handshakeCases)
    func validation(_ c: HandshakeCase) {
        switch WebSocketHandshake.validate(c.head) {
        case .success(let accepted):
            #expect(c.status == nil)
            #expect(accepted.acceptValue == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        case .failure(let rejection):
            #expect(rejection.status == c.status)
            if rejection.status == 426 {
                #expect(rejection.headers.contains { $0 == ("Sec-WebSocket-Version", "13") })
            }
        }
    }

    @Test func protocolsAndExtensionsAreReported() throws {
        let h = head(adding: [
            ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Protocol", "v2"),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-foo"),
        ])
        let accepted = try WebSocketHandshake.validate(h).get()
        #expect(accepted.requestedProtocols == ["chat", "superchat", "v2"])
        #expect(accepted.requestedExtensions == ["permessage-deflate; client_max_window_bits", "x-foo"])
        #expect(accepted.key == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test func switchingProtocolsResponse() {
        let bytes = WebSocketHandshake.switchingProtocolsResponse(
            acceptValue: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", extraHeaders: [("Sec-WebSocket-Protocol", "chat")])
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
    }

    @Test func endToEndFromRawBytes() throws {
        let raw =
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n"
            + "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"
        var p = HTTPHeadParser()
        guard case .complete(let h, _) = Array(raw.utf8).withUnsafeBytes({ p.parse($0) }) else {
            Issue.record("not complete")
            return
        }
        let accepted = try WebSocketHandshake.validate(h).get()
        #expect(accepted.acceptValue == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(accepted.requestedProtocols == ["chat", "superchat"])
    }
}
