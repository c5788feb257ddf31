/// Incremental UTF-8 validator (RFC 3629): rejects overlong forms, surrogates (U+D800-DFFF),
/// code points above U+10FFFF and stray or missing continuation bytes, as soon as the offending
/// byte is seen. Input may be split anywhere; state between calls is one byte.
///
/// Fast paths: ASCII is skipped 8 bytes at a time, and whole 2-, 3- and 4-byte sequences that lie
/// in the current buffer are checked at once; the byte-wise state machine only handles sequences
/// split across calls and the buffer's last few bytes.
public struct UTF8Validator: Sendable {
    // 0: at a character boundary. 1...3: that many generic continuation bytes (80-BF) expected.
    // 4: after E0 (next A0-BF), 5: after ED (next 80-9F), 6: after F0 (next 90-BF),
    // 7: after F4 (next 80-8F). 0xFF: an invalid sequence was seen.
    private var state: UInt8 = 0

    private static let failed: UInt8 = 0xFF

    public init() {}

    /// True when no partial sequence is pending and nothing invalid was seen: required at the end
    /// of a message.
    public var isAtCharacterBoundary: Bool { state == 0 }

    public mutating func reset() { state = 0 }

    /// Feeds the next bytes; returns false as soon as an invalid sequence is seen (and from then on).
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != Self.failed else { return false }
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        // Finish a sequence left open by the previous call.
        while state != 0 {
            guard i < count else { return true }
            if !step(base.load(fromByteOffset: i, as: UInt8.self)) { return false }
            i += 1
        }
        while i < count {
            // ASCII: 32, then 8 bytes at a time.
            while i + 32 <= count {
                let w =
                    base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    | base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                    | base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                    | base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                if w & 0x8080_8080_8080_8080 != 0 { break }
                i += 32
            }
            while i + 8 <= count,
                base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                i += 8
            }
            // A run of characters, each checked whole while 4 bytes remain (covers every length).
            while i + 4 <= count {
                let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                let b0 = UInt8(truncatingIfNeeded: v)
                let b1 = UInt8(truncatingIfNeeded: v >> 8)
                if b0 < 0x80 {
                    // Two ASCII bytes in a row: back to the word loops (always making progress).
                    if b1 < 0x80 {
                        i += 2
                        break
                    }
                    i += 1
                    continue
                }
                if b0 < 0xE0 {
                    // C2-DF 80-BF (C0, C1 and bare continuation bytes are invalid).
                    guard b0 >= 0xC2, b1 & 0xC0 == 0x80 else { return fail() }
                    i += 2
                    continue
                }
                let b2 = UInt8(truncatingIfNeeded: v >> 16)
                if b0 < 0xF0 {
                    let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
                    let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
                    guard b1 >= lo, b1 <= hi, b2 & 0xC0 == 0x80 else { return fail() }
                    i += 3
                    continue
                }
                let b3 = UInt8(truncatingIfNeeded: v >> 24)
                guard b0 <= 0xF4 else { return fail() }
                let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
                let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
                guard b1 >= lo, b1 <= hi, b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return fail() }
                i += 4
            }
            if i + 4 <= count { continue }
            // Near the end: byte by byte, possibly leaving a sequence open for the next call.
            while i < count {
                if !step(base.load(fromByteOffset: i, as: UInt8.self)) { return false }
                i += 1
            }
        }
        return true
    }

    private mutating func fail() -> Bool {
        state = Self.failed
        return false
    }

    /// One byte through the state machine; false (and failed state) on an invalid byte.
    private mutating func step(_ b: UInt8) -> Bool {
        switch state {
        case 0:
            switch b {
            case 0x00...0x7F: return true
            case 0xC2...0xDF: state = 1
            case 0xE0: state = 4
            case 0xED: state = 5
            case 0xE1...0xEF: state = 2
            case 0xF0: state = 6
            case 0xF1...0xF3: state = 3
            case 0xF4: state = 7
            default: return fail()  // 80-C1 (stray continuation, overlong 2-byte lead), F5-FF
            }
        case 1, 2, 3:
            guard b & 0xC0 == 0x80 else { return fail() }
            state -= 1
        case 4:
            guard b >= 0xA0, b <= 0xBF else { return fail() }
            state = 1
        case 5:
            guard b >= 0x80, b <= 0x9F else { return fail() }
            state = 1
        case 6:
            guard b >= 0x90, b <= 0xBF else { return fail() }
            state = 2
        case 7:
            guard b >= 0x80, b <= 0x8F else { return fail() }
            state = 2
        default:
            return false
        }
        return true
    }

    /// Validates a complete byte string in one call.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var v = UTF8Validator()
        return v.validate(bytes) && v.isAtCharacterBoundary
    }
}
