import CSQLite
import Glibc

/// A user's family, kept in SQLite (`AURAWELL_DB`). The server reads it on its event loop while
/// `aurawell member …` writes it from another process: the file is in WAL mode, so readers never
/// wait for the writer, and the busy timeout is short so a lookup can never stall the loop for long.
///
/// One connection per instance, opened once, with its four statements prepared once and reused.
/// Not thread-safe (and not `Sendable`): use an instance from one thread, as the event loop does.
public final class MemberStore {
    /// `PRAGMA user_version` this build writes and understands.
    static let schemaVersion: Int32 = 1
    static let maxDisplayNameLength = 100

    public let path: String
    private let database: OpaquePointer
    private let selectMember: OpaquePointer
    private let selectMembers: OpaquePointer
    private let upsertMember: OpaquePointer
    private let deleteMember: OpaquePointer

    /// Opens (creating if needed) the database at `path`, switches it to WAL mode and creates the
    /// schema. `busyTimeoutMilliseconds` bounds how long an operation waits for another process's
    /// lock before failing with `isBusy`; keep it small on an event loop (the default, 100 ms).
    /// Opening itself may wait up to a few seconds (schema creation, switching to WAL).
    public init(path: String, busyTimeoutMilliseconds: Int32 = 100) throws {
        self.path = path
        Self.createPrivately(path)

        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            _ = sqlite3_close_v2(handle)
            throw MemberStoreError(kind: .database, message: "cannot open members database \(path): \(message)", sqliteCode: code)
        }

        var prepared: [OpaquePointer] = []
        do {
            try Self.configure(handle, path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            for sql in [
                "SELECT display_name, profile_json FROM members WHERE user_id = ?1 AND member_id = ?2",
                // The user's own member first, then in the order they were added.
                "SELECT member_id, display_name, profile_json FROM members WHERE user_id = ?1 ORDER BY member_id = ?1 DESC, created_at, member_id",
                """
                INSERT INTO members (user_id, member_id, display_name, profile_json, created_at)
                VALUES (?1, ?2, ?3, ?4, CAST(strftime('%s', 'now') AS INTEGER))
                ON CONFLICT (user_id, member_id) DO UPDATE SET display_name = excluded.display_name, profile_json = excluded.profile_json
                """,
                "DELETE FROM members WHERE user_id = ?1 AND member_id = ?2",
            ] {
                prepared.append(try Self.prepare(handle, sql, flags: UInt32(SQLITE_PREPARE_PERSISTENT), path: path))
            }
        } catch {
            for statement in prepared { _ = sqlite3_finalize(statement) }
            _ = sqlite3_close_v2(handle)
            throw error
        }
        database = handle
        selectMember = prepared[0]
        selectMembers = prepared[1]
        upsertMember = prepared[2]
        deleteMember = prepared[3]
    }

    deinit {
        for statement in [selectMember, selectMembers, upsertMember, deleteMember] {
            _ = sqlite3_finalize(statement)  // Returns the statement's last error, already reported.
        }
        _ = sqlite3_close_v2(database)  // Always SQLITE_OK; the statements are finalized.
    }

    // MARK: - Operations

    /// The member, or nil when the user has no such member (or either id is malformed). The user's
    /// own id is always a member: the stored row if there is one, else an implicit member named
    /// after the user with an empty profile. One indexed read; no locks are waited for in WAL mode.
    public func member(userID: String, memberID: String) throws -> FamilyMember? {
        guard Identifier.isValid(userID), Identifier.isValid(memberID) else { return nil }
        let statement = selectMember
        defer { reset(statement) }
        try bind(userID, at: 1, in: statement, while: "looking up a member")
        try bind(memberID, at: 2, in: statement, while: "looking up a member")
        let code = sqlite3_step(statement)
        switch code {
        case SQLITE_ROW:
            return FamilyMember(
                userID: userID,
                memberID: memberID,
                displayName: Self.text(statement, column: 0),
                profile: try storedProfile(statement, column: 1, userID: userID, memberID: memberID)
            )
        case SQLITE_DONE:
            return memberID == userID ? .implicitSelf(userID: userID) : nil
        default:
            throw error(code, while: "looking up member \(memberID) of user \(userID)")
        }
    }

    /// Adds the member, or replaces its name and profile if it exists (its creation time is kept).
    public func add(userID: String, memberID: String, displayName: String, profile: MemberProfile) throws {
        try Self.validateIdentifier(userID, role: "user id")
        try Self.validateIdentifier(memberID, role: "member id")
        try Self.validateDisplayName(displayName)
        try profile.validate()
        let statement = upsertMember
        defer { reset(statement) }
        let action = "saving member \(memberID) of user \(userID)"
        try bind(userID, at: 1, in: statement, while: action)
        try bind(memberID, at: 2, in: statement, while: action)
        try bind(displayName, at: 3, in: statement, while: action)
        try bind(profile.json, at: 4, in: statement, while: action)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw error(code, while: action) }
    }

    /// The user's family: their own member first (implicit unless stored), then the others in the
    /// order they were added.
    public func list(userID: String) throws -> [FamilyMember] {
        try Self.validateIdentifier(userID, role: "user id")
        let statement = selectMembers
        defer { reset(statement) }
        let action = "listing the members of user \(userID)"
        try bind(userID, at: 1, in: statement, while: action)
        var members: [FamilyMember] = []
        while true {
            let code = sqlite3_step(statement)
            guard code == SQLITE_ROW else {
                guard code == SQLITE_DONE else { throw error(code, while: action) }
                break
            }
            let memberID = Self.text(statement, column: 0)
            members.append(FamilyMember(
                userID: userID,
                memberID: memberID,
                displayName: Self.text(statement, column: 1),
                profile: try storedProfile(statement, column: 2, userID: userID, memberID: memberID)
            ))
        }
        if members.first?.memberID != userID {
            members.insert(.implicitSelf(userID: userID), at: 0)
        }
        return members
    }

    /// Removes the stored member; false if there was none. Removing the user's own stored member
    /// brings back the implicit one.
    @discardableResult
    public func remove(userID: String, memberID: String) throws -> Bool {
        try Self.validateIdentifier(userID, role: "user id")
        try Self.validateIdentifier(memberID, role: "member id")
        let statement = deleteMember
        defer { reset(statement) }
        let action = "removing member \(memberID) of user \(userID)"
        try bind(userID, at: 1, in: statement, while: action)
        try bind(memberID, at: 2, in: statement, while: action)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw error(code, while: action) }
        return sqlite3_changes(database) > 0
    }

    /// Parses a profile given as JSON (`--profile`): every key optional, lists default to empty,
    /// unknown keys and wrong types rejected with a message that names the key.
    public static func parseProfile(_ json: String) throws -> MemberProfile {
        var json = json
        let profile = try json.withUTF8 { try MemberProfile(json: UnsafeRawBufferPointer($0)) }
        try profile.validate()
        return profile
    }

    /// The connection's journal mode ("wal"), for tests and diagnostics.
    func journalMode() throws -> String {
        try Self.queryText(database, "PRAGMA journal_mode", path: path) ?? ""
    }

    // MARK: - Validation

    /// Checks a user or member id against `[A-Za-z0-9_.-]{1,64}`; `role` names it in the message.
    public static func validateIdentifier(_ value: String, role: String = "member id") throws(MemberStoreError) {
        guard Identifier.isValid(value) else {
            throw .invalidInput("invalid \(role) \(value.debugDescription): use 1-64 letters, digits, '_', '.' or '-'")
        }
    }

    /// Checks a display name: not blank, at most 100 characters, no control characters.
    public static func validateDisplayName(_ name: String) throws(MemberStoreError) {
        if let problem = TextRules.problem(name, maxLength: maxDisplayNameLength) {
            throw .invalidInput("the member's name \(problem)")
        }
    }

    // MARK: - SQLite

    /// `SQLITE_TRANSIENT`: SQLite copies the bound text before `sqlite3_bind_text` returns.
    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    }

    private func bind(_ value: String, at index: Int32, in statement: OpaquePointer, while action: String) throws {
        let code = sqlite3_bind_text(statement, index, value, -1, Self.transient)
        guard code == SQLITE_OK else { throw error(code, while: action) }
    }

    /// Makes the statement ready for its next use and releases its read snapshot (a statement left
    /// mid-step would pin the WAL and hide other processes' writes).
    private func reset(_ statement: OpaquePointer) {
        _ = sqlite3_reset(statement)  // Repeats the last step's error, which was already thrown.
        _ = sqlite3_clear_bindings(statement)  // Always SQLITE_OK.
    }

    private func storedProfile(_ statement: OpaquePointer, column: Int32, userID: String, memberID: String) throws -> MemberProfile {
        let pointer = sqlite3_column_text(statement, column)
        let count = Int(sqlite3_column_bytes(statement, column))
        do {
            // Limits were checked when the profile was written; reading only parses it.
            return try MemberProfile(json: UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count))
        } catch {
            throw MemberStoreError(
                kind: .database,
                message: "members database \(path): stored profile of member \(memberID) of user \(userID) is invalid: \(error.message)"
            )
        }
    }

    private static func text(_ statement: OpaquePointer, column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    private func error(_ code: Int32, while action: String) -> MemberStoreError {
        Self.error(database, code, while: action, path: path)
    }

    private static func error(_ database: OpaquePointer, _ code: Int32, while action: String, path: String) -> MemberStoreError {
        // sqlite3_errmsg describes the most recent failure on this connection, which is this one.
        let message = String(cString: sqlite3_errmsg(database))
        return MemberStoreError(
            kind: .database,
            message: "members database \(path): \(action) failed: \(message) (SQLite code \(code))",
            sqliteCode: code
        )
    }

    private static func prepare(_ database: OpaquePointer, _ sql: String, flags: UInt32 = 0, path: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(database, sql, -1, flags, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            _ = sqlite3_finalize(statement)
            throw error(database, code, while: "preparing \(sql.debugDescription)", path: path)
        }
        return statement
    }

    /// Runs a statement once and returns the first column of its first row, if any.
    private static func queryText(_ database: OpaquePointer, _ sql: String, path: String) throws -> String? {
        let statement = try prepare(database, sql, path: path)
        defer { _ = sqlite3_finalize(statement) }
        var result: String?
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return result }
            guard code == SQLITE_ROW else { throw error(database, code, while: "running \(sql)", path: path) }
            if result == nil { result = text(statement, column: 0) }
        }
    }

    private static func execute(_ database: OpaquePointer, _ sql: String, path: String) throws {
        _ = try queryText(database, sql, path: path)
    }

    private static func userVersion(_ database: OpaquePointer, path: String) throws -> Int32 {
        Int32(try queryText(database, "PRAGMA user_version", path: path) ?? "0") ?? 0
    }

    private static func configure(_ database: OpaquePointer, path: String, busyTimeoutMilliseconds: Int32) throws {
        // Opening may wait for another process's lock (switching to WAL, creating the schema);
        // operations afterwards use the caller's short timeout.
        var code = sqlite3_busy_timeout(database, max(busyTimeoutMilliseconds, 5000))
        guard code == SQLITE_OK else { throw error(database, code, while: "setting the busy timeout", path: path) }

        let mode = try queryText(database, "PRAGMA journal_mode = WAL", path: path)?.lowercased()
        guard mode == "wal" || isInMemory(path) else {
            throw MemberStoreError(
                kind: .database,
                message: "members database \(path): cannot switch to WAL mode (journal mode is \(mode ?? "unknown")); is the file on a local file system?"
            )
        }
        try execute(database, "PRAGMA synchronous = NORMAL", path: path)

        var version = try userVersion(database, path: path)
        if version == 0 {
            try execute(database, "BEGIN IMMEDIATE", path: path)
            do {
                version = try userVersion(database, path: path)  // Another process may have won.
                if version == 0 {
                    try execute(database, """
                        CREATE TABLE IF NOT EXISTS members (
                            user_id TEXT NOT NULL,
                            member_id TEXT NOT NULL,
                            display_name TEXT NOT NULL,
                            profile_json TEXT NOT NULL,
                            created_at INTEGER NOT NULL,
                            PRIMARY KEY (user_id, member_id)
                        ) WITHOUT ROWID
                        """, path: path)
                    try execute(database, "PRAGMA user_version = \(schemaVersion)", path: path)
                    version = schemaVersion
                }
                try execute(database, "COMMIT", path: path)
            } catch {
                _ = sqlite3_exec(database, "ROLLBACK", nil, nil, nil)  // Best effort; the first error matters.
                throw error
            }
        }
        guard version == schemaVersion else {
            throw MemberStoreError(
                kind: .unsupportedSchema,
                message: "members database \(path) has schema version \(version); this build understands version \(schemaVersion)"
            )
        }

        code = sqlite3_busy_timeout(database, busyTimeoutMilliseconds)
        guard code == SQLITE_OK else { throw error(database, code, while: "setting the busy timeout", path: path) }
    }

    private static func isInMemory(_ path: String) -> Bool {
        path.isEmpty || path == ":memory:"
    }

    /// Health data: a new database file is created readable by its owner only (SQLite gives its
    /// -wal and -shm files the same permissions). An existing file is left alone.
    private static func createPrivately(_ path: String) {
        guard !isInMemory(path) else { return }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 { _ = close(descriptor) }
        // Any failure (it exists, no such directory, ...) is reported by sqlite3_open_v2 itself.
    }
}
