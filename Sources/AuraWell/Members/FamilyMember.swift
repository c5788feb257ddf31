/// One member of a user's family. The user's own id is always a member (see `MemberStore`).
public struct FamilyMember: Equatable, Sendable {
    public var userID: String
    public var memberID: String
    public var displayName: String
    public var profile: MemberProfile

    public init(userID: String, memberID: String, displayName: String, profile: MemberProfile = .empty) {
        self.userID = userID
        self.memberID = memberID
        self.displayName = displayName
        self.profile = profile
    }

    /// The member the user is when nothing is stored for their own id.
    static func implicitSelf(userID: String) -> FamilyMember {
        FamilyMember(userID: userID, memberID: userID, displayName: userID, profile: .empty)
    }

    /// `{"display_name":…,"member_id":…,"profile":{…},"user_id":…}` (keys sorted).
    public var json: String {
        let object: JSONValue = [
            "user_id": .string(userID),
            "member_id": .string(memberID),
            "display_name": .string(displayName),
            "profile": profile.jsonValue,
        ]
        return object.serialized()
    }
}

/// Why a member store operation failed: bad input (ids, name, profile) or SQLite's own error.
public struct MemberStoreError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// An id, name or profile broke the rules; nothing was changed.
        case invalidInput
        /// SQLite reported an error; `sqliteCode` has its (extended) result code.
        case database
        /// The database file was written by a newer AuraWell with a schema this build does not know.
        case unsupportedSchema
    }

    public let kind: Kind
    public let message: String
    /// SQLite's extended result code, for `.database` errors.
    public let sqliteCode: Int32?

    public var description: String { message }

    /// SQLite gave up waiting for a lock (`SQLITE_BUSY`/`SQLITE_LOCKED`): retrying later may work.
    public var isBusy: Bool {
        guard let sqliteCode else { return false }
        return sqliteCode & 0xFF == 5 || sqliteCode & 0xFF == 6
    }

    init(kind: Kind, message: String, sqliteCode: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.sqliteCode = sqliteCode
    }

    static func invalidInput(_ message: String) -> MemberStoreError {
        MemberStoreError(kind: .invalidInput, message: message)
    }
}
