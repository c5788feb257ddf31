import ArgumentParser
import AuraWell
import Logging

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

    func run() throws {
        let environment = Environment.current
        let level = try Self.logLevel(logLevel ?? environment["AURAWELL_LOG_LEVEL"] ?? "info")
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "aurawell")

        var configuration = ServerConfiguration()
        configuration.host = host ?? environment["AURAWELL_HOST"] ?? configuration.host
        if let port = try port ?? environment.integer("AURAWELL_PORT").map(Self.port) { configuration.port = port }
        configuration.enableEcho = enableEcho
        if let limit = try maxMessageBytes ?? environment.integer("AURAWELL_MAX_MESSAGE_BYTES") {
            guard limit >= 125 else { throw ConfigurationError("the message size limit must be at least 125 bytes") }
            configuration.maxMessageBytes = limit
        }
        if let seconds = try environment.integer("AURAWELL_HANDSHAKE_TIMEOUT_S") {
            configuration.handshakeTimeoutMilliseconds = UInt64(seconds) * 1000
        }
        if let characters = try environment.integer("AURAWELL_MAX_MESSAGE_CHARS") { configuration.maxMessageCharacters = characters }
        configuration.databasePath = db ?? environment["AURAWELL_DB"] ?? configuration.databasePath
        try applyProviderSettings(environment, to: &configuration)

        let server = try Server(configuration: configuration, logger: logger)
        try server.bind()
        for port in server.boundPorts {
            logger.info("listening on \(configuration.host):\(port)", metadata: ["provider": "\(configuration.provider.rawValue)"])
        }
        try server.run()
    }

    private func applyProviderSettings(_ environment: Environment, to configuration: inout ServerConfiguration) throws {
        configuration.deepSeekAPIKey = environment["DEEPSEEK_API_KEY"]
        if let url = environment["DEEPSEEK_BASE_URL"] { configuration.deepSeekBaseURL = url }
        if let model = environment["DEEPSEEK_MODEL"] { configuration.deepSeekModel = model }
        let upstreamConfigured = environment["DEEPSEEK_API_KEY"] != nil || environment["DEEPSEEK_BASE_URL"] != nil
        let name = provider ?? environment["AURAWELL_PROVIDER"] ?? (upstreamConfigured ? "deepseek" : "offline")
        guard let kind = ServerConfiguration.ProviderKind(rawValue: name) else {
            throw ConfigurationError("unknown provider \(name.debugDescription): use deepseek or offline")
        }
        configuration.provider = kind
        let milliseconds: [(String, WritableKeyPath<ServerConfiguration, UInt64>)] = [
            ("AURAWELL_UPSTREAM_FIRST_TOKEN_TIMEOUT_S", \.upstreamFirstTokenTimeoutMilliseconds),
            ("AURAWELL_UPSTREAM_STALL_TIMEOUT_S", \.upstreamStallTimeoutMilliseconds),
            ("AURAWELL_UPSTREAM_TOTAL_TIMEOUT_S", \.upstreamTotalTimeoutMilliseconds),
        ]
        for (name, keyPath) in milliseconds {
            if let seconds = try environment.integer(name) { configuration[keyPath: keyPath] = UInt64(seconds) * 1000 }
        }
        if let retries = try environment.integer("AURAWELL_UPSTREAM_RETRIES") { configuration.upstreamRetries = retries }
        if let delay = try environment.integer("AURAWELL_UPSTREAM_RETRY_BASE_MS") {
            configuration.upstreamRetryBaseDelayMilliseconds = UInt64(delay)
        }
        if let interval = try environment.integer("AURAWELL_OFFLINE_TOKEN_INTERVAL_MS") {
            configuration.offlineTokenIntervalMilliseconds = UInt64(interval)
        }
    }

    private static func port(_ value: Int) throws -> UInt16 {
        guard let port = UInt16(exactly: value) else { throw ConfigurationError("AURAWELL_PORT must be 0-65535") }
        return port
    }

    private static func logLevel(_ name: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw ConfigurationError("unknown log level \(name.debugDescription)")
        }
        return level
    }
}
