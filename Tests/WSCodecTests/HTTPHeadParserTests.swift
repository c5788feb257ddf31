import Testing
import WSCodec

private let upgradeRequest =
    "GET /ws/chat/u1?token=a%20b+c&x=1 HTTP/1.1\r\nHost: localhost:8000\r\nUpgrade: websocket\r\n"
    + "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    + "Sec-WebSocket-Version: 13\r\nX-Spaces:   padded value \t \r\n\r\n"

private enum Outcome: Equatable {
    case needMore
    case complete(consumed: Int)
    case failure(Int)
}

private func run(_ parser: inout HTTPHeadParser, _ bytes: [UInt8]) -> (Outcome, HTTPRequestHead?) {
    switch bytes.withUnsafeBytes({ parser.parse($0) }) {
    case .needMoreData: (.needMore, nil)
    case .complete(let head, let consumed): (.complete(consumed: consumed), head)
    case .failure(let e): (.failure(e.status), nil)
    }
}

private func parseWhole(_ s: String) -> (Outcome, HTTPRequestHead?) {
    var p = HTTPHeadParser()
    return run(&p, Array(s.utf8))
}

@Suite struct HTTPHeadParserTests {
    @Test func parsesAWholeHead() throws {
        let (outcome, head) = parseWhole(upgradeRequest)
        #expect(outcome == .complete(consumed: upgradeRequest.utf8.count))
        let h = try #require(head)
        #expect(h.method == "GET")
        #expect(h.target == "/ws/chat/u1?token=a%20b+c&x=1")
        #expect(h.versionMinor == 1)
        #expect(h.path == "/ws/chat/u1")
        #expect(h.queryItem("token") == "a b c")
        #expect(h.queryItem("x") == "1")
        #expect(h.queryItem("missing") == nil)
        #expect(h.headers.count == 6)
        #expect(h.firstHeader("host") == "localhost:8000")
        #expect(h.firstHeader("X-SPACES") == "padded value")
        #expect(h.headerContainsToken("connection", "UPGRADE"))
        #expect(h.headerContainsToken("Connection", "keep-alive"))
        #expect(!h.headerContainsToken("Connection", "close"))
        #expect(h.headerValues("Upgrade") == ["websocket"])
    }

    @Test func bytesAfterTheHeadAreNotConsumed() {
        let frames: [UInt8] = [0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        var p = HTTPHeadParser()
        let (outcome, _) = run(&p, Array(upgradeRequest.utf8) + frames)
        #expect(outcome == .complete(consumed: upgradeRequest.utf8.count))
        #expect(p.bufferedBytes == 0)
    }

    @Test func everySplitGivesTheSameHead() throws {
        let bytes = Array(upgradeRequest.utf8) + [0xAA, 0xBB]
        for split in 1..<bytes.count {
            var p = HTTPHeadParser()
            let (first, firstHead) = run(&p, Array(bytes[..<split]))
            if split >= upgradeRequest.utf8.count {
                #expect(first == .complete(consumed: upgradeRequest.utf8.count), "split \(split)")
                #expect(firstHead?.headers.count == 6)
                continue
            }
            #expect(first == .needMore, "split \(split)")
            #expect(p.bufferedBytes == split)
            let (second, head) = run(&p, Array(bytes[split...]))
            #expect(second == .complete(consumed: upgradeRequest.utf8.count - split), "split \(split)")
            #expect(head?.firstHeader("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ==")
            #expect(p.bufferedBytes == 0)
        }
    }

    @Test func byteAtATime() {
        var p = HTTPHeadParser()
        let bytes = Array(upgradeRequest.utf8)
        for (i, b) in bytes.enumerated() {
            let (o, head) = run(&p, [b])
            if i == bytes.count - 1 {
                #expect(o == .complete(consumed: 1))
                #expect(head?.path == "/ws/chat/u1")
            } else {
                #expect(o == .needMore)
            }
        }
    }

    @Test func parserIsReusableAfterAHead() {
        var p = HTTPHeadParser()
        let req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        #expect(run(&p, Array(req.utf8)).0 == .complete(consumed: req.utf8.count))
        let (o, head) = run(&p, Array("GET /b HTTP/1.0\r\n\r\n".utf8))
        #expect(o == .complete(consumed: 19))
        #expect(head?.target == "/b")
        #expect(head?.versionMinor == 0)
    }

    @Test func oversizedHeadIsRejectedAsSoonAsTheLimitIsPassed() {
        var p = HTTPHeadParser(maxHeadBytes: 8192)
        let line = Array("X-Filler: \(String(repeating: "a", count: 88))\r\n".utf8)  // 100 bytes
        #expect(run(&p, Array("GET / HTTP/1.1\r\n".utf8)).0 == .needMore)  // 16 bytes
        var sent = 16
        var result = Outcome.needMore
        while result == .needMore {
            result = run(&p, line).0
            sent += line.count
            #expect(p.bufferedBytes <= 8193)
        }
        #expect(result == .failure(431))
        #expect(sent > 8192 && sent <= 8192 + line.count)
        // Stays failed.
        #expect(run(&p, Array("\r\n".utf8)).0 == .failure(431))
    }

    @Test func oversizedHeadInOneReadIsRejected() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 9000)
        #expect(parseWhole(big).0 == .failure(431))
    }

    @Test(arguments: [8192, 8193])
    func headOfExactlyTheLimit(size: Int) {
        let prefix = "GET / HTTP/1.1\r\nX: "
        let fill = size - prefix.utf8.count - 4
        let req = prefix + String(repeating: "c", count: fill) + "\r\n\r\n"
        #expect(req.utf8.count == size)
        var p = HTTPHeadParser(maxHeadBytes: 8192)
        let expected: Outcome = size <= 8192 ? .complete(consumed: size) : .failure(431)
        #expect(run(&p, Array(req.utf8)).0 == expected)
        // Split in two as well.
        var q = HTTPHeadParser(maxHeadBytes: 8192)
        let bytes = Array(req.utf8)
        _ = run(&q, Array(bytes[..<100]))
        let expected2: Outcome = size <= 8192 ? .complete(consumed: size - 100) : .failure(431)
        #expect(run(&q, Array(bytes[100...])).0 == expected2)
    }

    @Test(arguments: [
        ("bare LF line end", "GET / HTTP/1.1\nHost: x\n\n", 400),
        ("bare LF in headers", "GET / HTTP/1.1\r\nHost: x\n\r\n", 400),
        ("CR without LF", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),
        ("empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400),
        ("bad name char", "GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", 400),
        ("NUL in value", "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", 400),
        ("control in value", "GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", 400),
        ("DEL in value", "GET / HTTP/1.1\r\nX: a\u{7F}\r\n\r\n", 400),
        ("missing version", "GET /\r\n\r\n", 400),
        ("double space", "GET  / HTTP/1.1\r\n\r\n", 400),
        ("lowercase version", "GET / http/1.1\r\n\r\n", 400),
        ("garbage version", "GET / HTTP/1.x\r\n\r\n", 400),
        ("long version", "GET / HTTP/1.11\r\n\r\n", 400),
        ("bad method char", "G@T / HTTP/1.1\r\n\r\n", 400),
        ("space in target", "GET /a b HTTP/1.1\r\n\r\n", 400),
        ("trailing space", "GET / HTTP/1.1 \r\n\r\n", 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505),
        ("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505),
        ("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505),
    ])
    func malformed(_ name: String, _ request: String, _ status: Int) {
        #expect(parseWhole(request).0 == .failure(status), "\(name)")
    }

    @Test(arguments: [
        ("leading empty line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("tab in value", "GET / HTTP/1.1\r\nX: a\tb\r\n\r\n"),
        ("empty value", "GET / HTTP/1.1\r\nX:\r\n\r\n"),
        ("obs-text in value", "GET / HTTP/1.1\r\nX: caf\u{E9}\r\n\r\n"),
        ("HTTP/1.0 no headers", "GET / HTTP/1.0\r\n\r\n"),
        ("absolute form", "GET http://h:1/p/q?a=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("other method", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
    ])
    func accepted(_ name: String, _ request: String) {
        #expect(parseWhole(request).0 == .complete(consumed: request.utf8.count), "\(name)")
    }

    @Test(arguments: [
        ("/", "/"), ("/a/b?x=1", "/a/b"), ("/a#frag", "/a"), ("http://h:1/p/q?a=1", "/p/q"), ("http://h", "/"),
        ("https://h?x", "/"), ("*", "*"),
    ])
    func path(_ target: String, _ expected: String) {
        #expect(HTTPRequestHead(method: "GET", target: target).path == expected)
    }

    @Test(arguments: [
        ("/?a=1&b=2", "b", "2"), ("/?a=%E4%B8%96", "a", "世"), ("/?flag", "flag", ""), ("/?a=%zz", "a", "%zz"),
        ("/?a=1&a=2", "a", "1"), ("/?x%20y=z", "x y", "z"), ("/?a=1#b=2", "b", nil), ("/p", "a", nil),
    ] as [(String, String, String?)])
    func queryItem(_ target: String, _ name: String, _ expected: String?) {
        #expect(HTTPRequestHead(method: "GET", target: target).queryItem(name) == expected)
    }
}

@Suite struct HTTPResponseTests {
    @Test func serializesWithContentLengthAndClose() {
        let bytes = HTTPResponse.serialize(status: 404, headers: [("Content-Type", "text/plain")], body: Array("nope".utf8))
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
    }

    @Test func keepAliveAndCustomReasonAndSanitising() {
        let bytes = HTTPResponse.serialize(status: 200, reason: "Fine", headers: [("X", "a\r\nInjected: 1")], close: false)
        #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 200 Fine\r\nX: a  Injected: 1\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func rejectionHeadersCanBeSerialized() {
        let rejection = WebSocketHandshake.Rejection(status: 426, reason: "x", headers: [("Sec-WebSocket-Version", "13")])
        let text = String(decoding: HTTPResponse.serialize(status: rejection.status, headers: rejection.headers), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"))
    }
}
