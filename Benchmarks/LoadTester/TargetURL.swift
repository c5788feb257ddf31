import Glibc

/// A `ws://host:port/path` target. The host must be an IPv4 literal or `localhost`.
struct TargetURL: Codable, Sendable, Equatable {
    var host: String
    var port: UInt16
    var path: String

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(host: String, port: UInt16, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    init(parsing text: String) throws {
        guard text.hasPrefix("ws://") else { throw Invalid(description: "\(text): only ws:// URLs are supported") }
        let rest = text.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var hostPart = authority
        var portNumber: UInt16 = 80
        if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            guard let p = UInt16(authority[authority.index(after: colon)...]) else {
                throw Invalid(description: "\(text): bad port")
            }
            portNumber = p
        }
        host = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        port = portNumber
        guard IPv4.parse(host) != nil else { throw Invalid(description: "\(text): the host must be an IPv4 address") }
    }

    var hostHeader: String { "\(host):\(port)" }
    var isLoopback: Bool { host.hasPrefix("127.") }

    /// The request path of client `index`: `{i}` is replaced by the index; otherwise, when
    /// `appendIndex`, the index is appended (`/ws/chat/u` → `/ws/chat/u17`).
    func path(forClient index: Int, appendIndex: Bool) -> String {
        if path.contains("{i}") { return path.replacing("{i}", with: String(index)) }
        return appendIndex ? path + String(index) : path
    }
}

enum IPv4 {
    static func parse(_ text: String) -> in_addr? {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1 ? address : nil
    }

    static func socketAddress(_ address: in_addr, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr = address
        return result
    }
}
