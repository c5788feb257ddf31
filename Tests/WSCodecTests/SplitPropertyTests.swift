import Testing
import WSCodec

/// A fixed valid stream exercising every path: fragmented text with an interleaved ping and a
/// multi-byte character split across fragments, 16-bit lengths, empty frames, binary, a close,
/// and junk after the close (ignored).
private let stream: [UInt8] = {
    let euro: [UInt8] = [0xE2, 0x82, 0xAC]
    var s: [UInt8] = []
    s += cf(.text, fin: false, Array("Hello, ".utf8) + [euro[0]])
    s += cf(.ping, Array("p1".utf8))
    s += cf(.continuation, fin: false, [euro[1]])
    s += cf(.continuation, fin: false, [])
    s += cf(.pong, [])
    s += cf(.continuation, fin: true, [euro[2]] + Array(" 世界 😀".utf8))
    s += cf(.binary, (0..<300).map { UInt8(truncatingIfNeeded: $0) })
    s += cf(.text, "")
    s += cf(.text, "Привет")
    s += cf(.binary, fin: false, [])
    s += cf(.continuation, fin: false, [1, 2, 3])
    s += cf(.ping, [UInt8](repeating: 0x5A, count: 125))
    s += cf(.continuation, fin: true, [4])
    s += cf(.text, String(repeating: "ab", count: 70))
    s += cf(.close, closeBytes(1000, Array("done ✓".utf8)))
    s += [0x81, 0x00, 0xFF]  // after the close: ignored
    return s
}()

private let expected: [Recorded] = [
    .ping(Array("p1".utf8)),
    .pong([]),
    .text("Hello, € 世界 😀"),
    .binary((0..<300).map { UInt8(truncatingIfNeeded: $0) }),
    .text(""),
    .text("Привет"),
    .ping([UInt8](repeating: 0x5A, count: 125)),
    .binary([1, 2, 3, 4]),
    .text(String(repeating: "ab", count: 70)),
    .close(1000, Array("done ✓".utf8)),
]

/// A stream that is valid up to a UTF-8 error in the middle of a fragmented text message.
private let badStream: [UInt8] =
    cf(.binary, [1, 2, 3]) + cf(.text, fin: false, Array("abc".utf8) + [0xF0, 0x9F]) + cf(.ping, [7])
    + cf(.continuation, fin: false, [0x98, 0xC0, 0x41]) + cf(.continuation, "tail")

@Suite struct SplitPropertyTests {
    @Test func wholeStreamGivesTheExpectedEvents() {
        let outcome = feed([stream])
        #expect(outcome.error == nil)
        #expect(outcome.events == expected)
    }

    @Test func everySplitPointGivesTheSameEvents() {
        for split in 0...stream.count {
            let outcome = feed([Array(stream[..<split]), Array(stream[split...])])
            #expect(outcome == ParseOutcome(events: expected, error: nil), "split at \(split)")
        }
    }

    @Test func oneByteAtATime() {
        #expect(feed(stream.map { [$0] }) == ParseOutcome(events: expected, error: nil))
    }

    @Test(arguments: 0..<20)
    func randomChunkings(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        for _ in 0..<25 {
            var chunks: [[UInt8]] = []
            var offset = 0
            let maxChunk = [1, 3, 16, 64, 200, stream.count].randomElement(using: &rng)!
            while offset < stream.count {
                let n = Int.random(in: 0...maxChunk, using: &rng)  // empty chunks included
                let end = min(stream.count, offset + n)
                chunks.append(Array(stream[offset..<end]))
                offset = end
            }
            #expect(feed(chunks) == ParseOutcome(events: expected, error: nil), "\(chunks.map(\.count))")
        }
    }

    @Test func everySplitOfAnInvalidStreamFailsTheSame() {
        let whole = feed([badStream])
        #expect(whole.error?.code == .invalidPayload)
        #expect(whole.events == [.binary([1, 2, 3]), .ping([7])])
        for split in 0...badStream.count {
            #expect(feed([Array(badStream[..<split]), Array(badStream[split...])]) == whole, "split at \(split)")
        }
        #expect(feed(badStream.map { [$0] }) == whole)
    }
}
