/// `user_id` and `member_id` share one pattern: `[A-Za-z0-9_.-]{1,64}` (PROTOCOL.md).
enum Identifier {
    static func isValid<S: StringProtocol>(_ candidate: S) -> Bool {
        let utf8 = candidate.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }
}
