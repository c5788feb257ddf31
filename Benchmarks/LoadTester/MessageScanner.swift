/// The top-level fields of one server message that the chat scenario reads, found without a
/// general JSON parser (the tester must stay cheap next to the server). String fields are byte
/// ranges of the message: the contents between the quotes, still JSON-escaped.
struct ServerMessage {
    var type: Range<Int>?
    var status: Range<Int>?
    var delta: Range<Int>?
    var errorCode: Range<Int>?
    var finishReason: Range<Int>?
    var conversationID: Range<Int>?
    /// `usage.completion_tokens`, when the message has a usage object.
    var completionTokens: Int?
}

enum MessageScanner {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    /// Scans one JSON object; nil when it is not one.
    static func scan(_ b: UnsafeRawBufferPointer) -> ServerMessage? {
        var m = ServerMessage()
        var i = 0
        let n = b.count
        skipSpace(b, &i)
        guard i < n, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while true {
            skipSpace(b, &i)
            guard i < n else { return nil }
            if b[i] == UInt8(ascii: "}") { return m }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == quote, let key = string(b, &i) else { return nil }
            skipSpace(b, &i)
            guard i < n, b[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace(b, &i)
            guard i < n else { return nil }
            switch b[i] {
            case quote:
                guard let value = string(b, &i) else { return nil }
                if equals(b, key, "type") {
                    m.type = value
                } else if equals(b, key, "status") {
                    m.status = value
                } else if equals(b, key, "delta") {
                    m.delta = value
                } else if equals(b, key, "error_code") {
                    m.errorCode = value
                } else if equals(b, key, "finish_reason") {
                    m.finishReason = value
                } else if equals(b, key, "conversation_id") {
                    m.conversationID = value
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let start = i
                guard skipComposite(b, &i) else { return nil }
                if equals(b, key, "usage") { m.completionTokens = number(after: "\"completion_tokens\"", in: b, start..<i) }
            default:
                while i < n && b[i] != UInt8(ascii: ",") && b[i] != UInt8(ascii: "}") { i += 1 }
            }
        }
    }

    /// Calls `body` with every `⟨digits⟩` stamp in the (still escaped) string `range`; the
    /// brackets may also arrive escaped as `\u27e8` / `\u27e9`.
    static func forEachStamp(in b: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (UInt64) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            var digitsStart = -1
            if b[i] == 0xE2, i + 2 < end, b[i + 1] == 0x9F, b[i + 2] == 0xA8 {
                digitsStart = i + 3
            } else if b[i] == backslash, i + 5 < end, b[i + 1] == UInt8(ascii: "u"), b[i + 2] == UInt8(ascii: "2"),
                b[i + 3] == UInt8(ascii: "7"), b[i + 4] | 0x20 == UInt8(ascii: "e"), b[i + 5] == UInt8(ascii: "8")
            {
                digitsStart = i + 6
            } else {
                i += b[i] == backslash ? 2 : 1
                continue
            }
            var j = digitsStart
            var value: UInt64 = 0
            while j < end, b[j] &- 0x30 < 10, j - digitsStart < 20 {
                value = value &* 10 &+ UInt64(b[j] &- 0x30)
                j += 1
            }
            let closesRaw = j + 2 < end && b[j] == 0xE2 && b[j + 1] == 0x9F && b[j + 2] == 0xA9
            let closesEscaped = j + 5 < end && b[j] == backslash && b[j + 1] == UInt8(ascii: "u") && b[j + 2] == UInt8(ascii: "2")
                && b[j + 3] == UInt8(ascii: "7") && b[j + 4] | 0x20 == UInt8(ascii: "e") && b[j + 5] == UInt8(ascii: "9")
            if j > digitsStart && (closesRaw || closesEscaped) {
                body(value)
                i = j + (closesRaw ? 3 : 6)
            } else {
                i = digitsStart
            }
        }
    }

    static func equals(_ b: UnsafeRawBufferPointer, _ range: Range<Int>?, _ text: StaticString) -> Bool {
        guard let range, range.count == text.utf8CodeUnitCount else { return false }
        let t = text.utf8Start
        for k in 0..<range.count where b[range.lowerBound + k] != t[k] { return false }
        return true
    }

    static func equals(_ b: UnsafeRawBufferPointer, _ range: Range<Int>?, _ bytes: [UInt8]) -> Bool {
        guard let range, range.count == bytes.count else { return false }
        for k in 0..<range.count where b[range.lowerBound + k] != bytes[k] { return false }
        return true
    }

    static func text(_ b: UnsafeRawBufferPointer, _ range: Range<Int>?) -> String {
        guard let range else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: b[range]), as: UTF8.self)
    }

    // MARK: Pieces

    private static func skipSpace(_ b: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// At a quote: returns the contents' range and moves past the closing quote.
    private static func string(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Range<Int>? {
        let start = i + 1
        var j = start
        while j < b.count {
            if b[j] == backslash {
                j += 2
            } else if b[j] == quote {
                i = j + 1
                return start..<j
            } else {
                j += 1
            }
        }
        return nil
    }

    /// At `{` or `[`: moves past the matching bracket (strings skipped whole).
    private static func skipComposite(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Bool {
        var depth = 0
        while i < b.count {
            switch b[i] {
            case quote:
                guard string(b, &i) != nil else { return false }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    i += 1
                    return true
                }
            default:
                break
            }
            i += 1
        }
        return false
    }

    private static func number(after key: StaticString, in b: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        let k = key.utf8Start
        let length = key.utf8CodeUnitCount
        var i = range.lowerBound
        while i + length <= range.upperBound {
            var match = true
            for t in 0..<length where b[i + t] != k[t] {
                match = false
                break
            }
            if match {
                var j = i + length
                while j < range.upperBound, b[j] == 0x20 || b[j] == UInt8(ascii: ":") { j += 1 }
                var value = 0
                var digits = 0
                while j < range.upperBound, b[j] &- 0x30 < 10, digits < 18 {
                    value = value * 10 + Int(b[j] - 0x30)
                    j += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            i += 1
        }
        return nil
    }
}
