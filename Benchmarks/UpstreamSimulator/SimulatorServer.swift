import Glibc
import Reactor

/// The simulator: a listening socket, its connections, the request log and the counters, all on
/// one `Reactor` (one thread). `SimulatorCommand` runs it as a process; a test may also run one
/// on a reactor of its own.
final class SimulatorServer: IOHandler, TimerHandler {
    let reactor: Reactor
    /// The answer to a request without a directive.
    let defaults: StreamPlan
    private(set) var port: UInt16 = 0
    private var listenerFD: Int32 = -1
    private var acceptPaused = false
    private var connections: [Int32: HTTPConnection] = [:]
    private var signalWatcher: SignalWatcher?
    private var shuttingDown = false

    var log = RequestLog()
    /// Chat requests since the last reset (the default request ids count with it).
    var requestsTotal = 0
    /// HTTP requests of any kind since the last reset.
    var httpRequests = 0
    var clientAborts = 0
    var streamsCompleted = 0
    /// Streams being written now (a gauge: `reset` leaves it alone).
    var streamsActive = 0

    private static let acceptBatch = 128
    private static let exhaustionBackoffMilliseconds: UInt64 = 100

    init(reactor: Reactor, defaults: StreamPlan) {
        self.reactor = reactor
        self.defaults = defaults
    }

    var connectionsOpen: Int { connections.count }

    /// Binds `host:port` (0: an ephemeral port) and returns the port bound.
    @discardableResult
    func listen(host: String, port: UInt16) throws(SystemError) -> UInt16 {
        let fd = try Socket.listen(host: host, port: port)
        listenerFD = fd
        try reactor.register(fd, interest: .read, handler: self)
        self.port = Socket.localPort(of: fd) ?? port
        return self.port
    }

    /// Runs the loop until SIGINT or SIGTERM.
    func run() throws(SystemError) {
        signalWatcher = try SignalWatcher(reactor: reactor, signals: [SIGINT, SIGTERM]) { [unowned self] _ in
            self.shutdown()
        }
        reactor.run()
    }

    /// Closes the listener and every connection at once and stops the loop.
    func shutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        if listenerFD >= 0 {
            if acceptPaused { Socket.close(listenerFD) } else { reactor.closeLater(listenerFD) }
            listenerFD = -1
        }
        for connection in Array(connections.values) { connection.shutdownNow() }
        signalWatcher?.close()
        reactor.stop()
    }

    // MARK: Accepting (level-triggered, in batches)

    func handleIO(_ events: IOEvents) {
        for _ in 0..<Self.acceptBatch {
            switch Socket.accept(listenerFD) {
            case .accepted(let fd):
                adopt(fd)
            case .wouldBlock:
                return
            case .transient:
                continue
            case .exhausted:
                // Out of descriptors: step back for a moment rather than spin on the backlog.
                acceptPaused = true
                reactor.deregister(listenerFD)
                _ = reactor.schedule(after: Self.exhaustionBackoffMilliseconds, handler: self, tag: 0)
                return
            }
        }
    }

    func timerFired(tag: Int) {
        guard acceptPaused, listenerFD >= 0 else { return }
        acceptPaused = false
        do {
            try reactor.register(listenerFD, interest: .read, handler: self)
        } catch {
            printToStandardError("aurawell-upstream-sim: cannot resume accepting: \(error)")
        }
    }

    private func adopt(_ fd: Int32) {
        Socket.setNoDelay(fd)
        do {
            connections[fd] = try HTTPConnection(fd: fd, server: self)
        } catch {
            Socket.close(fd)
        }
    }

    func connectionClosed(_ connection: HTTPConnection) {
        if connections[connection.fd] === connection { connections[connection.fd] = nil }
    }

    // MARK: Introspection

    /// `GET /_sim/requests[?id=R][&last=N]`: the logged chat requests, oldest first.
    func requestsJSON(id: String?, last: Int?) -> [UInt8] {
        var selected: [RequestRecord] = []
        let wanted = id.map { Array($0.utf8) }
        log.forEach { record in
            if let wanted, record.id != wanted { return }
            selected.append(record)
        }
        if let last, last >= 0, selected.count > last { selected.removeFirst(selected.count - last) }
        var out: [UInt8] = []
        out.reserveCapacity(selected.reduce(2) { $0 + 256 + $1.body.count + $1.sentText.count })
        out.append("[")
        for (index, record) in selected.enumerated() {
            if index > 0 { out.append(",") }
            record.appendJSON(to: &out)
        }
        out.append("]")
        return out
    }

    /// `GET /_sim/stats`.
    func statsJSON() -> [UInt8] {
        var out: [UInt8] = []
        out.append("{\"connections_open\":")
        out.appendDecimal(connections.count)
        out.append(",\"streams_active\":")
        out.appendDecimal(streamsActive)
        out.append(",\"requests_total\":")
        out.appendDecimal(requestsTotal)
        out.append(",\"client_aborts\":")
        out.appendDecimal(clientAborts)
        out.append(",\"streams_completed\":")
        out.appendDecimal(streamsCompleted)
        out.append(",\"http_requests\":")
        out.appendDecimal(httpRequests)
        out.append(",\"logged\":")
        out.appendDecimal(log.count)
        out.append("}")
        return out
    }

    /// `POST /_sim/reset`: forgets the log, the attempt counts and the counters.
    func reset() {
        log.removeAll()
        requestsTotal = 0
        httpRequests = 0
        clientAborts = 0
        streamsCompleted = 0
    }
}
