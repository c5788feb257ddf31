import COpenSSL

/// The server side of the RFC 6455 §4.2 opening handshake.
public enum WebSocketHandshake {
    /// The GUID every Sec-WebSocket-Accept is derived with (RFC 6455 §1.3).
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    public struct Accepted: Sendable {
        /// The client's Sec-WebSocket-Key, as sent.
        public var key: String
        /// The Sec-WebSocket-Accept value to answer with.
        public var acceptValue: String
        /// Sec-WebSocket-Protocol elements offered by the client, in order.
        public var requestedProtocols: [String]
        /// Sec-WebSocket-Extensions offers (each with its parameters), in order.
        public var requestedExtensions: [String]

        public init(key: String, acceptValue: String, requestedProtocols: [String], requestedExtensions: [String]) {
            self.key = key
            self.acceptValue = acceptValue
            self.requestedProtocols = requestedProtocols
            self.requestedExtensions = requestedExtensions
        }
    }

    /// An upgrade refused: answer with `HTTPResponse.serialize(status:reason:headers:)`.
    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        public var status: Int
        public var reason: String
        /// Headers the response must carry (426 carries `Sec-WebSocket-Version: 13`, 405 `Allow: GET`).
        public var headers: [(String, String)]

        public init(status: Int, reason: String, headers: [(String, String)] = []) {
            self.status = status
            self.reason = reason
            self.headers = headers
        }

        /// Equal when status and reason are.
        public static func == (a: Rejection, b: Rejection) -> Bool {
            a.status == b.status && a.reason == b.reason
        }

        public var description: String { "\(status) \(reason)" }
    }

    /// RFC 6455 §4.2.1, checked in this order:
    /// - method `GET`, else 405 (with `Allow: GET`);
    /// - HTTP/1.1 or later, else 400;
    /// - exactly one `Host`, else 400;
    /// - `Upgrade` has the token `websocket` (case-insensitive), else 400;
    /// - `Connection` has the token `upgrade` (case-insensitive), else 400;
    /// - `Sec-WebSocket-Version` is exactly `13` (once), else 426 with `Sec-WebSocket-Version: 13`;
    /// - exactly one `Sec-WebSocket-Key`, the base64 of exactly 16 bytes, else 400.
    /// Origin, path, subprotocol and extension policy are the caller's.
    public static func validate(_ head: HTTPRequestHead) -> Result<Accepted, Rejection> {
        guard head.method == "GET" else {
            return .failure(Rejection(status: 405, reason: "WebSocket upgrade requires GET", headers: [("Allow", "GET")]))
        }
        guard head.versionMinor >= 1 else {
            return .failure(Rejection(status: 400, reason: "WebSocket upgrade requires HTTP/1.1"))
        }
        let hosts = head.headerValues("Host")
        guard hosts.count == 1 else {
            return .failure(Rejection(status: 400, reason: hosts.isEmpty ? "Missing Host header" : "Multiple Host headers"))
        }
        guard head.headerContainsToken("Upgrade", "websocket") else {
            return .failure(Rejection(status: 400, reason: "Missing or invalid Upgrade header"))
        }
        guard head.headerContainsToken("Connection", "upgrade") else {
            return .failure(Rejection(status: 400, reason: "Missing or invalid Connection header"))
        }
        let versions = head.headerListElements("Sec-WebSocket-Version")
        guard versions == ["13"] else {
            return .failure(
                Rejection(status: 426, reason: "Unsupported WebSocket version", headers: [("Sec-WebSocket-Version", "13")]))
        }
        let keys = head.headerValues("Sec-WebSocket-Key")
        guard keys.count == 1, let decoded = Base64.decode(keys[0]), decoded.count == 16 else {
            return .failure(Rejection(status: 400, reason: "Missing or invalid Sec-WebSocket-Key"))
        }
        let key = keys[0]
        return .success(
            Accepted(
                key: key,
                acceptValue: acceptValue(forKey: key),
                requestedProtocols: head.headerListElements("Sec-WebSocket-Protocol"),
                requestedExtensions: head.headerListElements("Sec-WebSocket-Extensions")))
    }

    /// base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        var input = Array(key.utf8)
        input.append(contentsOf: guid.utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        input.withUnsafeBufferPointer { inp in
            digest.withUnsafeMutableBufferPointer { out in
                _ = SHA1(inp.baseAddress, inp.count, out.baseAddress)
            }
        }
        return Base64.encode(digest)
    }

    /// `HTTP/1.1 101 Switching Protocols` with Upgrade, Connection and Sec-WebSocket-Accept, then
    /// `extraHeaders` (e.g. `Sec-WebSocket-Protocol`), then the empty line.
    public static func switchingProtocolsResponse(acceptValue: String, extraHeaders: [(String, String)] = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(129 + extraHeaders.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        out.append(contentsOf: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ".utf8)
        out.append(contentsOf: acceptValue.utf8)
        out.append(contentsOf: "\r\n".utf8)
        for (name, value) in extraHeaders { HTTPResponse.appendHeader(name, value, to: &out) }
        out.append(contentsOf: "\r\n".utf8)
        return out
    }
}
