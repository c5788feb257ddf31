/// What AuraWell knows about a family member's health; every field is optional and goes into the
/// health prompt. Stored as JSON (`profile_json`), read on every member lookup, so parsing and
/// printing are hand-written (`ProfileParser`, `json`) rather than going through Foundation.
public struct MemberProfile: Equatable, Sendable, Codable {
    public var age: Int?
    public var sex: String?
    public var conditions: [String]
    public var medications: [String]
    public var allergies: [String]

    public init(
        age: Int? = nil, sex: String? = nil,
        conditions: [String] = [], medications: [String] = [], allergies: [String] = []
    ) {
        self.age = age
        self.sex = sex
        self.conditions = conditions
        self.medications = medications
        self.allergies = allergies
    }

    public static let empty = MemberProfile()

    public var isEmpty: Bool { self == .empty }

    static let ageRange = 0...150
    static let maxSexLength = 32
    static let maxEntries = 50
    static let maxEntryLength = 200

    /// Checks the limits a profile must respect before it is stored or put into a prompt.
    public func validate() throws(MemberStoreError) {
        if let age, !Self.ageRange.contains(age) {
            throw .invalidInput("profile \"age\" must be between \(Self.ageRange.lowerBound) and \(Self.ageRange.upperBound), got \(age)")
        }
        if let sex, let problem = TextRules.problem(sex, maxLength: Self.maxSexLength) {
            throw .invalidInput("profile \"sex\" \(problem)")
        }
        for (name, entries) in [("conditions", conditions), ("medications", medications), ("allergies", allergies)] {
            guard entries.count <= Self.maxEntries else {
                throw .invalidInput("profile \"\(name)\" has \(entries.count) entries; at most \(Self.maxEntries) are allowed")
            }
            for (index, entry) in entries.enumerated() {
                if let problem = TextRules.problem(entry, maxLength: Self.maxEntryLength) {
                    throw .invalidInput("profile \"\(name)\"[\(index)] \(problem)")
                }
            }
        }
    }

    /// The canonical JSON form, as stored in `profile_json`: `age` and `sex` only when set, the
    /// three lists always (`{"conditions":[],"medications":[],"allergies":[]}` when empty).
    public var json: String {
        var out = "{"
        if let age {
            out += "\"age\":"
            out += String(age)
            out += ","
        }
        if let sex {
            out += "\"sex\":"
            JSONText.appendString(sex, to: &out)
            out += ","
        }
        Self.appendList("conditions", conditions, to: &out)
        out += ","
        Self.appendList("medications", medications, to: &out)
        out += ","
        Self.appendList("allergies", allergies, to: &out)
        out += "}"
        return out
    }

    private static func appendList(_ key: String, _ entries: [String], to out: inout String) {
        out += "\""
        out += key
        out += "\":["
        for (index, entry) in entries.enumerated() {
            if index > 0 { out += "," }
            JSONText.appendString(entry, to: &out)
        }
        out += "]"
    }
}

// Codable, for callers that use an encoder: the same rules as `MemberStore.parseProfile`
// (missing lists are empty, unknown keys are rejected, limits are checked).
extension MemberProfile {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case age, sex, conditions, medications, allergies
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = all.allKeys.first(where: { CodingKeys(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: all,
                debugDescription: "unknown profile key \(unknown.stringValue.debugDescription); allowed keys: \(ProfileParser.allowedKeys)"
            )
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            age: try container.decodeIfPresent(Int.self, forKey: .age),
            sex: try container.decodeIfPresent(String.self, forKey: .sex),
            conditions: try container.decodeIfPresent([String].self, forKey: .conditions) ?? [],
            medications: try container.decodeIfPresent([String].self, forKey: .medications) ?? [],
            allergies: try container.decodeIfPresent([String].self, forKey: .allergies) ?? []
        )
        do {
            try validate()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(age, forKey: .age)
        try container.encodeIfPresent(sex, forKey: .sex)
        try container.encode(conditions, forKey: .conditions)
        try container.encode(medications, forKey: .medications)
        try container.encode(allergies, forKey: .allergies)
    }
}

/// Character rules shared by names and profile text.
enum TextRules {
    /// Why `text` is not acceptable ("must not be empty", ...), or nil if it is.
    static func problem(_ text: String, maxLength: Int) -> String? {
        if text.allSatisfy(\.isWhitespace) { return "must not be empty" }
        // Counting characters walks grapheme clusters; a text with few bytes cannot be too long.
        if text.utf8.count > maxLength, text.count > maxLength { return "is longer than \(maxLength) characters" }
        if text.unicodeScalars.contains(where: isControl) { return "must not contain control characters (newlines, tabs, ...)" }
        return nil
    }

    /// C0 and C1 control characters and DEL: they would break the CLI's tab-separated output and
    /// the structure of the health prompt.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// JSON string escaping (RFC 8259) for the few JSON texts the member store writes.
enum JSONText {
    static func appendString(_ value: String, to out: inout String) {
        out += "\""
        var run = value.unicodeScalars.startIndex
        let scalars = value.unicodeScalars
        var index = run
        while index != scalars.endIndex {
            let scalar = scalars[index]
            let escape: String? = switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            case "\n": "\\n"
            case "\r": "\\r"
            case "\t": "\\t"
            case _ where scalar.value < 0x20:
                "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: nil
            }
            if let escape {
                out.unicodeScalars.append(contentsOf: scalars[run..<index])
                out += escape
                run = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        out.unicodeScalars.append(contentsOf: scalars[run..<scalars.endIndex])
        out += "\""
    }
}
