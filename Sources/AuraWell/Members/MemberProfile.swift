/// What AuraWell knows about a family member's health; every field is optional and goes into the
/// health prompt. Stored as JSON (`profile_json`), parsed and printed through `JSONValue`.
public struct MemberProfile: Equatable, Sendable {
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

    /// The JSON form, as stored in `profile_json` and printed by `aurawell member list`: keys
    /// sorted, `age` and `sex` only when set, the three lists always
    /// (`{"allergies":[],"conditions":[],"medications":[]}` when empty).
    public var json: String { jsonValue.serialized() }

    var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "conditions": .array(conditions.map(JSONValue.string)),
            "medications": .array(medications.map(JSONValue.string)),
            "allergies": .array(allergies.map(JSONValue.string)),
        ]
        if let age { object["age"] = .number(Double(age)) }
        if let sex { object["sex"] = .string(sex) }
        return .object(object)
    }

    // MARK: Reading

    private enum Key: String, CaseIterable {
        case age, sex, conditions, medications, allergies
    }

    /// Parses a profile's JSON text (limits are not checked: see `validate()`). Every key is
    /// optional and may be null; lists default to empty; unknown keys and wrong types are rejected
    /// with a message that names the key. A repeated key is not an error: the last one wins.
    init(json bytes: UnsafeRawBufferPointer) throws(MemberStoreError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            // Nothing at all (`--profile ''`): say what is expected rather than where it ended.
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { throw Self.notAnObject(got: nil) }
            throw .invalidInput("profile is not valid JSON: \(error.message) at byte \(error.offset)")
        }
        try self.init(value)
    }

    private init(_ value: JSONValue) throws(MemberStoreError) {
        guard let object = value.objectValue else { throw Self.notAnObject(got: value) }
        if let unknown = object.keys.lazy.filter({ Key(rawValue: $0) == nil }).min() {
            let allowed = Key.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidInput("unknown profile key \(unknown.debugDescription); allowed keys: \(allowed)")
        }
        self.init(
            age: try Self.age(object[Key.age.rawValue]),
            sex: try Self.string(.sex, object[Key.sex.rawValue]),
            conditions: try Self.list(.conditions, object[Key.conditions.rawValue]),
            medications: try Self.list(.medications, object[Key.medications.rawValue]),
            allergies: try Self.list(.allergies, object[Key.allergies.rawValue])
        )
    }

    private static func age(_ value: JSONValue?) throws(MemberStoreError) -> Int? {
        guard let value, !value.isNull else { return nil }
        if let age = value.intValue { return age }
        guard let number = value.doubleValue else { throw wrongType(.age, expected: "a whole number", got: value) }
        guard number.rounded(.towardZero) == number else {
            throw .invalidInput("profile \"age\" must be a whole number of years")
        }
        throw .invalidInput("profile \"age\" must be between \(ageRange.lowerBound) and \(ageRange.upperBound)")
    }

    private static func string(_ key: Key, _ value: JSONValue?) throws(MemberStoreError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.stringValue else { throw wrongType(key, expected: "a string", got: value) }
        return text
    }

    private static func list(_ key: Key, _ value: JSONValue?) throws(MemberStoreError) -> [String] {
        guard let value, !value.isNull else { return [] }
        guard let elements = value.arrayValue else { throw wrongType(key, expected: "an array of strings", got: value) }
        var entries: [String] = []
        entries.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard let entry = element.stringValue else {
                throw .invalidInput("profile \"\(key.rawValue)\" must be an array of strings; entry \(index) is \(element.kind)")
            }
            entries.append(entry)
        }
        return entries
    }

    private static func notAnObject(got value: JSONValue?) -> MemberStoreError {
        let found = value.map { ", got \($0.kind)" } ?? ""
        return .invalidInput("profile must be a JSON object such as {\"age\": 42, \"allergies\": [\"penicillin\"]}\(found)")
    }

    private static func wrongType(_ key: Key, expected: String, got value: JSONValue) -> MemberStoreError {
        .invalidInput("profile \"\(key.rawValue)\" must be \(expected), got \(value.kind)")
    }
}

extension JSONValue {
    /// "a string", "an array", ...: what a value is, for error messages.
    fileprivate var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
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
