import WSCodec

/// The application behind one WebSocket connection. The connection owns framing, control frames,
/// the close handshake and deadlines; an endpoint sees only whole messages.
protocol WebSocketEndpoint: AnyObject {
    /// The upgrade has been answered; the endpoint may send.
    func didOpen(_ connection: Connection)
    /// A complete text message (valid UTF-8). The bytes are valid only during the call.
    func didReceiveText(_ connection: Connection, _ message: UnsafeRawBufferPointer)
    /// A complete binary message. The bytes are valid only during the call.
    func didReceiveBinary(_ connection: Connection, _ message: UnsafeRawBufferPointer)
    /// The connection's output queue has drained: an endpoint that held back output can send.
    func didDrain(_ connection: Connection)
    /// The server is shutting down: finish what is in progress, then close (1001).
    func serverIsDraining(_ connection: Connection)
    /// The connection is gone (called once, whatever ended it).
    func didClose(_ connection: Connection)
}

/// `/ws/echo`: sends every message back unchanged, straight from the receive buffer.
final class EchoEndpoint: WebSocketEndpoint, Sendable {
    static let shared = EchoEndpoint()

    func didOpen(_ connection: Connection) {}
    func didReceiveText(_ connection: Connection, _ message: UnsafeRawBufferPointer) {
        connection.send(.text, message)
    }
    func didReceiveBinary(_ connection: Connection, _ message: UnsafeRawBufferPointer) {
        connection.send(.binary, message)
    }
    func didDrain(_ connection: Connection) {}
    func serverIsDraining(_ connection: Connection) {
        connection.close(code: .goingAway, reason: "server shutting down")
    }
    func didClose(_ connection: Connection) {}
}
