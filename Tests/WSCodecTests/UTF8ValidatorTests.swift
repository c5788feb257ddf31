import Testing
import WSCodec

struct UTF8Case: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var valid: Bool
    var testDescription: String { name }
    init(_ name: String, _ hex: String, _ valid: Bool) {
        self.name = name
        self.bytes = [UInt8](hex: hex)
        self.valid = valid
    }
}

/// Mostly from Markus Kuhn's UTF-8 decoder stress test, plus the boundaries of every range.
let utf8Cases: [UTF8Case] = [
    UTF8Case("empty", "", true),
    UTF8Case("ascii", "48 65 6C 6C 6F", true),
    UTF8Case("kosme (Greek)", "CE BA E1 BD B9 CF 83 CE BC CE B5", true),
    UTF8Case("first 1-byte U+0000", "00", true),
    UTF8Case("first 2-byte U+0080", "C2 80", true),
    UTF8Case("first 3-byte U+0800", "E0 A0 80", true),
    UTF8Case("first 4-byte U+10000", "F0 90 80 80", true),
    UTF8Case("last 1-byte U+007F", "7F", true),
    UTF8Case("last 2-byte U+07FF", "DF BF", true),
    UTF8Case("last 3-byte U+FFFF", "EF BF BF", true),
    UTF8Case("last valid U+10FFFF", "F4 8F BF BF", true),
    UTF8Case("U+D7FF", "ED 9F BF", true),
    UTF8Case("U+E000", "EE 80 80", true),
    UTF8Case("U+FFFD", "EF BF BD", true),
    UTF8Case("U+FFFE noncharacter is valid", "EF BF BE", true),
    UTF8Case("euro", "E2 82 AC", true),
    UTF8Case("emoji", "F0 9F 98 80", true),
    UTF8Case("beyond U+10FFFF F4 90", "F4 90 80 80", false),
    UTF8Case("5-byte form", "F8 88 80 80 80", false),
    UTF8Case("6-byte form", "FC 84 80 80 80 80", false),
    UTF8Case("F5 lead", "F5 80 80 80", false),
    UTF8Case("FE", "FE", false),
    UTF8Case("FF", "FF", false),
    UTF8Case("FE FE FF FF", "FE FE FF FF", false),
    UTF8Case("lone continuation 80", "80", false),
    UTF8Case("lone continuation BF", "BF", false),
    UTF8Case("continuations 80 BF 80", "80 BF 80", false),
    UTF8Case("2-byte lead then space", "C0 20", false),
    UTF8Case("3-byte lead then space", "E0 20", false),
    UTF8Case("truncated 2-byte", "DF", false),
    UTF8Case("truncated 3-byte", "EF BF", false),
    UTF8Case("truncated 4-byte", "F4 8F BF", false),
    UTF8Case("truncated in the middle", "E2 82 41", false),
    UTF8Case("overlong / C0 AF", "C0 AF", false),
    UTF8Case("overlong / E0 80 AF", "E0 80 AF", false),
    UTF8Case("overlong / F0 80 80 AF", "F0 80 80 AF", false),
    UTF8Case("overlong / F8 80 80 80 AF", "F8 80 80 80 AF", false),
    UTF8Case("max overlong 2-byte C1 BF", "C1 BF", false),
    UTF8Case("max overlong 3-byte E0 9F BF", "E0 9F BF", false),
    UTF8Case("max overlong 4-byte F0 8F BF BF", "F0 8F BF BF", false),
    UTF8Case("overlong NUL C0 80", "C0 80", false),
    UTF8Case("overlong NUL E0 80 80", "E0 80 80", false),
    UTF8Case("surrogate U+D800", "ED A0 80", false),
    UTF8Case("surrogate U+DB7F", "ED AD BF", false),
    UTF8Case("surrogate U+DFFF", "ED BF BF", false),
    UTF8Case("surrogate pair D800 DC00", "ED A0 80 ED B0 80", false),
    UTF8Case("surrogate pair DBFF DFFF", "ED AF BF ED BF BF", false),
    UTF8Case("valid then invalid", "48 65 6C 6C 6F E2 82 AC 80", false),
    UTF8Case("invalid after 8 ASCII", "41 41 41 41 41 41 41 41 41 FF 41 41", false),
    UTF8Case("Autobahn 6.3.1 style", "CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64", false),
]

@Suite struct UTF8ValidatorTests {
    @Test(arguments: utf8Cases)
    func table(_ c: UTF8Case) {
        let stdlib = String(validating: c.bytes, as: UTF8.self) != nil
        #expect(stdlib == c.valid, "table disagrees with the stdlib")
        #expect(c.bytes.withUnsafeBytes { UTF8Validator.isValid($0) } == c.valid)
        // Every split point gives the same verdict.
        for split in 0...c.bytes.count {
            var v = UTF8Validator()
            let ok1 = c.bytes[..<split].withUnsafeBytes { v.validate($0) }
            let ok2 = ok1 && c.bytes[split...].withUnsafeBytes { v.validate($0) }
            #expect((ok2 && v.isAtCharacterBoundary) == c.valid, "split at \(split)")
        }
        // Byte at a time, padded so the fast paths are used too.
        for padding in [0, 3, 9] {
            let padded = [UInt8](repeating: 0x61, count: padding) + c.bytes + [UInt8](repeating: 0x62, count: padding)
            #expect(padded.withUnsafeBytes { UTF8Validator.isValid($0) } == c.valid, "padding \(padding)")
            var v = UTF8Validator()
            var ok = true
            for b in padded where ok { ok = [b].withUnsafeBytes { v.validate($0) } }
            #expect((ok && v.isAtCharacterBoundary) == c.valid, "bytewise, padding \(padding)")
        }
    }

    @Test func failsFastAndStaysFailed() {
        var v = UTF8Validator()
        #expect([UInt8](hex: "E2 82").withUnsafeBytes { v.validate($0) })
        #expect(!v.isAtCharacterBoundary)
        #expect(![UInt8](hex: "41").withUnsafeBytes { v.validate($0) })  // continuation expected
        #expect(![UInt8](hex: "41").withUnsafeBytes { v.validate($0) })  // stays failed
        #expect(!v.isAtCharacterBoundary)
        v.reset()
        #expect(v.isAtCharacterBoundary)
        #expect(Array("ok".utf8).withUnsafeBytes { v.validate($0) })
    }

    @Test(arguments: 0..<8)
    func randomBytesMatchStdlib(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &+ 1000)
        for _ in 0..<400 {
            let length = Int.random(in: 0...100, using: &rng)
            var bytes: [UInt8] = []
            while bytes.count < length {
                switch Int.random(in: 0...9, using: &rng) {
                case 0...3: bytes.append(UInt8.random(in: 0...0x7F, using: &rng))
                case 4...6:
                    // A valid scalar, sometimes truncated or mutated below.
                    let s = Unicode.Scalar(UInt32.random(in: 0x80...0x10FFFF, using: &rng)) ?? "x"
                    bytes.append(contentsOf: Array(String(s).utf8))
                default: bytes.append(UInt8.random(in: 0x80...0xFF, using: &rng))
                }
            }
            if !bytes.isEmpty, Bool.random(using: &rng) { bytes.removeLast() }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(bytes.withUnsafeBytes { UTF8Validator.isValid($0) } == expected, "\(bytes)")
            let split = Int.random(in: 0...bytes.count, using: &rng)
            var v = UTF8Validator()
            let ok = bytes[..<split].withUnsafeBytes { v.validate($0) } && bytes[split...].withUnsafeBytes { v.validate($0) }
            #expect((ok && v.isAtCharacterBoundary) == expected, "\(bytes) split at \(split)")
        }
    }

    @Test func longMixedTextIsValid() {
        let s = String(repeating: "Hello, 世界! Привет 😀 ", count: 500)
        #expect(Array(s.utf8).withUnsafeBytes { UTF8Validator.isValid($0) })
    }
}

@Suite struct UTF8ValidatorPositionTests {
    /// An invalid byte at every position of a long ASCII or CJK buffer is found, whichever fast
    /// path covers that position.
    @Test(arguments: ["a", "é", "世", "😀"])
    func invalidByteAtEveryPosition(filler: String) {
        let base = Array(String(repeating: filler, count: 100 / filler.utf8.count + 1).utf8)
        #expect(base.withUnsafeBytes { UTF8Validator.isValid($0) })
        for position in 0..<base.count {
            var bytes = base
            bytes[position] = 0xFF
            #expect(!bytes.withUnsafeBytes { UTF8Validator.isValid($0) }, "position \(position)")
        }
    }
}
