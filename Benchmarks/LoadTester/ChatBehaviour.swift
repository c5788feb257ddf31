import Histogram
import Reactor
import WSCodec

/// `chat`: every open client runs `chats` chats one after another (`health_chat` by default),
/// each in a conversation of its own, and checks the protocol on the way:
/// `status_update` `sending` → `streaming` → `done` exactly once each, `chat_stream` only while
/// streaming, every message naming the chat's `conversation_id`.
///
/// Measured per chat: time to first token (request written → first `chat_stream` read), answer
/// time (→ `done` read), and per token the added latency: the read's CLOCK_MONOTONIC minus the
/// emit stamp `⟨ns⟩` the simulator put in the token (`SIM[stamp=1]`). A delta may hold several
/// tokens when the server merged them under backpressure: every stamp counts.
final class ChatBehaviour: ScenarioBehaviour {
    private struct ClientState {
        var chatsCompleted = 0
        var inChat = false
        /// 0: request sent, 1: `sending` seen, 2: `streaming` seen.
        var step = 0
        var sentNs: UInt64 = 0
        var firstDeltaNs: UInt64 = 0
        var hadError = false
        var broken = false
        var conversationID: [UInt8] = []
        var active = false
    }

    private unowned let worker: Worker
    private var states: [ClientState]
    private let requestPrefix: [UInt8]
    private let requestSuffix: [UInt8]
    private var request: [UInt8] = []
    private var running = false
    private var activeClients = 0

    private var ttft = LatencyHistogram.latency()
    private var tokenLatency = LatencyHistogram.latency()
    private var answer = LatencyHistogram.latency()
    private var counters: [String: Int] = [:]
    private var chatsStarted = 0
    private var chatsDone = 0
    private var chatsOK = 0
    private var stamps = 0
    private var deltas = 0
    private var usageTokens = 0
    private var stampsAfterReceipt = 0
    private var welcomes = 0
    private var firstSendNs: UInt64?
    private var lastReceiveNs: UInt64?

    private enum Tag: Int {
        case timeout, think
    }

    init(worker: Worker) {
        self.worker = worker
        states = Array(repeating: ClientState(), count: worker.spec.clients)
        var prefix = Array(#"{"type":""#.utf8)
        prefix.append(contentsOf: JSONText.escaped(worker.spec.chatType))
        prefix.append(contentsOf: #"","data":{"message":""#.utf8)
        prefix.append(contentsOf: JSONText.escaped(worker.spec.message))
        prefix.append(contentsOf: #""},"conversation_id":""#.utf8)
        requestPrefix = prefix
        requestSuffix = Array(#""}"#.utf8)
    }

    func opened(_ client: ClientConnection, at now: UInt64) {}

    func run() {
        running = true
        for client in worker.clients where client.isOpen {
            states[client.slot].active = true
            activeClients += 1
        }
        if activeClients == 0 { return finished() }
        let spread = worker.spec.spreadMilliseconds
        for client in worker.clients where states[client.slot].active {
            if spread == 0 {
                send(client)
            } else {
                // Evenly over the spread by global index, so the workers interleave too.
                let offset = UInt64(client.index) * spread / UInt64(max(1, worker.spec.totalClients))
                client.scheduleScenarioTimer(after: offset, tag: Tag.think.rawValue)
            }
        }
    }

    private func send(_ client: ClientConnection) {
        var state = states[client.slot]
        state.inChat = true
        state.step = 0
        state.firstDeltaNs = 0
        state.hadError = false
        state.broken = false
        state.conversationID = Array("c\(client.index)_\(state.chatsCompleted)".utf8)
        request.removeAll(keepingCapacity: true)
        request.append(contentsOf: requestPrefix)
        request.append(contentsOf: state.conversationID)
        request.append(contentsOf: requestSuffix)
        state.sentNs = monotonicNanoseconds()
        states[client.slot] = state
        if firstSendNs == nil { firstSendNs = state.sentNs }
        chatsStarted += 1
        client.scheduleScenarioTimer(after: worker.spec.chatTimeoutMilliseconds, tag: Tag.timeout.rawValue)
        request.withUnsafeBytes { client.sendText($0) }
    }

    func message(_ client: ClientConnection, _ payload: UnsafeRawBufferPointer, binary: Bool, at now: UInt64) {
        guard let m = MessageScanner.scan(payload) else {
            violation("message is not a JSON object")
            return
        }
        let slot = client.slot
        let b = payload
        if MessageScanner.equals(b, m.type, "chat_stream") {
            deltas += 1
            guard states[slot].inChat, states[slot].step == 2 else {
                violation("chat_stream outside streaming")
                return
            }
            checkConversation(b, m, slot)
            if states[slot].firstDeltaNs == 0 {
                states[slot].firstDeltaNs = now
                _ = ttft.record(now &- states[slot].sentNs)
            }
            if let delta = m.delta {
                MessageScanner.forEachStamp(in: b, delta) { stamp in
                    stamps += 1
                    if stamp <= now {
                        _ = tokenLatency.record(now - stamp)
                    } else {
                        stampsAfterReceipt += 1
                        _ = tokenLatency.record(0)
                    }
                }
            }
        } else if MessageScanner.equals(b, m.type, "status_update") {
            guard states[slot].inChat else {
                violation("status_update outside a chat")
                return
            }
            checkConversation(b, m, slot)
            if MessageScanner.equals(b, m.status, "sending") {
                if states[slot].step != 0 { brokenOrder(slot, "sending out of order") }
                states[slot].step = 1
            } else if MessageScanner.equals(b, m.status, "streaming") {
                if states[slot].step != 1 { brokenOrder(slot, "streaming out of order") }
                states[slot].step = 2
            } else if MessageScanner.equals(b, m.status, "done") {
                if states[slot].step != 2 { brokenOrder(slot, "done before streaming") }
                let finish = m.finishReason.map { MessageScanner.text(b, $0) } ?? "(none)"
                done(client, at: now, finishReason: finish, completionTokens: m.completionTokens)
            } else {
                violation("unknown status \(MessageScanner.text(b, m.status))")
            }
        } else if MessageScanner.equals(b, m.type, "error") {
            let code = m.errorCode.map { MessageScanner.text(b, $0) } ?? "(no error_code)"
            counters["error:" + code, default: 0] += 1
            if states[slot].inChat { states[slot].hadError = true }
        } else if MessageScanner.equals(b, m.type, "welcome") {
            welcomes += 1
        } else {
            counters["other message: " + MessageScanner.text(b, m.type), default: 0] += 1
        }
    }

    private func checkConversation(_ b: UnsafeRawBufferPointer, _ m: ServerMessage, _ slot: Int) {
        if !MessageScanner.equals(b, m.conversationID, states[slot].conversationID) {
            violation("wrong conversation_id")
            states[slot].broken = true
        }
    }

    private func brokenOrder(_ slot: Int, _ kind: String) {
        violation(kind)
        states[slot].broken = true
    }

    private func violation(_ kind: String) {
        counters["violation:" + kind, default: 0] += 1
    }

    private func done(_ client: ClientConnection, at now: UInt64, finishReason: String, completionTokens: Int?) {
        let slot = client.slot
        client.cancelScenarioTimer()
        _ = answer.record(now &- states[slot].sentNs)
        lastReceiveNs = max(lastReceiveNs ?? 0, now)
        counters["finish:" + finishReason, default: 0] += 1
        usageTokens += completionTokens ?? 0
        chatsDone += 1
        if !states[slot].hadError && !states[slot].broken && finishReason == "stop" { chatsOK += 1 }
        states[slot].inChat = false
        states[slot].chatsCompleted += 1
        guard running else { return }
        if states[slot].chatsCompleted >= worker.spec.chats {
            clientDone(slot)
        } else if worker.spec.thinkMilliseconds > 0 {
            client.scheduleScenarioTimer(after: worker.spec.thinkMilliseconds, tag: Tag.think.rawValue)
        } else {
            send(client)
        }
    }

    func timer(_ client: ClientConnection, tag: Int) {
        switch Tag(rawValue: tag) {
        case .timeout:
            counters["error:TIMEOUT (no done within the chat timeout)", default: 0] += 1
            client.abort("chat timeout")
        case .think:
            if running { send(client) }
        case nil:
            break
        }
    }

    func ended(_ client: ClientConnection, reason: String) {
        guard running else { return }
        let slot = client.slot
        if states[slot].inChat {
            counters["error:CONNECTION_ENDED (" + reason + ")", default: 0] += 1
            states[slot].inChat = false
        }
        clientDone(slot)
    }

    private func clientDone(_ slot: Int) {
        guard states[slot].active else { return }
        states[slot].active = false
        activeClients -= 1
        if activeClients == 0 { finished() }
    }

    private func finished() {
        // Not from inside a parser callback: the worker closes every connection.
        worker.reactor.runSoon { [worker] in worker.scenarioFinished() }
    }

    func stop() {
        running = false
        for state in states where state.inChat {
            _ = state
            counters["unfinished chats (run stopped)", default: 0] += 1
        }
    }

    func fill(_ result: inout WorkerResult) {
        result.histograms["ttft"] = ttft.buckets
        result.histograms["token"] = tokenLatency.buckets
        result.histograms["answer"] = answer.buckets
        result.counters["chatsStarted"] = chatsStarted
        result.counters["chatsDone"] = chatsDone
        result.counters["chatsOK"] = chatsOK
        result.counters["tokens"] = stamps
        result.counters["deltas"] = deltas
        result.counters["usageCompletionTokens"] = usageTokens
        result.counters["stampsAfterReceipt"] = stampsAfterReceipt
        result.counters["welcomes"] = welcomes
        for (key, value) in counters {
            if key.hasPrefix("error:") {
                result.errorCodes[String(key.dropFirst(6)), default: 0] += value
            } else if key.hasPrefix("finish:") {
                result.finishReasons[String(key.dropFirst(7)), default: 0] += value
            } else if key.hasPrefix("violation:") {
                result.violations[String(key.dropFirst(10)), default: 0] += value
            } else {
                result.counters[key, default: 0] += value
            }
        }
        result.firstSendNs = firstSendNs
        result.lastReceiveNs = lastReceiveNs
    }
}

/// `echo`: every open client sends a message of `size` bytes, waits for its echo, and repeats
/// until the run stops. Round trip: write → echo read.
final class EchoBehaviour: ScenarioBehaviour {
    private unowned let worker: Worker
    private var sentNs: [UInt64]
    private var payload: [UInt8]
    private var running = false
    private var rtt = LatencyHistogram.latency()
    private var echoes = 0
    private var mismatches = 0
    private var firstSendNs: UInt64?
    private var lastReceiveNs: UInt64?

    init(worker: Worker) {
        self.worker = worker
        sentNs = Array(repeating: 0, count: worker.spec.clients)
        // Printable ASCII, so a text message is valid UTF-8.
        payload = (0..<max(0, worker.spec.size)).map { UInt8(0x61 + $0 % 26) }
    }

    func opened(_ client: ClientConnection, at now: UInt64) {}

    func run() {
        running = true
        for client in worker.clients where client.isOpen { send(client) }
    }

    private func send(_ client: ClientConnection) {
        let now = monotonicNanoseconds()
        sentNs[client.slot] = now
        if firstSendNs == nil { firstSendNs = now }
        payload.withUnsafeBytes { client.send(worker.spec.binary ? .binary : .text, $0) }
    }

    func message(_ client: ClientConnection, _ payload: UnsafeRawBufferPointer, binary: Bool, at now: UInt64) {
        let sent = sentNs[client.slot]
        guard sent != 0 else { return }  // the welcome of a chat path, say
        sentNs[client.slot] = 0
        _ = rtt.record(now &- sent)
        echoes += 1
        lastReceiveNs = now
        if payload.count != self.payload.count || binary != worker.spec.binary { mismatches += 1 }
        if running { send(client) }
    }

    func ended(_ client: ClientConnection, reason: String) {}
    func timer(_ client: ClientConnection, tag: Int) {}

    func stop() { running = false }

    func fill(_ result: inout WorkerResult) {
        result.histograms["rtt"] = rtt.buckets
        result.counters["echoes"] = echoes
        if mismatches > 0 { result.violations["echo differs in size or type"] = mismatches }
        result.firstSendNs = firstSendNs
        result.lastReceiveNs = lastReceiveNs
    }
}

/// JSON string escaping for the request text.
enum JSONText {
    static func escaped(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        return out
    }
}
