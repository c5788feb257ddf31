import WSCodec

/// A complete HTTP answer (status, headers, body) that a route hands back to the connection.
struct HTTPReply {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// HEAD: the headers of the GET answer (Content-Length included), no body.
    var omitBody = false

    /// `{"status": message}` for success, `{"error": message}` otherwise.
    static func json(_ status: Int, _ message: String, headers: [(String, String)] = []) -> HTTPReply {
        var json = JSONWriter(capacity: 64 + message.utf8.count)
        json.field(status < 400 ? "status" : "error", message)
        return HTTPReply(status: status, headers: [("Content-Type", "application/json")] + headers, body: json.finish())
    }

    func serialized(close: Bool) -> [UInt8] {
        var bytes = HTTPResponse.serialize(status: status, headers: headers, body: body, close: close)
        // HEAD: exactly the GET answer's head (its Content-Length included), without the body.
        if omitBody { bytes.removeLast(body.count) }
        return bytes
    }
}
