/// A JSON reader over borrowed bytes (RFC 8259), shared by `JSONValue.parse` (which builds values)
/// and the chat-chunk decoder (which walks a chunk once and materialises only the fields it wants).
///
/// Strings come back as tokens (offsets of their raw bytes and whether they contain escapes), so
/// comparing a key or skipping a value never allocates; only `string(_:)` does, and not even that
/// for strings of up to 15 UTF-8 bytes (Swift stores those inline).

/// A syntax error: a fixed message and the byte offset where it was found.
struct JSONSyntaxError: Error {
    let message: StaticString
    let offset: Int
}

/// Word-at-a-time byte tests (SWAR) over 8 bytes read as a little-endian `UInt64`.
///
/// Each returns a word with the high bit set in the bytes that match. The lowest set bit is exact
/// (a borrow only propagates upwards), higher ones may be false positives: callers use
/// `trailingZeroBitCount >> 3` to find the first match and re-examine from there.
enum ByteMask {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Bytes below `limit`, for `limit` ≤ 0x80.
    @inline(__always)
    static func below(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highBits
    }

    /// Bytes equal to `byte`.
    @inline(__always)
    static func equal(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        below(word ^ (ones &* UInt64(byte)), 1)
    }

    @inline(__always)
    static func load(_ base: UnsafePointer<UInt8>, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self))
    }
}

struct JSONCursor {
    /// The raw bytes of a string between its quotes.
    struct StringToken {
        var start: Int
        var end: Int
        var hasEscapes: Bool
    }

    /// The text of a number, already checked against the JSON grammar.
    struct NumberToken {
        var start: Int
        var end: Int
        /// No fraction and no exponent.
        var isInteger: Bool
    }

    let base: UnsafePointer<UInt8>
    let count: Int
    var index = 0

    /// `bytes` must not be empty; they must stay valid while the cursor and its tokens are used.
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(!bytes.isEmpty)
        base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        count = bytes.count
    }

    var isAtEnd: Bool { index >= count }

    /// The byte at the cursor, or 0 at the end (0 is never valid outside a string).
    @inline(__always)
    var current: UInt8 { index < count ? base[index] : 0 }

    func failure(_ message: StaticString) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: index)
    }

    /// `message` where a byte was there but not the right one, or "unexpected end of input".
    func expected(_ message: StaticString) -> JSONSyntaxError {
        isAtEnd ? failure("unexpected end of input") : failure(message)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact JSON has none: one test, inlined.
        guard index < count, base[index] <= 0x20 else { return }
        skipWhitespaceSlowly()
    }

    private mutating func skipWhitespaceSlowly() {
        while index < count {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    // MARK: Strings

    /// At an opening quote: moves past the closing quote. Checks escapes and rejects raw control
    /// characters; with `validateUTF8`, also rejects ill-formed UTF-8 (RFC 3629).
    @inline(__always)
    mutating func scanString(validateUTF8: Bool) throws(JSONSyntaxError) -> StringToken {
        index += 1
        let start = index
        var hasEscapes = false
        while true {
            while index &+ 8 <= count {
                let word = ByteMask.load(base, index)
                var special =
                    ByteMask.equal(word, 0x22) | ByteMask.equal(word, 0x5C) | ByteMask.below(word, 0x20)
                if validateUTF8 { special |= word & ByteMask.highBits }
                if special == 0 {
                    index &+= 8
                    continue
                }
                index &+= special.trailingZeroBitCount >> 3
                break
            }
            guard index < count else { throw failure("unterminated string") }
            let byte = base[index]
            switch byte {
            case 0x22:
                let token = StringToken(start: start, end: index, hasEscapes: hasEscapes)
                index += 1
                return token
            case 0x5C:
                hasEscapes = true
                try scanEscape()
            case 0..<0x20:
                throw failure("control character in string")
            case 0x80...:
                if validateUTF8 { try scanUTF8Sequence() } else { index += 1 }
            default:
                index += 1
            }
        }
    }

    private mutating func scanEscape() throws(JSONSyntaxError) {
        guard index + 1 < count else { throw failure("unterminated string") }
        switch base[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard index + 6 <= count else { throw failure("unterminated string") }
            for offset in 2..<6 where Self.hexValue(base[index + offset]) == nil {
                throw JSONSyntaxError(message: "invalid \\u escape", offset: index + offset)
            }
            index += 6
        default:
            throw failure("invalid escape")
        }
    }

    /// One well-formed UTF-8 sequence starting with a byte ≥ 0x80.
    private mutating func scanUTF8Sequence() throws(JSONSyntaxError) {
        let lead = base[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xED: length = 3; high = 0x9F  // no surrogates
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; low = 0x90
        case 0xF4: length = 4; high = 0x8F  // nothing above U+10FFFF
        case 0xF1...0xF3: length = 4
        default: throw failure("invalid UTF-8")
        }
        guard index + length <= count else { throw failure("invalid UTF-8") }
        let second = base[index + 1]
        guard second >= low, second <= high else { throw failure("invalid UTF-8") }
        for offset in 2..<length where base[index + offset] & 0xC0 != 0x80 {
            throw failure("invalid UTF-8")
        }
        index += length
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    /// The decoded string. Lone surrogates (`\uD800` without its pair) become U+FFFD, and so does
    /// ill-formed UTF-8 when the token was scanned without validation.
    func string(_ token: StringToken) -> String {
        let length = token.end - token.start
        guard token.hasEscapes else {
            return String(decoding: UnsafeBufferPointer(start: base + token.start, count: length), as: UTF8.self)
        }
        return unescapedString(token)
    }

    @inline(never)
    private func unescapedString(_ token: StringToken) -> String {
        let length = token.end - token.start
        // An escape never decodes to more bytes than its text: `\uXXXX` (6) to at most 3, a pair
        // (12) to 4, the others (2) to 1. So the raw length is enough capacity.
        if length <= 64 {
            // Decode on the stack: a result of up to 15 bytes then needs no allocation at all.
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
                let written = unescape(token, into: buffer.baseAddress!)
                return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<written]), as: UTF8.self)
            }
        }
        return String(unsafeUninitializedCapacity: length) { buffer in
            unescape(token, into: buffer.baseAddress!)
        }
    }

    private func unescape(_ token: StringToken, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var input = token.start
        var written = 0
        let end = token.end
        while input < end {
            var runEnd = input
            while runEnd < end, base[runEnd] != 0x5C { runEnd += 1 }
            if runEnd > input {
                (output + written).initialize(from: base + input, count: runEnd - input)
                written += runEnd - input
                input = runEnd
                if input == end { break }
            }
            // An escape, already checked by `scanString`.
            let kind = base[input + 1]
            input += 2
            let byte: UInt8
            switch kind {
            case UInt8(ascii: "n"): byte = 0x0A
            case UInt8(ascii: "t"): byte = 0x09
            case UInt8(ascii: "r"): byte = 0x0D
            case UInt8(ascii: "b"): byte = 0x08
            case UInt8(ascii: "f"): byte = 0x0C
            case UInt8(ascii: "u"):
                var scalar = hex4(at: input)
                input += 4
                if scalar & 0xFC00 == 0xD800 {
                    if input + 6 <= end, base[input] == 0x5C, base[input + 1] == UInt8(ascii: "u"),
                        case let low = hex4(at: input + 2), low & 0xFC00 == 0xDC00
                    {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        input += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar & 0xFC00 == 0xDC00 {
                    scalar = 0xFFFD
                }
                written += Self.encodeUTF8(scalar, into: output + written)
                continue
            default: byte = kind  // " \ /
            }
            (output + written).initialize(to: byte)
            written += 1
        }
        return written
    }

    private func hex4(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | (Self.hexValue(base[offset + k]) ?? 0) }
        return value
    }

    private static func encodeUTF8(_ scalar: UInt32, into output: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            output[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            output[0] = UInt8(0xC0 | scalar >> 6)
            output[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            output[0] = UInt8(0xE0 | scalar >> 12)
            output[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            output[0] = UInt8(0xF0 | scalar >> 18)
            output[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    /// Whether the string equals `literal`, without allocating unless the token has escapes.
    @inline(__always)
    func token(_ token: StringToken, is literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        if token.hasEscapes { return escapedToken(token, is: literal) }
        guard token.end - token.start == length else { return false }
        guard length > 0 else { return true }
        let text = literal.utf8Start
        let start = base + token.start
        guard start[0] == text[0] else { return false }
        if length >= 8 {
            // Both sides have at least 8 bytes: compare words, the last one overlapping.
            let other = UnsafeRawPointer(text)
            var offset = 0
            while offset + 8 < length {
                guard ByteMask.load(start, offset) == UInt64(littleEndian: other.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                else { return false }
                offset += 8
            }
            return ByteMask.load(start, length - 8) == UInt64(littleEndian: other.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self))
        }
        for k in 1..<length where start[k] != text[k] { return false }
        return true
    }

    @inline(never)
    private func escapedToken(_ token: StringToken, is literal: StaticString) -> Bool {
        string(token) == literal.description
    }

    // MARK: Numbers and literals

    /// At `-` or a digit: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func scanNumber() throws(JSONSyntaxError) -> NumberToken {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        switch current {
        case UInt8(ascii: "0"):
            index += 1
            if Self.isDigit(current) { throw failure("leading zero in number") }
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            index += 1
            skipDigits()
        default:
            throw expected("digit expected in number")
        }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            index += 1
            guard Self.isDigit(current) else { throw expected("digit expected after decimal point") }
            skipDigits()
            isInteger = false
        }
        if current | 0x20 == UInt8(ascii: "e") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard Self.isDigit(current) else { throw expected("digit expected in exponent") }
            skipDigits()
            isInteger = false
        }
        return NumberToken(start: start, end: index, isInteger: isInteger)
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func skipDigits() {
        while index < count, Self.isDigit(base[index]) { index += 1 }
    }

    /// The exact integer, or nil when the number has a fraction or exponent or does not fit.
    func intValue(_ number: NumberToken) -> Int? {
        guard number.isInteger else { return nil }
        var offset = number.start
        let negative = base[offset] == UInt8(ascii: "-")
        if negative { offset += 1 }
        var value = 0
        while offset < number.end {
            let digit = Int(base[offset] &- UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            // Accumulate negatively so that Int.min is representable.
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            offset += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// The nearest `Double`, or nil when the magnitude is beyond `Double`'s range.
    func doubleValue(_ number: NumberToken) -> Double? {
        if let integer = intValue(number) {
            // Keep the sign of -0.
            return integer == 0 && base[number.start] == UInt8(ascii: "-") ? -0.0 : Double(integer)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + number.start, count: number.end - number.start), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// The raw text of a number.
    func text(_ number: NumberToken) -> String {
        String(decoding: UnsafeBufferPointer(start: base + number.start, count: number.end - number.start), as: UTF8.self)
    }

    /// At the first byte of `literal` (`true`, `false` or `null`): moves past it.
    @inline(__always)
    mutating func scanLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        let text = literal.utf8Start
        // Fast path: the first four bytes as one word (every literal has at least four).
        if index + length <= count,
            UnsafeRawPointer(base + index).loadUnaligned(as: UInt32.self) == UnsafeRawPointer(text).loadUnaligned(as: UInt32.self),
            length == 4 || base[index + 4] == text[4]
        {
            index += length
            return
        }
        try scanLiteralSlowly(literal)
    }

    /// Finds where the literal goes wrong, for the error's offset.
    private mutating func scanLiteralSlowly(_ literal: StaticString) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        let text = literal.utf8Start
        for k in 0..<length {
            guard index + k < count, base[index + k] == text[k] else {
                index += k
                throw expected("invalid literal")
            }
        }
        index += length
    }

    // MARK: Containers

    /// Just after `{`: the first key, with the cursor at its value; nil for `{}` (cursor after `}`).
    @inline(__always)
    mutating func firstKey(validateUTF8: Bool) throws(JSONSyntaxError) -> StringToken? {
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        return try key(validateUTF8: validateUTF8)
    }

    /// After a member's value: the next key, or nil at `}` (cursor after it).
    @inline(__always)
    mutating func nextKey(validateUTF8: Bool) throws(JSONSyntaxError) -> StringToken? {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","):
            index += 1
            skipWhitespace()
            return try key(validateUTF8: validateUTF8)
        case UInt8(ascii: "}"):
            index += 1
            return nil
        default:
            throw expected("expected ',' or '}' in object")
        }
    }

    /// At a key: scans it and its colon; leaves the cursor at the value.
    @inline(__always)
    private mutating func key(validateUTF8: Bool) throws(JSONSyntaxError) -> StringToken {
        guard current == UInt8(ascii: "\"") else { throw expected("expected a string key") }
        let token = try scanString(validateUTF8: validateUTF8)
        if current != UInt8(ascii: ":") {
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw expected("expected ':' after key") }
        }
        index += 1
        skipWhitespace()
        return token
    }

    /// Just after `[`: true with the cursor at the first element; false for `[]` (cursor after `]`).
    mutating func firstElement() -> Bool {
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return false
        }
        return true
    }

    /// After an element: true with the cursor at the next one, false at `]` (cursor after it).
    mutating func nextElement() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","):
            index += 1
            skipWhitespace()
            return true
        case UInt8(ascii: "]"):
            index += 1
            return false
        default:
            throw expected("expected ',' or ']' in array")
        }
    }

    /// `skipValue` with the commonest case, a string, inlined.
    @inline(__always)
    mutating func skip(depth: Int, maxDepth: Int) throws(JSONSyntaxError) {
        if current == UInt8(ascii: "\"") {
            _ = try scanString(validateUTF8: false)
        } else {
            try skipValue(depth: depth, maxDepth: maxDepth)
        }
    }

    /// Checks and skips one value of any kind, without recursion or allocation. `depth` is the
    /// number of containers already open around it; a container nested deeper than `maxDepth`
    /// (at most 64) is an error. Strings are not checked for UTF-8 (the decoder ignores them).
    mutating func skipValue(depth: Int, maxDepth: Int) throws(JSONSyntaxError) {
        precondition(maxDepth <= 64)
        var objects: UInt64 = 0  // bit k: the container at level k (0 = outermost skipped) is an object
        var level = 0
        while true {
            // A value starts here.
            skipWhitespace()
            switch current {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = current == UInt8(ascii: "{")
                guard depth + level < maxDepth else { throw failure("nesting too deep") }
                index += 1
                if isObject { objects |= 1 << level } else { objects &= ~(1 << level) }
                level += 1
                skipWhitespace()
                if current == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index += 1
                    level -= 1
                } else {
                    if isObject { _ = try key(validateUTF8: false) }
                    continue
                }
            case UInt8(ascii: "\""):
                _ = try scanString(validateUTF8: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                _ = try scanNumber()
            case UInt8(ascii: "t"): try scanLiteral("true")
            case UInt8(ascii: "f"): try scanLiteral("false")
            case UInt8(ascii: "n"): try scanLiteral("null")
            default:
                throw expected("expected a value")
            }
            // A value ended: close finished containers, then go to the next value.
            while true {
                guard level > 0 else { return }
                skipWhitespace()
                let isObject = objects & (1 << (level - 1)) != 0
                let byte = current
                if byte == UInt8(ascii: ",") {
                    index += 1
                    if isObject {
                        skipWhitespace()
                        _ = try key(validateUTF8: false)
                    }
                    break
                }
                guard byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw expected(isObject ? "expected ',' or '}' in object" : "expected ',' or ']' in array")
                }
                index += 1
                level -= 1
            }
        }
    }
}

// MARK: - JSONValue parsing

extension JSONValue {
    /// Parses one JSON text (RFC 8259, strictly): no comments, trailing commas, NaN or leading
    /// zeros; surrounding whitespace only; ill-formed UTF-8 rejected; duplicate keys: the last wins.
    /// Arrays and objects may nest `maxDepth` deep.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 32) throws(JSONParseError) -> JSONValue {
        guard !bytes.isEmpty else { throw JSONParseError(message: "unexpected end of input", offset: 0) }
        var cursor = JSONCursor(bytes)
        do throws(JSONSyntaxError) {
            let value = try cursor.parseValue(depth: 0, maxDepth: maxDepth)
            cursor.skipWhitespace()
            guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the value") }
            return value
        } catch {
            throw JSONParseError(message: error.message.description, offset: error.offset)
        }
    }

    static func parse(_ text: String, maxDepth: Int = 32) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { utf8 in
            Result { () throws(JSONParseError) -> JSONValue in
                try parse(UnsafeRawBufferPointer(utf8), maxDepth: maxDepth)
            }
        }
        return try result.get()
    }
}

extension JSONCursor {
    fileprivate mutating func parseValue(depth: Int, maxDepth: Int) throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        switch current {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw failure("nesting too deep") }
            index += 1
            var object: [String: JSONValue] = [:]
            var key = try firstKey(validateUTF8: true)
            while let name = key {
                object[string(name)] = try parseValue(depth: depth + 1, maxDepth: maxDepth)
                key = try nextKey(validateUTF8: true)
            }
            return .object(object)
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw failure("nesting too deep") }
            index += 1
            var array: [JSONValue] = []
            var more = firstElement()
            while more {
                array.append(try parseValue(depth: depth + 1, maxDepth: maxDepth))
                more = try nextElement()
            }
            return .array(array)
        case UInt8(ascii: "\""):
            return .string(string(try scanString(validateUTF8: true)))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            let number = try scanNumber()
            guard let value = doubleValue(number) else {
                throw JSONSyntaxError(message: "number out of range", offset: start)
            }
            return .number(value)
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return .null
        default:
            throw expected("expected a value")
        }
    }
}
