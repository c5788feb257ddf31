import AuraWell

/// Builds the server's configuration from the environment (names from PROTOCOL.md) and the
/// command-line flags, which win.
struct ConfigurationLoader {
    let environment: Environment

    struct Flags {
        var host: String?
        var port: UInt16?
        var enableEcho = false
        var maxMessageBytes: Int?
        var provider: String?
        var db: String?
    }

    func load(_ flags: Flags) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = flags.host ?? environment["AURAWELL_HOST"] ?? configuration.host
        if let port = try flags.port ?? environment.integer("AURAWELL_PORT").map(Self.port) { configuration.port = port }
        configuration.enableEcho = flags.enableEcho
        if let limit = try flags.maxMessageBytes ?? environment.integer("AURAWELL_MAX_MESSAGE_BYTES") {
            guard limit >= 125 else { throw ConfigurationError("the message size limit must be at least 125 bytes") }
            configuration.maxMessageBytes = limit
        }
        configuration.databasePath = flags.db ?? environment["AURAWELL_DB"] ?? configuration.databasePath
        try loadLimits(into: &configuration)
        try loadProvider(flags.provider, into: &configuration)
        configuration.authSecret = environment["AURAWELL_AUTH_SECRET"]
        if let origins = environment["AURAWELL_ALLOWED_ORIGINS"] {
            configuration.allowedOrigins = origins.split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty }
        }
        return configuration
    }

    private func loadLimits(into configuration: inout ServerConfiguration) throws {
        let seconds: [(String, WritableKeyPath<ServerConfiguration, UInt64>)] = [
            ("AURAWELL_HANDSHAKE_TIMEOUT_S", \.handshakeTimeoutMilliseconds),
            ("AURAWELL_IDLE_TIMEOUT_S", \.liveness.idleMilliseconds),
            ("AURAWELL_PING_INTERVAL_S", \.liveness.pingIntervalMilliseconds),
            ("AURAWELL_PONG_TIMEOUT_S", \.liveness.pongTimeoutMilliseconds),
            ("AURAWELL_SEND_TIMEOUT_S", \.liveness.sendTimeoutMilliseconds),
            ("AURAWELL_DRAIN_TIMEOUT_S", \.drainTimeoutMilliseconds),
            ("AURAWELL_UPSTREAM_FIRST_TOKEN_TIMEOUT_S", \.upstreamFirstTokenTimeoutMilliseconds),
            ("AURAWELL_UPSTREAM_STALL_TIMEOUT_S", \.upstreamStallTimeoutMilliseconds),
            ("AURAWELL_UPSTREAM_TOTAL_TIMEOUT_S", \.upstreamTotalTimeoutMilliseconds),
        ]
        for (name, keyPath) in seconds {
            if let value = try environment.integer(name) { configuration[keyPath: keyPath] = UInt64(value) * 1000 }
        }
        let milliseconds: [(String, WritableKeyPath<ServerConfiguration, UInt64>)] = [
            ("AURAWELL_UPSTREAM_RETRY_BASE_MS", \.upstreamRetryBaseDelayMilliseconds),
            ("AURAWELL_OFFLINE_TOKEN_INTERVAL_MS", \.offlineTokenIntervalMilliseconds),
        ]
        for (name, keyPath) in milliseconds {
            if let value = try environment.integer(name) { configuration[keyPath: keyPath] = UInt64(value) }
        }
        let counts: [(String, WritableKeyPath<ServerConfiguration, Int>)] = [
            ("AURAWELL_MAX_CONNECTIONS", \.maxConnections),
            ("AURAWELL_MAX_CONNECTIONS_PER_USER", \.maxConnectionsPerUser),
            ("AURAWELL_MAX_MESSAGE_CHARS", \.maxMessageCharacters),
            ("AURAWELL_UPSTREAM_RETRIES", \.upstreamRetries),
        ]
        for (name, keyPath) in counts {
            if let value = try environment.integer(name) { configuration[keyPath: keyPath] = value }
        }
        if let size = try environment.integer("AURAWELL_SEND_BUFFER_BYTES") { configuration.socketSendBufferBytes = Int32(clamping: size) }
        if let rate = try environment.integer("AURAWELL_RATE_LIMIT_PER_S") { configuration.messagesPerSecond = Double(rate) }
        if let burst = try environment.integer("AURAWELL_RATE_LIMIT_BURST") { configuration.messageBurst = Double(burst) }
    }

    private func loadProvider(_ flag: String?, into configuration: inout ServerConfiguration) throws {
        configuration.deepSeekAPIKey = environment["DEEPSEEK_API_KEY"]
        if let url = environment["DEEPSEEK_BASE_URL"] { configuration.deepSeekBaseURL = url }
        if let model = environment["DEEPSEEK_MODEL"] { configuration.deepSeekModel = model }
        let upstreamConfigured = environment["DEEPSEEK_API_KEY"] != nil || environment["DEEPSEEK_BASE_URL"] != nil
        let name = flag ?? environment["AURAWELL_PROVIDER"] ?? (upstreamConfigured ? "deepseek" : "offline")
        guard let kind = ServerConfiguration.ProviderKind(rawValue: name) else {
            throw ConfigurationError("unknown provider \(name.debugDescription): use deepseek or offline")
        }
        configuration.provider = kind
    }

    private static func port(_ value: Int) throws -> UInt16 {
        guard let port = UInt16(exactly: value) else { throw ConfigurationError("AURAWELL_PORT must be 0-65535") }
        return port
    }
}

extension String {
    fileprivate func trimmed() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
