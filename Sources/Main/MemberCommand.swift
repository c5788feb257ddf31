import ArgumentParser
import AuraWell

/// `aurawell member add|list|remove`: manages family members in the database while the server
/// runs (the server reads the same file; WAL mode keeps both safe).
struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member",
        abstract: "Add, list or remove a user's family members (works while the server runs).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Database: ParsableArguments {
        @Option(name: .customLong("db"), help: "SQLite database file (env AURAWELL_DB, default ./aurawell.db).")
        var path: String?

        func open() throws -> MemberStore {
            let path = path ?? Environment.current["AURAWELL_DB"] ?? "./aurawell.db"
            // Not on an event loop: wait longer than the server would for another writer.
            return try MemberStore(path: path, busyTimeoutMilliseconds: 5000)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a member, or update its name and profile if it exists.",
            discussion: """
                The profile is JSON with optional keys age, sex, conditions, medications, allergies, e.g.
                --profile '{"age": 72, "sex": "female", "conditions": ["hypertension"], "allergies": ["penicillin"]}'
                """
        )

        @Argument(help: ArgumentHelp("The user the family belongs to.", valueName: "user-id"))
        var userID: String

        @Argument(help: ArgumentHelp("The member's id ([A-Za-z0-9_.-]{1,64}).", valueName: "member-id"))
        var memberID: String

        @Option(help: "The member's display name (at most 100 characters).")
        var name: String

        @Option(help: "The member's health profile as JSON (default: empty).")
        var profile: String?

        @OptionGroup var database: Database

        func validate() throws {
            try userInput {
                try MemberStore.validateIdentifier(userID, role: "user id")
                try MemberStore.validateIdentifier(memberID, role: "member id")
                try MemberStore.validateDisplayName(name)
            }
            _ = try parsedProfile()
        }

        func run() throws {
            let parsed = try parsedProfile()
            let store = try database.open()
            try userInput { try store.add(userID: userID, memberID: memberID, displayName: name, profile: parsed) }
            print("saved member \(memberID) of user \(userID)")
        }

        private func parsedProfile() throws -> MemberProfile {
            do {
                return try profile.map(MemberStore.parseProfile) ?? .empty
            } catch {
                throw ValidationError("--profile: \(error)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a user's members, their own first: member_id<TAB>name<TAB>profile_json per line."
        )

        @Argument(help: ArgumentHelp("The user the family belongs to.", valueName: "user-id"))
        var userID: String

        @Flag(help: "Print one JSON array of {user_id, member_id, display_name, profile} objects instead.")
        var json = false

        @OptionGroup var database: Database

        func validate() throws {
            try userInput { try MemberStore.validateIdentifier(userID, role: "user id") }
        }

        func run() throws {
            let store = try database.open()
            let members = try userInput { try store.list(userID: userID) }
            if json {
                print("[" + members.map(\.json).joined(separator: ",") + "]")
            } else {
                for member in members {
                    print("\(member.memberID)\t\(member.displayName)\t\(member.profile.json)")
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a member (exit status 1 if there is none).")

        @Argument(help: ArgumentHelp("The user the family belongs to.", valueName: "user-id"))
        var userID: String

        @Argument(help: ArgumentHelp("The member to remove.", valueName: "member-id"))
        var memberID: String

        @OptionGroup var database: Database

        func validate() throws {
            try userInput {
                try MemberStore.validateIdentifier(userID, role: "user id")
                try MemberStore.validateIdentifier(memberID, role: "member id")
            }
        }

        func run() throws {
            let store = try database.open()
            guard try userInput({ try store.remove(userID: userID, memberID: memberID) }) else {
                let note = memberID == userID ? " (the user's own member is implicit until stored)" : ""
                throw ConfigurationError("no stored member \(memberID) for user \(userID)\(note)")
            }
            print("removed member \(memberID) of user \(userID)")
        }
    }
}

/// Bad ids, names or profiles are usage errors (message and usage, exit 64); database errors are
/// reported as they are (message, exit 1).
private func userInput<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as MemberStoreError where error.kind == .invalidInput {
        throw ValidationError(error.description)
    }
}
