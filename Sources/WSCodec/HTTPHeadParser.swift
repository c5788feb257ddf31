/// Why a request head was refused, with the HTTP status to answer.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400 malformed, 431 head too large, 505 HTTP version not supported.
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status) \(reason)" }
}

/// Incremental HTTP/1.x request-head parser (RFC 9112 §2-5).
///
/// Decisions:
/// - Lines end with CRLF only. A bare LF or a CR not followed by LF is rejected (400) rather than
///   tolerated: lenient line endings are a request-smuggling vector and no real client sends them.
/// - Empty lines before the request line are skipped (RFC 9112 §2.2); they count toward the limit.
/// - obs-fold (a field line starting with space or tab) is rejected (400).
/// - Field names must be tokens with no whitespace before the colon; values may not contain NUL,
///   CR, LF or other control characters except tab (400).
/// - Only `HTTP/1.0` and `HTTP/1.1` are accepted; another well-formed `HTTP/d.d` gets 505.
/// - The head (request line through the empty line) may be at most `maxHeadBytes`; 431 is returned
///   as soon as more than that has arrived without the end of the head.
///
/// The parser looks at the input in place when a head arrives in one piece; only a head split over
/// several reads is copied into an internal buffer. After `.complete` it is ready for the next
/// request.
public struct HTTPHeadParser: Sendable {
    public enum Result {
        case needMoreData
        /// `consumed`: how many bytes of the last `input` belonged to the head; the rest (early
        /// WebSocket frames, a body, a pipelined request) is the caller's.
        case complete(HTTPRequestHead, consumed: Int)
        case failure(HTTPParseError)
    }

    public let maxHeadBytes: Int
    private var buffer: [UInt8] = []
    /// Bytes of the head seen so far that have been scanned for line ends.
    private var scanned = 0
    /// Offset of the start of the current line.
    private var lineStart = 0
    /// Offset of the request line (after skipped empty lines).
    private var headStart = 0
    private var sawRequestLine = false
    private var error: HTTPParseError?

    public init(maxHeadBytes: Int = 8192) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Bytes of an incomplete head held internally.
    public var bufferedBytes: Int { buffer.count }

    public mutating func parse(_ input: UnsafeRawBufferPointer) -> Result {
        if let error { return .failure(error) }
        if buffer.isEmpty && scanned == 0 {
            // Fast path: scan the caller's bytes in place.
            switch scan(input) {
            case .end(let end):
                let result = Self.parseHead(UnsafeRawBufferPointer(rebasing: input[headStart..<end]))
                return finish(result, consumed: end)
            case .incomplete:
                if let error { return .failure(error) }
                buffer.append(contentsOf: input)
                return .needMoreData
            case .error(let e):
                return fail(e)
            }
        }
        // Continue a head split over reads: append only what may still belong to the head.
        let before = buffer.count
        let room = max(0, maxHeadBytes - before)
        let take = min(input.count, room + 1)  // one byte more than the room to detect overflow
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<take]))
        let outcome = buffer.withUnsafeBytes { scan($0) }
        switch outcome {
        case .end(let end):
            let result = buffer.withUnsafeBytes {
                Self.parseHead(UnsafeRawBufferPointer(rebasing: $0[headStart..<end]))
            }
            return finish(result, consumed: end - before)
        case .incomplete:
            if let error { return .failure(error) }
            return .needMoreData
        case .error(let e):
            return fail(e)
        }
    }

    private enum ScanOutcome {
        case end(Int)
        case incomplete
        case error(HTTPParseError)
    }

    /// Scans `bytes` (the whole head so far) from `scanned` for the empty line ending the head.
    private mutating func scan(_ bytes: UnsafeRawBufferPointer) -> ScanOutcome {
        let limit = min(bytes.count, maxHeadBytes)
        var i = scanned
        while i < limit {
            let c = bytes[i]
            if c == ASCII.lf {
                guard i > lineStart, bytes[i - 1] == ASCII.cr else {
                    return .error(HTTPParseError(status: 400, reason: "Bare LF in request head"))
                }
                let lineLength = i - 1 - lineStart
                lineStart = i + 1
                if lineLength == 0 {
                    if sawRequestLine {
                        scanned = i + 1
                        return .end(i + 1)
                    }
                    headStart = i + 1  // empty line before the request line: skip
                } else {
                    sawRequestLine = true
                }
            } else if i > lineStart, bytes[i - 1] == ASCII.cr {
                return .error(HTTPParseError(status: 400, reason: "CR not followed by LF in request head"))
            }
            i += 1
        }
        scanned = i
        if bytes.count > maxHeadBytes {
            error = HTTPParseError(status: 431, reason: "Request Header Fields Too Large")
            return .error(error!)
        }
        return .incomplete
    }

    private mutating func finish(_ result: Swift.Result<HTTPRequestHead, HTTPParseError>, consumed: Int) -> Result {
        switch result {
        case .success(let head):
            resetState()
            return .complete(head, consumed: consumed)
        case .failure(let e):
            return fail(e)
        }
    }

    private mutating func fail(_ e: HTTPParseError) -> Result {
        error = e
        buffer = []
        return .failure(e)
    }

    private mutating func resetState() {
        buffer = []
        scanned = 0
        lineStart = 0
        headStart = 0
        sawRequestLine = false
    }

    /// Forgets everything, including a previous failure.
    public mutating func reset() {
        resetState()
        error = nil
    }

    // MARK: - Parsing a complete head

    /// Parses `head`: the request line through the final CRLF CRLF, every line CRLF-terminated.
    static func parseHead(_ head: UnsafeRawBufferPointer) -> Swift.Result<HTTPRequestHead, HTTPParseError> {
        var lineStart = 0
        var request: HTTPRequestHead?
        var headers: [(name: String, value: String)] = []
        var i = 0
        let n = head.count
        while i < n {
            guard head[i] == ASCII.lf else {
                i += 1
                continue
            }
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<(i - 1)])  // without CRLF
            lineStart = i + 1
            i += 1
            if line.isEmpty { break }  // the final empty line
            if request == nil {
                switch parseRequestLine(line) {
                case .success(let r): request = r
                case .failure(let e): return .failure(e)
                }
            } else {
                switch parseFieldLine(line) {
                case .success(let f): headers.append(f)
                case .failure(let e): return .failure(e)
                }
            }
        }
        guard var request else { return .failure(HTTPParseError(status: 400, reason: "Missing request line")) }
        request.headers = headers
        return .success(request)
    }

    private static func bad(_ reason: String) -> Swift.Result<HTTPRequestHead, HTTPParseError> {
        .failure(HTTPParseError(status: 400, reason: reason))
    }

    static func parseRequestLine(_ line: UnsafeRawBufferPointer) -> Swift.Result<HTTPRequestHead, HTTPParseError> {
        // method SP request-target SP HTTP-version, single spaces.
        guard let sp1 = line.firstIndex(of: ASCII.sp), sp1 > 0 else { return bad("Malformed request line") }
        guard let sp2 = line[(sp1 + 1)...].firstIndex(of: ASCII.sp), sp2 > sp1 + 1 else {
            return bad("Malformed request line")
        }
        let method = line[..<sp1]
        let target = line[(sp1 + 1)..<sp2]
        let version = line[(sp2 + 1)...]
        guard method.allSatisfy(ASCII.isTokenChar) else { return bad("Invalid method") }
        // Visible ASCII only (no spaces, controls or raw non-ASCII bytes).
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return bad("Invalid request target") }
        // HTTP-version = "HTTP/" DIGIT "." DIGIT
        let v = Array(version)
        guard v.count == 8, v[0...4].elementsEqual("HTTP/".utf8), v[6] == UInt8(ascii: "."),
            v[5] &- 0x30 < 10, v[7] &- 0x30 < 10
        else { return bad("Malformed HTTP version") }
        guard v[5] == UInt8(ascii: "1"), v[7] == UInt8(ascii: "0") || v[7] == UInt8(ascii: "1") else {
            return .failure(HTTPParseError(status: 505, reason: "HTTP Version Not Supported"))
        }
        return .success(
            HTTPRequestHead(
                method: String(decoding: method, as: UTF8.self),
                target: String(decoding: target, as: UTF8.self),
                versionMinor: Int(v[7] - 0x30),
                headers: []))
    }

    static func parseFieldLine(_ line: UnsafeRawBufferPointer) -> Swift.Result<(name: String, value: String), HTTPParseError> {
        func bad(_ r: String) -> Swift.Result<(name: String, value: String), HTTPParseError> {
            .failure(HTTPParseError(status: 400, reason: r))
        }
        if ASCII.isOWS(line[0]) { return bad("Obsolete line folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return bad("Malformed header line") }
        let name = line[..<colon]
        guard name.allSatisfy(ASCII.isTokenChar) else { return bad("Invalid header name") }
        var start = colon + 1
        var end = line.count
        while start < end, ASCII.isOWS(line[start]) { start += 1 }
        while end > start, ASCII.isOWS(line[end - 1]) { end -= 1 }
        let value = line[start..<end]
        // field-vchar / SP / HTAB / obs-text: no other controls (NUL, CR, LF, DEL ...).
        guard value.allSatisfy({ $0 >= 0x20 ? $0 != 0x7F : $0 == ASCII.htab }) else {
            return bad("Invalid character in header value")
        }
        return .success((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }
}
