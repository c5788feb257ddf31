import Logging
import Reactor

/// Settings of the DeepSeek (OpenAI-compatible) upstream, from PROTOCOL.md's configuration.
struct DeepSeekSettings: Sendable {
    var baseURL = "https://api.deepseek.com"
    var apiKey: String?
    var model = "deepseek-v4-flash"
    var firstTokenTimeoutMilliseconds: UInt64 = 60_000
    var stallTimeoutMilliseconds: UInt64 = 30_000
    var totalTimeoutMilliseconds: UInt64 = 600_000
    var retries = 2
    var retryBaseDelayMilliseconds: UInt64 = 500
    var retryMaxDelayMilliseconds: UInt64 = 8_000

    var completionsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }
}

/// Streams answers from DeepSeek's `/chat/completions` through libcurl's multi interface on the
/// server's loop. One `DeepSeekStream` per chat; connections are reused by curl's pool.
final class DeepSeekProvider: ChatProvider {
    let name = "deepseek"
    let settings: DeepSeekSettings
    let multi: CurlMulti
    unowned let reactor: Reactor
    let logger: Logger
    let metrics: Metrics

    init(settings: DeepSeekSettings, reactor: Reactor, logger: Logger, metrics: Metrics) {
        self.metrics = metrics
        self.settings = settings
        self.reactor = reactor
        self.logger = logger
        self.multi = CurlMulti(reactor: reactor)
        multi.onReturn = { [unowned self] in self.closeBatches() }
    }

    /// Streams that opened an output batch during the current curl call.
    private var streamsWithOpenBatch: [DeepSeekStream] = []

    func streamOpenedBatch(_ stream: DeepSeekStream) { streamsWithOpenBatch.append(stream) }

    private func closeBatches() {
        guard !streamsWithOpenBatch.isEmpty else { return }
        let streams = streamsWithOpenBatch
        streamsWithOpenBatch.removeAll(keepingCapacity: true)
        for stream in streams { stream.closeBatch() }
    }

    func startStream(_ request: ChatRequest, sink: any ChatStreamSink) -> any ChatStreamHandle {
        let stream = DeepSeekStream(provider: self, body: requestBody(for: request), sink: sink)
        stream.start()
        return stream
    }

    /// `{"model", "stream": true, "stream_options": {"include_usage": true}, "messages", "user_id"}`,
    /// written straight into bytes (once per chat, but a tree of dictionaries is needless work).
    func requestBody(for request: ChatRequest) -> [UInt8] {
        var messages: [UInt8] = [UInt8(ascii: "[")]
        messages.reserveCapacity(request.messages.reduce(64) { $0 + $1.content.utf8.count + 32 })
        for (index, message) in request.messages.enumerated() {
            if index > 0 { messages.append(UInt8(ascii: ",")) }
            var object = JSONWriter(capacity: message.content.utf8.count + 32)
            object.field("role", message.role)
            object.field("content", message.content)
            messages.append(contentsOf: object.finish())
        }
        messages.append(UInt8(ascii: "]"))
        var body = JSONWriter(capacity: messages.count + 160)
        body.field("model", settings.model)
        body.field("stream", true)
        body.field("stream_options", json: Self.includeUsage)
        body.field("messages", json: messages)
        body.field("user_id", request.userHash)
        return body.finish()
    }

    private static let includeUsage = Array(#"{"include_usage":true}"#.utf8)
}
