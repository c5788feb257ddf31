import Foundation
import Testing

/// The plain-HTTP side of the port: the chat page's assets, keep-alive, methods and limits,
/// `/healthz`, `/metrics`, and the REST fallback `POST /api/v1/chat`.
@Suite struct HTTPRoutesTests {
    static func get(_ path: String, headers: [String] = [], method: String = "GET") -> String {
        ([ "\(method) \(path) HTTP/1.1", "Host: 127.0.0.1"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func header(_ name: String, in head: String) -> String? {
        head.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    @Test func thePageAndItsAssetsAreServedWithTypesAndValidators() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        for (path, type) in [("/", "text/html"), ("/static/app.js", "text/javascript"), ("/static/app.css", "text/css")] {
            try client.send(Self.get(path))
            let (status, head, body) = try client.readResponse()
            #expect(status == 200, "\(path)")
            #expect(Self.header("Content-Type", in: head)?.hasPrefix(type) == true, "\(path)")
            #expect(Self.header("Cache-Control", in: head) != nil)
            #expect(!body.isEmpty)
            let etag = try #require(Self.header("ETag", in: head))
            // The same connection (keep-alive): a conditional request gets 304 without a body.
            try client.send(Self.get(path, headers: ["If-None-Match: \(etag)"]))
            let (revalidated, _, empty) = try client.readResponse()
            #expect(revalidated == 304)
            #expect(empty.isEmpty)
        }
        let html = try TestClient(port: server.port)
        try html.send(Self.get("/"))
        let page = String(decoding: try html.readResponse().body, as: UTF8.self)
        #expect(page.contains("/static/app.js") && page.contains("chat-container"))
    }

    @Test func headAnswersHeadersOnlyAndOtherMethodsGet405WithAllow() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        try client.send(Self.get("/healthz", method: "HEAD"))
        let (status, head) = try client.readResponseHead()
        #expect(status == 200)
        #expect(Int(Self.header("Content-Length", in: head) ?? "0")! > 0)
        // No body followed the HEAD answer: the next response starts right away.
        try client.send(Self.get("/healthz", method: "DELETE"))
        let (refused, refusedHead, _) = try client.readResponse()
        #expect(refused == 405)
        #expect(Self.header("Allow", in: refusedHead) == "GET, HEAD")
        try client.send(Self.get("/api/v1/chat"))
        let (chatRefused, chatHead, _) = try client.readResponse()
        #expect(chatRefused == 405)
        #expect(Self.header("Allow", in: chatHead) == "POST")
    }

    @Test func keepAliveServesSeveralRequestsAndPipelining() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        // Three pipelined requests in one write; the last asks to close.
        try client.send(Self.get("/healthz") + Self.get("/nowhere") + Self.get("/healthz", headers: ["Connection: close"]))
        let statuses = try (0..<3).map { _ in try client.readResponse().status }
        #expect(statuses == [200, 404, 200])
        #expect(client.waitForEOF())
    }

    @Test func unknownPathsGet404JSON() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        try client.send(Self.get("/nope"))
        let (status, head, body) = try client.readResponse()
        #expect(status == 404)
        #expect(Self.header("Content-Type", in: head) == "application/json")
        let json = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        #expect(json?["error"] is String)
    }

    @Test func requestBodiesOverTheLimitGet413() throws {
        let server = try ServerProcess()
        let client = try TestClient(port: server.port)
        try client.send("POST /api/v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n")
        #expect(try client.readResponseHead().status == 413)
    }

    /// Parses Prometheus text format strictly enough to catch malformed output.
    static func parseMetrics(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        let sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*)?\})? (-?[0-9.eE+-]+|\+Inf|NaN)$/
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
            guard let match = String(line).wholeMatch(of: sample), let value = Double(match.5) else {
                throw TestFailure("not a Prometheus sample: \(line)")
            }
            samples[String(match.1) + String(match.2 ?? "")] = value
        }
        return samples
    }

    @Test func metricsParseAndMoveAsChatsRun() throws {
        let stack = try ChatServerTests.Stack()
        func scrape() throws -> [String: Double] {
            let client = try TestClient(port: stack.gateway.port)
            try client.send(Self.get("/metrics"))
            let (status, head, body) = try client.readResponse()
            #expect(status == 200)
            #expect(Self.header("Content-Type", in: head)?.hasPrefix("text/plain; version=0.0.4") == true)
            return try Self.parseMetrics(String(decoding: body, as: UTF8.self))
        }
        let before = try scrape()
        let client = try stack.client()
        _ = try client.chat("hi SIM[tokens=5]")
        let after = try scrape()
        #expect((after["aurawell_tokens_relayed_total"] ?? 0) - (before["aurawell_tokens_relayed_total"] ?? 0) == 5)
        #expect(after["aurawell_chats_total{outcome=\"stop\"}"] == 1)
        #expect(after["aurawell_websocket_upgrades_total"] == 1)
        #expect(after["aurawell_upstream_requests_total{status=\"200\"}"] == 1)
        #expect(after["aurawell_connections{state=\"webSocket\"}"] == 1)
        #expect(after["aurawell_time_to_first_token_seconds_count"] == 1)
        #expect((after["aurawell_loop_iteration_seconds_count"] ?? 0) > (before["aurawell_loop_iteration_seconds_count"] ?? 0))
        #expect(before["aurawell_rejections_total{status=\"404\"}"] == nil)
    }

    // MARK: REST fallback

    /// POSTs with curl (an independent HTTP client) and returns its output.
    static func curl(_ port: UInt16, body: String, accept: String = "text/event-stream", maxTime: Int = 20) throws -> (output: String, status: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sN", "--max-time", "\(maxTime)", "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
                             "-H", "Accept: \(accept)", "--data-binary", body, "http://127.0.0.1:\(port)/api/v1/chat"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.dropLast().joined(separator: "\n"), Int(lines.last ?? "") ?? 0)
    }

    /// The JSON objects of an SSE stream's `data:` events.
    static func events(_ sse: String) throws -> [[String: Any]] {
        try sse.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            guard event.hasPrefix("data: "),
                  let object = try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any] else {
                throw TestFailure("not an SSE data event: \(event)")
            }
            return object
        }
    }

    @Test func restFallbackStreamsTheSameMessagesAsSSE() throws {
        let stack = try ChatServerTests.Stack()
        let body = #"{"type":"health_chat","user_id":"rest_user","data":{"message":"SIM[id=rest1,tokens=6]","context":{"mood":"ok"}},"conversation_id":"rc"}"#
        let (output, status) = try Self.curl(stack.gateway.port, body: body)
        #expect(status == 200)
        let events = try Self.events(output)
        let statuses = events.filter { $0["type"] as? String == "status_update" }.compactMap { $0["status"] as? String }
        #expect(statuses == ["sending", "streaming", "done"])
        let text = events.filter { $0["type"] as? String == "chat_stream" }.compactMap { $0["delta"] as? String }.joined()
        #expect(text == (try stack.upstream("rest1")?["sent_text"] as? String))
        #expect(events.allSatisfy { $0["conversation_id"] as? String == "rc" })
    }

    @Test func restFallbackAnswersOneJSONObjectOnRequest() throws {
        let stack = try ChatServerTests.Stack()
        let body = #"{"type":"general_chat","user_id":"rest_user","data":{"message":"SIM[id=rest2,tokens=4]"}}"#
        let (output, status) = try Self.curl(stack.gateway.port, body: body, accept: "application/json")
        #expect(status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(json["answer"] as? String == (try stack.upstream("rest2")?["sent_text"] as? String))
        #expect(json["finish_reason"] as? String == "stop")
        #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 4)
    }

    @Test(arguments: [
        ("{bad", 400, "INVALID_JSON"),
        (#"{"type":"health_chat","data":{"message":"hi"}}"#, 422, "INVALID_MESSAGE"),
        (#"{"type":"get_status","user_id":"u","data":{}}"#, 422, "INVALID_MESSAGE"),
        (#"{"type":"health_chat","user_id":"u","data":{"message":"  "}}"#, 422, "EMPTY_MESSAGE"),
        (#"{"type":"dance","user_id":"u","data":{}}"#, 422, "UNKNOWN_MESSAGE_TYPE"),
    ])
    func restFallbackValidatesLikeTheWebSocket(body: String, status: Int, code: String) throws {
        let stack = try ChatServerTests.Stack()
        let (output, answered) = try Self.curl(stack.gateway.port, body: body, accept: "application/json")
        #expect(answered == status)
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        #expect(json?["error_code"] as? String == code)
    }

    @Test func restFallbackUpstreamFailureEndsWithErrorThenDone() throws {
        let stack = try ChatServerTests.Stack()
        let body = #"{"type":"general_chat","user_id":"rest_user","data":{"message":"SIM[id=rest3,status=500]"}}"#
        let events = try Self.events(try Self.curl(stack.gateway.port, body: body).output)
        #expect(events.compactMap { $0["error_code"] as? String } == ["UPSTREAM_ERROR"])
        #expect(events.last?["finish_reason"] as? String == "error")
        let (_, status) = try Self.curl(stack.gateway.port, body: body.replacingOccurrences(of: "rest3", with: "rest4"), accept: "application/json")
        #expect(status == 502)
    }

    @Test func restClientGoingAwayAbortsTheUpstream() throws {
        let stack = try ChatServerTests.Stack()
        let body = #"{"type":"general_chat","user_id":"rest_user","data":{"message":"SIM[id=rest5,tokens=200,interval_ms=50]"}}"#
        _ = try Self.curl(stack.gateway.port, body: body, maxTime: 1)  // curl gives up after 1 s
        let upstream = try Simulator.waitFor(id: "rest5", port: stack.simulator.port) { $0["client_closed"] as? Bool == true }
        #expect(upstream?["client_closed"] as? Bool == true)
    }
}
