extension JSONValue {
    /// Compact JSON with object keys sorted (deterministic output). Strings are escaped per RFC 8259
    /// (quote, backslash, control characters); other characters stay UTF-8. Integral numbers within
    /// ±2^53 are written without a fraction; non-finite numbers, which JSON cannot express, as `null`.
    func serialized() -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        serialize(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func serialize(into bytes: inout [UInt8]) {
        switch self {
        case .null:
            bytes.append(contentsOf: "null".utf8)
        case .bool(let value):
            bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        case .number(let value):
            Self.serializeNumber(value, into: &bytes)
        case .string(let value):
            Self.serializeString(value, into: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                element.serialize(into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (position, key) in members.keys.sorted().enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.serializeString(key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                members[key]!.serialize(into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private static func serializeNumber(_ value: Double, into bytes: inout [UInt8]) {
        guard value.isFinite else {
            bytes.append(contentsOf: "null".utf8)
            return
        }
        let exactLimit = 9_007_199_254_740_992.0  // 2^53
        if value.rounded(.towardZero) == value, value.magnitude <= exactLimit {
            var integer = Int(value)
            if integer < 0 {
                bytes.append(UInt8(ascii: "-"))
                integer = -integer
            }
            // At most 16 digits; write them backwards into a small stack buffer.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
                var position = digits.count
                repeat {
                    position -= 1
                    digits[position] = UInt8(ascii: "0") + UInt8(integer % 10)
                    integer /= 10
                } while integer > 0
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
            }
            return
        }
        // Swift's shortest round-tripping form: "0.1", "1e-07", "1.5e+300": all valid JSON.
        bytes.append(contentsOf: value.description.utf8)
    }

    private static func serializeString(_ value: String, into bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { appendQuoted(UnsafeRawBufferPointer($0), to: &bytes) }
    }

    /// Appends `utf8` as a JSON string (RFC 8259): quote, backslash and control characters
    /// escaped, everything else (UTF-8 included) copied in runs. Shared with `JSONWriter`, whose
    /// server messages take this path for every relayed token.
    static func appendQuoted(_ utf8: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for position in 0..<utf8.count {
            let byte = utf8[position]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < position { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<position])) }
            runStart = position + 1
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            default:
                let hexDigits: StaticString = "0123456789abcdef"
                bytes.append(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(hexDigits.utf8Start[Int(byte >> 4)])
                bytes.append(hexDigits.utf8Start[Int(byte & 0xF)])
            }
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }
}
