import Reactor

/// The built-in local advisor: a clearly labelled, deterministic answer streamed in small pieces
/// on the loop's timers, so the server works with no key and no network and exercises the same
/// relay path as a real model.
final class OfflineProvider: ChatProvider {
    let name = "offline"
    private unowned let reactor: Reactor
    let tokenIntervalMilliseconds: UInt64

    init(reactor: Reactor, tokenIntervalMilliseconds: UInt64 = 20) {
        self.reactor = reactor
        self.tokenIntervalMilliseconds = tokenIntervalMilliseconds
    }

    func startStream(_ request: ChatRequest, sink: any ChatStreamSink) -> any ChatStreamHandle {
        let question = request.messages.last(where: { $0.role == "user" })?.content ?? ""
        let stream = OfflineStream(
            pieces: Self.pieces(of: OfflineAdvisor.answer(to: question)), sink: sink, reactor: reactor,
            interval: tokenIntervalMilliseconds)
        stream.start()
        return stream
    }

    /// Splits the answer into a few characters per delta, as a model's tokens would arrive.
    static func pieces(of text: String, size: Int = 4) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if current.count >= size || character == "\n" {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}

private final class OfflineStream: ChatStreamHandle, TimerHandler {
    private let pieces: [String]
    /// Strong until the answer ends or is cancelled (that breaks the cycle with the session).
    private var sink: (any ChatStreamSink)?
    private unowned let reactor: Reactor
    private let interval: UInt64
    private var next = 0
    private var timer = TimerID.none

    init(pieces: [String], sink: any ChatStreamSink, reactor: Reactor, interval: UInt64) {
        self.pieces = pieces
        self.sink = sink
        self.reactor = reactor
        self.interval = interval
    }

    func start() {
        // Not from inside the caller: the sink expects its `sending` status to go out first.
        timer = reactor.schedule(after: 0, handler: self, tag: 0)
    }

    func timerFired(tag: Int) {
        timer = .none
        guard let sink else { return }
        if next == 0 { sink.chatStreamDidStart() }
        guard next < pieces.count else {
            let completion = pieces.reduce(0) { $0 + $1.count }
            self.sink = nil
            sink.chatStreamDidFinish(reason: "stop", usage: TokenUsage(promptTokens: 0, completionTokens: completion, totalTokens: completion))
            return
        }
        let piece = pieces[next]
        next += 1
        sink.chatStream(didReceive: piece)
        if self.sink != nil { timer = reactor.schedule(after: interval, handler: self, tag: 0) }
    }

    func cancel() {
        sink = nil
        reactor.cancel(timer)
        timer = .none
    }

    func setPaused(_ paused: Bool) {
        guard sink != nil else { return }
        reactor.cancel(timer)
        timer = paused ? .none : reactor.schedule(after: interval, handler: self, tag: 0)
    }
}
