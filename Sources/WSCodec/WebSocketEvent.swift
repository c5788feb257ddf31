/// What the parser delivers. Buffers are valid only during the sink call: copy what you keep.
public enum WebSocketEvent {
    /// A complete text message, UTF-8 validated.
    case text(UnsafeRawBufferPointer)
    /// A complete binary message.
    case binary(UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// The peer's close frame, validated: `code` is valid on the wire (nil for an empty payload),
    /// `reason` is valid UTF-8. The parser ignores everything after it.
    case close(code: WebSocketCloseCode?, reason: UnsafeRawBufferPointer)
}

/// Receives parser events in wire order (control frames between fragments included).
public protocol WebSocketEventSink {
    mutating func webSocketEvent(_ event: WebSocketEvent)
}

/// A violation of RFC 6455 by the peer, with the close code to answer with (1002 protocol error,
/// 1007 invalid UTF-8, 1009 message too big).
public struct WebSocketProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: WebSocketCloseCode
    public var reason: String

    public init(code: WebSocketCloseCode, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue) \(reason)" }
}
