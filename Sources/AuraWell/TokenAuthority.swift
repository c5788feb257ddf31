import COpenSSL

/// PROTOCOL.md's auth tokens: `v1.{user_id}.{expiry_unix}.{hex HMAC-SHA256(secret, "v1.{user_id}.{expiry_unix}")}`,
/// bound to the path's user id and compared in constant time.
public struct TokenAuthority: Sendable {
    private let secret: [UInt8]

    public init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    public enum Rejection: Error, Equatable {
        case malformed
        case wrongUser
        case expired
        case badSignature
    }

    /// A token for `userID` valid until `expiry` (Unix seconds).
    public func mint(userID: String, expiry: Int) -> String {
        let payload = "v1.\(userID).\(expiry)"
        return payload + "." + Hex.encode(mac(payload))
    }

    /// Checks `token` for the path's `userID` at `now` (Unix seconds).
    public func verify(_ token: String, userID: String, now: Int) -> Result<Void, Rejection> {
        // The user id cannot contain '.' safely as a separator, so split from the right.
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts.first == "v1", let expiry = Int(parts[parts.count - 2]),
              let signature = Self.unhex(parts[parts.count - 1]), signature.count == 32 else {
            return .failure(.malformed)
        }
        let tokenUser = parts[1..<(parts.count - 2)].joined(separator: ".")
        let expected = mac("v1.\(tokenUser).\(expiry)")
        // Constant time: the comparison must not reveal how many leading bytes matched.
        let equal = signature.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, 32) == 0 } }
        guard equal else { return .failure(.badSignature) }
        guard tokenUser == userID else { return .failure(.wrongUser) }
        guard expiry > now else { return .failure(.expired) }
        return .success(())
    }

    private func mac(_ payload: String) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let message = Array(payload.utf8)
        _ = secret.withUnsafeBytes { key in
            HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), message, message.count, &digest, &length)
        }
        return digest
    }

    private static func unhex(_ text: Substring) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
