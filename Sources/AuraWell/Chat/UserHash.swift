import COpenSSL

/// A stable, non-reversible id for a user, sent upstream so the provider can isolate users
/// without learning AuraWell's ids: hex SHA-256 of a fixed prefix and the id, first 32 digits.
enum UserHash {
    static func of(_ userID: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let input = Array("aurawell-user:\(userID)".utf8)
        _ = SHA256(input, input.count, &digest)
        return Hex.encode(digest.prefix(16))
    }
}
