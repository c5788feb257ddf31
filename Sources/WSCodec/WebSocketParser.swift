/// Sans-IO RFC 6455 frame decoder and message assembler.
///
/// Feed it every byte received after the handshake with `parse(_:into:)`; it unmasks in place,
/// reassembles fragmented messages, validates UTF-8 incrementally and delivers whole messages and
/// control frames to a sink. It keeps no clock and does no I/O.
///
/// Memory: a partial frame header (at most 14 bytes) lives inline in the value. A data message
/// that arrives in one frame within one `input` is delivered zero-copy from `input`; only a
/// fragmented message or a frame split over reads is copied into a heap buffer, released when the
/// message completes. A control frame split over reads is likewise copied (at most 125 bytes).
public struct WebSocketParser: Sendable {
    public enum Role: Sendable {
        /// Expects masked frames (from a client).
        case server
        /// Expects unmasked frames (from a server).
        case client
    }

    public let role: Role
    /// Largest message (sum of its fragments' payloads) accepted; a frame header announcing more
    /// fails with 1009 before its payload is read.
    public var maxMessageBytes: Int

    private enum Phase: UInt8 {
        case header, payload, closed, failed
    }

    private var phase = Phase.header
    private var error: WebSocketProtocolError?

    // Partial frame header, inline (no heap).
    private var stash: (UInt64, UInt64) = (0, 0)
    private var stashCount = 0

    // The frame being read.
    /// Raw opcode of the frame being read (validated: 0-2 or 8-10).
    private var frameOpcode: UInt8 = 0
    private var frameFin = false
    private var frameMasked = false
    private var maskKey: UInt32 = 0
    private var maskPhase = 0
    private var remaining = 0

    // The data message being assembled: its opcode while a message is unfinished.
    private var messageOpcode: WebSocketOpcode?
    private var messageLength = 0
    private var messageBuffer: [UInt8] = []
    private var utf8 = UTF8Validator()
    private var controlBuffer: [UInt8] = []

    /// The mask bit frames must carry: 0x80 for a server, 0 for a client.
    private let expectedMaskBit: UInt8

    public init(role: Role = .server, maxMessageBytes: Int = 64 * 1024) {
        self.role = role
        self.maxMessageBytes = maxMessageBytes
        self.expectedMaskBit = role == .server ? 0x80 : 0
    }

    /// Heap bytes held for partial messages and split control frames.
    public var bufferedBytes: Int { messageBuffer.capacity + controlBuffer.capacity }

    /// True once a close frame was delivered; later input is ignored.
    public var isClosed: Bool { phase == .closed }

    /// The error that stopped the parser, if any.
    public var failure: WebSocketProtocolError? { error }

    /// Consumes all of `input`, unmasking it in place, delivering events to `sink` in order.
    /// Returns the first protocol error; the parser is then dead and returns it again.
    /// After a close frame has been delivered, further input is ignored (returns nil).
    public mutating func parse<Sink: WebSocketEventSink>(
        _ input: UnsafeMutableRawBufferPointer, into sink: inout Sink
    ) -> WebSocketProtocolError? {
        switch phase {
        case .failed: return error
        case .closed: return nil
        case .header, .payload: break
        }
        guard let base = input.baseAddress else { return nil }
        let count = input.count
        var offset = 0

        while offset < count {
            if phase == .payload {
                let n = min(remaining, count - offset)
                let chunk = UnsafeMutableRawBufferPointer(start: base + offset, count: n)
                offset += n
                if let e = consumePayloadChunk(chunk, into: &sink) { return fail(e) }
                if phase == .closed { return nil }
                continue
            }

            // phase == .header: get the whole header, from `input` in place when possible.
            let headerError: WebSocketProtocolError?
            if stashCount == 0, count - offset >= 2,
                count - offset >= Self.headerLength(secondByte: base.load(fromByteOffset: offset + 1, as: UInt8.self))
            {
                let h = UnsafeRawPointer(base + offset)
                offset += Self.headerLength(secondByte: h.load(fromByteOffset: 1, as: UInt8.self))
                headerError = beginFrame(header: h)
            } else {
                guard fillStash(from: UnsafeRawPointer(base), offset: &offset, count: count) else { break }
                let copy = stash
                stashCount = 0
                headerError = withUnsafeBytes(of: copy) { beginFrame(header: $0.baseAddress!) }
            }
            if let e = headerError { return fail(e) }

            let available = count - offset
            if frameOpcode & 0x8 != 0 {
                if remaining <= available {
                    // Whole control frame in `input`: deliver in place.
                    let payload = UnsafeMutableRawBufferPointer(start: base + offset, count: remaining)
                    offset += remaining
                    remaining = 0
                    if frameMasked { WebSocketMasking.unmask(payload, key: maskKey, phase: 0) }
                    if let e = deliverControl(frameOpcode, UnsafeRawBufferPointer(payload), into: &sink) { return fail(e) }
                    if phase == .closed { return nil }
                    continue
                }
                controlBuffer.reserveCapacity(remaining)
                phase = .payload
            } else if frameFin, frameOpcode != 0, remaining <= available {
                // A whole single-frame message in `input`: zero-copy.
                let payload = UnsafeMutableRawBufferPointer(start: base + offset, count: remaining)
                offset += remaining
                remaining = 0
                if frameMasked { WebSocketMasking.unmask(payload, key: maskKey, phase: 0) }
                messageOpcode = nil
                messageLength = 0
                if frameOpcode == 1 {
                    guard UTF8Validator.isValid(UnsafeRawBufferPointer(payload)) else {
                        return fail(Self.invalidUTF8)
                    }
                    sink.webSocketEvent(.text(UnsafeRawBufferPointer(payload)))
                } else {
                    sink.webSocketEvent(.binary(UnsafeRawBufferPointer(payload)))
                }
            } else {
                phase = .payload
                if remaining == 0, let e = finishDataFrame(into: &sink) { return fail(e) }
            }
        }
        return nil
    }

    // MARK: - Frame header

    /// Header length implied by the second byte: 2, 4 or 10, plus 4 with the mask bit.
    @inline(__always)
    private static func headerLength(secondByte b1: UInt8) -> Int {
        let len = b1 & 0x7F
        return (len < 126 ? 2 : len == 126 ? 4 : 10) + (b1 & 0x80 != 0 ? 4 : 0)
    }

    /// Appends header bytes from `base[offset..<count]` to the stash; true once it holds a whole
    /// header.
    private mutating func fillStash(from base: UnsafeRawPointer, offset: inout Int, count: Int) -> Bool {
        var filled = stashCount
        var off = offset
        let complete = withUnsafeMutableBytes(of: &stash) { h -> Bool in
            while true {
                let need = filled < 2 ? 2 : Self.headerLength(secondByte: h[1])
                if filled >= need { return true }
                if off >= count { return false }
                let n = min(need - filled, count - off)
                h.baseAddress!.advanced(by: filled).copyMemory(from: base + off, byteCount: n)
                filled += n
                off += n
            }
        }
        stashCount = filled
        offset = off
        return complete
    }

    private static let invalidUTF8 = WebSocketProtocolError(code: .invalidPayload, reason: "Invalid UTF-8 in text message")

    private static func protocolError(_ reason: String) -> WebSocketProtocolError {
        WebSocketProtocolError(code: .protocolError, reason: reason)
    }

    /// Validates a complete header and sets up the frame (and message) state.
    @inline(__always)
    private mutating func beginFrame(header h: UnsafeRawPointer) -> WebSocketProtocolError? {
        let b0 = h.load(as: UInt8.self)
        let b1 = h.load(fromByteOffset: 1, as: UInt8.self)
        guard b0 & 0x70 == 0 else { return Self.protocolError("Reserved bits set without a negotiated extension") }
        let opcode = b0 & 0x0F
        // 0-2 data, 8-10 control; 3-7 and 11-15 are reserved.
        guard opcode & 0x7 <= 2 else { return Self.protocolError("Reserved opcode \(opcode)") }
        let fin = b0 & 0x80 != 0
        let masked = b1 & 0x80 != 0
        guard b1 & 0x80 == expectedMaskBit else {
            return Self.protocolError(masked ? "Masked frame from server" : "Unmasked frame from client")
        }
        var length = Int(b1 & 0x7F)
        var maskOffset = 2
        if length == 126 {
            length = Int(UInt16(bigEndian: h.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            maskOffset = 4
        } else if length == 127 {
            let l64 = UInt64(bigEndian: h.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            guard l64 >> 63 == 0 else { return Self.protocolError("Payload length with the most significant bit set") }
            length = Int(l64)
            maskOffset = 10
        }
        if opcode & 0x8 != 0 {
            guard fin else { return Self.protocolError("Fragmented control frame") }
            guard length <= 125 else { return Self.protocolError("Control frame payload over 125 bytes") }
        } else if opcode == 0 {
            guard messageOpcode != nil else { return Self.protocolError("Continuation frame without a message in progress") }
            guard length <= maxMessageBytes - messageLength else { return Self.tooBig(maxMessageBytes) }
            messageLength += length
        } else {
            guard messageOpcode == nil else {
                return Self.protocolError("New data frame while a fragmented message is in progress")
            }
            guard length <= maxMessageBytes else { return Self.tooBig(maxMessageBytes) }
            messageOpcode = opcode == 1 ? .text : .binary
            messageLength = length
            if opcode == 1 { utf8.reset() }
        }
        frameOpcode = opcode
        frameFin = fin
        frameMasked = masked
        maskKey = masked ? h.loadUnaligned(fromByteOffset: maskOffset, as: UInt32.self).littleEndianKey : 0
        maskPhase = 0
        remaining = length
        return nil
    }

    private static func tooBig(_ limit: Int) -> WebSocketProtocolError {
        WebSocketProtocolError(code: .messageTooBig, reason: "Message over \(limit) bytes")
    }

    // MARK: - Payload

    /// A piece of the current frame's payload that did not arrive with its header in one input.
    private mutating func consumePayloadChunk<Sink: WebSocketEventSink>(
        _ chunk: UnsafeMutableRawBufferPointer, into sink: inout Sink
    ) -> WebSocketProtocolError? {
        if frameMasked {
            WebSocketMasking.unmask(chunk, key: maskKey, phase: maskPhase)
            maskPhase = (maskPhase + chunk.count) & 3
        }
        remaining -= chunk.count
        if frameOpcode & 0x8 != 0 {
            controlBuffer.append(contentsOf: chunk)
            guard remaining == 0 else { return nil }
            phase = .header
            let payload = controlBuffer
            controlBuffer = []
            return payload.withUnsafeBytes { deliverControl(frameOpcode, $0, into: &sink) }
        }
        if messageOpcode == .text, !utf8.validate(UnsafeRawBufferPointer(chunk)) { return Self.invalidUTF8 }
        if messageBuffer.capacity - messageBuffer.count < chunk.count {
            messageBuffer.reserveCapacity(max(messageLength, messageBuffer.capacity * 2))
        }
        messageBuffer.append(contentsOf: chunk)
        return remaining == 0 ? finishDataFrame(into: &sink) : nil
    }

    /// The current data frame's payload is complete: deliver the message if this was its last frame.
    private mutating func finishDataFrame<Sink: WebSocketEventSink>(into sink: inout Sink) -> WebSocketProtocolError? {
        phase = .header
        guard frameFin else { return nil }
        let isText = messageOpcode == .text
        if isText, !utf8.isAtCharacterBoundary { return Self.invalidUTF8 }
        messageOpcode = nil
        messageLength = 0
        messageBuffer.withUnsafeBytes { sink.webSocketEvent(isText ? .text($0) : .binary($0)) }
        messageBuffer = []
        return nil
    }

    /// Validates and delivers a complete control frame payload (already unmasked).
    private mutating func deliverControl<Sink: WebSocketEventSink>(
        _ opcode: UInt8, _ payload: UnsafeRawBufferPointer, into sink: inout Sink
    ) -> WebSocketProtocolError? {
        switch opcode {
        case WebSocketOpcode.ping.rawValue:
            sink.webSocketEvent(.ping(payload))
        case WebSocketOpcode.pong.rawValue:
            sink.webSocketEvent(.pong(payload))
        default:  // close
            if payload.isEmpty {
                phase = .closed
                sink.webSocketEvent(.close(code: nil, reason: payload))
                return nil
            }
            guard payload.count >= 2 else { return Self.protocolError("Close frame with a 1-byte payload") }
            let raw = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard WebSocketCloseCode.isSendableOnWire(raw) else {
                return Self.protocolError("Close code \(raw) is not valid on the wire")
            }
            let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
            guard UTF8Validator.isValid(reason) else {
                return WebSocketProtocolError(code: .invalidPayload, reason: "Invalid UTF-8 in close reason")
            }
            phase = .closed
            messageBuffer = []
            sink.webSocketEvent(.close(code: WebSocketCloseCode(raw), reason: reason))
        }
        return nil
    }

    private mutating func fail(_ e: WebSocketProtocolError) -> WebSocketProtocolError {
        phase = .failed
        error = e
        messageBuffer = []
        controlBuffer = []
        return e
    }
}

extension UInt32 {
    /// A mask key loaded with native byte order from the wire, as the little-endian value
    /// `WebSocketMasking.unmask` expects.
    fileprivate var littleEndianKey: UInt32 { UInt32(littleEndian: self) }
}
