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

        let server = try Server(configuration: configuration, logger: logger)
        try server.bind()
        for port in server.boundPorts {
            logger.info("listening on \(configuration.host):\(port)")
        }
        try server.run()
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
