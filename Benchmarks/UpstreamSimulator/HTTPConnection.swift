import Glibc
import Reactor
import WSCodec

/// One client connection: HTTP/1.1 requests one after another (keep-alive), bodies by
/// `Content-Length` or `Transfer-Encoding: chunked`, and the answer to each, which is either a
/// small JSON response or an `SSEStream`.
///
/// Registered edge-triggered for read and write once: reads go until a short read, writes go
/// straight to the kernel and only what it refuses waits in the `OutboundQueue` for the next
/// writable edge. Bytes a client sends while a stream is running (a pipelined request) wait in
/// `pending`; the reading goes on regardless, so a close or reset is seen at once.
final class HTTPConnection: IOHandler, TimerHandler {
    enum State {
        /// Reading a request head.
        case head
        /// Reading a request body.
        case body
        /// A response (a stream) is being written.
        case responding
        /// Our last bytes are written; discarding input until the client's EOF or a deadline.
        case lingering
        case closed
    }

    let fd: Int32
    private unowned let server: SimulatorServer
    private(set) var state = State.head
    private var headParser = HTTPHeadParser(maxHeadBytes: 64 * 1024)
    private var outbound = OutboundQueue()
    private var request: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyRemaining = 0
    private var chunkedBody: ChunkedBodyDecoder?
    private var pending: [UInt8] = []
    private var keepAlive = true
    private(set) var stream: SSEStream?
    private var shutdownAfterFlush = false
    private var lingerTimer = TimerID.none

    static let maxBodyBytes = 16 << 20
    static let maxPendingBytes = 1 << 20
    static let lingerMilliseconds: UInt64 = 5_000
    /// Reads of the shared buffer per readiness event before the other sockets get a turn.
    private static let readBudget = 16

    init(fd: Int32, server: SimulatorServer) throws(SystemError) {
        self.fd = fd
        self.server = server
        try server.reactor.register(fd, interest: [.read, .write, .edgeTriggered], handler: self)
    }

    var hasQueuedOutput: Bool { !outbound.isEmpty }

    // MARK: Readiness

    func handleIO(_ events: IOEvents) {
        if events.contains(.writable) && !outbound.isEmpty {
            flushOutbound()
        }
        guard state != .closed else { return }
        if !events.isDisjoint(with: [.readable, .hangup, .error]) {
            // With a hangup pending there will be no further edge: read on to the EOF.
            readAvailable(untilEOF: !events.isDisjoint(with: [.hangup, .error]))
        }
    }

    private func readAvailable(untilEOF: Bool) {
        let buffer = server.reactor.receiveBuffer
        for _ in 0..<Self.readBudget {
            guard state != .closed else { return }
            switch Socket.read(fd, into: buffer) {
            case .processed(let count):
                received(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                if count < buffer.count && !untilEOF { return }
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                peerClosed()
                return
            }
        }
        server.reactor.runSoon { [weak self] in self?.readAvailable(untilEOF: untilEOF) }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .head, .body:
            process(bytes)
        case .responding:
            guard pending.count + bytes.count <= Self.maxPendingBytes else {
                peerClosed()
                return
            }
            pending.append(contentsOf: bytes)
        case .lingering, .closed:
            return
        }
    }

    // MARK: Requests

    private func process(_ input: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[offset...])
            switch state {
            case .head:
                switch headParser.parse(rest) {
                case .needMoreData:
                    return
                case .failure(let error):
                    respondError(status: error.status, message: error.reason, close: true)
                    return
                case .complete(let head, let consumed):
                    offset += consumed
                    begin(head)
                }
            case .body:
                if var decoder = chunkedBody {
                    guard let used = decoder.decode(rest, into: &body) else {
                        respondError(status: 400, message: "malformed chunked body", close: true)
                        return
                    }
                    offset += used
                    chunkedBody = decoder
                    guard body.count <= Self.maxBodyBytes else {
                        respondError(status: 413, message: "request body too large", close: true)
                        return
                    }
                    if decoder.isDone {
                        chunkedBody = nil
                        requestComplete()
                    }
                } else {
                    let take = min(bodyRemaining, rest.count)
                    body.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<take]))
                    bodyRemaining -= take
                    offset += take
                    if bodyRemaining == 0 { requestComplete() }
                }
            case .responding:
                pending.append(contentsOf: rest)
                return
            case .lingering, .closed:
                return
            }
        }
    }

    private func begin(_ head: HTTPRequestHead) {
        request = head
        body = []
        bodyRemaining = 0
        chunkedBody = nil
        keepAlive =
            head.versionMinor >= 1
            ? !head.headerContainsToken("Connection", "close") : head.headerContainsToken("Connection", "keep-alive")
        let transferCodings = head.headerListElements("Transfer-Encoding")
        let lengths = head.headerValues("Content-Length")
        if !transferCodings.isEmpty {
            guard transferCodings.count == 1, transferCodings[0].lowercased() == "chunked", lengths.isEmpty else {
                respondError(status: 400, message: "only Transfer-Encoding: chunked is supported", close: true)
                return
            }
            chunkedBody = ChunkedBodyDecoder()
            state = .body
        } else if !lengths.isEmpty {
            guard let length = StreamPlan.integer(ArraySlice(lengths[0].utf8)), lengths.allSatisfy({ $0 == lengths[0] }) else {
                respondError(status: 400, message: "bad Content-Length", close: true)
                return
            }
            guard length <= Self.maxBodyBytes else {
                respondError(status: 413, message: "request body too large", close: true)
                return
            }
            bodyRemaining = length
            if length > 0 {
                body.reserveCapacity(length)
                state = .body
            }
        }
        if state == .body {
            if head.headerContainsToken("Expect", "100-continue") { write("HTTP/1.1 100 Continue\r\n\r\n") }
        } else {
            requestComplete()
        }
    }

    private func requestComplete() {
        guard let head = request else { return }
        state = .responding
        server.httpRequests += 1
        route(head)
    }

    private func route(_ head: HTTPRequestHead) {
        let path = head.path
        switch path {
        case "/chat/completions", "/v1/chat/completions":
            guard head.method == "POST" else { return respondMethodNotAllowed("POST") }
            startChat(head)
        case "/_sim/requests":
            guard head.method == "GET" else { return respondMethodNotAllowed("GET") }
            respond(status: 200, json: server.requestsJSON(id: head.queryItem("id"), last: head.queryItem("last").flatMap { Int($0) }))
        case "/_sim/stats":
            guard head.method == "GET" else { return respondMethodNotAllowed("GET") }
            respond(status: 200, json: server.statsJSON())
        case "/_sim/reset":
            guard head.method == "POST" else { return respondMethodNotAllowed("POST") }
            server.reset()
            respond(status: 200, json: Array("{\"reset\":true}".utf8))
        default:
            respondError(status: 404, message: "no such endpoint: \(path)", close: false)
        }
    }

    // MARK: Chat completions

    private func startChat(_ head: HTTPRequestHead) {
        server.requestsTotal += 1
        let sequence = server.requestsTotal
        var plan = server.defaults
        plan.apply(directiveIn: body)
        let id = plan.id ?? Array("r\(sequence)".utf8)
        let attempt = plan.id == nil ? 1 : server.log.nextAttempt(for: id)
        let record = RequestRecord(
            sequence: sequence, id: id, path: head.path, authorization: head.firstHeader("Authorization"), body: body,
            attempt: attempt, receivedAt: server.reactor.now)
        server.log.append(record)

        if let status = plan.status, plan.fails(attempt: attempt) {
            record.status = status
            record.outcome = .errorStatus
            record.endedAt = server.reactor.now
            var headers: [(String, String)] = []
            if let retryAfter = plan.retryAfter { headers.append(("Retry-After", String(decoding: retryAfter, as: UTF8.self))) }
            respondError(status: status, message: "simulated \(status)", close: false, headers: headers)
            return
        }

        // HTTP/1.0 has no chunked encoding: the body then ends with the connection.
        let chunked = head.versionMinor >= 1
        if !chunked { keepAlive = false }
        var response: [UInt8] = []
        response.reserveCapacity(160)
        response.append("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n")
        if chunked { response.append("Transfer-Encoding: chunked\r\n") }
        if !keepAlive { response.append("Connection: close\r\n") }
        response.append("X-Sim-Request-Id: ")
        response.append(contentsOf: id)
        response.append("\r\n\r\n")
        guard response.withUnsafeBytes({ write($0) }) else { return }

        let model = StreamPlan.model(in: body) ?? ArraySlice("deepseek-chat".utf8)
        let stream = SSEStream(
            server: server, connection: self, record: record, plan: plan, model: model,
            promptTokens: max(1, (body.count + 3) / 4), chunked: chunked, createdUnixSeconds: Int(time(nil)))
        self.stream = stream
        server.streamsActive += 1
        body = []
        stream.begin()
    }

    /// The stream wrote its last bytes.
    func streamEnded(_ ended: SSEStream) {
        guard stream === ended else { return }
        stream = nil
        server.streamsActive -= 1
        if ended.record.completed { server.streamsCompleted += 1 }
        responseDone()
    }

    /// `drop_after`: the stream asks for the connection to vanish mid-response.
    func streamDropped(reset: Bool) {
        guard stream != nil else { return }
        stream = nil
        server.streamsActive -= 1
        if reset {
            var option = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        close()
    }

    // MARK: Plain responses

    private func respond(status: Int, json: [UInt8], headers: [(String, String)] = []) {
        let response = HTTPResponse.serialize(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: json, close: !keepAlive)
        guard response.withUnsafeBytes({ write($0) }) else { return }
        responseDone()
    }

    private func respondMethodNotAllowed(_ allowed: String) {
        respondError(status: 405, message: "method not allowed", close: false, headers: [("Allow", allowed)])
    }

    /// `{"error":{"message","type","code"}}` in DeepSeek's shape.
    private func respondError(status: Int, message: String, close: Bool, headers: [(String, String)] = []) {
        if close { keepAlive = false }
        let (type, code) = Self.errorKind(status)
        var json: [UInt8] = []
        json.append("{\"error\":{\"message\":")
        json.appendJSONString(message)
        json.append(",\"type\":")
        json.appendJSONString(type)
        json.append(",\"code\":")
        json.appendJSONString(code)
        json.append("}}")
        state = .responding
        respond(status: status, json: json, headers: headers)
    }

    static func errorKind(_ status: Int) -> (type: String, code: String) {
        switch status {
        case 400: ("invalid_request_error", "invalid_request")
        case 401: ("authentication_error", "invalid_api_key")
        case 402: ("payment_required", "insufficient_balance")
        case 404: ("invalid_request_error", "not_found")
        case 405: ("invalid_request_error", "method_not_allowed")
        case 413: ("invalid_request_error", "request_too_large")
        case 422: ("invalid_request_error", "invalid_parameters")
        case 429: ("rate_limit_error", "rate_limit_exceeded")
        case 500: ("server_error", "internal_error")
        case 502: ("server_error", "bad_gateway")
        case 503: ("server_error", "server_overloaded")
        case 504: ("server_error", "gateway_timeout")
        case 400..<500: ("invalid_request_error", "http_\(status)")
        default: ("server_error", "http_\(status)")
        }
    }

    /// The response is written (or queued): the next request, or the close.
    private func responseDone() {
        guard state != .closed && state != .lingering else { return }
        request = nil
        guard keepAlive else {
            linger()
            return
        }
        state = .head
        if !pending.isEmpty {
            let bytes = pending
            pending = []
            bytes.withUnsafeBytes { process($0) }
        }
    }

    // MARK: Writing and closing

    @discardableResult
    private func write(_ text: StaticString) -> Bool {
        text.withUTF8Buffer { write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes now, queueing what the kernel refuses; false when the connection is gone.
    @discardableResult
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != .closed else { return false }
        if case .failed = outbound.write(fd, bytes) {
            peerClosed()
            return false
        }
        return true
    }

    private func flushOutbound() {
        switch outbound.flush(fd) {
        case .complete:
            if shutdownAfterFlush {
                shutdownAfterFlush = false
                _ = shutdown(fd, Int32(SHUT_WR))
            }
            stream?.writable()
        case .queued:
            break
        case .failed:
            peerClosed()
        }
    }

    /// Half-closes once our bytes are out and waits (bounded) for the client's EOF, so that its
    /// unread input cannot turn our close into a reset that destroys the response.
    private func linger() {
        state = .lingering
        if outbound.isEmpty {
            _ = shutdown(fd, Int32(SHUT_WR))
        } else {
            shutdownAfterFlush = true
        }
        lingerTimer = server.reactor.schedule(after: Self.lingerMilliseconds, handler: self, tag: 0)
    }

    func timerFired(tag: Int) {
        lingerTimer = .none
        close()
    }

    /// EOF, reset or a failed write: a running stream counts as aborted by the client.
    private func peerClosed() {
        if let stream {
            self.stream = nil
            server.streamsActive -= 1
            stream.clientClosed()
        }
        close()
    }

    /// Server shutdown: stop the stream without counting it as a client abort.
    func shutdownNow() {
        if let stream {
            self.stream = nil
            server.streamsActive -= 1
            stream.cancel()
        }
        close()
    }

    private func close() {
        guard state != .closed else { return }
        state = .closed
        server.reactor.cancel(lingerTimer)
        lingerTimer = .none
        outbound.discard()
        pending = []
        server.reactor.closeLater(fd)
        server.connectionClosed(self)
    }
}
