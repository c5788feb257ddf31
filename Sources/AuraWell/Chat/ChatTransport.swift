import WSCodec

/// Where a chat session's server messages go: a WebSocket connection, or the REST fallback's
/// HTTP answer.
protocol ChatTransport: AnyObject {
    var publicID: String { get }
    var id: UInt64 { get }
    /// Bytes written but not yet taken by the kernel: the backpressure signal.
    var bufferedBytes: Int { get }
    /// One server message (a JSON object).
    func sendMessage(_ message: UnsafeRawBufferPointer)
    func close(code: WebSocketCloseCode, reason: String)
    /// Messages sent until `endBatch` may be held and written together.
    func beginBatch()
    func endBatch()
}

extension ChatTransport {
    func beginBatch() {}
    func endBatch() {}
}

extension Connection: ChatTransport {
    func sendMessage(_ message: UnsafeRawBufferPointer) { send(.text, message) }
}
