/// XOR masking of WebSocket payloads (RFC 6455 §5.3), in place, a machine word at a time.
public enum WebSocketMasking {
    /// Applies (or removes: XOR is its own inverse) the mask to `buffer` in place.
    ///
    /// - Parameters:
    ///   - key: the 4 mask bytes as loaded little-endian from the wire, i.e. byte `j` of the mask
    ///     is `UInt8(truncatingIfNeeded: key >> (8 * j))`.
    ///   - phase: the offset into the mask of the first byte of `buffer` (0...3); a payload split
    ///     over several buffers continues with `(phase + previousCount) & 3`.
    public static func unmask(_ buffer: UnsafeMutableRawBufferPointer, key: UInt32, phase: Int) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let shift = UInt32(truncatingIfNeeded: (phase & 3) * 8)
        // Rotate so that the lowest byte is the mask byte for buffer[0].
        let k32 = shift == 0 ? key : (key >> shift) | (key << (32 - shift))
        let k64 = UInt64(k32) | UInt64(k32) << 32
        let count = buffer.count
        var i = 0
        // 32 bytes per iteration; the compiler turns this into vector code.
        while i + 32 <= count {
            let p = base + i
            let a = p.loadUnaligned(as: UInt64.self)
            let b = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let c = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            let d = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            let m = UInt64(littleEndian: k64)
            p.storeBytes(of: a ^ m, as: UInt64.self)
            p.storeBytes(of: b ^ m, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: c ^ m, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: d ^ m, toByteOffset: 24, as: UInt64.self)
            i += 32
        }
        while i + 8 <= count {
            let p = base + i
            p.storeBytes(of: p.loadUnaligned(as: UInt64.self) ^ UInt64(littleEndian: k64), as: UInt64.self)
            i += 8
        }
        // Tail: i is a multiple of 8, so the mask phase is unchanged here.
        var k = k64
        while i < count {
            let p = base + i
            p.storeBytes(of: p.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: k), as: UInt8.self)
            k >>= 8
            i += 1
        }
    }

    /// The 4 wire bytes of a mask key as the `key` argument of `unmask`.
    @inlinable
    public static func key(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) -> UInt32 {
        UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
    }
}
