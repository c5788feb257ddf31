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
    /// How long a closing connection waits for the peer's close frame or FIN before the socket is
    /// simply closed.
    public var closeTimeoutMilliseconds: UInt64 = 5_000
    /// How long a shutdown waits for connections to finish their close handshakes.
    public var shutdownGraceMilliseconds: UInt64 = 5_000
    public var welcomeMessage = "欢迎使用AuraWell健康助手！"
    public var provider = "offline"

    public init() {}
}
