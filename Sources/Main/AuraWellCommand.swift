import ArgumentParser

@main
struct AuraWellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aurawell",
        abstract: "AuraWell: a real-time gateway that streams AI health advice over WebSockets.",
        subcommands: [Serve.self, MemberCommand.self, TokenCommand.self],
        defaultSubcommand: Serve.self
    )
}
