import Testing
import WSCodec

@Suite struct MaskingTests {
    static let key: (UInt8, UInt8, UInt8, UInt8) = (0x12, 0x9A, 0xF0, 0x5C)

    @Test(arguments: 0...70, 0...3)
    func unmaskMatchesNaiveReference(length: Int, phase: Int) {
        let mask = [Self.key.0, Self.key.1, Self.key.2, Self.key.3]
        var rng = SplitMix64(seed: UInt64(length * 4 + phase))
        let original = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let expected = original.enumerated().map { i, b in b ^ mask[(i + phase) % 4] }
        var buffer = original
        buffer.withUnsafeMutableBytes {
            WebSocketMasking.unmask($0, key: WebSocketMasking.key(Self.key.0, Self.key.1, Self.key.2, Self.key.3), phase: phase)
        }
        #expect(buffer == expected)
    }

    @Test(arguments: [1, 3, 7, 8, 13, 33])
    func splitUnmaskingEqualsWhole(splitEvery: Int) {
        let key = WebSocketMasking.key(1, 2, 3, 250)
        let original = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var whole = original
        whole.withUnsafeMutableBytes { WebSocketMasking.unmask($0, key: key, phase: 0) }
        var pieces = original
        pieces.withUnsafeMutableBytes { buf in
            var offset = 0
            while offset < buf.count {
                let n = min(splitEvery, buf.count - offset)
                WebSocketMasking.unmask(UnsafeMutableRawBufferPointer(rebasing: buf[offset..<(offset + n)]), key: key, phase: offset & 3)
                offset += n
            }
        }
        #expect(pieces == whole)
    }

    @Test func maskTwiceIsIdentity() {
        let original = Array(0..<100).map(UInt8.init)
        var b = original
        let key = WebSocketMasking.key(9, 8, 7, 6)
        b.withUnsafeMutableBytes { WebSocketMasking.unmask($0, key: key, phase: 2) }
        #expect(b != original)
        b.withUnsafeMutableBytes { WebSocketMasking.unmask($0, key: key, phase: 2) }
        #expect(b == original)
    }
}
