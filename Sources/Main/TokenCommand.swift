import ArgumentParser
import AuraWell
import Glibc

/// `aurawell token USER_ID --ttl S`: mints an auth token with AURAWELL_AUTH_SECRET.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Print an auth token for a user (needs AURAWELL_AUTH_SECRET).")

    @Argument(help: "The user id the token is bound to.")
    var userID: String

    @Option(help: "Seconds the token stays valid.")
    var ttl: Int = 3600

    func run() throws {
        guard let secret = Environment.current["AURAWELL_AUTH_SECRET"] else {
            throw ValidationError("AURAWELL_AUTH_SECRET is not set")
        }
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
        print(TokenAuthority(secret: secret).mint(userID: userID, expiry: time(nil) + ttl))
    }
}
