/// Builds WebSocket frames (RFC 6455 §5.2): unmasked server frames, and masked client frames for
/// test clients and the load tester.
public enum WebSocketFrameEncoder {
    /// Header bytes for a payload of `payloadLength`: 2, 4 or 10, plus 4 when masked.
    @inlinable
    public static func headerSize(payloadLength: Int, masked: Bool = false) -> Int {
        (payloadLength < 126 ? 2 : payloadLength <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }

    /// Writes an unmasked frame header (2, 4 or 10 bytes, minimal length encoding) at `out`;
    /// returns the number of bytes written.
    @inlinable
    public static func writeHeader(
        opcode: WebSocketOpcode, fin: Bool = true, payloadLength: Int, to out: UnsafeMutableRawPointer
    ) -> Int {
        writeHeader(firstByte: (fin ? 0x80 : 0) | opcode.rawValue, maskBit: 0, payloadLength: payloadLength, to: out)
    }

    @inlinable
    static func writeHeader(firstByte: UInt8, maskBit: UInt8, payloadLength: Int, to out: UnsafeMutableRawPointer) -> Int {
        precondition(payloadLength >= 0, "negative payload length")
        out.storeBytes(of: firstByte, as: UInt8.self)
        if payloadLength < 126 {
            out.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            return 2
        } else if payloadLength <= 0xFFFF {
            out.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            return 4
        } else {
            out.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            return 10
        }
    }

    /// A complete unmasked frame.
    public static func frame(opcode: WebSocketOpcode, fin: Bool = true, payload: UnsafeRawBufferPointer) -> [UInt8] {
        let header = headerSize(payloadLength: payload.count)
        return [UInt8](unsafeUninitializedCapacity: header + payload.count) { buf, count in
            let base = UnsafeMutableRawPointer(buf.baseAddress!)
            let h = writeHeader(opcode: opcode, fin: fin, payloadLength: payload.count, to: base)
            if let src = payload.baseAddress, payload.count > 0 {
                (base + h).copyMemory(from: src, byteCount: payload.count)
            }
            count = h + payload.count
        }
    }

    public static func frame(opcode: WebSocketOpcode, fin: Bool = true, payload: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes { frame(opcode: opcode, fin: fin, payload: $0) }
    }

    /// A text frame carrying `text`.
    public static func textFrame(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { frame(opcode: .text, payload: UnsafeRawBufferPointer($0)) }
    }

    /// A close payload: the code (big-endian) and `reason`, truncated to 123 bytes without splitting
    /// a UTF-8 character.
    public static func closePayload(code: WebSocketCloseCode, reason: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        let utf8 = Array(reason.utf8)
        var n = min(utf8.count, 123)
        if n < utf8.count {
            // Back up to the start of the character that straddles the cut.
            while n > 0, utf8[n] & 0xC0 == 0x80 { n -= 1 }
        }
        out.append(contentsOf: utf8[0..<n])
        return out
    }

    /// A complete close frame.
    public static func closeFrame(code: WebSocketCloseCode, reason: String = "") -> [UInt8] {
        frame(opcode: .close, payload: closePayload(code: code, reason: reason))
    }

    /// A masked (client-to-server) frame. `rsv` (0...7) sets RSV1-3, for negative tests.
    public static func maskedFrame(
        opcode: WebSocketOpcode, fin: Bool = true, payload: [UInt8], maskKey: (UInt8, UInt8, UInt8, UInt8), rsv: UInt8 = 0
    ) -> [UInt8] {
        maskedFrame(rawOpcode: opcode.rawValue, fin: fin, payload: payload, maskKey: maskKey, rsv: rsv)
    }

    /// As `maskedFrame(opcode:...)` with any 4-bit opcode, reserved ones included (negative tests).
    public static func maskedFrame(
        rawOpcode: UInt8, fin: Bool = true, payload: [UInt8], maskKey: (UInt8, UInt8, UInt8, UInt8), rsv: UInt8 = 0
    ) -> [UInt8] {
        let header = headerSize(payloadLength: payload.count, masked: true)
        let firstByte = (fin ? 0x80 : 0) | (rsv & 7) << 4 | (rawOpcode & 0x0F)
        return [UInt8](unsafeUninitializedCapacity: header + payload.count) { buf, count in
            let base = UnsafeMutableRawPointer(buf.baseAddress!)
            var h = writeHeader(firstByte: firstByte, maskBit: 0x80, payloadLength: payload.count, to: base)
            let key = WebSocketMasking.key(maskKey.0, maskKey.1, maskKey.2, maskKey.3)
            base.storeBytes(of: UInt32(littleEndian: key), toByteOffset: h, as: UInt32.self)
            h += 4
            payload.withUnsafeBytes { src in
                if let s = src.baseAddress, src.count > 0 { (base + h).copyMemory(from: s, byteCount: src.count) }
            }
            WebSocketMasking.unmask(UnsafeMutableRawBufferPointer(start: base + h, count: payload.count), key: key, phase: 0)
            count = h + payload.count
        }
    }
}
