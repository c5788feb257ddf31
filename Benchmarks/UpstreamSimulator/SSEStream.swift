import Reactor

/// One streamed answer in the DeepSeek/OpenAI `chat.completion.chunk` shape, paced by the loop's
/// timer wheel. Each SSE event goes out as its own HTTP chunk with one `writev`, built in buffers
/// the stream owns, so a token costs no allocation.
///
/// Timeline (`T0` = request + ttft, `i` = reasoning and content items in order):
/// - before `T0`: `: keep-alive` comments every `keepalive_ms` (when > 0);
/// - at `T0`: the role chunk, then item 0; item `i` at `T0 + i * interval_ms`;
/// - right after the last item: the finish chunk, the usage chunk, `[DONE]`, the last chunk.
/// Deadlines are absolute, so a late tick does not slow the stream down: overdue items go out
/// at once. A stream never writes while the connection still holds unsent bytes; it waits for
/// the socket to drain (backpressure).
final class SSEStream: TimerHandler {
    enum State {
        case running
        /// `stall_after`: silent until the client closes.
        case stalled
        case finished
    }

    private unowned let server: SimulatorServer
    private unowned let connection: HTTPConnection
    let record: RequestRecord
    private let plan: StreamPlan
    private let fault: (kind: StreamPlan.Fault, after: Int)?
    /// Whether the body is chunked (HTTP/1.1) or delimited by the close (HTTP/1.0).
    private let chunked: Bool
    private(set) var state = State.running

    /// `data: {"id":"chatcmpl-R","object":"chat.completion.chunk","created":T,"model":"M","choices":[`
    private let prefix: [UInt8]
    /// The JSON-escaped request id, for the tokens.
    private let escapedID: [UInt8]
    private let promptTokens: Int
    private let start: UInt64
    private let firstTokenAt: UInt64
    private var keepAlivesSent: UInt64 = 0
    private var roleSent = false
    /// The next item: reasoning items come first, then content items.
    private var item = 0
    private var contentSent = 0
    private var timer = TimerID.none
    private(set) var waitingForWritable = false

    private var event: [UInt8] = []
    private var wire: [UInt8] = []
    /// Content events framed into `wire` but not yet written (`per_write`).
    private var heldEvents = 0

    /// Items sent in one go before the stream yields to the loop (only `interval_ms=0` gets there).
    private static let burstBudget = 256

    init(
        server: SimulatorServer, connection: HTTPConnection, record: RequestRecord, plan: StreamPlan, model: ArraySlice<UInt8>,
        promptTokens: Int, chunked: Bool, createdUnixSeconds: Int
    ) {
        self.server = server
        self.connection = connection
        self.record = record
        self.plan = plan
        self.fault = plan.fault
        self.chunked = chunked
        self.promptTokens = promptTokens
        var escapedID: [UInt8] = []
        escapedID.appendJSONEscaped(record.id)
        self.escapedID = escapedID
        var prefix: [UInt8] = []
        prefix.reserveCapacity(128 + model.count + escapedID.count)
        prefix.append("data: {\"id\":\"chatcmpl-")
        prefix.append(contentsOf: escapedID)
        prefix.append("\",\"object\":\"chat.completion.chunk\",\"created\":")
        prefix.appendDecimal(createdUnixSeconds)
        prefix.append(",\"model\":\"")
        prefix.append(contentsOf: model)
        prefix.append("\",\"choices\":[")
        self.prefix = prefix
        start = server.reactor.now
        firstTokenAt = start + plan.ttftMilliseconds
        event.reserveCapacity(prefix.count + 160)
        wire.reserveCapacity(prefix.count + 200)
        if !plan.stamp { record.sentText.reserveCapacity(min(plan.tokens, 4096) * (12 + escapedID.count)) }
    }

    // MARK: Driving

    func begin() { pump() }

    func timerFired(tag: Int) {
        timer = .none
        pump()
    }

    /// The connection drained what it had queued.
    func writable() {
        guard waitingForWritable else { return }
        waitingForWritable = false
        pump()
    }

    /// Sends everything that is due, then arms the timer for what comes next.
    private func pump() {
        // Whatever way the burst ends, held tokens go out with it.
        defer { if heldEvents > 0 { send() } }
        var budget = Self.burstBudget
        while state == .running {
            if connection.hasQueuedOutput {
                waitingForWritable = true
                return
            }
            let now = server.reactor.now
            if !roleSent {
                if now < firstTokenAt {
                    let interval = plan.keepAliveMilliseconds
                    guard interval > 0 else { return arm(firstTokenAt) }
                    let nextKeepAlive = start + (keepAlivesSent + 1) * interval
                    guard nextKeepAlive <= now else { return arm(min(nextKeepAlive, firstTokenAt)) }
                    keepAlivesSent = (now - start) / interval  // skip the ones a late tick missed
                    sendKeepAlive()
                    continue
                }
                roleSent = true
                sendRole()
                if faultIsDue() { return }
                continue
            }
            if item == plan.reasoning + plan.tokens {
                finish()
                return
            }
            let due = firstTokenAt + UInt64(item) * plan.intervalMilliseconds
            guard due <= now else { return arm(due) }
            if item < plan.reasoning { sendReasoning(item) } else { sendContent(item - plan.reasoning) }
            item += 1
            if faultIsDue() { return }
            budget -= 1
            if budget == 0 { return arm(now) }  // the next tick: let other sockets have the loop
        }
    }

    private func arm(_ deadline: UInt64) {
        timer = server.reactor.schedule(at: deadline, handler: self, tag: 0)
    }

    /// Acts on the configured fault once all reasoning and `after` content tokens are out.
    private func faultIsDue() -> Bool {
        guard state == .running, let fault, item >= plan.reasoning, contentSent == fault.after else { return false }
        switch fault.kind {
        case .drop(let reset):
            state = .finished
            record.outcome = .dropped
            record.endedAt = server.reactor.now
            connection.streamDropped(reset: reset)
        case .stall:
            state = .stalled
            record.outcome = .stalled
        case .inbandError:
            beginEvent()
            event.append("data: {\"error\":{\"message\":\"simulated in-band error\",\"type\":\"server_error\",\"code\":\"internal\"}}")
            endEvent()
            appendTerminator()
            guard send() else { return true }
            end(outcome: .inbandError)
        }
        return true
    }

    // MARK: Events

    private func sendKeepAlive() {
        beginEvent()
        event.append(": keep-alive")
        endEvent()
        send()
    }

    private func sendRole() {
        beginEvent()
        event.append(contentsOf: prefix)
        event.append("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}")
        endEvent()
        send()
    }

    private func sendReasoning(_ index: Int) {
        beginEvent()
        event.append(contentsOf: prefix)
        event.append("{\"index\":0,\"delta\":{\"reasoning_content\":\"think")
        event.appendDecimal(index)
        event.append(" \"},\"finish_reason\":null}]}")
        endEvent()
        send()
    }

    /// Token `i` of request `R`: `t{i}·{R} `, every fourth one `健康{i} ` (multi-byte UTF-8);
    /// with `stamp=1`, `⟨{CLOCK_MONOTONIC ns}⟩` read just before the write.
    private func sendContent(_ index: Int) {
        beginEvent()
        event.append(contentsOf: prefix)
        event.append("{\"index\":0,\"delta\":{\"content\":\"")
        let tokenStart = event.count
        if plan.stamp {
            event.append("⟨")
            event.appendDecimal(monotonicNanoseconds())
            event.append("⟩")
            record.sentText.append(contentsOf: event[tokenStart...])
        } else if index % 4 == 3 {
            event.append("健康")
            event.appendDecimal(index)
            event.append(" ")
            record.sentText.append(contentsOf: event[tokenStart...])
        } else {
            event.append("t")
            event.appendDecimal(index)
            event.append("·")
            event.append(contentsOf: escapedID)
            event.append(" ")
            // The id is made of directive characters, which JSON escaping leaves alone, so the
            // escaped token is the token.
            record.sentText.append(contentsOf: event[tokenStart...])
        }
        event.append("\"},\"finish_reason\":null}]}")
        endEvent()
        contentSent += 1
        record.tokensSent = contentSent
        if plan.perWrite > 1, plan.intervalMilliseconds == 0, fault == nil, heldEvents + 1 < plan.perWrite {
            heldEvents += 1
            return
        }
        send()
    }

    /// The finish chunk, the usage chunk, `[DONE]` and the terminating chunk, in one write.
    private func finish() {
        beginEvent()
        event.append(contentsOf: prefix)
        event.append("{\"index\":0,\"delta\":{},\"finish_reason\":\"")
        event.appendJSONEscaped(plan.finishReason)
        event.append("\"}]}")
        endEvent()
        let completion = plan.tokens + plan.reasoning
        beginEvent()
        event.append(contentsOf: prefix)
        event.append("],\"usage\":{\"prompt_tokens\":")
        event.appendDecimal(promptTokens)
        event.append(",\"completion_tokens\":")
        event.appendDecimal(completion)
        event.append(",\"total_tokens\":")
        event.appendDecimal(promptTokens + completion)
        if plan.reasoning > 0 {
            event.append(",\"completion_tokens_details\":{\"reasoning_tokens\":")
            event.appendDecimal(plan.reasoning)
            event.append("}")
        }
        event.append("}}")
        endEvent()
        beginEvent()
        event.append("data: [DONE]")
        endEvent()
        appendTerminator()
        guard send() else { return }
        record.completed = true
        end(outcome: .completed)
    }

    // MARK: Framing and writing

    private func beginEvent() {
        event.removeAll(keepingCapacity: true)
    }

    /// Ends the SSE event (blank line) and frames it into `wire` as one HTTP chunk.
    private func endEvent() {
        event.append("\n\n")
        if chunked {
            wire.appendHex(event.count)
            wire.append("\r\n")
            wire.append(contentsOf: event)
            wire.append("\r\n")
        } else {
            wire.append(contentsOf: event)
        }
    }

    private func appendTerminator() {
        if chunked { wire.append("0\r\n\r\n") }
    }

    /// Writes `wire`; false when the connection is gone (the connection has then told us).
    @discardableResult
    private func send() -> Bool {
        heldEvents = 0
        let alive = wire.withUnsafeBytes { connection.write($0) }
        wire.removeAll(keepingCapacity: true)
        return alive && state != .finished
    }

    private func end(outcome: RequestRecord.Outcome) {
        state = .finished
        record.outcome = outcome
        record.endedAt = server.reactor.now
        connection.streamEnded(self)
    }

    // MARK: Cancellation

    /// The client closed or reset the connection: stop, and say so in the record.
    func clientClosed() {
        guard state != .finished else { return }
        state = .finished
        server.reactor.cancel(timer)
        timer = .none
        record.clientClosed = true
        record.outcome = .clientClosed
        record.endedAt = server.reactor.now
        server.clientAborts += 1
    }

    /// The server is shutting down.
    func cancel() {
        guard state != .finished else { return }
        state = .finished
        server.reactor.cancel(timer)
        timer = .none
    }
}
