/// Appending ASCII, numbers and JSON strings to byte arrays without building `String`s, so the
/// per-token path allocates nothing once its buffers have grown.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Decimal digits of `value`.
    mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        appendDecimal(UInt64(value.magnitude))
    }

    mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 0x30)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        Swift.withUnsafeMutableBytes(of: &digits) { scratch in
            var index = scratch.count
            var rest = value
            while rest > 0 {
                index -= 1
                scratch[index] = UInt8(truncatingIfNeeded: rest % 10) &+ 0x30
                rest /= 10
            }
            append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    /// Lower-case hexadecimal digits of `value` (an HTTP chunk size).
    mutating func appendHex(_ value: Int) {
        let hex: StaticString = "0123456789abcdef"
        var shift = 60
        while shift > 0 && (UInt64(value) >> UInt64(shift)) == 0 { shift -= 4 }
        hex.withUTF8Buffer { digits in
            while shift >= 0 {
                append(digits[Int((UInt64(value) >> UInt64(shift)) & 0xF)])
                shift -= 4
            }
        }
    }

    /// `bytes` as the inside of a JSON string: quotes, backslashes and control characters escaped,
    /// everything else (UTF-8 included) as is. The caller guarantees valid UTF-8.
    mutating func appendJSONEscaped<S: Sequence<UInt8>>(_ bytes: S) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x00..<0x20, 0x7F:
                append("\\u00")
                let hex: StaticString = "0123456789abcdef"
                hex.withUTF8Buffer { digits in
                    append(digits[Int(byte >> 4)])
                    append(digits[Int(byte & 0xF)])
                }
            default: append(byte)
            }
        }
    }

    /// A JSON string literal (quotes included) for arbitrary bytes; invalid UTF-8 is repaired
    /// (U+FFFD) first so the output is always valid JSON.
    mutating func appendJSONString(_ bytes: [UInt8]) {
        append(UInt8(ascii: "\""))
        let text = String(decoding: bytes, as: UTF8.self)
        appendJSONEscaped(text.utf8)
        append(UInt8(ascii: "\""))
    }

    mutating func appendJSONString(_ text: String) {
        append(UInt8(ascii: "\""))
        appendJSONEscaped(text.utf8)
        append(UInt8(ascii: "\""))
    }

    /// Whether the bytes at `offset` are `needle`.
    func matches(_ needle: StaticString, at offset: Int) -> Bool {
        needle.withUTF8Buffer { pattern in
            guard offset >= 0, offset + pattern.count <= count else { return false }
            for index in 0..<pattern.count where self[offset + index] != pattern[index] { return false }
            return true
        }
    }
}
