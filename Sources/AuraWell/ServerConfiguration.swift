/// Everything the server needs to know at start, resolved from flags and environment by `Main`.
/// Durations are in milliseconds; names follow ../shared/PROTOCOL.md.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8000
    /// Adds `/ws/echo`, which echoes every message (conformance tests and benchmarks).
    public var enableEcho = false
    /// Largest WebSocket message (sum of its fragments) accepted; larger ones close with 1009.
    public var maxMessageBytes = 64 * 1024
    /// Largest HTTP request head; larger ones are answered 431.
    public var maxHeaderBytes = 8 * 1024
    public var handshakeTimeoutMilliseconds: UInt64 = 10_000
    /// Idle, heartbeat and stuck-reader deadlines of open WebSockets.
    public var liveness = LivenessPolicy()
    /// Open WebSockets beyond which upgrades are answered 503.
    public var maxConnections = 50_000
    public var maxConnectionsPerUser = 3
    /// SO_SNDBUF for client sockets; nil leaves the kernel's autotuning (which lets a client that
    /// does not read park megabytes in kernel memory before backpressure reaches the server).
    public var socketSendBufferBytes: Int32?
    /// Output queued for one connection beyond which the server stops reading from it.
    public var maxOutboundBytes = 256 * 1024
    /// Output queued beyond which a chat holds back (merges) deltas and pauses its upstream.
    public var streamHighWaterBytes = 16 * 1024
    /// Client messages per second a chat connection may send, and the burst it may save up.
    public var messagesPerSecond = 10.0
    public var messageBurst = 20.0
    /// How long streams in progress may run on after SIGTERM before they are cut off.
    public var drainTimeoutMilliseconds: UInt64 = 30_000
    /// AURAWELL_AUTH_SECRET: when set, chat upgrades need a token.
    public var authSecret: String?
    /// Allowed `Origin` values; nil means the server's own http://localhost:PORT and
    /// http://127.0.0.1:PORT. "*" allows any.
    public var allowedOrigins: [String]?
    /// How long a closing connection waits for the peer's close frame or FIN before the socket is
    /// simply closed.
    public var closeTimeoutMilliseconds: UInt64 = 5_000
    public var welcomeMessage = "欢迎使用AuraWell健康助手！"
    /// Largest `data.message`, in Unicode characters.
    public var maxMessageCharacters = 1000
    /// SQLite file of the family members.
    public var databasePath = "./aurawell.db"
    public var provider = ProviderKind.offline
    /// Milliseconds between the offline provider's deltas.
    public var offlineTokenIntervalMilliseconds: UInt64 = 20

    // DeepSeek upstream (PROTOCOL.md "Upstream").
    public var deepSeekBaseURL = "https://api.deepseek.com"
    public var deepSeekAPIKey: String?
    public var deepSeekModel = "deepseek-v4-flash"
    public var upstreamFirstTokenTimeoutMilliseconds: UInt64 = 60_000
    public var upstreamStallTimeoutMilliseconds: UInt64 = 30_000
    public var upstreamTotalTimeoutMilliseconds: UInt64 = 600_000
    public var upstreamRetries = 2
    public var upstreamRetryBaseDelayMilliseconds: UInt64 = 500

    public enum ProviderKind: String, Sendable, CaseIterable {
        case deepseek
        case offline
    }

    public init() {}
}
