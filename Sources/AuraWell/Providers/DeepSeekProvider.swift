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
    }

    func startStream(_ request: ChatRequest, sink: any ChatStreamSink) -> any ChatStreamHandle {
        let stream = DeepSeekStream(provider: self, body: requestBody(for: request), sink: sink)
        stream.start()
        return stream
    }

    /// `{"model", "stream": true, "stream_options": {"include_usage": true}, "messages", "user_id"}`.
    func requestBody(for request: ChatRequest) -> [UInt8] {
        let messages = JSONValue.array(request.messages.map {
            .object(["role": .string($0.role), "content": .string($0.content)])
        })
        let body = JSONValue.object([
            "model": .string(settings.model),
            "stream": .bool(true),
            "stream_options": .object(["include_usage": .bool(true)]),
            "messages": messages,
            "user_id": .string(request.userHash),
        ])
        var bytes: [UInt8] = []
        body.serialize(into: &bytes)
        return bytes
    }
}
