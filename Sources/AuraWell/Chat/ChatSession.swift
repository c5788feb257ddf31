import Logging
import Reactor
import WSCodec

/// `/ws/chat/{user_id}`: one client's side of the seed protocol. It validates every message,
/// runs at most one chat at a time, and relays the provider's stream as `chat_stream` frames
/// between `status_update` `sending` → `streaming` → `done` (each exactly once per chat).
final class ChatSession: WebSocketEndpoint, ChatStreamSink {
    let userID: String
    private unowned let service: ChatService
    /// Strong until `detach` (the transport closed or the exchange ended), which breaks the cycle
    /// with the transport holding this session.
    private var transport: (any ChatTransport)?
    /// Told when a chat ends (the REST fallback ends its HTTP answer there).
    var onChatFinished: ((_ finishReason: String) -> Void)?
    private var activeMemberID: String
    private var chat: ActiveChat?
    private var nextConversationNumber = 1
    /// How much of an answer the conversation history keeps.
    static let maxRememberedAnswerBytes = 16 * 1024
    private var bucket: TokenBucket
    /// Counted in the per-user connection limit (a refused connection is not).
    private var counted = false
    /// The server drains: finish the chat in progress, then close.
    private var draining = false

    private struct ActiveChat {
        var conversationID: String
        var question: String
        var handle: (any ChatStreamHandle)?
        var streamingSent = false
        var receivedDelta = false
        var answer = ""
        /// Deltas held back while the client's queue is over the high-water mark; sent merged.
        var heldBack = ""
        var upstreamPaused = false
        var startedAt: UInt64
    }

    init(userID: String, service: ChatService) {
        self.userID = userID
        self.service = service
        self.activeMemberID = userID
        self.bucket = TokenBucket(
            rate: service.configuration.messagesPerSecond, burst: service.configuration.messageBurst, now: service.now)
    }

    // MARK: WebSocketEndpoint

    func didOpen(_ connection: Connection) {
        transport = connection
        let limit = service.configuration.maxConnectionsPerUser
        guard service.connections(for: userID) < limit else {
            service.logger.info("per-user connection limit", metadata: ["user": "\(userID)", "connection": "\(connection.id)"])
            sendError(ChatError(.tooManyConnections, "该用户的连接数已达上限（\(limit)）"))
            connection.close(code: .policyViolation, reason: "too many connections")
            return
        }
        counted = true
        service.connectionOpened(userID: userID)
        connection.sendText(ServerMessages.welcome(
            message: service.configuration.welcomeMessage, userID: userID, connectionID: connection.publicID,
            activeMemberID: activeMemberID, provider: service.provider.name))
    }

    func didReceiveBinary(_ connection: Connection, _ message: UnsafeRawBufferPointer) {
        sendError(ChatError(.invalidMessage, "仅支持 JSON 文本消息"))
    }

    func didReceiveText(_ connection: Connection, _ message: UnsafeRawBufferPointer) {
        guard bucket.take(now: service.now) else {
            sendError(ChatError(.rateLimited, "消息发送过于频繁，请稍后再试"))
            return
        }
        switch ClientRequest.parse(message, maxMessageCharacters: service.configuration.maxMessageCharacters) {
        case .success(let request):
            handle(request)
        case .failure(let error):
            sendError(error.error, conversationID: error.conversationID)
        }
    }

    var isChatInProgress: Bool { chat != nil }

    /// Serves one chat over another transport (the REST fallback): no welcome, not counted
    /// among the user's WebSocket connections.
    func attach(_ transport: any ChatTransport) {
        self.transport = transport
    }

    /// The transport is gone: abort the upstream request at once.
    func detach() {
        if let current = chat {
            current.handle?.cancel()
            chat = nil
            service.chatEnded()
        }
        transport = nil
    }

    func handle(_ request: ClientRequest) {
        switch request {
        case .chat(let kind, let question, let context, let conversationID, let memberID):
            startChat(kind: kind, question: question, context: context, conversationID: conversationID, memberID: memberID)
        case .switchMember(let target):
            switchMember(to: target)
        case .getStatus:
            sendStatus()
        case .cancelChat(let conversationID):
            cancelChat(conversationID: conversationID)
        }
    }

    func didClose(_ connection: Connection) {
        detach()
        if counted {
            counted = false
            service.connectionClosed(userID: userID)
        }
    }

    func didDrain(_ connection: Connection) { transportDrained() }

    /// The transport's queue drained: send what backpressure held back, resume the upstream.
    func transportDrained() {
        guard var current = chat, !current.heldBack.isEmpty || current.upstreamPaused else { return }
        let merged = current.heldBack
        current.heldBack = ""
        current.upstreamPaused = false
        chat = current
        if !merged.isEmpty { relay(merged) }
        current.handle?.setPaused(false)
    }

    func serverIsDraining(_ connection: Connection) {
        draining = true
        if chat == nil { closeForShutdown() }
    }

    private func closeForShutdown() {
        sendError(ChatError(.serverShuttingDown, "服务器正在关闭，请稍后重新连接"))
        transport?.close(code: .goingAway, reason: "server shutting down")
    }

    // MARK: Requests

    private func startChat(kind: HealthAdviceService.Kind, question: String, context: JSONValue?, conversationID: String?, memberID: String?) {
        if draining {
            sendError(ChatError(.serverShuttingDown, "服务器正在关闭，请稍后重新连接"), conversationID: conversationID)
            return
        }
        if let chat {
            sendError(ChatError(.chatInProgress, "当前对话尚未完成，请等待或取消后再发送"), conversationID: chat.conversationID)
            return
        }
        var member: FamilyMember?
        if kind == .health {
            switch service.member(userID: userID, memberID: memberID ?? activeMemberID) {
            case .failure(let error):
                sendError(error, conversationID: conversationID)
                return
            case .success(nil):
                sendError(ChatError(.memberNotFound, "找不到家庭成员：\(memberID ?? activeMemberID)"), conversationID: conversationID)
                return
            case .success(let found):
                member = found
            }
        }
        let conversationID = conversationID ?? newConversationID()
        chat = ActiveChat(conversationID: conversationID, question: question, startedAt: service.now)
        service.chatStarted()
        send(ServerMessages.statusUpdate(.sending, conversationID: conversationID))

        if let notice = HealthAdviceService.emergencyNotice(for: question) {
            service.logger.notice("emergency notice sent", metadata: ["user": "\(userID)"])
            chatStream(didReceive: notice)
        }
        let messages = HealthAdviceService.messages(
            kind: kind, question: question, context: context, member: member, userID: userID,
            history: service.history.messages(userID: userID, conversationID: conversationID))
        let handle = service.provider.startStream(ChatRequest(messages: messages, userHash: UserHash.of(userID)), sink: self)
        // The sink may have been told of a failure synchronously; keep the handle only if alive.
        if chat?.conversationID == conversationID { chat?.handle = handle }
    }

    private func switchMember(to target: String) {
        switch service.member(userID: userID, memberID: target) {
        case .failure(let error):
            sendError(error)
        case .success(nil):
            sendError(ChatError(.memberNotFound, "找不到家庭成员：\(target)"))
        case .success:
            let previous = activeMemberID
            activeMemberID = target
            send(ServerMessages.memberSwitched(active: target, previous: previous))
        }
    }

    private func sendStatus() {
        guard let transport else { return }
        send(ServerMessages.status(ServerMessages.Status(
            connectionID: transport.publicID, userID: userID, activeMemberID: activeMemberID,
            connectionsForUser: service.connections(for: userID), conversationID: chat?.conversationID,
            provider: service.provider.name, uptimeSeconds: service.uptimeSeconds)))
    }

    private func cancelChat(conversationID: String?) {
        guard let current = chat, conversationID == nil || conversationID == current.conversationID else {
            sendError(ChatError(.invalidMessage, "没有可取消的对话"), conversationID: conversationID)
            return
        }
        current.handle?.cancel()
        finish(reason: "cancelled", usage: nil)
    }

    // MARK: ChatStreamSink

    func chatStreamDidStart() {
        guard let conversationID = chat?.conversationID, chat?.streamingSent == false else { return }
        chat?.streamingSent = true
        send(ServerMessages.statusUpdate(.streaming, conversationID: conversationID))
    }

    func chatStream(didReceive delta: String) {
        guard chat != nil, !delta.isEmpty else { return }
        chatStreamDidStart()
        // The answer is kept for the conversation's history, up to a bound: a client that stalls
        // a very long stream must not make the server hold all of it.
        if !chat!.receivedDelta {
            chat!.receivedDelta = true
            service.metrics.timeToFirstToken.observe(Double(service.now - chat!.startedAt) / 1000)
        }
        if chat!.answer.utf8.count < Self.maxRememberedAnswerBytes { chat!.answer += delta }
        guard let transport else { return }
        // Backpressure: past the high-water mark, hold deltas back (merged, in order) and pause
        // the upstream instead of growing the queue; `didDrain` sends them and resumes.
        if transport.bufferedBytes > service.configuration.streamHighWaterBytes || !chat!.heldBack.isEmpty {
            chat!.heldBack += delta
            if !chat!.upstreamPaused {
                chat!.upstreamPaused = true
                chat!.handle?.setPaused(true)
            }
            return
        }
        relay(delta)
    }

    func chatStreamBatchWillBegin() { transport?.beginBatch() }
    func chatStreamBatchDidEnd() { transport?.endBatch() }

    /// Sends one `chat_stream`, encoded into the service's scratch buffer (no allocation).
    private func relay(_ delta: String) {
        guard let transport, let conversationID = chat?.conversationID else { return }
        service.metrics.tokensRelayed += 1
        var delta = delta
        delta.withUTF8 { bytes in
            ServerMessages.chatStream(delta: UnsafeRawBufferPointer(bytes), conversationID: conversationID, into: &service.streamScratch)
        }
        service.streamScratch.withUnsafeBytes { transport.sendMessage($0) }
    }

    func chatStreamDidFinish(reason: String, usage: TokenUsage?) {
        guard let current = chat else { return }
        let finishReason = reason == "length" ? "length" : "stop"
        service.history.append(userID: userID, conversationID: current.conversationID, question: current.question, answer: current.answer)
        finish(reason: finishReason, usage: usage)
    }

    func chatStreamDidFail(_ error: ChatError) {
        guard let current = chat else { return }
        chatStreamDidStart()
        sendError(error, conversationID: current.conversationID)
        finish(reason: "error", usage: nil)
    }

    /// Sends `done` (after `streaming`, if that has not gone out yet) and ends the chat.
    private func finish(reason: String, usage: TokenUsage?) {
        guard let current = chat else { return }
        chatStreamDidStart()
        // Nothing is dropped: what backpressure held back goes out before `done`.
        if !current.heldBack.isEmpty { relay(current.heldBack) }
        chat = nil
        service.chatEnded()
        service.metrics.chatsByOutcome[reason, default: 0] += 1
        send(ServerMessages.statusUpdate(.done, conversationID: current.conversationID, finishReason: reason, usage: usage))
        onChatFinished?(reason)
        if draining { closeForShutdown() }
    }

    // MARK: Helpers

    private func send(_ message: [UInt8]) {
        guard let transport else { return }
        message.withUnsafeBytes { transport.sendMessage($0) }
    }

    private func sendError(_ error: ChatError, conversationID: String? = nil) {
        send(ServerMessages.error(error, conversationID: conversationID))
    }

    private func newConversationID() -> String {
        defer { nextConversationNumber += 1 }
        return "conv_\(transport?.id ?? 0)_\(nextConversationNumber)"
    }
}
