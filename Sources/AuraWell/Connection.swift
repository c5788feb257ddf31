import Glibc
import Logging
import Reactor
import WSCodec

/// One client socket, from the first byte of its HTTP request to the close. It owns the HTTP
/// upgrade, WebSocket framing, control frames, the close handshake and its deadlines; the
/// application behind it (`WebSocketEndpoint`) sees whole messages only.
///
/// Registered edge-triggered for read and write once, so the steady state needs no `epoll_ctl`:
/// reads go until a short read (the socket is drained), writes go straight to the kernel and
/// only what it refuses is queued until the next writable edge.
final class Connection: IOHandler, TimerHandler {
    enum Phase: Equatable {
        /// Reading an HTTP request head (the first, or the next one on a kept-alive connection).
        case http
        /// Reading the body of the request in `pendingHead`.
        case httpBody
        /// A streamed answer (the REST chat) is being written; input waits in `stash`.
        case httpResponding
        case webSocket
        /// Our last bytes are queued or sent; reading and discarding until the peer's EOF, so that
        /// unread input never turns our close into a reset that destroys the final frame.
        case lingering
        case closed
    }

    private enum Deadline: Int {
        case handshake
        case closing
        case liveness
    }

    let fd: Int32
    let id: UInt64
    private unowned let server: Server
    private(set) var phase = Phase.http
    private var headParser: HTTPHeadParser
    private var frameParser: WebSocketParser
    private var closeHandshake = WebSocketCloseHandshake()
    private var outbound = OutboundQueue()
    private var endpoint: (any WebSocketEndpoint)?
    private var deadline = TimerID.none
    private var shutdownAfterFlush = false
    private var liveness: Liveness
    private var livenessTimer = TimerID.none
    private var livenessCheckAt: UInt64 = .max
    /// Reading stopped because too much output is queued (the peer sends but does not read).
    private var readPaused = false
    /// Counted among the server's WebSockets (until the socket closes).
    private var upgraded = false
    /// The request whose body is being read, the body so far, and the bytes still due.
    private var pendingHead: HTTPRequestHead?
    private var requestBody: [UInt8] = []
    private var bodyRemaining = 0
    /// Input that arrived while a streamed answer was being written (a pipelined request).
    private var stash: [UInt8] = []
    private var exchange: RestChatExchange?
    /// Whether this connection stays open for another request after the current answer.
    private var keepAlive = false

    /// How many reads of the shared buffer one readiness event may take before other sockets get
    /// their turn.
    private static let readBudget = 16

    init(fd: Int32, id: UInt64, server: Server) throws(SystemError) {
        self.fd = fd
        self.id = id
        self.server = server
        let configuration = server.configuration
        headParser = HTTPHeadParser(maxHeadBytes: configuration.maxHeaderBytes)
        frameParser = WebSocketParser(role: .server, maxMessageBytes: configuration.maxMessageBytes)
        liveness = Liveness(now: server.reactor.now)
        try server.reactor.register(fd, interest: [.read, .write, .edgeTriggered], handler: self)
        deadline = server.reactor.schedule(
            after: configuration.handshakeTimeoutMilliseconds, handler: self, tag: Deadline.handshake.rawValue)
    }

    var publicID: String { "conn_\(id)" }
    var bufferedBytes: Int { outbound.bufferedBytes }

    // MARK: Readiness

    func handleIO(_ events: IOEvents) {
        if events.contains(.writable) && !outbound.isEmpty {
            flushOutbound()
        }
        guard phase != .closed else { return }
        if events.contains(.readable) || events.contains(.hangup) || events.contains(.error) {
            // With a hangup pending there will be no further edge: read on to the EOF.
            readAvailable(untilEOF: !events.isDisjoint(with: [.hangup, .error]))
        }
    }

    private func readAvailable(untilEOF: Bool) {
        let buffer = server.reactor.receiveBuffer
        for _ in 0..<Self.readBudget {
            guard phase != .closed else { return }
            // Backpressure on the input side: a peer that sends but does not read the answers
            // (an echo flood, say) is not read until its queue drains; memory stays bounded.
            if outbound.bufferedBytes > server.configuration.maxOutboundBytes && phase == .webSocket {
                readPaused = true
                return
            }
            switch Socket.read(fd, into: buffer) {
            case .processed(let count):
                received(UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]))
                // A short read drained the socket; new data raises a new edge.
                if count < buffer.count && !untilEOF { return }
            case .wouldBlock:
                return
            case .endOfFile:
                close(reason: phase == .lingering ? "closed" : "peer closed the connection")
                return
            case .failed(let code):
                close(reason: "read failed: \(SystemError("read", errno: code))")
                return
            }
        }
        // Budget spent and the socket may still hold data: finish after the others had a turn.
        server.reactor.runSoon { [self] in
            if phase != .closed { readAvailable(untilEOF: untilEOF) }
        }
    }

    private func received(_ bytes: UnsafeMutableRawBufferPointer) {
        switch phase {
        case .http:
            switch headParser.parse(UnsafeRawBufferPointer(bytes)) {
            case .needMoreData:
                return
            case .failure(let error):
                keepAlive = false
                reply(.json(error.status, error.reason))
            case .complete(let head, let consumed):
                startRequest(head)
                // Bytes behind the head: its body, a pipelined request, or early WebSocket frames.
                if consumed < bytes.count { received(UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])) }
            }
        case .httpBody:
            let take = min(bodyRemaining, bytes.count)
            requestBody.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[..<take]))
            bodyRemaining -= take
            if bodyRemaining == 0 { bodyComplete() }
            if take < bytes.count { received(UnsafeMutableRawBufferPointer(rebasing: bytes[take...])) }
        case .httpResponding:
            stash.append(contentsOf: UnsafeRawBufferPointer(bytes))
        case .webSocket:
            var sink = FrameSink(connection: self)
            if let error = frameParser.parse(bytes, into: &sink) {
                fail(error)
            }
        case .lingering, .closed:
            return
        }
    }

    // MARK: HTTP

    private func startRequest(_ head: HTTPRequestHead) {
        server.metrics.httpRequests += 1
        // HTTP/1.1 keeps the connection unless asked not to; HTTP/1.0 closes it.
        // A refused upgrade closes too: that client wanted a WebSocket, not another request.
        keepAlive = head.versionMinor >= 1 && !head.headerContainsToken("Connection", "close")
            && head.firstHeader("Upgrade") == nil
        switch Router.decide(head, server: server) {
        case .reply(let answer):
            reply(answer)
        case .upgrade(let endpoint, let acceptValue):
            upgrade(to: endpoint, acceptValue: acceptValue, path: head.path)
        case .restChat:
            readBody(of: head)
        }
    }

    /// Content-Length bodies only (a chunked request gets 411), up to the message size limit.
    private func readBody(of head: HTTPRequestHead) {
        if head.firstHeader("Transfer-Encoding") != nil {
            keepAlive = false
            return reply(.json(411, "send the body with Content-Length"))
        }
        guard let length = Int(head.firstHeader("Content-Length") ?? "0"), length >= 0 else {
            keepAlive = false
            return reply(.json(400, "bad Content-Length"))
        }
        guard length <= server.configuration.maxMessageBytes else {
            keepAlive = false
            return reply(.json(413, "request body over \(server.configuration.maxMessageBytes) bytes"))
        }
        pendingHead = head
        requestBody = []
        requestBody.reserveCapacity(length)
        bodyRemaining = length
        phase = .httpBody
        if length == 0 { bodyComplete() }
    }

    private func bodyComplete() {
        guard let head = pendingHead else { return }
        // The request is in; the answer may stream for minutes (its own deadlines apply).
        server.reactor.cancel(deadline)
        deadline = .none
        pendingHead = nil
        let body = requestBody
        requestBody = []
        phase = .httpResponding
        let exchange = RestChatExchange(connection: self, server: server)
        self.exchange = exchange
        exchange.start(head: head, body: body)
    }

    private func upgrade(to endpoint: any WebSocketEndpoint, acceptValue: String, path: String) {
        let response = WebSocketHandshake.switchingProtocolsResponse(acceptValue: acceptValue)
        phase = .webSocket
        // A request that came in pieces left bytes in the parser: an idle WebSocket keeps none.
        headParser = HTTPHeadParser(maxHeadBytes: server.configuration.maxHeaderBytes)
        server.reactor.cancel(deadline)
        deadline = .none
        self.endpoint = endpoint
        upgraded = true
        server.webSocketOpened()
        response.withUnsafeBytes { write($0) }
        server.logger.debug("websocket opened", metadata: ["connection": "\(id)", "path": "\(path)"])
        liveness = Liveness(now: server.reactor.now)
        checkLiveness()
        endpoint.didOpen(self)
    }

    /// Writes a complete answer; then either waits for the next request or closes.
    private func reply(_ answer: HTTPReply) {
        if answer.status >= 300 && answer.status != 304 { server.metrics.rejected(status: answer.status) }
        let close = !keepAlive || server.isDraining
        answer.serialized(close: close).withUnsafeBytes { write($0) }
        server.logger.debug("http response", metadata: ["connection": "\(id)", "status": "\(answer.status)"])
        close ? linger() : awaitNextRequest()
    }

    /// Writes the head of a streamed answer (REST chat over SSE): chunked, so that the
    /// connection can carry another request after it.
    func beginStreamedResponse(status: Int, headers: [(String, String)]) {
        var head = "HTTP/1.1 \(status) \(HTTPResponse.defaultReason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Transfer-Encoding: chunked\r\n"
        if !keepAlive || server.isDraining { head += "Connection: close\r\n" }
        head += "\r\n"
        var bytes = head
        bytes.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// One chunk of a streamed answer.
    func writeChunk(_ payload: UnsafeRawBufferPointer) {
        guard !payload.isEmpty else { return }
        var size = String(payload.count, radix: 16) + "\r\n"
        size.withUTF8 { write(UnsafeRawBufferPointer($0), payload) }
        var crlf: UInt16 = 0x0A0D
        withUnsafeBytes(of: &crlf) { write($0) }
    }

    /// The REST exchange is over: the chunked terminator (if streamed) or the whole answer.
    func finishExchange(final answer: HTTPReply?) {
        exchange = nil
        guard phase == .httpResponding else { return }
        if let answer {
            phase = .http
            return reply(answer)
        }
        "0\r\n\r\n".utf8.withContiguousStorageIfAvailable { write(UnsafeRawBufferPointer($0)) }
        if !keepAlive || server.isDraining { return linger() }
        awaitNextRequest()
    }

    /// Kept alive: reset for the next request, bounded by the handshake timeout, and serve any
    /// request that was pipelined meanwhile.
    private func awaitNextRequest() {
        phase = .http
        headParser = HTTPHeadParser(maxHeadBytes: server.configuration.maxHeaderBytes)
        rearmDeadline(.handshake, after: server.configuration.handshakeTimeoutMilliseconds)
        guard !stash.isEmpty else { return }
        var pipelined = stash
        stash = []
        pipelined.withUnsafeMutableBytes { received($0) }
    }

    // MARK: WebSocket

    fileprivate func handle(_ event: WebSocketEvent) {
        guard phase == .webSocket else { return }
        liveness.frameReceived(at: server.reactor.now)
        switch event {
        case .text(let message):
            if closeHandshake.state == .open { endpoint?.didReceiveText(self, message) }
        case .binary(let message):
            if closeHandshake.state == .open { endpoint?.didReceiveBinary(self, message) }
        case .ping(let payload):
            if closeHandshake.state == .open { send(.pong, payload) }
        case .pong:
            liveness.pongReceived(at: server.reactor.now)
            // The next ping is due an interval after this pong, not at the old pong deadline.
            checkLiveness()
        case .close(let code, _):
            if let reply = closeHandshake.receivedClose(code: code) {
                reply.withUnsafeBytes { write($0) }
            }
            // The handshake is complete and the peer sends nothing more: the server closes TCP
            // first (RFC 6455 §7.1.1), at once when our reply is in the kernel.
            if outbound.isEmpty {
                close(reason: "close handshake complete")
            } else {
                linger()
            }
        }
    }

    /// Sends one unfragmented frame; the header is built on the stack and sent with the payload
    /// in one `writev`, so the payload is not copied unless the kernel cannot take it. During
    /// this connection's batch the frame is appended to the batch instead.
    func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        guard phase == .webSocket, closeHandshake.state == .open else { return }
        var header: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &header) { scratch in
            let length = WebSocketFrameEncoder.writeHeader(
                opcode: opcode, fin: true, payloadLength: payload.count, to: scratch.baseAddress!)
            let header = UnsafeRawBufferPointer(rebasing: scratch[..<length])
            if server.batch.owner === self {
                server.batch.bytes.append(contentsOf: header)
                server.batch.bytes.append(contentsOf: payload)
            } else {
                write(header, payload)
            }
        }
    }

    func sendText(_ message: [UInt8]) {
        message.withUnsafeBytes { send(.text, $0) }
    }

    /// Starts the close handshake: sends our close frame and waits (bounded) for the peer's.
    func close(code: WebSocketCloseCode, reason: String) {
        guard phase == .webSocket else {
            if phase == .http { close(reason: reason) }
            return
        }
        guard let frame = closeHandshake.initiate(code: code, reason: reason) else { return }
        frame.withUnsafeBytes { write($0) }
        server.logger.debug("closing", metadata: ["connection": "\(id)", "code": "\(code.rawValue)", "reason": "\(reason)"])
        notifyEndpointClosed()
        rearmDeadline(.closing, after: server.configuration.closeTimeoutMilliseconds)
    }

    /// The server drains: the endpoint finishes its work and closes; anything else closes now.
    func serverIsDraining() {
        switch phase {
        case .webSocket: endpoint?.serverIsDraining(self) ?? close(code: .goingAway, reason: "server shutting down")
        case .http, .httpBody: close(reason: "server shutting down")
        case .httpResponding, .lingering, .closed: break  // the answer in progress finishes
        }
    }

    /// A protocol violation: send the close code that names it, then close without waiting.
    private func fail(_ error: WebSocketProtocolError) {
        server.logger.info(
            "websocket protocol error",
            metadata: ["connection": "\(id)", "code": "\(error.code.rawValue)", "reason": "\(error.reason)"])
        if let frame = closeHandshake.initiate(code: error.code, reason: error.reason) {
            frame.withUnsafeBytes { write($0) }
        }
        linger()
    }

    // MARK: Writing and closing

    /// Holds this connection's frames until `endBatch` (the tokens of one upstream read).
    func beginBatch() {
        guard phase == .webSocket, server.batch.owner !== self else { return }
        server.flushBatch()
        server.batch.owner = self
    }

    /// Writes the held frames with one syscall.
    func endBatch() {
        if server.batch.owner === self { server.flushBatch() }
    }

    func writeHeld(_ frames: [UInt8]) {
        frames.withUnsafeBytes { writeNow($0) }
    }

    /// Writes anything but a batched message: a held batch goes first, so order is kept (and a
    /// close frame is never followed by held frames).
    private func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        if server.batch.owner === self { server.flushBatch() }
        writeNow(first, second)
    }

    private func writeNow(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        guard phase != .closed else { return }
        switch outbound.write(fd, first, second) {
        case .complete:
            break
        case .queued:
            liveness.writeBlocked(at: server.reactor.now)
            checkLiveness()
        case .failed(let code):
            close(reason: "write failed: \(SystemError("write", errno: code))")
        }
    }

    private func flushOutbound() {
        let before = outbound.bufferedBytes
        switch outbound.flush(fd) {
        case .complete:
            liveness.writeProgressed(at: server.reactor.now, drained: true)
            if shutdownAfterFlush {
                shutdownAfterFlush = false
                _ = shutdown(fd, Int32(SHUT_WR))
            }
            if phase == .webSocket { endpoint?.didDrain(self) }
            if phase == .httpResponding { exchange?.didDrain() }
            if readPaused {
                readPaused = false
                readAvailable(untilEOF: false)
            }
        case .queued:
            if outbound.bufferedBytes < before { liveness.writeProgressed(at: server.reactor.now, drained: false) }
        case .failed(let code):
            close(reason: "write failed: \(SystemError("send", errno: code))")
        }
    }

    // MARK: Liveness

    /// Acts on what `Liveness` says is due and arms the one timer for the next check.
    private func checkLiveness() {
        guard phase == .webSocket else { return }
        let now = server.reactor.now
        let next: UInt64
        switch liveness.check(now: now, policy: server.configuration.liveness) {
        case .close(let reason):
            server.logger.info("closing", metadata: ["connection": "\(id)", "reason": "\(reason)"])
            close(code: .normal, reason: reason)
            return
        case .abort(let reason):
            server.logger.info("dropping connection", metadata: ["connection": "\(id)", "reason": "\(reason)"])
            close(reason: reason)
            return
        case .ping(let checkAt):
            send(.ping, UnsafeRawBufferPointer(start: nil, count: 0))
            next = checkAt
        case .wait(let checkAt):
            next = checkAt
        }
        // Re-arm only when the next check moves earlier, or the armed one has fired.
        guard next < livenessCheckAt || livenessTimer == .none else { return }
        server.reactor.cancel(livenessTimer)
        livenessCheckAt = next
        livenessTimer = server.reactor.schedule(at: next, handler: self, tag: Deadline.liveness.rawValue)
    }

    /// Our last bytes are written (or queued): half-close and discard input until the peer's EOF
    /// or the closing deadline.
    private func linger() {
        guard phase != .lingering && phase != .closed else { return }
        phase = .lingering
        notifyEndpointClosed()
        if outbound.isEmpty {
            _ = shutdown(fd, Int32(SHUT_WR))
        } else {
            shutdownAfterFlush = true
        }
        rearmDeadline(.closing, after: server.configuration.closeTimeoutMilliseconds)
    }

    /// Closes the socket now. Idempotent.
    func close(reason: String) {
        guard phase != .closed else { return }
        phase = .closed
        server.reactor.cancel(deadline)
        deadline = .none
        server.reactor.cancel(livenessTimer)
        livenessTimer = .none
        if upgraded { server.webSocketClosed() }
        if let exchange {
            self.exchange = nil
            exchange.connectionClosed()
        }
        outbound.discard()
        if server.batch.owner === self {
            server.batch.owner = nil
            server.batch.bytes.removeAll(keepingCapacity: true)
        }
        server.reactor.closeLater(fd)
        notifyEndpointClosed()
        server.connectionDidClose(self, reason: reason)
    }

    private func notifyEndpointClosed() {
        guard let endpoint else { return }
        self.endpoint = nil
        endpoint.didClose(self)
    }

    private func rearmDeadline(_ kind: Deadline, after milliseconds: UInt64) {
        server.reactor.cancel(deadline)
        deadline = server.reactor.schedule(after: milliseconds, handler: self, tag: kind.rawValue)
    }

    func timerFired(tag: Int) {
        if tag == Deadline.liveness.rawValue {
            livenessTimer = .none
            livenessCheckAt = .max
            checkLiveness()
            return
        }
        deadline = .none
        switch Deadline(rawValue: tag) {
        case .liveness:
            break
        case .handshake:
            close(reason: "handshake timeout")
        case .closing, nil:
            close(reason: "close timeout")
        }
    }
}

/// Hands the parser's events to the connection. A struct so the generic parse specialises.
private struct FrameSink: WebSocketEventSink {
    unowned(unsafe) let connection: Connection

    mutating func webSocketEvent(_ event: WebSocketEvent) {
        connection.handle(event)
    }
}
