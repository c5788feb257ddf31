/// How one chat request is answered: the command-line defaults, overridden by a `SIM[...]`
/// directive found in the raw request body.
///
/// The directive travels inside the user's message text, which the gateway JSON-escapes into the
/// upstream body, so it only uses characters that escaping leaves alone: letters, digits and
/// `_ = , . -`. The last well-formed directive in the body wins (a conversation's history may
/// carry older ones); unknown keys and unparsable values are ignored.
struct StreamPlan {
    /// A deliberate failure once `after` content tokens have been sent.
    enum Fault: Equatable {
        /// Close the TCP connection without the terminating chunk (`reset`: with an RST).
        case drop(reset: Bool)
        /// Send nothing more; keep the connection open until the client gives up.
        case stall
        /// An in-band `data: {"error": ...}` event, then the terminating chunk.
        case inbandError
    }

    var tokens: Int
    var intervalMilliseconds: UInt64
    var ttftMilliseconds: UInt64
    var keepAliveMilliseconds: UInt64
    var stamp = false
    var finishReason: [UInt8] = Array("stop".utf8)
    /// The request id `R`; nil means "the request's sequence number", `r1`, `r2`, ...
    var id: [UInt8]?
    var status: Int?
    var failFirst: Int?
    var retryAfter: [UInt8]?
    var dropAfter: Int?
    var dropWithReset = false
    var stallAfter: Int?
    var inbandErrorAfter: Int?
    var reasoning = 0
    /// Content tokens written together (with `interval_ms=0` and no fault): a fast upstream whose
    /// tokens arrive packed, several per read.
    var perWrite = 1

    static let maxTokens = 10_000_000
    static let maxMilliseconds: UInt64 = 86_400_000

    init(tokens: Int, intervalMilliseconds: UInt64, ttftMilliseconds: UInt64, keepAliveMilliseconds: UInt64) {
        self.tokens = tokens
        self.intervalMilliseconds = intervalMilliseconds
        self.ttftMilliseconds = ttftMilliseconds
        self.keepAliveMilliseconds = keepAliveMilliseconds
    }

    /// The earliest fault and the number of content tokens sent before it (ties: drop, stall,
    /// in-band error).
    var fault: (kind: Fault, after: Int)? {
        var best: (kind: Fault, after: Int)?
        if let k = dropAfter { best = (.drop(reset: dropWithReset), k) }
        if let k = stallAfter, best.map({ k < $0.after }) ?? true { best = (.stall, k) }
        if let k = inbandErrorAfter, best.map({ k < $0.after }) ?? true { best = (.inbandError, k) }
        return best
    }

    /// Whether the request with this 1-based attempt number gets the error status.
    func fails(attempt: Int) -> Bool {
        guard status != nil else { return false }
        guard let failFirst else { return true }
        return attempt <= failFirst
    }

    // MARK: Directive

    /// Applies the last well-formed `SIM[k=v,...]` in `body`.
    mutating func apply(directiveIn body: [UInt8]) {
        guard let range = Self.lastDirective(in: body) else { return }
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start
            while end < range.upperBound && body[end] != UInt8(ascii: ",") { end += 1 }
            let pair = body[start..<end]
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                apply(key: body[start..<equals], value: body[(equals + 1)..<end])
            }
            start = end + 1
        }
    }

    /// The inside of the last `SIM[...]` whose contents are all directive characters.
    static func lastDirective(in body: [UInt8]) -> Range<Int>? {
        var found: Range<Int>?
        var index = 0
        while index + 4 <= body.count {
            guard body.matches("SIM[", at: index) else {
                index += 1
                continue
            }
            let start = index + 4
            var end = start
            while end < body.count && isDirectiveCharacter(body[end]) { end += 1 }
            if end < body.count && body[end] == UInt8(ascii: "]") {
                found = start..<end
                index = end + 1
            } else {
                index = start
            }
        }
        return found
    }

    static func isDirectiveCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "="), UInt8(ascii: ","),
            UInt8(ascii: "."), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    private mutating func apply(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
        let number = Self.integer(value)
        let milliseconds = number.map { UInt64(min($0, Int(Self.maxMilliseconds))) }
        switch String(decoding: key, as: UTF8.self) {
        case "tokens": if let n = number { tokens = min(n, Self.maxTokens) }
        case "interval_ms": if let ms = milliseconds { intervalMilliseconds = ms }
        case "ttft_ms": if let ms = milliseconds { ttftMilliseconds = ms }
        case "keepalive_ms": if let ms = milliseconds { keepAliveMilliseconds = ms }
        case "stamp": if let n = number { stamp = n != 0 }
        case "finish": if !value.isEmpty && value.count <= 64 { finishReason = Array(value) }
        case "id": if !value.isEmpty && value.count <= 128 { id = Array(value) }
        case "status":
            if number == 200 { status = nil } else if let n = number, (400...599).contains(n) { status = n }
        case "fail_first": if let n = number { failFirst = n }
        case "retry_after": if !value.isEmpty && value.count <= 32 { retryAfter = Array(value) }
        case "drop_after": if let n = number { dropAfter = n }
        case "reset": if let n = number { dropWithReset = n != 0 }
        case "stall_after": if let n = number { stallAfter = n }
        case "inband_error_after": if let n = number { inbandErrorAfter = n }
        case "reasoning": if let n = number { reasoning = min(n, Self.maxTokens) }
        case "per_write": if let n = number { perWrite = max(1, min(n, 1024)) }
        default: break
        }
    }

    /// A non-negative decimal integer (at most 9 digits).
    static func integer(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value = 0
        for c in digits {
            guard c &- 0x30 < 10 else { return nil }
            value = value * 10 + Int(c - 0x30)
        }
        return value
    }

    // MARK: Other facts from the raw body

    /// The raw (still JSON-escaped) value of the first `"model": "..."` in `body`, when it is a
    /// plain string of printable characters; otherwise nil.
    static func model(in body: [UInt8]) -> ArraySlice<UInt8>? {
        var index = 0
        while index + 7 <= body.count {
            guard body.matches("\"model\"", at: index), index == 0 || body[index - 1] != UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            var cursor = index + 7
            skipWhitespace(body, &cursor)
            guard cursor < body.count, body[cursor] == UInt8(ascii: ":") else {
                index += 7
                continue
            }
            cursor += 1
            skipWhitespace(body, &cursor)
            guard cursor < body.count, body[cursor] == UInt8(ascii: "\"") else { return nil }
            let start = cursor + 1
            var end = start
            while end < body.count {
                let c = body[end]
                if c == UInt8(ascii: "\"") { break }
                if c < 0x20 { return nil }
                end += c == UInt8(ascii: "\\") ? 2 : 1
            }
            guard end < body.count, end > start, end - start <= 256,
                String(validating: body[start..<end], as: UTF8.self) != nil
            else { return nil }
            return body[start..<end]
        }
        return nil
    }

    private static func skipWhitespace(_ body: [UInt8], _ cursor: inout Int) {
        while cursor < body.count, body[cursor] == 0x20 || body[cursor] == 0x09 || body[cursor] == 0x0A || body[cursor] == 0x0D {
            cursor += 1
        }
    }
}
