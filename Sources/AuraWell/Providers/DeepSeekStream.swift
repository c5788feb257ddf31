import Glibc
import Logging
import Reactor

/// One streamed answer from the upstream, with its deadlines and retries.
///
/// Retries happen only before the first token (after it, the client has seen part of an answer
/// and a retry would repeat or contradict it), on 429/500/502/503 and connection failures, with
/// exponential backoff and jitter on the loop's timer wheel, honouring `Retry-After`.
/// Deadlines: first token (from the start, across retries), stall (no byte at all, keep-alives
/// included) and total. Stall is checked lazily: the timer fires at the earliest possible expiry
/// and re-arms itself from the time of the last byte, so bytes cost no timer work.
final class DeepSeekStream: ChatStreamHandle, CurlTransferDelegate, TimerHandler {
    private enum Deadline: Int, CaseIterable {
        case firstToken, stall, total, retry
    }

    private unowned let provider: DeepSeekProvider
    /// Strong until the stream ends (complete, fail, cancel), which breaks the cycle with the
    /// session holding this handle.
    private var sink: (any ChatStreamSink)?
    private let body: [UInt8]
    private var transfer: CurlTransfer?
    private var attempt = 0
    private var sse = SSEParser()
    private var status = 0
    private var retryAfterMilliseconds: UInt64?
    private var errorBody: [UInt8] = []
    private var receivedToken = false
    private var sawDone = false
    private var finishReason: String?
    private var usage: TokenUsage?
    private var inBandError: ChatError?
    private var lastByteAt: UInt64 = 0
    /// One timer per deadline, indexed by `Deadline.rawValue`.
    private var timers = [TimerID](repeating: .none, count: Deadline.allCases.count)
    /// The sink told of an open batch (curl may deliver one read in many callbacks, one per
    /// HTTP chunk); held strongly so that the batch is closed even if the chat ends meanwhile.
    private var batchSink: (any ChatStreamSink)?
    private var batchOpenedAt: UInt64 = 0
    private var finished = false

    /// Bytes of an error response body kept for its message.
    private static let maxErrorBody = 16 * 1024

    init(provider: DeepSeekProvider, body: [UInt8], sink: any ChatStreamSink) {
        self.provider = provider
        self.body = body
        self.sink = sink
    }

    private var settings: DeepSeekSettings { provider.settings }
    private var reactor: Reactor { provider.reactor }

    func start() {
        arm(.firstToken, after: settings.firstTokenTimeoutMilliseconds)
        arm(.total, after: settings.totalTimeoutMilliseconds)
        sendRequest()
    }

    func cancel() {
        guard !finished else { return }
        finished = true
        sink = nil
        teardown()
    }

    /// While paused the stall deadline does not apply: the silence is ours, not the upstream's.
    func setPaused(_ paused: Bool) {
        guard !finished, let transfer else { return }
        provider.multi.setReceivePaused(transfer, paused)
        if paused {
            disarm(.stall)
        } else {
            lastByteAt = reactor.now
            arm(.stall, after: settings.stallTimeoutMilliseconds)
        }
    }

    // MARK: Requests

    private func sendRequest() {
        attempt += 1
        status = 0
        retryAfterMilliseconds = nil
        errorBody.removeAll()
        sse = SSEParser()
        let transfer = CurlTransfer(url: settings.completionsURL)
        transfer.addHeader("Content-Type: application/json")
        transfer.addHeader("Accept: text/event-stream")
        if let key = settings.apiKey { transfer.addHeader("Authorization: Bearer \(key)") }
        transfer.setPostBody(body)
        transfer.setConnectTimeout(milliseconds: 10_000)
        transfer.delegate = self
        self.transfer = transfer
        lastByteAt = reactor.now
        arm(.stall, after: settings.stallTimeoutMilliseconds)
        provider.multi.start(transfer)
    }

    // MARK: CurlTransferDelegate

    func curlTransfer(_ transfer: CurlTransfer, didReceiveResponse status: Int, headers: CurlResponseHeaders) {
        self.status = status
        provider.metrics.upstreamRequestsByStatus[String(status), default: 0] += 1
        lastByteAt = reactor.now
        if status != 200, let value = headers.value(of: "retry-after"), let seconds = UInt64(value) {
            retryAfterMilliseconds = seconds * 1000
        }
        if status == 200 { sink?.chatStreamDidStart() }
    }

    func curlTransfer(_ transfer: CurlTransfer, didReceive bytes: UnsafeRawBufferPointer) -> Bool {
        lastByteAt = reactor.now
        guard status == 200 else {
            if errorBody.count < Self.maxErrorBody { errorBody.append(contentsOf: bytes.prefix(Self.maxErrorBody - errorBody.count)) }
            return true
        }
        openBatch()
        let intact = sse.feed(bytes) { data in handleEvent(data) }
        if !intact { inBandError = ChatError(.upstreamError, "AI 服务返回了无法解析的数据") }
        // Returning false aborts the transfer (the only safe way from inside curl's callback).
        return inBandError == nil && !finished
    }

    func curlTransfer(_ transfer: CurlTransfer, didCompleteWith error: CurlTransferError?) {
        guard !finished, transfer === self.transfer else { return }
        self.transfer = nil
        if let inBandError { return fail(inBandError, log: "upstream stream error") }
        if let error {
            if status == 0 { provider.metrics.upstreamRequestsByStatus["connection_failed", default: 0] += 1 }
            if !receivedToken && error.isConnectionFailure && retry() { return }
            return fail(ChatError(error.isTimeout ? .upstreamTimeout : .upstreamError,
                                  receivedToken ? "AI 服务的响应中断" : "无法连接 AI 服务"),
                        log: "upstream transfer failed: \(error)")
        }
        guard status == 200 else {
            if !receivedToken && [429, 500, 502, 503].contains(status) && retry() { return }
            return fail(Self.error(forStatus: status), log: "upstream HTTP \(status): \(upstreamMessage())")
        }
        guard sawDone || finishReason != nil else {
            return fail(ChatError(.upstreamError, "AI 服务的响应意外结束"), log: "upstream stream ended without [DONE]")
        }
        complete()
    }

    // MARK: Batching

    /// Deltas from now until curl returns to the loop go to the client together.
    private func openBatch() {
        guard batchSink == nil, let sink else { return }
        batchSink = sink
        batchOpenedAt = monotonicNanoseconds()
        sink.chatStreamBatchWillBegin()
        provider.streamOpenedBatch(self)
    }

    /// Called by the provider once curl has returned (after any completion it reported); the
    /// relay latency runs from the read's first bytes to its frames handed to the kernel.
    func closeBatch() {
        guard let sink = batchSink else { return }
        batchSink = nil
        sink.chatStreamBatchDidEnd()
        provider.metrics.relayLatency.observe(Double(monotonicNanoseconds() &- batchOpenedAt) / 1e9)
    }

    // MARK: Events

    private func handleEvent(_ data: UnsafeRawBufferPointer) {
        guard inBandError == nil, !finished else { return }
        if ChatCompletionChunk.isDone(data) {
            sawDone = true
            return
        }
        switch ChatCompletionChunk.decode(data) {
        case .failure:
            inBandError = ChatError(.upstreamError, "AI 服务返回了无法解析的数据")
        case .success(let chunk):
            if let error = chunk.error {
                provider.logger.warning("upstream in-band error", metadata: ["message": "\(error.message)"])
                inBandError = ChatError(.upstreamError, "AI 服务出错：\(error.message)")
                return
            }
            if let usage = chunk.usage {
                self.usage = TokenUsage(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, totalTokens: usage.totalTokens)
            }
            if let reason = chunk.finishReason { finishReason = reason }
            if let content = chunk.content, !content.isEmpty {
                if !receivedToken {
                    receivedToken = true
                    disarm(.firstToken)
                }
                sink?.chatStream(didReceive: content)
            }
        }
    }

    private func complete() {
        let reason = finishReason ?? "stop"
        if reason == "insufficient_system_resource" {
            return fail(ChatError(.upstreamError, "AI 服务资源不足，请稍后再试"), log: "upstream finish_reason \(reason)")
        }
        let sink = self.sink
        self.sink = nil
        finished = true
        teardown()
        sink?.chatStreamDidFinish(reason: reason, usage: usage)
    }

    private func fail(_ error: ChatError, log: String) {
        provider.logger.warning("\(log)", metadata: ["attempt": "\(attempt)"])
        let sink = self.sink
        self.sink = nil
        finished = true
        teardown()
        sink?.chatStreamDidFail(error)
    }

    /// Schedules another attempt if any is left; false when retries are exhausted.
    private func retry() -> Bool {
        guard attempt <= settings.retries else { return false }
        let exponential = min(settings.retryBaseDelayMilliseconds << UInt64(attempt - 1), settings.retryMaxDelayMilliseconds)
        // Full jitter in [delay/2, delay]: retries from many clients do not arrive in step.
        var delay = exponential / 2 + UInt64.random(in: 0...max(1, exponential / 2))
        if let retryAfter = retryAfterMilliseconds { delay = max(delay, retryAfter) }
        provider.logger.info("retrying upstream request", metadata: ["attempt": "\(attempt)", "status": "\(status)", "delay_ms": "\(delay)"])
        disarm(.stall)
        arm(.retry, after: delay)
        return true
    }

    private func upstreamMessage() -> String {
        let decoded = errorBody.withUnsafeBytes { ChatCompletionChunk.decode($0) }
        if case .success(let chunk) = decoded, let error = chunk.error { return error.message }
        return String(decoding: errorBody.prefix(512), as: UTF8.self)
    }

    static func error(forStatus status: Int) -> ChatError {
        switch status {
        case 401, 403: ChatError(.upstreamAuth, "AI 服务拒绝了服务器的密钥")
        case 429: ChatError(.upstreamRateLimited, "AI 服务繁忙（请求过多），请稍后再试")
        case 402: ChatError(.upstreamError, "AI 服务账户余额不足")
        case 400, 422: ChatError(.upstreamError, "AI 服务拒绝了请求")
        default: ChatError(.upstreamError, "AI 服务暂时不可用（HTTP \(status)）")
        }
    }

    // MARK: Timers

    func timerFired(tag: Int) {
        guard let deadline = Deadline(rawValue: tag), !finished else { return }
        timers[deadline.rawValue] = .none
        switch deadline {
        case .retry:
            sendRequest()
        case .stall:
            let idle = reactor.now - lastByteAt
            if idle >= settings.stallTimeoutMilliseconds {
                fail(ChatError(.upstreamTimeout, "AI 服务长时间没有响应"), log: "upstream stalled for \(idle) ms")
            } else {
                arm(.stall, after: settings.stallTimeoutMilliseconds - idle)
            }
        case .firstToken:
            fail(ChatError(.upstreamTimeout, "等待 AI 服务响应超时"), log: "no first token in time")
        case .total:
            fail(ChatError(.upstreamTimeout, "AI 服务响应时间过长"), log: "total deadline reached")
        }
    }

    private func arm(_ deadline: Deadline, after milliseconds: UInt64) {
        disarm(deadline)
        timers[deadline.rawValue] = reactor.schedule(after: milliseconds, handler: self, tag: deadline.rawValue)
    }

    private func disarm(_ deadline: Deadline) {
        reactor.cancel(timers[deadline.rawValue])
        timers[deadline.rawValue] = .none
    }

    private func teardown() {
        for deadline in Deadline.allCases { disarm(deadline) }
        if let transfer {
            provider.multi.cancel(transfer)
            self.transfer = nil
        }
    }
}
