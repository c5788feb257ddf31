import Glibc
import WSCodec

/// Decides what an HTTP request on the gateway's port gets: a WebSocket endpoint, a complete
/// answer, or the REST chat (which reads a body first). WebSocket checks run cheapest and most
/// specific first: the path, the upgrade itself, the Origin allowlist (403), the auth token
/// (401), then capacity (503).
enum Router {
    enum Decision {
        case upgrade(any WebSocketEndpoint, acceptValue: String)
        case reply(HTTPReply)
        /// `POST /api/v1/chat`: the body is read, then `RestChatExchange` answers.
        case restChat
    }

    static func decide(_ head: HTTPRequestHead, server: Server) -> Decision {
        let path = head.path
        let configuration = server.configuration
        if path == "/ws/echo" && configuration.enableEcho {
            return admit(head, server: server) { EchoEndpoint.shared }
        }
        if path.hasPrefix("/ws/chat/") {
            let userID = String(path.dropFirst("/ws/chat/".count))
            guard Identifier.isValid(userID) else { return .reply(.json(400, "user_id must match [A-Za-z0-9_.-]{1,64}")) }
            if let rejection = authenticate(head, userID: userID, server: server) { return .reply(rejection) }
            return admit(head, server: server) { ChatSession(userID: userID, service: server.chatService) }
        }
        switch path {
        case "/api/v1/chat":
            guard head.method == "POST" else { return .reply(.json(405, "use POST", headers: [("Allow", "POST")])) }
            return .restChat
        case "/healthz":
            return readOnly(head) { .json(200, "ok") }
        case "/metrics":
            return readOnly(head) {
                HTTPReply(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                          body: Array(server.renderMetrics().utf8))
            }
        default:
            if let asset = WebAssets.all[path] { return readOnly(head) { serve(asset, head) } }
            return .reply(.json(404, "no such endpoint"))
        }
    }

    /// Checks the token (query `token`, cookie `aurawell_token`, or `Authorization: Bearer`) when
    /// auth is on; returns the 401 answer, or nil when the request may proceed.
    static func authenticate(_ head: HTTPRequestHead, userID: String, server: Server) -> HTTPReply? {
        guard let authority = server.tokenAuthority else { return nil }
        let bearer = head.firstHeader("Authorization").flatMap { value -> String? in
            value.lowercased().hasPrefix("bearer ") ? String(value.dropFirst(7)) : nil
        }
        guard let token = head.queryItem("token") ?? cookie("aurawell_token", in: head) ?? bearer else {
            return .json(401, "missing token")
        }
        if case .failure(let rejection) = authority.verify(token, userID: userID, now: time(nil)) {
            return .json(401, "invalid token (\(rejection))")
        }
        return nil
    }

    /// GET and HEAD only.
    private static func readOnly(_ head: HTTPRequestHead, _ reply: () -> HTTPReply) -> Decision {
        guard head.method == "GET" || head.method == "HEAD" else {
            return .reply(.json(405, "use GET", headers: [("Allow", "GET, HEAD")]))
        }
        var answer = reply()
        answer.omitBody = head.method == "HEAD"
        return .reply(answer)
    }

    private static func serve(_ asset: WebAssets.Asset, _ head: HTTPRequestHead) -> HTTPReply {
        let validators = [("ETag", asset.etag), ("Cache-Control", asset.cacheControl)]
        if head.headerValues("If-None-Match").contains(where: { $0.split(separator: ",").contains { $0.trimmingWhitespace() == asset.etag[...] } }) {
            return HTTPReply(status: 304, headers: validators, body: [])
        }
        return HTTPReply(
            status: 200,
            headers: [("Content-Type", asset.contentType), ("X-Content-Type-Options", "nosniff")] + validators,
            body: asset.bytes)
    }

    /// The checks every WebSocket endpoint shares.
    private static func admit(_ head: HTTPRequestHead, server: Server, endpoint: () -> any WebSocketEndpoint) -> Decision {
        let accepted: WebSocketHandshake.Accepted
        switch WebSocketHandshake.validate(head) {
        case .failure(let rejection):
            return .reply(.json(rejection.status, rejection.reason, headers: rejection.headers))
        case .success(let value):
            accepted = value
        }
        if let origin = head.firstHeader("Origin"), !server.isAllowedOrigin(origin) {
            return .reply(.json(403, "origin not allowed"))
        }
        if server.webSocketCount >= server.configuration.maxConnections {
            return .reply(.json(503, "server at capacity", headers: [("Retry-After", "5")]))
        }
        return .upgrade(endpoint(), acceptValue: accepted.acceptValue)
    }

    private static func cookie(_ name: String, in head: HTTPRequestHead) -> String? {
        for header in head.headerValues("Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingWhitespace() == name { return String(parts[1].trimmingWhitespace()) }
            }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var slice = self
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return slice
    }
}
