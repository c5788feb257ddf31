import Glibc
public import Logging
public import Reactor
import WSCodec

/// The gateway: listeners, connections and shutdown, all on one `Reactor`.
public final class Server {
    public let reactor: Reactor
    public let configuration: ServerConfiguration
    let logger: Logger
    private var listeners: [Listener] = []
    private var connections: [UInt64: Connection] = [:]
    private var nextConnectionID: UInt64 = 1
    private var signalWatcher: SignalWatcher?
    public private(set) var isDraining = false
    /// The ports actually bound (port 0 in the configuration asks for an ephemeral one).
    public private(set) var boundPorts: [UInt16] = []
    /// Upgraded WebSocket connections (the global limit counts these).
    public private(set) var webSocketCount = 0
    let tokenAuthority: TokenAuthority?
    /// Called when a drain starts (systemd's STOPPING=1 goes out from here).
    public var onDrain: (() -> Void)?

    let chatService: ChatService
    let metrics = Metrics()
    /// The one open output batch (see `Connection.beginBatch`).
    var batch = OutputBatch()

    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let reactor = try Reactor()
        self.reactor = reactor
        let provider: any ChatProvider
        switch configuration.provider {
        case .offline:
            provider = OfflineProvider(reactor: reactor, tokenIntervalMilliseconds: configuration.offlineTokenIntervalMilliseconds)
        case .deepseek:
            var settings = DeepSeekSettings()
            settings.baseURL = configuration.deepSeekBaseURL
            settings.apiKey = configuration.deepSeekAPIKey
            settings.model = configuration.deepSeekModel
            settings.firstTokenTimeoutMilliseconds = configuration.upstreamFirstTokenTimeoutMilliseconds
            settings.stallTimeoutMilliseconds = configuration.upstreamStallTimeoutMilliseconds
            settings.totalTimeoutMilliseconds = configuration.upstreamTotalTimeoutMilliseconds
            settings.retries = configuration.upstreamRetries
            settings.retryBaseDelayMilliseconds = configuration.upstreamRetryBaseDelayMilliseconds
            provider = DeepSeekProvider(settings: settings, reactor: reactor, logger: logger, metrics: metrics)
        }
        tokenAuthority = configuration.authSecret.map(TokenAuthority.init(secret:))
        let members = try MemberStore(path: configuration.databasePath)
        chatService = ChatService(
            configuration: configuration, provider: provider, members: members, reactor: reactor, logger: logger, metrics: metrics)
        // A batch never outlives the loop iteration that opened it, whatever path opened it.
        reactor.addBeforeSleepHook { [unowned self] in self.flushBatch() }
    }

    /// Writes the open batch's frames to their connection and closes the batch.
    func flushBatch() {
        guard let owner = batch.owner else { return }
        batch.owner = nil
        guard !batch.bytes.isEmpty else { return }
        // Take the storage out while writing (a failed write closes and re-enters); hand it back.
        var held = batch.bytes
        batch.bytes = []
        owner.writeHeld(held)
        held.removeAll(keepingCapacity: true)
        if batch.bytes.isEmpty { batch.bytes = held }
    }

    /// The listening sockets being served.
    public var listenerDescriptors: [Int32] { listeners.map(\.fd) }
    /// Chats whose answers are streaming now.
    public var activeStreams: Int { chatService.activeStreams }

    /// Binds `host:port` from the configuration.
    public func bind() throws {
        let fd = try Socket.listen(host: configuration.host, port: configuration.port)
        try adoptListener(fd)
    }

    /// Serves on an already listening socket (one passed by systemd, say).
    public func adoptListener(_ fd: Int32) throws {
        Socket.setNonBlocking(fd)
        listeners.append(try Listener(fd: fd, server: self))
        if let port = Socket.localPort(of: fd) { boundPorts.append(port) }
    }

    /// Runs until SIGINT or SIGTERM and the drain that follows; returns when every connection is gone.
    public func run() throws {
        signalWatcher = try SignalWatcher(reactor: reactor, signals: [SIGINT, SIGTERM]) { [unowned self] signal in
            self.logger.info("signal received, draining", metadata: ["signal": "\(signal)"])
            self.drain()
        }
        reactor.run()
        signalWatcher?.close()
        logger.info("stopped")
    }

    /// Graceful drain: stop accepting; idle connections get SERVER_SHUTTING_DOWN and close 1001
    /// now, chats in progress finish first; whatever is left at the drain deadline is cut off.
    public func drain() {
        if isDraining { return }
        isDraining = true
        onDrain?()
        for listener in listeners { listener.close() }
        listeners.removeAll()
        for connection in Array(connections.values) { connection.serverIsDraining() }
        if connections.isEmpty {
            reactor.stop()
            return
        }
        reactor.schedule(after: configuration.drainTimeoutMilliseconds) { [unowned self] in
            self.logger.warning("drain deadline reached", metadata: ["connections": "\(self.connections.count)"])
            for connection in Array(self.connections.values) { connection.close(reason: "drain deadline") }
            self.reactor.stop()
        }
    }

    /// Whether a browser page from `origin` may open a WebSocket here.
    func isAllowedOrigin(_ origin: String) -> Bool {
        if let allowed = configuration.allowedOrigins {
            return allowed.contains("*") || allowed.contains(origin)
        }
        return boundPorts.contains { origin == "http://localhost:\($0)" || origin == "http://127.0.0.1:\($0)" }
    }

    func webSocketOpened() {
        webSocketCount += 1
        metrics.upgrades += 1
    }

    /// `/metrics`: counters plus gauges read from the live connections (O(connections) per scrape).
    func renderMetrics() -> String {
        var byState: [String: Int] = [:]
        var buffered = 0
        for connection in connections.values {
            byState["\(connection.phase)", default: 0] += 1
            buffered += connection.bufferedBytes
        }
        var gauges: [(name: String, help: String, labels: String, value: Double)] = []
        for state in ["http", "httpBody", "httpResponding", "webSocket", "lingering"] {
            gauges.append(("aurawell_connections", "Open client connections, by state.", "{state=\"\(state)\"}", Double(byState[state] ?? 0)))
        }
        gauges.append(("aurawell_streams_active", "Chats streaming now.", "", Double(activeStreams)))
        gauges.append(("aurawell_buffered_bytes", "Bytes queued for clients that the kernel has not taken.", "", Double(buffered)))
        gauges.append(("aurawell_up", "1 while the event loop runs.", "", 1))
        return metrics.render(gauges: gauges, loop: Metrics.Histogram(reactor.iterationTimes))
    }
    func webSocketClosed() { webSocketCount -= 1 }

    func adopt(_ fd: Int32) {
        if isDraining {
            Socket.close(fd)
            return
        }
        Socket.setNoDelay(fd)
        if let size = configuration.socketSendBufferBytes { Socket.setOption(fd, SOL_SOCKET, SO_SNDBUF, size) }
        let id = nextConnectionID
        nextConnectionID += 1
        do {
            connections[id] = try Connection(fd: fd, id: id, server: self)
        } catch {
            logger.error("cannot register connection", metadata: ["error": "\(error)"])
            Socket.close(fd)
        }
    }

    func connectionDidClose(_ connection: Connection, reason: String) {
        connections[connection.id] = nil
        logger.debug("connection closed", metadata: ["connection": "\(connection.id)", "reason": "\(reason)"])
        if isDraining && connections.isEmpty { reactor.stop() }
    }
}
