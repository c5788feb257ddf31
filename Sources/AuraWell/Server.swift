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
    private var shuttingDown = false
    /// The ports actually bound (port 0 in the configuration asks for an ephemeral one).
    public private(set) var boundPorts: [UInt16] = []

    let chatService: ChatService

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
            provider = DeepSeekProvider(settings: settings, reactor: reactor, logger: logger)
        }
        let members = try MemberStore(path: configuration.databasePath)
        chatService = ChatService(configuration: configuration, provider: provider, members: members, reactor: reactor, logger: logger)
    }

    public var connectionCount: Int { connections.count }

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

    /// Runs until SIGINT or SIGTERM, then closes every connection (1001) and returns.
    public func run() throws {
        signalWatcher = try SignalWatcher(reactor: reactor, signals: [SIGINT, SIGTERM]) { [unowned self] signal in
            self.logger.info("signal received, shutting down", metadata: ["signal": "\(signal)"])
            self.shutdown()
        }
        reactor.run()
        signalWatcher?.close()
        logger.info("stopped")
    }

    /// Stops accepting, starts the close handshake with every client, and stops the loop once
    /// they are gone or the grace period ends.
    public func shutdown() {
        if shuttingDown { return }
        shuttingDown = true
        for listener in listeners { listener.close() }
        listeners.removeAll()
        for connection in Array(connections.values) {
            connection.close(code: .goingAway, reason: "server shutting down")
        }
        if connections.isEmpty {
            reactor.stop()
        } else {
            reactor.schedule(after: configuration.shutdownGraceMilliseconds) { [unowned self] in
                for connection in Array(self.connections.values) { connection.close(reason: "shutdown grace period over") }
                self.reactor.stop()
            }
        }
    }

    func adopt(_ fd: Int32) {
        if shuttingDown {
            Socket.close(fd)
            return
        }
        Socket.setNoDelay(fd)
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
        if shuttingDown && connections.isEmpty { reactor.stop() }
    }
}
