import Glibc
import WSCodec

/// Decides what an HTTP request on the gateway's port gets: a WebSocket endpoint, or an HTTP
/// answer. The checks run cheapest and most specific first: the path, the upgrade itself, the
/// Origin allowlist (403), the auth token (401), then capacity (503).
enum Router {
    enum Decision {
        case upgrade(any WebSocketEndpoint, acceptValue: String)
        case respond(status: Int, message: String, headers: [(String, String)])
    }

    static func decide(_ head: HTTPRequestHead, server: Server) -> Decision {
        let path = head.path
        let configuration = server.configuration
        if path == "/ws/echo" && configuration.enableEcho {
            return admit(head, server: server) { EchoEndpoint.shared }
        }
        if path.hasPrefix("/ws/chat/") {
            let userID = String(path.dropFirst("/ws/chat/".count))
            guard Identifier.isValid(userID) else {
                return .respond(status: 400, message: "user_id must match [A-Za-z0-9_.-]{1,64}", headers: [])
            }
            if let authority = server.tokenAuthority {
                let token = head.queryItem("token") ?? cookie("aurawell_token", in: head)
                guard let token else { return .respond(status: 401, message: "missing token", headers: []) }
                if case .failure(let rejection) = authority.verify(token, userID: userID, now: time(nil)) {
                    return .respond(status: 401, message: "invalid token (\(rejection))", headers: [])
                }
            }
            return admit(head, server: server) { ChatSession(userID: userID, service: server.chatService) }
        }
        if path == "/healthz" { return .respond(status: 200, message: "ok", headers: []) }
        return .respond(status: 404, message: "no such endpoint", headers: [])
    }

    /// The checks every WebSocket endpoint shares.
    private static func admit(_ head: HTTPRequestHead, server: Server, endpoint: () -> any WebSocketEndpoint) -> Decision {
        let accepted: WebSocketHandshake.Accepted
        switch WebSocketHandshake.validate(head) {
        case .failure(let rejection):
            return .respond(status: rejection.status, message: rejection.reason, headers: rejection.headers)
        case .success(let value):
            accepted = value
        }
        if let origin = head.firstHeader("Origin"), !server.isAllowedOrigin(origin) {
            return .respond(status: 403, message: "origin not allowed", headers: [])
        }
        if server.webSocketCount >= server.configuration.maxConnections {
            return .respond(status: 503, message: "server at capacity", headers: [("Retry-After", "5")])
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
