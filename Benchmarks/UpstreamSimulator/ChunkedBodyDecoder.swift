/// Decodes a `Transfer-Encoding: chunked` request body (RFC 9112 §7.1) incrementally; chunk
/// extensions and trailer fields are skipped.
struct ChunkedBodyDecoder {
    private enum State {
        case size
        case sizeExtension
        case sizeLF
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLF
        case finalLF
        case done
    }

    private var state = State.size
    private var size = 0
    private var sawDigit = false

    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes bytes of `input`, appending chunk data to `body`; returns how many bytes were
    /// consumed (all of them unless the body ended inside `input`), or nil when malformed.
    mutating func decode(_ input: UnsafeRawBufferPointer, into body: inout [UInt8]) -> Int? {
        var index = 0
        while index < input.count {
            let c = input[index]
            switch state {
            case .size:
                if let digit = Self.hexValue(c) {
                    guard size < 1 << 27 else { return nil }
                    size = size << 4 | digit
                    sawDigit = true
                } else if sawDigit && (c == UInt8(ascii: ";") || c == 0x20 || c == 0x09) {
                    state = .sizeExtension
                } else if sawDigit && c == 0x0D {
                    state = .sizeLF
                } else {
                    return nil
                }
                index += 1
            case .sizeExtension:
                if c == 0x0D { state = .sizeLF } else if c == 0x0A { return nil }
                index += 1
            case .sizeLF:
                guard c == 0x0A else { return nil }
                state = size == 0 ? .trailerLineStart : .data(remaining: size)
                size = 0
                sawDigit = false
                index += 1
            case .data(let remaining):
                let take = min(remaining, input.count - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index..<(index + take)]))
                index += take
                state = remaining == take ? .dataCR : .data(remaining: remaining - take)
            case .dataCR:
                guard c == 0x0D else { return nil }
                state = .dataLF
                index += 1
            case .dataLF:
                guard c == 0x0A else { return nil }
                state = .size
                index += 1
            case .trailerLineStart:
                state = c == 0x0D ? .finalLF : .trailerLine
                index += 1
            case .trailerLine:
                if c == 0x0D { state = .trailerLF } else if c == 0x0A { return nil }
                index += 1
            case .trailerLF:
                guard c == 0x0A else { return nil }
                state = .trailerLineStart
                index += 1
            case .finalLF:
                guard c == 0x0A else { return nil }
                state = .done
                return index + 1
            case .done:
                return index
            }
        }
        return index
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
