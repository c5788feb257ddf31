import Glibc
import Reactor
import WSCodec

/// One client WebSocket on the worker's reactor: non-blocking connect (optionally from a bound
/// source address), the HTTP upgrade, then frames through `WebSocketParser(role: .client)`.
/// Pings are answered with pongs; a server close is answered and the server's TCP close awaited.
/// The scenario sees whole messages through the worker.
///
/// Registered once, edge-triggered, for read and write: reads go until a short read, writes go
/// straight to the kernel and only what it refuses waits in the `OutboundQueue`.
final class ClientConnection: IOHandler, TimerHandler {
    enum State: UInt8 {
        case idle, connecting, handshaking, open, closing, closed
    }

    private enum Deadline: Int {
        case handshake = 0
        case closing = 1
    }

    /// Global client index (paths, conversation ids).
    let index: Int
    /// Position in the worker's client array.
    let slot: Int
    private unowned let worker: Worker
    private(set) var fd: Int32 = -1
    private(set) var state = State.idle
    /// CLOCK_MONOTONIC ns just before `connect`, and when the 101 was read.
    private(set) var connectStartNs: UInt64 = 0
    private(set) var openedNs: UInt64 = 0
    private var registered = false
    private var key = ""
    private var response: [UInt8] = []
    private var parser = WebSocketParser(role: .client, maxMessageBytes: 16 * 1024 * 1024)
    private var outbound = OutboundQueue()
    private var deadline = TimerID.none
    private var scenarioTimer = TimerID.none
    private var localCloseStarted = false
    private(set) var closeCodeReceived: UInt16?
    private var closeReasonReceived = ""
    private var maskState: UInt32
    private(set) var pingsAnswered = 0

    private static let readBudget = 16
    private static let closeTimeoutMilliseconds: UInt64 = 3_000
    private static let maxResponseHead = 16 * 1024

    init(index: Int, slot: Int, worker: Worker) {
        self.index = index
        self.slot = slot
        self.worker = worker
        maskState = UInt32(truncatingIfNeeded: index &* 2_654_435_761) | 1
    }

    var isOpen: Bool { state == .open }

    // MARK: Connecting

    /// Creates the socket, binds the source address, starts the connect.
    func start(target: sockaddr_in, source: in_addr?) {
        guard state == .idle else { return }
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { return fail("socket: \(errnoName(errno))") }
        fd = socketFD
        if let source {
            // Defer the port choice to connect(): the 4-tuple, not the address, must be unique.
            Socket.setOption(fd, Int32(IPPROTO_IP), ipBindAddressNoPort, 1)
            var local = IPv4.socketAddress(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { return fail("bind: \(errnoName(errno))") }
        }
        Socket.setNoDelay(fd)
        deadline = worker.reactor.schedule(
            after: worker.spec.handshakeTimeoutMilliseconds, handler: self, tag: Deadline.handshake.rawValue)
        var remote = target
        connectStartNs = monotonicNanoseconds()
        let status = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if status != 0 && errno != EINPROGRESS { return fail("connect: \(errnoName(errno))") }
        state = status == 0 ? .handshaking : .connecting
        do {
            try worker.reactor.register(fd, interest: [.read, .write, .edgeTriggered], handler: self)
            registered = true
        } catch {
            return fail("epoll: \(errnoName(error.errno))")
        }
        if state == .handshaking { sendUpgradeRequest() }
    }

    private func sendUpgradeRequest() {
        var bytes: [UInt8] = []
        for _ in 0..<16 { bytes.append(UInt8(truncatingIfNeeded: nextRandom())) }
        key = Base64.encode(bytes)
        let path = worker.spec.target.path(forClient: index, appendIndex: worker.spec.appendIndex)
        let request = "GET \(path) HTTP/1.1\r\nHost: \(worker.spec.target.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        var text = request
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    // MARK: Readiness

    func handleIO(_ events: IOEvents) {
        if state == .connecting {
            guard !events.isDisjoint(with: [.writable, .error, .hangup]) else { return }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { code = errno }
            if code != 0 { return fail("connect: \(errnoName(code))") }
            state = .handshaking
            sendUpgradeRequest()
        }
        if events.contains(.writable) && !outbound.isEmpty { flush() }
        guard state != .closed else { return }
        if !events.isDisjoint(with: [.readable, .hangup, .error]) {
            readAvailable(untilEOF: !events.isDisjoint(with: [.hangup, .error]))
        }
    }

    private func readAvailable(untilEOF: Bool) {
        let buffer = worker.reactor.receiveBuffer
        for _ in 0..<Self.readBudget {
            guard state != .closed else { return }
            switch Socket.read(fd, into: buffer) {
            case .processed(let count):
                // The receipt time of everything in this read.
                let now = monotonicNanoseconds()
                if state == .open { worker.noteRead(at: now) }
                received(UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), at: now)
                if count < buffer.count && !untilEOF { return }
            case .wouldBlock:
                return
            case .endOfFile:
                return endOfFile()
            case .failed(let code):
                return fail("read: \(errnoName(code))")
            }
        }
        worker.reactor.runSoon { [weak self] in self?.readAvailable(untilEOF: untilEOF) }
    }

    private func endOfFile() {
        switch state {
        case .connecting, .handshaking: fail("closed before the upgrade")
        case .open: fail("server closed the connection without a close frame")
        case .closing:
            if localCloseStarted {
                finish(closeCodeReceived == nil ? "closed without a close reply" : "closed")
            } else {
                finish(serverCloseReason)
            }
        case .idle, .closed: break
        }
    }

    private var serverCloseReason: String {
        let code = closeCodeReceived.map(String.init) ?? "?"
        return closeReasonReceived.isEmpty ? "server close \(code)" : "server close \(code) \(closeReasonReceived)"
    }

    private func received(_ bytes: UnsafeMutableRawBufferPointer, at now: UInt64) {
        switch state {
        case .handshaking:
            response.append(contentsOf: bytes)
            guard let end = Self.headEnd(response) else {
                if response.count > Self.maxResponseHead { fail("http: response head over 16 KiB") }
                return
            }
            guard let failure = Self.validateResponse(response[..<end], key: key) else {
                state = .open
                openedNs = now
                worker.reactor.cancel(deadline)
                deadline = .none
                var rest = Array(response[end...])
                response = []
                worker.clientOpened(self, at: now)
                if !rest.isEmpty && state == .open {
                    rest.withUnsafeMutableBytes { feed($0, at: now) }
                }
                return
            }
            fail(failure)
        case .open, .closing:
            feed(bytes, at: now)
        case .idle, .connecting, .closed:
            return
        }
    }

    private func feed(_ bytes: UnsafeMutableRawBufferPointer, at now: UInt64) {
        var sink = Sink(client: self, at: now)
        if let error = parser.parse(bytes, into: &sink) {
            fail("protocol: \(error.code.rawValue) \(error.reason)")
        }
    }

    fileprivate func handle(_ event: WebSocketEvent, at now: UInt64) {
        switch event {
        case .text(let payload):
            if state == .open { worker.clientMessage(self, payload, binary: false, at: now) }
        case .binary(let payload):
            if state == .open { worker.clientMessage(self, payload, binary: true, at: now) }
        case .ping(let payload):
            if state == .open {
                pingsAnswered += 1
                send(.pong, payload)
            }
        case .pong:
            break
        case .close(let code, let reason):
            guard state == .open || state == .closing else { return }
            closeCodeReceived = code?.rawValue ?? WebSocketCloseCode.noStatus.rawValue
            closeReasonReceived = String(decoding: reason, as: UTF8.self)
            if !localCloseStarted {
                // Answer with the same code; the server then closes TCP first (RFC 6455 §7.1.1).
                let reply = code.map { WebSocketFrameEncoder.closePayload(code: $0, reason: "") } ?? []
                reply.withUnsafeBytes { sendFrame(.close, $0) }
                state = .closing
                worker.clientClosing(self, reason: serverCloseReason)
            }
            rearm(.closing, after: Self.closeTimeoutMilliseconds)
        }
    }

    // MARK: The HTTP response

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count where bytes[i] == 0x0A && bytes[i - 1] == 0x0D && bytes[i - 2] == 0x0A && bytes[i - 3] == 0x0D {
            return i + 1
        }
        return nil
    }

    /// nil when the head is a valid 101 for our key; otherwise the failure reason.
    static func validateResponse(_ head: ArraySlice<UInt8>, key: String) -> String? {
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let statusLine = lines.first else { return "http: empty response" }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            return "http: malformed status line"
        }
        guard status == 101 else { return "http \(status)" }
        var accept: Substring?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "sec-websocket-accept" {
                accept = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            }
        }
        guard let accept else { return "http: 101 without Sec-WebSocket-Accept" }
        var trimmed = accept
        while trimmed.last == " " || trimmed.last == "\t" { trimmed = trimmed.dropLast() }
        guard trimmed == WebSocketHandshake.acceptValue(forKey: key) else { return "http: wrong Sec-WebSocket-Accept" }
        return nil
    }

    // MARK: Sending

    func sendText(_ payload: UnsafeRawBufferPointer) { send(.text, payload) }

    func send(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        sendFrame(opcode, payload)
    }

    /// A masked frame built in the worker's scratch buffer and written at once.
    private func sendFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        let length = WebSocketFrameEncoder.headerSize(payloadLength: payload.count, masked: true) + payload.count
        let buffer = worker.scratch(length)
        let base = buffer.baseAddress!
        var header = WebSocketFrameEncoder.writeHeader(opcode: opcode, fin: true, payloadLength: payload.count, to: base)
        base.storeBytes(of: base.load(fromByteOffset: 1, as: UInt8.self) | 0x80, toByteOffset: 1, as: UInt8.self)
        let key = nextRandom()
        base.storeBytes(of: key.littleEndian, toByteOffset: header, as: UInt32.self)
        header += 4
        if let source = payload.baseAddress, payload.count > 0 {
            (base + header).copyMemory(from: source, byteCount: payload.count)
        }
        WebSocketMasking.unmask(UnsafeMutableRawBufferPointer(start: base + header, count: payload.count), key: key, phase: 0)
        write(UnsafeRawBufferPointer(start: base, count: length))
    }

    private func write(_ bytes: UnsafeRawBufferPointer) {
        guard state != .closed else { return }
        if case .failed(let code) = outbound.write(fd, bytes) { fail("write: \(errnoName(code))") }
    }

    private func flush() {
        if case .failed(let code) = outbound.flush(fd) { fail("write: \(errnoName(code))") }
    }

    var queuedBytes: Int { outbound.bufferedBytes }

    private func nextRandom() -> UInt32 {
        // xorshift32: unpredictable enough for mask keys of a load tester.
        maskState ^= maskState << 13
        maskState ^= maskState >> 17
        maskState ^= maskState << 5
        return maskState
    }

    // MARK: Closing

    /// Starts our close handshake (1000); a connection not yet open is dropped.
    func close() {
        switch state {
        case .idle:
            state = .closed
        case .connecting, .handshaking:
            fail("aborted before the upgrade")
        case .open:
            localCloseStarted = true
            let payload = WebSocketFrameEncoder.closePayload(code: .normal, reason: "")
            payload.withUnsafeBytes { sendFrame(.close, $0) }
            guard state != .closed else { return }
            state = .closing
            rearm(.closing, after: Self.closeTimeoutMilliseconds)
        case .closing, .closed:
            break
        }
    }

    /// Drops the connection at once.
    func abort(_ reason: String) { fail(reason) }

    private func fail(_ reason: String) { finish(reason) }

    private func finish(_ reason: String) {
        guard state != .closed else { return }
        let previous = state
        state = .closed
        worker.reactor.cancel(deadline)
        worker.reactor.cancel(scenarioTimer)
        deadline = .none
        scenarioTimer = .none
        outbound.discard()
        response = []
        if fd >= 0 {
            if registered { worker.reactor.closeLater(fd) } else { Socket.close(fd) }
        }
        worker.clientEnded(self, reason: reason, wasOpen: openedNs != 0, previousState: previous)
    }

    // MARK: Timers

    private func rearm(_ which: Deadline, after milliseconds: UInt64) {
        worker.reactor.cancel(deadline)
        deadline = worker.reactor.schedule(after: milliseconds, handler: self, tag: which.rawValue)
    }

    /// One timer for the scenario (tag >= 16 comes back through `Worker.clientTimer`).
    func scheduleScenarioTimer(after milliseconds: UInt64, tag: Int) {
        worker.reactor.cancel(scenarioTimer)
        scenarioTimer = worker.reactor.schedule(after: milliseconds, handler: self, tag: 16 + tag)
    }

    func cancelScenarioTimer() {
        worker.reactor.cancel(scenarioTimer)
        scenarioTimer = .none
    }

    func timerFired(tag: Int) {
        if tag >= 16 {
            scenarioTimer = .none
            guard state == .open else { return }
            worker.clientTimer(self, tag: tag - 16)
            return
        }
        deadline = .none
        switch Deadline(rawValue: tag) {
        case .handshake:
            fail(state == .connecting ? "connect timeout" : "upgrade timeout (no 101)")
        case .closing:
            finish(localCloseStarted ? (closeCodeReceived == nil ? "close timeout" : "closed") : serverCloseReason)
        case nil:
            break
        }
    }
}

/// Delivers parser events to the connection.
private struct Sink: WebSocketEventSink {
    unowned(unsafe) let client: ClientConnection
    let at: UInt64

    mutating func webSocketEvent(_ event: WebSocketEvent) {
        client.handle(event, at: at)
    }
}

/// `IP_BIND_ADDRESS_NO_PORT` (linux/in.h), which Glibc does not always export.
private let ipBindAddressNoPort: Int32 = 24

/// A short symbolic name for common socket errors (failure reasons aggregate by it).
func errnoName(_ code: Int32) -> String {
    switch code {
    case ECONNREFUSED: "ECONNREFUSED"
    case ECONNRESET: "ECONNRESET"
    case ETIMEDOUT: "ETIMEDOUT"
    case EPIPE: "EPIPE"
    case EMFILE: "EMFILE"
    case ENFILE: "ENFILE"
    case EADDRNOTAVAIL: "EADDRNOTAVAIL"
    case EADDRINUSE: "EADDRINUSE"
    case ENOBUFS: "ENOBUFS"
    case ENOMEM: "ENOMEM"
    case EHOSTUNREACH: "EHOSTUNREACH"
    case ENETUNREACH: "ENETUNREACH"
    case EAGAIN: "EAGAIN"
    case EINVAL: "EINVAL"
    default: "errno \(code)"
    }
}

/// Standard base64 (the WebSocket key).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
