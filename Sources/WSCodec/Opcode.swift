/// A WebSocket frame opcode (RFC 6455 §5.2). Reserved opcodes (3-7, 11-15) have no case: the
/// parser rejects them with 1002.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0
    case text = 1
    case binary = 2
    case close = 8
    case ping = 9
    case pong = 10

    /// Close, ping and pong (opcodes with the high bit set).
    public var isControl: Bool { rawValue & 0x8 != 0 }
}
