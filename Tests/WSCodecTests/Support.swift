import WSCodec

/// An event copied out of the parser's buffers.
enum Recorded: Equatable, CustomStringConvertible {
    case text([UInt8])
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, [UInt8])

    var description: String {
        switch self {
        case .text(let b): "text(\(String(decoding: b, as: UTF8.self).debugDescription))"
        case .binary(let b): "binary(\(b.count) bytes)"
        case .ping(let b): "ping(\(b))"
        case .pong(let b): "pong(\(b))"
        case .close(let c, let r): "close(\(c.map(String.init) ?? "nil"), \(String(decoding: r, as: UTF8.self).debugDescription))"
        }
    }

    static func text(_ s: String) -> Recorded { .text(Array(s.utf8)) }
}

struct Recorder: WebSocketEventSink {
    var events: [Recorded] = []

    mutating func webSocketEvent(_ event: WebSocketEvent) {
        switch event {
        case .text(let b): events.append(.text(Array(b)))
        case .binary(let b): events.append(.binary(Array(b)))
        case .ping(let b): events.append(.ping(Array(b)))
        case .pong(let b): events.append(.pong(Array(b)))
        case .close(let code, let reason): events.append(.close(code?.rawValue, Array(reason)))
        }
    }
}

struct ParseOutcome: Equatable, CustomStringConvertible {
    var events: [Recorded]
    var error: WebSocketProtocolError?
    var description: String { "events: \(events), error: \(error.map(\.description) ?? "nil")" }
}

/// Feeds `chunks` (copied: the parser unmasks in place) to a fresh parser.
func feed(
    _ chunks: [[UInt8]], role: WebSocketParser.Role = .server, maxMessageBytes: Int = 64 * 1024
) -> ParseOutcome {
    var parser = WebSocketParser(role: role, maxMessageBytes: maxMessageBytes)
    return feed(chunks, into: &parser)
}

func feed(_ chunks: [[UInt8]], into parser: inout WebSocketParser) -> ParseOutcome {
    var recorder = Recorder()
    var firstError: WebSocketProtocolError?
    for chunk in chunks {
        var copy = chunk
        let error = copy.withUnsafeMutableBytes { parser.parse($0, into: &recorder) }
        if firstError == nil, let error { firstError = error }
        if firstError != nil { break }
    }
    return ParseOutcome(events: recorder.events, error: firstError)
}

let testMaskKey: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

/// A masked client frame with the test key.
func cf(_ opcode: WebSocketOpcode, fin: Bool = true, _ payload: [UInt8] = [], rsv: UInt8 = 0) -> [UInt8] {
    WebSocketFrameEncoder.maskedFrame(opcode: opcode, fin: fin, payload: payload, maskKey: testMaskKey, rsv: rsv)
}

func cf(_ opcode: WebSocketOpcode, fin: Bool = true, _ text: String) -> [UInt8] {
    cf(opcode, fin: fin, Array(text.utf8))
}

/// A close payload with an arbitrary raw code.
func closeBytes(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}

/// Deterministic PRNG for reproducible random tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        var out: [UInt8] = []
        var it = hex.split(separator: " ").makeIterator()
        while let h = it.next() { out.append(UInt8(h, radix: 16)!) }
        self = out
    }
}
