/// One message of the conversation sent to the model.
struct ChatMessage: Equatable, Sendable {
    var role: String
    var content: String
}

/// What a provider is asked to answer.
struct ChatRequest: Sendable {
    var messages: [ChatMessage]
    /// A stable, non-reversible id for the AuraWell user (upstream isolates users by it).
    var userHash: String
}

/// Receives one answer as it streams. Calls come on the loop thread; after `didFinish` or
/// `didFail` there are no more.
protocol ChatStreamSink: AnyObject {
    /// The provider is answering (upstream accepted the request); tokens may follow.
    func chatStreamDidStart()
    func chatStream(didReceive delta: String)
    /// The deltas between these two calls arrived in one pass of the upstream client (one read,
    /// however many HTTP chunks): the sink may send them to its client together, with one
    /// syscall rather than one per delta.
    func chatStreamBatchWillBegin()
    func chatStreamBatchDidEnd()
    /// `reason` is the upstream's finish_reason (`stop`, `length`, ...).
    func chatStreamDidFinish(reason: String, usage: TokenUsage?)
    func chatStreamDidFail(_ error: ChatError)
}

extension ChatStreamSink {
    func chatStreamBatchWillBegin() {}
    func chatStreamBatchDidEnd() {}
}

/// A stream in progress; `cancel` aborts it at once and silences its sink.
protocol ChatStreamHandle: AnyObject {
    func cancel()
    /// Stops (true) or resumes (false) the flow of deltas: backpressure from a slow client.
    func setPaused(_ paused: Bool)
}

/// A source of streamed answers: `deepseek` (curl) or `offline` (built-in). Both stream through
/// the same relay path in `ChatSession`.
protocol ChatProvider: AnyObject {
    var name: String { get }
    func startStream(_ request: ChatRequest, sink: any ChatStreamSink) -> any ChatStreamHandle
}
