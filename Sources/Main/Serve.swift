import ArgumentParser
import AuraWell
import Glibc
import Logging
import Reactor

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default command).")

    @Option(help: "Address to listen on (env AURAWELL_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (env AURAWELL_PORT, default 8000).")
    var port: UInt16?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env AURAWELL_LOG_LEVEL).")
    var logLevel: String?

    @Flag(help: "Serve /ws/echo, which echoes every message (for conformance tests and benchmarks).")
    var enableEcho = false

    @Option(help: "Largest WebSocket message in bytes (env AURAWELL_MAX_MESSAGE_BYTES, default 65536).")
    var maxMessageBytes: Int?

    @Option(help: "Answer provider: deepseek or offline (env AURAWELL_PROVIDER; default deepseek when DEEPSEEK_API_KEY or DEEPSEEK_BASE_URL is set, else offline).")
    var provider: String?

    @Option(help: "SQLite database of family members (env AURAWELL_DB, default ./aurawell.db).")
    var db: String?

    @Flag(help: "Allow listening beyond loopback without AURAWELL_AUTH_SECRET (not recommended).")
    var insecureNoAuth = false

    func run() throws {
        let environment = Environment.current
        let level = try Self.logLevel(logLevel ?? environment["AURAWELL_LOG_LEVEL"] ?? "info")
        let journald = AuraWellLogHandler.stderrIsJournal()
        LoggingSystem.bootstrap { label in AuraWellLogHandler(logLevel: level, journald: journald, label: label) }
        let logger = Logger(label: "aurawell")

        Socket.raiseDescriptorLimit()
        // Every socket write passes MSG_NOSIGNAL; this also covers libraries that might not.
        signal(SIGPIPE, SIG_IGN)
        let configuration = try ConfigurationLoader(environment: environment).load(ConfigurationLoader.Flags(
            host: host, port: port, enableEcho: enableEcho, maxMessageBytes: maxMessageBytes, provider: provider, db: db))
        if configuration.authSecret == nil {
            guard Self.isLoopback(configuration.host) || insecureNoAuth else {
                throw ConfigurationError(
                    "refusing to listen on \(configuration.host) without AURAWELL_AUTH_SECRET; set it or pass --insecure-no-auth")
            }
            logger.warning("auth is off: AURAWELL_AUTH_SECRET is not set")
        }

        let server = try Server(configuration: configuration, logger: logger)
        let passed = SocketActivation.passedSockets()
        if passed.isEmpty {
            try server.bind()
        } else {
            for socket in passed { try server.adoptListener(socket.fd) }
        }
        for fd in server.listenerDescriptors {
            logger.info(
                "listening on \(Socket.localAddressDescription(of: fd))",
                metadata: ["provider": "\(configuration.provider.rawValue)", "socket_activation": "\(!passed.isEmpty)"])
        }
        let notifier = ServiceNotifier(server: server)
        server.onDrain = { notifier.stopping() }
        notifier.ready()
        try server.run()
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    private static func logLevel(_ name: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw ConfigurationError("unknown log level \(name.debugDescription)")
        }
        return level
    }
}
