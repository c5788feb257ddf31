import CSQLite
import Foundation
import Testing

@testable import AuraWell

/// A database file under /tmp that is deleted (with its -wal and -shm files) when the test ends.
private final class TemporaryDatabase {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("aurawell-members-\(UUID().uuidString).db").path

    deinit {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    func open() throws -> MemberStore { try MemberStore(path: path) }
}

private let grandma = MemberProfile(age: 72, sex: "female", conditions: ["hypertension"], medications: ["amlodipine 5 mg"], allergies: ["penicillin"])

@Suite struct MemberStoreTests {
    // MARK: Store

    @Test func addListAndRemove() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)
        try store.add(userID: "alice", memberID: "son", displayName: "小明", profile: MemberProfile(age: 9))
        try store.add(userID: "bob", memberID: "dad", displayName: "Dad", profile: .empty)

        #expect(try store.member(userID: "alice", memberID: "grandma")
            == FamilyMember(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma))
        #expect(try store.list(userID: "alice").map(\.memberID) == ["alice", "grandma", "son"])
        #expect(try store.list(userID: "alice")[2].displayName == "小明")
        #expect(try store.list(userID: "bob").map(\.memberID) == ["bob", "dad"])
        #expect(try store.list(userID: "carol").map(\.memberID) == ["carol"])

        #expect(try store.remove(userID: "alice", memberID: "grandma"))
        #expect(try !store.remove(userID: "alice", memberID: "grandma"))
        #expect(try store.member(userID: "alice", memberID: "grandma") == nil)
        #expect(try store.list(userID: "alice").map(\.memberID) == ["alice", "son"])
        // Another user's member of the same id is untouched.
        #expect(try !store.remove(userID: "bob", memberID: "son"))
        #expect(try store.member(userID: "alice", memberID: "son") != nil)
    }

    @Test func addIsAnUpsert() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)
        try store.add(userID: "alice", memberID: "kid", displayName: "Kid", profile: .empty)
        var updated = grandma
        updated.medications.append("metformin")
        updated.sex = nil
        try store.add(userID: "alice", memberID: "grandma", displayName: "Granny", profile: updated)

        let members = try store.list(userID: "alice")
        #expect(members.map(\.memberID) == ["alice", "grandma", "kid"])
        #expect(members[1] == FamilyMember(userID: "alice", memberID: "grandma", displayName: "Granny", profile: updated))
    }

    @Test func theUsersOwnMemberIsImplicitAndOverridable() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let implicit = FamilyMember(userID: "alice", memberID: "alice", displayName: "alice", profile: .empty)
        #expect(try store.member(userID: "alice", memberID: "alice") == implicit)
        #expect(try store.list(userID: "alice") == [implicit])

        try store.add(userID: "alice", memberID: "zed", displayName: "Zed", profile: .empty)
        let me = FamilyMember(userID: "alice", memberID: "alice", displayName: "Alice", profile: MemberProfile(age: 35, allergies: ["nuts"]))
        try store.add(userID: me.userID, memberID: me.memberID, displayName: me.displayName, profile: me.profile)
        #expect(try store.member(userID: "alice", memberID: "alice") == me)
        #expect(try store.list(userID: "alice").map(\.memberID) == ["alice", "zed"])  // Stored self still first.
        #expect(try store.list(userID: "alice")[0] == me)

        #expect(try store.remove(userID: "alice", memberID: "alice"))
        #expect(try store.member(userID: "alice", memberID: "alice") == implicit)
        #expect(try !store.remove(userID: "alice", memberID: "alice"))
    }

    @Test func unknownMembersAreNil() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: .empty)
        #expect(try store.member(userID: "alice", memberID: "nobody") == nil)
        #expect(try store.member(userID: "bob", memberID: "grandma") == nil)  // Families are separate.
        #expect(try store.member(userID: "alice", memberID: "Grandma") == nil)  // Ids are case-sensitive.
        #expect(try store.member(userID: "alice", memberID: "bad id") == nil)
        #expect(try store.member(userID: "alice", memberID: "") == nil)
    }

    @Test(arguments: [
        ("", "m", "Name", "invalid user id \"\""),
        ("alice bob", "m", "Name", "invalid user id \"alice bob\""),
        ("alice", String(repeating: "x", count: 65), "Name", "invalid member id"),
        ("alice", "m/1", "Name", "invalid member id \"m/1\""),
        ("alice", "m", "", "name must not be empty"),
        ("alice", "m", "   ", "name must not be empty"),
        ("alice", "m", String(repeating: "名", count: 101), "longer than 100 characters"),
        ("alice", "m", "two\nlines", "control characters"),
        ("alice", "m", "tab\there", "control characters"),
    ])
    func invalidIDsAndNamesAreRejected(userID: String, memberID: String, name: String, message: String) throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let error = #expect(throws: MemberStoreError.self) {
            try store.add(userID: userID, memberID: memberID, displayName: name, profile: .empty)
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        if Identifier.isValid(userID) {
            #expect(try store.list(userID: userID).count == 1)
        }
    }

    @Test func nameLimitsCountCharacters() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        try store.add(userID: "alice", memberID: "m", displayName: String(repeating: "名", count: 100), profile: .empty)
        try store.add(userID: "alice", memberID: String(repeating: "x", count: 64), displayName: "x", profile: .empty)
        #expect(try store.list(userID: "alice").count == 3)
    }

    @Test func invalidProfilesAreRejectedByAdd() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        let error = #expect(throws: MemberStoreError.self) {
            try store.add(userID: "alice", memberID: "m", displayName: "M", profile: MemberProfile(age: 200))
        }
        #expect(error?.description.contains("\"age\" must be between 0 and 150") == true)
        #expect(throws: MemberStoreError.self) {
            try store.add(userID: "alice", memberID: "m", displayName: "M", profile: MemberProfile(allergies: [""]))
        }
        #expect(try store.member(userID: "alice", memberID: "m") == nil)
    }

    // MARK: Profiles

    @Test func profilesParse() throws {
        #expect(try MemberStore.parseProfile("{}") == .empty)
        #expect(try MemberStore.parseProfile(" { } ") == .empty)
        #expect(try MemberStore.parseProfile(#"{"age": null, "sex": null, "conditions": null}"#) == .empty)
        #expect(try MemberStore.parseProfile(#"{"age":42}"#) == MemberProfile(age: 42))
        #expect(try MemberStore.parseProfile("""
            {
              "age": 72, "sex": "female",
              "conditions": ["hypertension", "type 2 diabetes"],
              "medications": ["amlodipine 5 mg"],
              "allergies": ["penicillin", "青霉素", "caf\\u00e9 \\"au lait\\" \\ud83d\\ude00 a\\/b"]
            }
            """) == MemberProfile(
                age: 72, sex: "female", conditions: ["hypertension", "type 2 diabetes"],
                medications: ["amlodipine 5 mg"], allergies: ["penicillin", "青霉素", "café \"au lait\" 😀 a/b"]
            ))
        // What JSONValue's parser allows: a repeated key (the last wins), an integral exponent,
        // a lone surrogate (replaced by U+FFFD).
        #expect(try MemberStore.parseProfile(#"{"age": 40, "age": 41}"#) == MemberProfile(age: 41))
        #expect(try MemberStore.parseProfile(#"{"age": 1e2}"#) == MemberProfile(age: 100))
        #expect(try MemberStore.parseProfile(#"{"sex": "\ud83d"}"#) == MemberProfile(sex: "\u{FFFD}"))
    }

    @Test(arguments: [
        ("", "must be a JSON object"),
        ("[]", "must be a JSON object such as {\"age\": 42, \"allergies\": [\"penicillin\"]}, got an array"),
        ("42", "got a number"),
        (#"{"weight": 80}"#, #"unknown profile key "weight"; allowed keys: age, sex, conditions, medications, allergies"#),
        (#"{"age": "40"}"#, #"profile "age" must be a whole number, got a string"#),
        (#"{"age": 40.5}"#, #""age" must be a whole number of years"#),
        (#"{"age": 1e-1}"#, #""age" must be a whole number of years"#),
        (#"{"age": -1}"#, #""age" must be between 0 and 150, got -1"#),
        (#"{"age": 151}"#, #""age" must be between 0 and 150, got 151"#),
        (#"{"age": 99999999999999999999}"#, #""age" must be between 0 and 150"#),
        (#"{"age": 042}"#, "profile is not valid JSON: leading zero in number at byte 9"),
        (#"{"sex": 1}"#, #"profile "sex" must be a string, got a number"#),
        (#"{"sex": ""}"#, #"profile "sex" must not be empty"#),
        (#"{"allergies": "penicillin"}"#, #"profile "allergies" must be an array of strings, got a string"#),
        (#"{"allergies": ["a", 2]}"#, #"profile "allergies" must be an array of strings; entry 1 is a number"#),
        (#"{"conditions": ["ok", " "]}"#, #"profile "conditions"[1] must not be empty"#),
        (#"{"conditions": ["line\nbreak"]}"#, "control characters"),
        ("{\"conditions\": [\"raw\ttab\"]}", "control character in string"),
        (#"{"age": 42"#, "unexpected end of input at byte 10"),
        (#"{"age": 42,}"#, "expected a string key at byte 11"),
        (#"{age: 42}"#, "expected a string key at byte 1"),
        (#"{"age" 42}"#, "expected ':' after key at byte 7"),
        (#"{"age": 42} x"#, "unexpected data after the value at byte 12"),
        (#"{"sex": "f}"#, "unterminated string"),
        (#"{"sex": "\x"}"#, "invalid escape at byte 9"),
        (#"{"age": nul}"#, "invalid literal at byte 11"),
        (#"{"age": true}"#, #""age" must be a whole number, got a boolean"#),
    ])
    func invalidProfilesAreRejectedWithMessages(json: String, message: String) {
        let error = #expect(throws: MemberStoreError.self) { try MemberStore.parseProfile(json) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.description.contains(message) == true, "\(json) -> \(error?.description ?? "no error")")
    }

    @Test func profileLimits() throws {
        let many = "[" + (0...50).map { "\"c\($0)\"" }.joined(separator: ",") + "]"
        #expect(throws: MemberStoreError.self) { try MemberStore.parseProfile(#"{"conditions": \#(many)}"#) }
        let long = String(repeating: "x", count: 201)
        #expect(throws: MemberStoreError.self) { try MemberStore.parseProfile(#"{"medications": ["\#(long)"]}"#) }
    }

    @Test func profileJSONRoundTrips() throws {
        #expect(MemberProfile.empty.json == #"{"allergies":[],"conditions":[],"medications":[]}"#)
        #expect(MemberProfile(age: 3, sex: "m").json == #"{"age":3,"allergies":[],"conditions":[],"medications":[],"sex":"m"}"#)
        let tricky = MemberProfile(age: 0, sex: "女", conditions: ["\"quoted\"", "back\\slash", "emoji 😀"], medications: ["a/b"], allergies: [])
        #expect(try MemberStore.parseProfile(tricky.json) == tricky)
        #expect(try MemberStore.parseProfile(grandma.json) == grandma)
        // Rows written before keys were sorted still read the same.
        #expect(try MemberStore.parseProfile(#"{"age":3,"sex":"m","conditions":["x"],"medications":[],"allergies":[]}"#)
            == MemberProfile(age: 3, sex: "m", conditions: ["x"]))
    }

    @Test func memberJSON() {
        let member = FamilyMember(userID: "alice", memberID: "gm", displayName: "Gran \"G\"", profile: MemberProfile(age: 70))
        #expect(member.json
            == #"{"display_name":"Gran \"G\"","member_id":"gm","profile":{"age":70,"allergies":[],"conditions":[],"medications":[]},"user_id":"alice"}"#)
    }

    // MARK: The database file

    @Test func walModeIsActive() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        #expect(try store.journalMode() == "wal")
        try store.add(userID: "alice", memberID: "m", displayName: "M", profile: .empty)
        #expect(FileManager.default.fileExists(atPath: database.path + "-wal"))
        // A second connection opening the file finds it in WAL mode already (it is persistent).
        #expect(try database.open().journalMode() == "wal")
    }

    @Test func newFilesAreReadableByTheOwnerOnly() throws {
        let database = TemporaryDatabase()
        _ = try database.open()
        let attributes = try FileManager.default.attributesOfItem(atPath: database.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func dataSurvivesReopening() throws {
        let database = TemporaryDatabase()
        do {
            let store = try database.open()
            try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)
        }
        let reopened = try database.open()
        #expect(try reopened.member(userID: "alice", memberID: "grandma")?.profile == grandma)
    }

    @Test func twoInstancesOnOneFileSeeEachOthersWrites() throws {
        let database = TemporaryDatabase()
        let server = try database.open()  // The reader, as on the event loop.
        let cli = try database.open()  // The writer, as `aurawell member add`.
        #expect(try server.member(userID: "alice", memberID: "grandma") == nil)

        try cli.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)
        #expect(try server.member(userID: "alice", memberID: "grandma")?.profile == grandma)

        for round in 0..<200 {
            try cli.add(userID: "alice", memberID: "m\(round)", displayName: "Member \(round)", profile: MemberProfile(age: round % 100))
            #expect(try server.member(userID: "alice", memberID: "m\(round)")?.displayName == "Member \(round)")
        }
        #expect(try server.list(userID: "alice").count == 202)

        try server.add(userID: "alice", memberID: "grandma", displayName: "Granny", profile: .empty)
        #expect(try cli.member(userID: "alice", memberID: "grandma")?.displayName == "Granny")
        #expect(try cli.remove(userID: "alice", memberID: "grandma"))
        #expect(try server.member(userID: "alice", memberID: "grandma") == nil)
    }

    /// While another process holds the write lock (an open write transaction), the server's reads
    /// neither wait nor see uncommitted rows, and a write gives up after the short busy timeout.
    @Test func readsDoNotWaitForAWriterAndWritesWaitBriefly() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)

        var writer: OpaquePointer?
        #expect(sqlite3_open_v2(database.path, &writer, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(writer) }
        #expect(sqlite3_exec(writer, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)
        #expect(sqlite3_exec(writer, """
            INSERT INTO members VALUES ('alice', 'dad', 'Dad', '{}', 0);
            UPDATE members SET display_name = 'Granny' WHERE member_id = 'grandma'
            """, nil, nil, nil) == SQLITE_OK)

        let clock = ContinuousClock()
        // Had these reads waited for the lock, which stays held, they would have failed as busy.
        #expect(try store.member(userID: "alice", memberID: "grandma")?.displayName == "Grandma")
        #expect(try store.member(userID: "alice", memberID: "dad") == nil)
        #expect(try store.list(userID: "alice").map(\.memberID) == ["alice", "grandma"])

        let start = clock.now
        do {
            let error = #expect(throws: MemberStoreError.self) {
                try store.add(userID: "alice", memberID: "son", displayName: "Son", profile: .empty)
            }
            #expect(error?.isBusy == true, "\(error?.description ?? "")")
            #expect(error?.description.contains("locked") == true, "\(error?.description ?? "")")
        }
        let waited = clock.now - start
        #expect(waited >= .milliseconds(90) && waited < .seconds(2), "\(waited)")

        #expect(sqlite3_exec(writer, "COMMIT", nil, nil, nil) == SQLITE_OK)
        #expect(try store.member(userID: "alice", memberID: "grandma")?.displayName == "Granny")
        #expect(try store.member(userID: "alice", memberID: "dad")?.profile == .empty)
        try store.add(userID: "alice", memberID: "son", displayName: "Son", profile: .empty)
    }

    @Test func statementsAreReused() throws {
        let database = TemporaryDatabase()
        let store = try database.open()
        try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)
        var found = 0
        for index in 0..<10_000 {
            switch index % 3 {
            case 0: if try store.member(userID: "alice", memberID: "grandma")?.profile == grandma { found += 1 }
            case 1: if try store.member(userID: "alice", memberID: "alice") != nil { found += 1 }
            default: if try store.member(userID: "alice", memberID: "nobody\(index)") == nil { found += 1 }
            }
        }
        #expect(found == 10_000)
        for index in 0..<1_000 {
            try store.add(userID: "u\(index % 10)", memberID: "m\(index)", displayName: "M", profile: .empty)
            #expect(try store.list(userID: "u\(index % 10)").count == index / 10 + 2)
        }
        #expect(try store.remove(userID: "u0", memberID: "m0"))
    }

    @Test func aFileThatIsNotADatabaseIsReported() throws {
        let database = TemporaryDatabase()
        try Data(String(repeating: "not sqlite ", count: 100).utf8).write(to: URL(fileURLWithPath: database.path))
        let error = #expect(throws: MemberStoreError.self) { try database.open() }
        #expect(error?.kind == .database)
        #expect(error?.description.contains("not a database") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains(database.path) == true)
    }

    @Test func aNewerSchemaIsRefused() throws {
        let database = TemporaryDatabase()
        _ = try database.open()
        var connection: OpaquePointer?
        #expect(sqlite3_open_v2(database.path, &connection, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
        #expect(sqlite3_exec(connection, "PRAGMA user_version = 2", nil, nil, nil) == SQLITE_OK)
        sqlite3_close_v2(connection)
        let error = #expect(throws: MemberStoreError.self) { try database.open() }
        #expect(error?.kind == .unsupportedSchema)
        #expect(error?.description.contains("schema version 2") == true, "\(error?.description ?? "")")
    }

    @Test func anInMemoryStoreWorks() throws {
        let store = try MemberStore(path: ":memory:")
        try store.add(userID: "alice", memberID: "grandma", displayName: "Grandma", profile: grandma)
        #expect(try store.member(userID: "alice", memberID: "grandma")?.profile == grandma)
    }

    @Test func aMissingDirectoryIsReported() {
        let error = #expect(throws: MemberStoreError.self) {
            try MemberStore(path: "/nonexistent-\(UUID().uuidString)/aurawell.db")
        }
        #expect(error?.description.contains("cannot open members database") == true)
    }

    // MARK: `aurawell member`

    private struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private func aurawell(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = ServerProcess.binaryURL
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AURAWELL_") }
        env.merge(environment) { $1 }
        process.environment = env
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func commandLine() throws {
        let database = TemporaryDatabase()
        let db = ["--db", database.path]

        var run = try aurawell(["member", "add", "alice", "grandma", "--name", "Grandma", "--profile", grandma.json] + db)
        #expect(run.status == 0, "\(run.stderr)")
        run = try aurawell(["member", "add", "alice", "son", "--name", "Little one"] + db)
        #expect(run.status == 0, "\(run.stderr)")

        run = try aurawell(["member", "list", "alice"] + db)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            alice\talice\t{"allergies":[],"conditions":[],"medications":[]}
            grandma\tGrandma\t\(grandma.json)
            son\tLittle one\t{"allergies":[],"conditions":[],"medications":[]}

            """)

        // AURAWELL_DB is the default for --db; --json prints one array.
        run = try aurawell(["member", "list", "alice", "--json"], environment: ["AURAWELL_DB": database.path])
        #expect(run.status == 0, "\(run.stderr)")
        let array = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        #expect(array?.map { $0["member_id"] as? String } == ["alice", "grandma", "son"])
        #expect((array?[1]["profile"] as? [String: Any])?["age"] as? Int == 72)

        // What the CLI wrote, a store (the server's) reads.
        let store = try database.open()
        #expect(try store.member(userID: "alice", memberID: "grandma")?.profile == grandma)

        run = try aurawell(["member", "remove", "alice", "grandma"] + db)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try store.member(userID: "alice", memberID: "grandma") == nil)

        run = try aurawell(["member", "remove", "alice", "grandma"] + db)
        #expect(run.status == 1)
        #expect(run.stderr.contains("no stored member grandma for user alice"), "\(run.stderr)")

        run = try aurawell(["member", "add", "alice", "x", "--name", "X", "--profile", #"{"weight": 80}"#] + db)
        #expect(run.status != 0)
        #expect(run.stderr.contains(#"unknown profile key "weight""#), "\(run.stderr)")

        run = try aurawell(["member", "add", "alice", "bad id", "--name", "X"] + db)
        #expect(run.status != 0)
        #expect(run.stderr.contains(#"invalid member id "bad id""#), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: aurawell member add"), "\(run.stderr)")

        run = try aurawell(["member", "add", "alice", "x"] + db)
        #expect(run.status != 0)
        #expect(run.stderr.contains("--name"), "\(run.stderr)")

        run = try aurawell(["member", "list", "alice"] + ["--db", "/nonexistent-\(UUID().uuidString)/a.db"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("cannot open members database"), "\(run.stderr)")

        run = try aurawell(["member", "list", "alice"] + db)
        #expect(run.stdout.split(separator: "\n").map { $0.split(separator: "\t")[0] } == ["alice", "son"])
    }
}
