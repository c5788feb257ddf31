import FoundationEssentials
import Glibc
import Histogram
import Reactor
import WSCodec

/// What a scenario does with the worker's open connections.
protocol ScenarioBehaviour: AnyObject {
    /// The 101 arrived (during the connect phase).
    func opened(_ client: ClientConnection, at now: UInt64)
    func message(_ client: ClientConnection, _ payload: UnsafeRawBufferPointer, binary: Bool, at now: UInt64)
    /// The connection ended (after it had opened), for any reason.
    func ended(_ client: ClientConnection, reason: String)
    func timer(_ client: ClientConnection, tag: Int)
    /// The coordinator says: every worker is connected, apply the load.
    func run()
    /// The coordinator says: stop applying load (the run ends).
    func stop()
    /// Adds the scenario's figures to the worker's result.
    func fill(_ result: inout WorkerResult)
}

/// One worker process: one `Reactor`, this worker's share of the clients, commands from the
/// coordinator on stdin (`go`, `run`, `stop`), progress and the result as JSON lines on stdout.
final class Worker: IOHandler, TimerHandler {
    enum Phase {
        case ready, connecting, connected, running, closing, done
    }

    private enum TimerTag: Int {
        case progress, pacing, closingDeadline
    }

    let spec: WorkerSpec
    let reactor: Reactor
    let target: sockaddr_in
    private let sources: [in_addr]
    private(set) var clients: [ClientConnection] = []
    private var behaviour: (any ScenarioBehaviour)?
    private(set) var phase = Phase.ready
    private var scratchBuffer: UnsafeMutableRawBufferPointer

    private var started = 0
    private var resolved = 0
    private(set) var openNow = 0
    private var ended = 0
    var result: WorkerResult
    var upgrade = LatencyHistogram.latency()
    private var dispatchDelay = LatencyHistogram.latency()
    private var readIteration: UInt64 = .max
    private var iterationFirstReadNs: UInt64 = 0
    private var stdinBuffer: [UInt8] = []

    private static let startBatch = 64
    private static let closingDeadlineMilliseconds: UInt64 = 5_000

    init(spec: WorkerSpec) throws {
        self.spec = spec
        reactor = try Reactor(timerTickMilliseconds: 1, timerSlots: 4096)
        guard let address = IPv4.parse(spec.target.host) else { throw TargetURL.Invalid(description: "bad host \(spec.target.host)") }
        target = IPv4.socketAddress(address, port: spec.target.port)
        sources = spec.sourceAddresses.compactMap(IPv4.parse)
        scratchBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        result = WorkerResult(worker: spec.worker, clients: spec.clients)
        clients.reserveCapacity(spec.clients)
        for k in 0..<spec.clients {
            clients.append(ClientConnection(index: spec.firstClient + k, slot: k, worker: self))
        }
        Self.warmUp()
        switch spec.scenario {
        case .connect, .idle: behaviour = HoldBehaviour()
        case .chat: behaviour = ChatBehaviour(worker: self)
        case .echo: behaviour = EchoBehaviour(worker: self)
        }
    }

    deinit { scratchBuffer.deallocate() }

    /// Runs the per-message code paths once before any clock runs: the first call of each pays
    /// for lazy symbol binding, generic metadata and OpenSSL's configuration loading, which would
    /// otherwise land on the first clients' latencies.
    private static func warmUp() {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        let accept = WebSocketHandshake.acceptValue(forKey: key)
        let head = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n".utf8)
        _ = ClientConnection.validateResponse(head[...], key: key)
        _ = Base64.encode(Array(key.utf8))
        var frame = WebSocketFrameEncoder.textFrame(#"{"type":"chat_stream","delta":"⟨1⟩\u27e82\u27e9","usage":{"completion_tokens":1},"conversation_id":"c"}"#)
        var parser = WebSocketParser(role: .client, maxMessageBytes: 1 << 20)
        var sink = WarmUpSink()
        frame.withUnsafeMutableBytes { _ = parser.parse($0, into: &sink) }
        var histogram = LatencyHistogram.latency()
        _ = histogram.record(12_345_678)
        _ = histogram.buckets
    }

    /// A reusable buffer of at least `count` bytes for building one outgoing frame.
    func scratch(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if scratchBuffer.count < count {
            scratchBuffer.deallocate()
            scratchBuffer = .allocate(byteCount: max(count, scratchBuffer.count * 2), alignment: 16)
        }
        return scratchBuffer
    }

    // MARK: Running

    func run() throws {
        Socket.setNonBlocking(0)
        try reactor.register(0, interest: .read, handler: self)
        _ = reactor.schedule(after: spec.progressMilliseconds, handler: self, tag: TimerTag.progress.rawValue)
        emit(#"{"event":"ready"}"#)
        while phase != .done { reactor.runOnce() }
    }

    /// Commands on stdin, one per line.
    func handleIO(_ events: IOEvents) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n > 0 {
                stdinBuffer.append(contentsOf: chunk[..<n])
                continue
            }
            if n == 0 {
                // The coordinator is gone: nothing to report to.
                exit(3)
            }
            if errno == EINTR { continue }
            break
        }
        while let newline = stdinBuffer.firstIndex(of: 0x0A) {
            let line = String(decoding: stdinBuffer[..<newline], as: UTF8.self)
            stdinBuffer.removeSubrange(...newline)
            command(line)
        }
    }

    private func command(_ line: String) {
        switch line {
        case "go" where phase == .ready:
            phase = .connecting
            result.goNs = monotonicNanoseconds()
            if clients.isEmpty { allResolved() } else { startSome() }
        case "run" where phase == .connected:
            phase = .running
            result.runNs = monotonicNanoseconds()
            behaviour?.run()
        case "stop":
            finish()
        default:
            break
        }
    }

    /// Starts the next batch of connects (all of them, a batch per loop turn, or paced).
    private func startSome() {
        guard phase == .connecting else { return }
        var limit = clients.count
        if spec.connectRate > 0 {
            let elapsed = Double(monotonicNanoseconds() - result.goNs) / 1e9
            limit = min(clients.count, Int(elapsed * spec.connectRate) + 1)
        }
        let end = min(limit, started + Self.startBatch)
        while started < end {
            let client = clients[started]
            started += 1
            let source = sources.isEmpty ? nil : sources[client.index % sources.count]
            client.start(target: target, source: source)
        }
        if started < clients.count {
            // Let the loop read what has arrived before the next batch.
            _ = reactor.schedule(after: spec.connectRate > 0 ? 2 : 0, handler: self, tag: TimerTag.pacing.rawValue)
        }
    }

    func timerFired(tag: Int) {
        switch TimerTag(rawValue: tag) {
        case .progress:
            emit(#"{"event":"progress","open":\#(openNow),"failed":\#(result.failures.values.reduce(0, +)),"resolved":\#(resolved)}"#)
            if phase != .done {
                _ = reactor.schedule(after: spec.progressMilliseconds, handler: self, tag: TimerTag.progress.rawValue)
            }
        case .pacing:
            startSome()
        case .closingDeadline:
            for client in clients where client.state != .closed { client.abort("close timeout at the end") }
            report()
        case nil:
            break
        }
    }

    // MARK: Client events

    func clientOpened(_ client: ClientConnection, at now: UInt64) {
        result.opened += 1
        openNow += 1
        _ = upgrade.record(now &- client.connectStartNs)
        resolveOne()
        behaviour?.opened(client, at: now)
    }

    /// The load tester's own share of a latency: how long a read waited behind the reads before
    /// it in the same loop iteration (the first read of an iteration defines its start).
    func noteRead(at now: UInt64) {
        guard phase == .running else { return }
        if reactor.iterations != readIteration {
            readIteration = reactor.iterations
            iterationFirstReadNs = now
        }
        _ = dispatchDelay.record(now - iterationFirstReadNs)
    }

    func clientMessage(_ client: ClientConnection, _ payload: UnsafeRawBufferPointer, binary: Bool, at now: UInt64) {
        behaviour?.message(client, payload, binary: binary, at: now)
    }

    func clientClosing(_ client: ClientConnection, reason: String) {}

    func clientEnded(_ client: ClientConnection, reason: String, wasOpen: Bool, previousState: ClientConnection.State) {
        ended += 1
        if wasOpen {
            openNow -= 1
            result.pingsAnswered += client.pingsAnswered
            if phase != .closing && phase != .done { result.endedEarly[reason, default: 0] += 1 }
            behaviour?.ended(client, reason: reason)
        } else {
            result.failures[reason, default: 0] += 1
            resolveOne()
        }
        if phase == .closing && ended == clients.count { report() }
    }

    func clientTimer(_ client: ClientConnection, tag: Int) {
        behaviour?.timer(client, tag: tag)
    }

    private func resolveOne() {
        resolved += 1
        if resolved == clients.count && phase == .connecting { allResolved() }
    }

    private func allResolved() {
        phase = .connected
        result.connectedNs = monotonicNanoseconds()
        emit(#"{"event":"connected","open":\#(openNow),"failed":\#(result.failures.values.reduce(0, +)),"resolved":\#(resolved)}"#)
    }

    /// The scenario has nothing more to do (every chat answered): say so, then end the run.
    func scenarioFinished() {
        guard phase == .running else { return }
        emit(#"{"event":"finished"}"#)
        finish()
    }

    // MARK: The end

    /// Stops the load, counts the survivors, closes every connection (close handshake, bounded).
    private func finish() {
        guard phase != .closing && phase != .done else { return }
        for client in clients where client.state == .idle { client.abort("not started") }
        phase = .closing
        result.stopNs = monotonicNanoseconds()
        behaviour?.stop()
        result.survivors = clients.reduce(0) { $0 + ($1.isOpen ? 1 : 0) }
        for client in clients where client.state != .closed { client.close() }
        if ended == clients.count { return report() }
        _ = reactor.schedule(after: Self.closingDeadlineMilliseconds, handler: self, tag: TimerTag.closingDeadline.rawValue)
    }

    private func report() {
        guard phase != .done else { return }
        phase = .done
        result.histograms["upgrade"] = upgrade.buckets
        if dispatchDelay.totalCount > 0 { result.histograms["dispatch"] = dispatchDelay.buckets }
        behaviour?.fill(&result)
        result.cpuSeconds = Proc.rusageSeconds(Int32(RUSAGE_SELF.rawValue))
        let event = WorkerEvent(event: "result", result: result)
        if let data = try? JSONEncoder().encode(event) {
            emit(String(decoding: data, as: UTF8.self))
        } else {
            emit(#"{"event":"error"}"#)
        }
    }

    /// One line on stdout (the coordinator drains the pipe).
    private func emit(_ line: String) { writeAll(line + "\n", to: 1) }
}

private struct WarmUpSink: WebSocketEventSink {
    var stamps = 0

    mutating func webSocketEvent(_ event: WebSocketEvent) {
        guard case .text(let payload) = event, let message = MessageScanner.scan(payload), let delta = message.delta else { return }
        MessageScanner.forEachStamp(in: payload, delta) { _ in stamps += 1 }
    }
}

/// `connect` and `idle`: nothing beyond holding the connection (pings are answered by the
/// connection itself; the welcome and any other message are read and discarded).
final class HoldBehaviour: ScenarioBehaviour {
    private var messages = 0

    func opened(_ client: ClientConnection, at now: UInt64) {}
    func message(_ client: ClientConnection, _ payload: UnsafeRawBufferPointer, binary: Bool, at now: UInt64) { messages += 1 }
    func ended(_ client: ClientConnection, reason: String) {}
    func timer(_ client: ClientConnection, tag: Int) {}
    func run() {}
    func stop() {}
    func fill(_ result: inout WorkerResult) { result.counters["messagesReceived"] = messages }
}
