import ArgumentParser
import FoundationEssentials
import Glibc
import Reactor

struct LoadTesterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aurawell-load",
        abstract: "Load tester for the AuraWell gateway: many WebSocket clients per process on one epoll reactor.",
        discussion: """
            Every scenario spreads its clients over --processes worker processes (this executable, \
            started with posix_spawn) and, on loopback, over source addresses 127.0.0.2… so no \
            process or address runs out of descriptors or ephemeral ports. Workers connect together, \
            then run the load together; histograms (HdrHistogram) are merged exactly. With \
            --server-pid the server's RSS and CPU are sampled from /proc during the run. Each \
            scenario prints a table and writes JSON with --json; `report` turns JSON files into an \
            HTML page. See Benchmarks/README.md.
            """,
        subcommands: [Connect.self, Idle.self, Chat.self, Echo.self, Report.self, WorkerCommand.self]
    )
}

/// Options every load scenario shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "WebSocket URL (ws://IPv4:PORT/path). `{i}` in the path is replaced by the client index; without it, the index is appended to /ws/chat/... paths (one user id per client) unless --same-path.")
    var url: String?

    @Option(help: "Number of clients.")
    var clients: Int?

    @Option(help: "Worker processes (default: one per 5,000 clients).")
    var processes: Int?

    @Option(name: .customLong("source-addresses"), help: "Bind clients to 127.0.0.2…127.0.0.(1+N) round-robin (loopback targets only; default: one per worker; 0: no bind).")
    var sourceAddresses: Int?

    @Flag(name: .customLong("same-path"), help: "Use the URL path as given for every client.")
    var samePath = false

    @Option(name: .customLong("connect-rate"), help: "New connections per second over all workers (0: all at once).")
    var connectRate: Double = 0

    @Option(name: .customLong("handshake-timeout"), help: "Seconds for TCP connect + upgrade before a client counts as failed.")
    var handshakeTimeout: Double = 15

    @Option(name: .customLong("server-pid"), help: "PID of the gateway: sample its RSS and CPU from /proc.")
    var serverPID: Int32?

    @Option(name: .customLong("sim-pid"), help: "PID of the upstream simulator: sample its RSS and CPU too.")
    var simPID: Int32?

    @Option(name: .customLong("sample-ms"), help: "Sampling interval for /proc and progress, milliseconds.")
    var sampleMilliseconds: UInt64 = 250

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    @Option(help: "Name of this run in tables and reports (default: the scenario).")
    var label: String?

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func plan(_ kind: ScenarioKind, defaultURL: String, defaultClients: Int) throws -> RunPlan {
        let target = try TargetURL(parsing: url ?? defaultURL)
        let clients = self.clients ?? defaultClients
        guard clients >= 0 else { throw ValidationError("--clients must not be negative") }
        let processes = max(1, min(self.processes ?? max(1, (clients + 4_999) / 5_000), max(1, clients)))
        var sources = sourceAddresses ?? processes
        if !target.isLoopback { sources = 0 }
        guard sources >= 0 && sources <= 250 else { throw ValidationError("--source-addresses must be 0-250") }
        var plan = RunPlan(
            kind: kind, label: label ?? kind.rawValue, commandLine: CommandLine.arguments.map(Self.quoted).joined(separator: " "),
            target: target, clients: clients, processes: processes, sourceAddressCount: sources,
            appendIndex: !samePath && target.path.hasPrefix("/ws/chat/"), connectRate: connectRate,
            handshakeTimeoutMilliseconds: UInt64(handshakeTimeout * 1000), serverPID: serverPID, simulatorPID: simPID,
            sampleMilliseconds: max(10, sampleMilliseconds), quiet: quiet)
        plan.parameters["connectRate"] = connectRate > 0 ? Format.fixed(connectRate, 0) : "all at once"
        return plan
    }

    private static func quoted(_ argument: String) -> String {
        argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,".contains($0) } ? argument : "'" + argument.replacing("'", with: "'\\''") + "'"
    }

    /// Runs the plan, prints the table, writes the JSON; exits non-zero when nothing opened.
    func execute(_ plan: RunPlan) throws {
        let result = try Coordinator(plan: plan).run()
        FileHandleLite.standardOutput(result.table())
        if let json {
            try result.jsonData().write(to: URL(filePath: json))
        }
        if plan.clients > 0 && result.opened == 0 { throw ExitCode(2) }
    }
}

extension Connect {
    static let defaultURL = "ws://127.0.0.1:8000/ws/chat/u"
}

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N clients connect at once: upgrade time (TCP connect start → 101 read) percentiles, failures by reason.")

    @OptionGroup var common: CommonOptions

    func run() throws {
        let plan = try common.plan(.connect, defaultURL: Self.defaultURL, defaultClients: 1000)
        try common.execute(plan)
    }
}

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold N connections for a while (pings answered, welcome discarded): how many survive, server RSS per idle connection.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Seconds to hold the connections once all are open.")
    var duration: Double = 30

    @Option(help: "Seconds after the last connect before the RSS-at-N sample.")
    var settle: Double = 2

    func run() throws {
        var plan = try common.plan(.idle, defaultURL: Connect.defaultURL, defaultClients: 10_000)
        plan.durationSeconds = duration
        plan.settleSeconds = min(settle, duration)
        plan.parameters["duration"] = Format.fixed(duration, 0) + " s"
        try common.execute(plan)
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Each client runs R chats in a row against the gateway pointed at the upstream simulator: time to first token, per-token added latency (from the simulator's emit stamps), answer time, tokens/s, errors by code.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Chats per client, one after another.")
    var chats = 1

    @Option(help: "The chat message; a SIM[...] directive in it steers the simulator (stamp=1 is needed for per-token latency).")
    var message = "最近睡眠不好，白天很累，有什么建议？ SIM[stamp=1,tokens=40,interval_ms=50]"

    @Option(help: "Message type: health_chat or general_chat.")
    var type = "health_chat"

    @Option(name: .customLong("chat-timeout"), help: "Seconds for one chat (request → done) before the client gives up.")
    var chatTimeout: Double = 120

    @Option(name: .customLong("think-ms"), help: "Milliseconds between one chat's done and the next request.")
    var thinkMilliseconds: UInt64 = 0

    @Option(name: .customLong("spread-ms"), help: "Start the first chats evenly over this many milliseconds instead of all at once (desynchronises the token streams).")
    var spreadMilliseconds: UInt64 = 0

    @Option(name: .customLong("max-run"), help: "Seconds after which the run is stopped even if chats are unfinished.")
    var maxRun: Double = 600

    func run() throws {
        var plan = try common.plan(.chat, defaultURL: Connect.defaultURL, defaultClients: 100)
        plan.chats = max(1, chats)
        plan.message = message
        plan.chatType = type
        plan.chatTimeoutMilliseconds = UInt64(chatTimeout * 1000)
        plan.thinkMilliseconds = thinkMilliseconds
        plan.spreadMilliseconds = spreadMilliseconds
        plan.parameters["spread"] = "\(spreadMilliseconds) ms"
        plan.maxRunSeconds = maxRun
        plan.parameters["chats"] = String(chats)
        plan.parameters["message"] = message
        plan.parameters["type"] = type
        try common.execute(plan)
    }
}

struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Each client sends a message, awaits its echo, repeats (against /ws/echo, `aurawell serve --enable-echo`): messages/s, round-trip percentiles.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Seconds to run.")
    var duration: Double = 10

    @Option(help: "Message size in bytes.")
    var size = 64

    @Flag(help: "Binary messages instead of text.")
    var binary = false

    func run() throws {
        var plan = try common.plan(.echo, defaultURL: "ws://127.0.0.1:8000/ws/echo", defaultClients: 100)
        plan.durationSeconds = duration
        plan.size = size
        plan.binary = binary
        plan.parameters["duration"] = Format.fixed(duration, 0) + " s"
        plan.parameters["size"] = "\(size) B \(binary ? "binary" : "text")"
        try common.execute(plan)
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise result JSON files: tables on stdout, and an HTML page with inline SVG charts.")

    @Option(parsing: .upToNextOption, help: "Result files written with --json.")
    var input: [String] = []

    @Argument(help: "More result files.")
    var files: [String] = []

    @Option(help: "Write an HTML report (no external assets) to this file.")
    var html: String?

    @Option(help: "Title of the HTML report.")
    var title = "AuraWell load test report"

    @Flag(help: "Print only the issue-6 target table (figure, target, measured, met?).")
    var targets = false

    @Flag(help: "Print the target table as Markdown.")
    var markdown = false

    func run() throws {
        let paths = input + files
        guard !paths.isEmpty else { throw ValidationError("name at least one result file (--input)") }
        let results = try paths.map(ScenarioResult.load)
        let table = TargetTable(results: results)
        if markdown {
            FileHandleLite.standardOutput(table.markdown())
        } else if targets {
            FileHandleLite.standardOutput(table.render())
        } else {
            for result in results { FileHandleLite.standardOutput(result.table() + "\n") }
            FileHandleLite.standardOutput(table.render())
        }
        if let html {
            try Data(HTMLReport(title: title, results: results).render().utf8).write(to: URL(filePath: html))
            FileHandleLite.standardError("wrote \(html)")
        }
    }
}

/// The hidden worker: reads its `WorkerSpec` from the first stdin line, then follows commands.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "(internal) one worker process of a run.", shouldDisplay: false)

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        Socket.raiseDescriptorLimit()
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(0, &byte, 1) == 1 {
            if byte == 0x0A { break }
            line.append(byte)
        }
        let spec = try JSONDecoder().decode(WorkerSpec.self, from: Data(line))
        let worker = try Worker(spec: spec)
        try worker.run()
    }
}
