import WSCodec

/// `POST /api/v1/chat`, the REST fallback of PROTOCOL.md: the same JSON request as a WebSocket
/// chat plus `user_id`, the same validation, limits and error codes. The answer streams as
/// `text/event-stream`, each server message one `data:` event (chunked, so the connection can
/// be kept alive), or, with `Accept: application/json`, comes as one JSON object at the end.
/// If the client goes away, the connection closes and the upstream request is aborted.
final class RestChatExchange: ChatTransport {
    private unowned let connection: Connection
    private unowned let server: Server
    private var session: ChatSession?
    private var streaming = false
    /// JSON mode: what the answer object is built from.
    private var answer = ""
    private var conversationID: String?
    private var usage: [String: Int]?
    private var error: ChatError?
    private var errorCode: String?

    init(connection: Connection, server: Server) {
        self.connection = connection
        self.server = server
    }

    var publicID: String { connection.publicID }
    var id: UInt64 { connection.id }
    var bufferedBytes: Int { connection.bufferedBytes }

    func start(head: HTTPRequestHead, body: [UInt8]) {
        streaming = !(head.firstHeader("Accept")?.contains("application/json") ?? false)
        let parsed = body.withUnsafeBytes { bytes -> Result<(String, ClientRequest), ClientRequest.Rejection> in
            Self.parse(bytes, maxMessageCharacters: server.configuration.maxMessageCharacters)
        }
        let userID: String
        let request: ClientRequest
        switch parsed {
        case .failure(let rejection):
            return finish(.json(rejection.error.code == .invalidJSON ? 400 : 422, rejection.error))
        case .success(let value):
            (userID, request) = value
        }
        if let unauthorized = Router.authenticate(head, userID: userID, server: server) {
            return connection.finishExchange(final: unauthorized)
        }
        if server.isDraining {
            return finish(.json(503, ChatError(.serverShuttingDown, "服务器正在关闭，请稍后再试")))
        }
        let session = ChatSession(userID: userID, service: server.chatService)
        self.session = session
        session.attach(self)
        session.onChatFinished = { [unowned self] reason in self.chatFinished(reason) }
        if streaming {
            connection.beginStreamedResponse(
                status: 200,
                headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")])
        }
        session.handle(request)
        // Refused before it started (an unknown member, say): no `done` will come.
        if !session.isChatInProgress, self.session != nil {
            if streaming { return finish(nil) }
            return finish(.json(Self.status(for: error), error ?? ChatError(.processingError, "对话未能开始")))
        }
    }

    /// The body: a chat message plus `user_id`. Other message types are refused here.
    private static func parse(_ bytes: UnsafeRawBufferPointer, maxMessageCharacters: Int) -> Result<(String, ClientRequest), ClientRequest.Rejection> {
        let request: ClientRequest
        switch ClientRequest.parse(bytes, maxMessageCharacters: maxMessageCharacters) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let value): request = value
        }
        guard case .chat = request else {
            return .failure(.init(error: ChatError(.invalidMessage, "REST 接口只接受 health_chat 与 general_chat")))
        }
        // Parsed twice (here for user_id): request bodies are small and this path is not hot.
        guard let userID = (try? JSONValue.parse(bytes))?["user_id"]?.stringValue, Identifier.isValid(userID) else {
            return .failure(.init(error: ChatError(.invalidMessage, "user_id 必须匹配 [A-Za-z0-9_.-]{1,64}")))
        }
        return .success((userID, request))
    }

    // MARK: ChatTransport

    func sendMessage(_ message: UnsafeRawBufferPointer) {
        if streaming {
            var event = Array("data: ".utf8)
            event.append(contentsOf: message)
            event.append(contentsOf: [0x0A, 0x0A])
            event.withUnsafeBytes { connection.writeChunk($0) }
            return
        }
        collect(message)
    }

    func close(code: WebSocketCloseCode, reason: String) {
        // The session closes a WebSocket when the server drains; an HTTP answer just ends.
        session?.detach()
        session = nil
        connection.finishExchange(final: nil)
    }

    func didDrain() { session?.transportDrained() }

    func connectionClosed() {
        session?.detach()
        session = nil
    }

    // MARK: Ending

    private func chatFinished(_ reason: String) {
        session?.detach()
        session = nil
        if streaming { return connection.finishExchange(final: nil) }
        var json = JSONWriter(capacity: 256 + answer.utf8.count)
        json.field("type", "chat_result")
        json.field("conversation_id", conversationID)
        json.field("answer", answer)
        json.field("finish_reason", reason)
        if let usage {
            var object = JSONWriter(capacity: 80)
            object.field("prompt_tokens", usage["prompt_tokens"] ?? 0)
            object.field("completion_tokens", usage["completion_tokens"] ?? 0)
            object.field("total_tokens", usage["total_tokens"] ?? 0)
            json.field("usage", json: object.finish())
        }
        if let error {
            var object = JSONWriter(capacity: 128)
            object.field("error_code", error.code.rawValue)
            object.field("message", error.message)
            json.field("error", json: object.finish())
        }
        json.timestampField()
        connection.finishExchange(final: HTTPReply(status: Self.status(for: error), headers: [("Content-Type", "application/json")], body: json.finish()))
    }

    /// JSON mode: keep what the answer object needs from each server message.
    private func collect(_ message: UnsafeRawBufferPointer) {
        guard let value = try? JSONValue.parse(message) else { return }
        if conversationID == nil { conversationID = value["conversation_id"]?.stringValue }
        switch value["type"]?.stringValue {
        case "chat_stream":
            answer += value["delta"]?.stringValue ?? ""
        case "status_update":
            if let object = value["usage"]?.objectValue { usage = object.compactMapValues(\.intValue) }
        case "error":
            if let code = value["error_code"]?.stringValue.flatMap(ErrorCode.init(rawValue:)) {
                error = ChatError(code, value["message"]?.stringValue ?? "")
            }
        default:
            break
        }
    }

    private func finish(_ reply: HTTPReply?) {
        session?.detach()
        session = nil
        connection.finishExchange(final: reply)
    }

    /// HTTP status of a JSON-mode answer: 200 unless the chat failed.
    static func status(for error: ChatError?) -> Int {
        switch error?.code {
        case nil: 200
        case .upstreamTimeout: 504
        case .upstreamError, .upstreamAuth, .upstreamRateLimited: 502
        case .memberNotFound: 404
        case .serverShuttingDown: 503
        default: 500
        }
    }
}

extension HTTPReply {
    /// An error in the protocol's shape: `{"type": "error", "error_code", "message", "timestamp"}`.
    static func json(_ status: Int, _ error: ChatError) -> HTTPReply {
        HTTPReply(status: status, headers: [("Content-Type", "application/json")], body: ServerMessages.error(error))
    }
}
