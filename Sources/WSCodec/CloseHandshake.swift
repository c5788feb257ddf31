/// The closing handshake (RFC 6455 §7) as a tiny state machine; the caller sends the returned
/// bytes and closes the TCP connection when the state is `.closed` (the server closes first).
public struct WebSocketCloseHandshake: Sendable {
    public enum State: Sendable, Equatable {
        /// No close frame sent or received.
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        /// Both directions are closed: close the TCP connection.
        case closed
    }

    public var state: State

    public init() { state = .open }

    /// Whether data frames may still be sent.
    public var canSendData: Bool { state == .open }

    /// We want to close: the close frame to send, or nil when a close was already sent (or the
    /// handshake is over).
    public mutating func initiate(code: WebSocketCloseCode, reason: String) -> [UInt8]? {
        guard state == .open else { return nil }
        state = .closeSent
        return WebSocketFrameEncoder.closeFrame(code: code, reason: reason)
    }

    /// The peer's close frame arrived (`code` nil when it carried none): the echo to send (same
    /// code, no reason; an empty close when the peer sent no code), or nil when we had already sent
    /// our close. The state becomes `.closed`.
    public mutating func receivedClose(code: WebSocketCloseCode?) -> [UInt8]? {
        defer { state = .closed }
        guard state == .open else { return nil }
        if let code {
            return WebSocketFrameEncoder.closeFrame(code: code)
        }
        return WebSocketFrameEncoder.frame(opcode: .close, payload: [])
    }
}
