/// A parsed HTTP/1.x request head (request line and header fields).
public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The raw request-target, e.g. `/ws/chat/u1?token=x`.
    public var target: String
    /// The HTTP/1.x minor version: 0 or 1.
    public var versionMinor: Int
    /// Header fields in order, names as sent, values with surrounding whitespace trimmed.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, versionMinor: Int = 1, headers: [(name: String, value: String)] = []) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
    }

    /// The value of the first field named `name` (case-insensitive).
    public func firstHeader(_ name: String) -> String? {
        for h in headers where ASCII.equalsIgnoringCase(h.name, name) { return h.value }
        return nil
    }

    /// The values of every field named `name` (case-insensitive), in order.
    public func headerValues(_ name: String) -> [String] {
        var out: [String] = []
        for h in headers where ASCII.equalsIgnoringCase(h.name, name) { out.append(h.value) }
        return out
    }

    /// Whether any field named `name` carries `token` in its comma-separated list
    /// (case-insensitive, whitespace around elements ignored), e.g. `Connection: keep-alive, Upgrade`.
    public func headerContainsToken(_ name: String, _ token: String) -> Bool {
        for h in headers where ASCII.equalsIgnoringCase(h.name, name) {
            for element in h.value.split(separator: ",", omittingEmptySubsequences: true)
            where ASCII.equalsIgnoringCase(ASCII.trimOWS(element), token) {
                return true
            }
        }
        return false
    }

    /// The comma-separated elements of every field named `name`, trimmed, empty ones dropped.
    public func headerListElements(_ name: String) -> [String] {
        var out: [String] = []
        for h in headers where ASCII.equalsIgnoringCase(h.name, name) {
            for element in h.value.split(separator: ",") {
                let t = ASCII.trimOWS(element)
                if !t.isEmpty { out.append(String(t)) }
            }
        }
        return out
    }

    /// The target's path: without query or fragment; for an absolute-form target
    /// (`http://host/p?q`) without scheme and authority (`/p`).
    public var path: String {
        var t = Substring(target)
        if t.utf8.first != UInt8(ascii: "/") {
            // absolute-form: skip "scheme://authority".
            if let colon = t.utf8.firstIndex(of: UInt8(ascii: ":")),
                t[colon...].utf8.starts(with: "://".utf8)
            {
                let authority = t[t.utf8.index(colon, offsetBy: 3)...]
                guard let slash = authority.utf8.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }),
                    authority.utf8[slash] == UInt8(ascii: "/")
                else { return "/" }
                t = authority[slash...]
            }
        }
        if let end = t.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            return String(t[..<end])
        }
        return String(t)
    }

    /// The raw query (after `?`, before `#`), or nil when there is none.
    public var query: Substring? {
        let t = Substring(target)
        guard let q = t.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        var rest = t[t.index(after: q)...]
        if let hash = rest.utf8.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        return rest
    }

    /// The percent-decoded value of the first query parameter named `name` (`+` decodes to a
    /// space, as in HTML forms and `URLSearchParams`; a malformed `%` escape is kept as is).
    /// A parameter without `=` has the empty value.
    public func queryItem(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring
            if let eq = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                key = pair[..<eq]
                value = pair[pair.index(after: eq)...]
            } else {
                key = pair
                value = ""
            }
            if HTTPRequestHead.percentDecode(key) == name { return HTTPRequestHead.percentDecode(value) }
        }
        return nil
    }

    /// Decodes `%XX` escapes and `+`; invalid UTF-8 in the result is replaced by U+FFFD.
    public static func percentDecode(_ s: some StringProtocol) -> String {
        let utf8 = Array(s.utf8)
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(s) }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let c = utf8[i]
            if c == UInt8(ascii: "%"), i + 2 < utf8.count, let h = ASCII.hexValue(utf8[i + 1]), let l = ASCII.hexValue(utf8[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(c == UInt8(ascii: "+") ? ASCII.sp : c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
