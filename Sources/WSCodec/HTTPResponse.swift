/// Serialisation of small, complete HTTP/1.1 responses (errors, health checks, pages).
public enum HTTPResponse {
    /// A complete HTTP/1.1 response: status line, `headers`, `Content-Length` (except for 1xx, 204
    /// and 304), `Connection: close` when `close` is true, the empty line, and `body`.
    /// Caller-supplied `Content-Length` headers are dropped (ours is authoritative), as is a
    /// `Connection` header when `close` is true; CR, LF and NUL in names or values become spaces.
    public static func serialize(
        status: Int, reason: String? = nil, headers: [(String, String)] = [], body: [UInt8] = [], close: Bool = true
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + body.count + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(ASCII.sp)
        appendSanitized(reason ?? defaultReason(status), to: &out)
        out.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers {
            if ASCII.equalsIgnoringCase(name, "Content-Length") { continue }
            if close && ASCII.equalsIgnoringCase(name, "Connection") { continue }
            appendHeader(name, value, to: &out)
        }
        let bodyless = (100..<200).contains(status) || status == 204 || status == 304
        if !bodyless {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(body.count).utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if close { out.append(contentsOf: "Connection: close\r\n".utf8) }
        out.append(contentsOf: "\r\n".utf8)
        if !bodyless { out.append(contentsOf: body) }
        return out
    }

    static func appendHeader(_ name: String, _ value: String, to out: inout [UInt8]) {
        appendSanitized(name, to: &out)
        out.append(contentsOf: ": ".utf8)
        appendSanitized(value, to: &out)
        out.append(contentsOf: "\r\n".utf8)
    }

    private static func appendSanitized(_ s: String, to out: inout [UInt8]) {
        for c in s.utf8 { out.append(c == ASCII.cr || c == ASCII.lf || c == 0 ? ASCII.sp : c) }
    }

    /// The standard reason phrase for `status` ("Unknown" when we have none).
    public static func defaultReason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }
}
