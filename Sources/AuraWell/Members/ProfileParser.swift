/// A strict parser for the one JSON shape a profile has:
/// `{"age": int|null, "sex": string|null, "conditions"|"medications"|"allergies": [string]|null}`.
/// Every key is optional; unknown and duplicate keys are rejected. It reads UTF-8 in place (a
/// Swift string or an SQLite column), so a member lookup costs no Foundation and few allocations.
struct ProfileParser {
    static let allowedKeys = "age, sex, conditions, medications, allergies"

    private enum Field: UInt8 {
        case age = 1, sex = 2, conditions = 4, medications = 8, allergies = 16

        init?(_ key: String) {
            switch key {
            case "age": self = .age
            case "sex": self = .sex
            case "conditions": self = .conditions
            case "medications": self = .medications
            case "allergies": self = .allergies
            default: return nil
            }
        }

        var name: String {
            switch self {
            case .age: "age"
            case .sex: "sex"
            case .conditions: "conditions"
            case .medications: "medications"
            case .allergies: "allergies"
            }
        }
    }

    private let input: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(input: UnsafeBufferPointer<UInt8>) {
        self.input = input
    }

    static func parse(_ text: String) throws(MemberStoreError) -> MemberProfile {
        var text = text
        let result: Result<MemberProfile, MemberStoreError> = text.withUTF8 { utf8 in
            do throws(MemberStoreError) {
                return .success(try parse(utf8: utf8))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func parse(utf8 input: UnsafeBufferPointer<UInt8>, validating: Bool = true) throws(MemberStoreError) -> MemberProfile {
        var parser = ProfileParser(input: input)
        let profile = try parser.parseProfile()
        if validating { try profile.validate() }
        return profile
    }

    // MARK: - Grammar

    private mutating func parseProfile() throws(MemberStoreError) -> MemberProfile {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            let found = describeValue().map { ", got \($0)" } ?? ""
            throw .invalidInput(
                "profile must be a JSON object such as {\"age\": 42, \"allergies\": [\"penicillin\"]}\(found)"
            )
        }
        position += 1
        var profile = MemberProfile()
        var seen: UInt8 = 0
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
        } else {
            members: while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a key in double quotes") }
                let key = try parseString()
                guard let field = Field(key) else {
                    throw .invalidInput("unknown profile key \(key.debugDescription); allowed keys: \(Self.allowedKeys)")
                }
                guard seen & field.rawValue == 0 else { throw .invalidInput("duplicate profile key \"\(key)\"") }
                seen |= field.rawValue
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                switch field {
                case .age: profile.age = try parseAge()
                case .sex: profile.sex = try parseOptionalString(field)
                case .conditions: profile.conditions = try parseStringList(field)
                case .medications: profile.medications = try parseStringList(field)
                case .allergies: profile.allergies = try parseStringList(field)
                }
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"): position += 1; break members
                default: throw syntax("expected ',' or '}'")
                }
            }
        }
        skipWhitespace()
        guard position == input.count else { throw syntax("unexpected text after the profile object") }
        return profile
    }

    private mutating func parseAge() throws(MemberStoreError) -> Int? {
        if try parseNull() { return nil }
        guard let byte = peek(), byte == UInt8(ascii: "-") || isDigit(byte) else {
            throw wrongType(.age, expected: "a whole number", got: describeValue())
        }
        let negative = byte == UInt8(ascii: "-")
        if negative { position += 1 }
        let start = position
        while let digit = peek(), isDigit(digit) { position += 1 }
        let digits = position - start
        guard digits > 0 else { throw syntax("expected digits after '-'") }
        guard digits == 1 || input[start] != UInt8(ascii: "0") else { throw syntax("numbers must not have leading zeros") }
        if let next = peek(), next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            throw .invalidInput("profile \"age\" must be a whole number of years")
        }
        guard digits <= 6 else {
            throw .invalidInput("profile \"age\" must be between \(MemberProfile.ageRange.lowerBound) and \(MemberProfile.ageRange.upperBound)")
        }
        var value = 0
        for index in start..<position { value = value * 10 + Int(input[index] &- UInt8(ascii: "0")) }
        return negative ? -value : value
    }

    private mutating func parseOptionalString(_ field: Field) throws(MemberStoreError) -> String? {
        if try parseNull() { return nil }
        guard peek() == UInt8(ascii: "\"") else { throw wrongType(field, expected: "a string", got: describeValue()) }
        return try parseString()
    }

    private mutating func parseStringList(_ field: Field) throws(MemberStoreError) -> [String] {
        if try parseNull() { return [] }
        guard peek() == UInt8(ascii: "[") else {
            throw wrongType(field, expected: "an array of strings", got: describeValue())
        }
        position += 1
        var entries: [String] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return entries
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                let found = describeValue()
                guard let found else { throw syntax("expected a string") }
                throw .invalidInput("profile \"\(field.name)\" must be an array of strings; entry \(entries.count) is \(found)")
            }
            entries.append(try parseString())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return entries
            default: throw syntax("expected ',' or ']'")
            }
        }
    }

    private mutating func parseNull() throws(MemberStoreError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A JSON string at `position` (which holds the opening quote).
    private mutating func parseString() throws(MemberStoreError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < input.count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw syntax("control character inside a string (escape it, e.g. \\n)") }
            position += 1
        }
        guard position < input.count else { throw syntax("unterminated string") }
        var bytes = Array(UnsafeBufferPointer(rebasing: input[start..<position]))
        while position < input.count {
            let byte = input[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { break }
                position += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escaped)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var value = UInt32(try hex4())
                    if (0xD800...0xDBFF).contains(value) {
                        guard peek() == UInt8(ascii: "\\"), position + 1 < input.count, input[position + 1] == UInt8(ascii: "u") else {
                            throw syntax("unpaired UTF-16 surrogate in \\u escape")
                        }
                        position += 2
                        let low = UInt32(try hex4())
                        guard (0xDC00...0xDFFF).contains(low) else { throw syntax("unpaired UTF-16 surrogate in \\u escape") }
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(value) else { throw syntax("unpaired UTF-16 surrogate in \\u escape") }
                    UTF8.encode(scalar) { bytes.append($0) }
                default:
                    position -= 1
                    throw syntax("invalid escape '\\\(Character(Unicode.Scalar(escaped)))'")
                }
            default:
                guard byte >= 0x20 else {
                    position -= 1
                    throw syntax("control character inside a string (escape it, e.g. \\n)")
                }
                bytes.append(byte)
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func hex4() throws(MemberStoreError) -> UInt16 {
        guard position + 4 <= input.count else { throw syntax("\\u needs four hex digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = input[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntax("\\u needs four hex digits")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    private mutating func literal(_ word: StaticString) throws(MemberStoreError) {
        let count = word.utf8CodeUnitCount
        let matches = position + count <= input.count && word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { input[position + $0] == expected[$0] }
        }
        guard matches else { throw syntax("invalid literal") }
        position += count
    }

    private mutating func expect(_ byte: UInt8) throws(MemberStoreError) {
        guard peek() == byte else { throw syntax("expected '\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    // MARK: - Helpers

    private func peek() -> UInt8? {
        position < input.count ? input[position] : nil
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    /// The kind of JSON value starting at `position`, for error messages; nil if none does.
    private func describeValue() -> String? {
        guard let byte = peek() else { return nil }
        return switch byte {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        default: nil
        }
    }

    private func wrongType(_ field: Field, expected: String, got found: String?) -> MemberStoreError {
        guard let found else { return syntax("expected a value for \"\(field.name)\"") }
        return .invalidInput("profile \"\(field.name)\" must be \(expected), got \(found)")
    }

    private func syntax(_ problem: String) -> MemberStoreError {
        let location = position < input.count ? "at byte \(position)" : "at the end of the input"
        return .invalidInput("profile is not valid JSON: \(problem) \(location)")
    }
}
