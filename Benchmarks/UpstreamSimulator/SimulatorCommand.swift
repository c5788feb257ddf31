import ArgumentParser
import Glibc
import Reactor

/// `aurawell-upstream-sim`: a DeepSeek-compatible streaming upstream with fault injection.
struct SimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aurawell-upstream-sim",
        abstract: "A DeepSeek-compatible streaming upstream (SSE) with fault injection, for tests and benchmarks.",
        discussion: """
            POST /chat/completions (or /v1/chat/completions) is answered with a chat.completion.chunk \
            stream. A directive anywhere in the request body, such as \
            SIM[tokens=5,interval_ms=0,status=429,fail_first=2,id=abc], overrides the defaults below \
            for that request. GET /_sim/requests, GET /_sim/stats and POST /_sim/reset let a test see \
            what happened. See Benchmarks/UpstreamSimulator/README.md.
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (printed on stderr).")
    var port: UInt16 = 0

    @Option(help: "Content tokens per answer.")
    var tokens = 20

    @Option(name: .customLong("interval-ms"), help: "Milliseconds between tokens.")
    var intervalMilliseconds: UInt64 = 20

    @Option(name: .customLong("ttft-ms"), help: "Milliseconds before the first token.")
    var ttftMilliseconds: UInt64 = 0

    @Option(name: .customLong("keepalive-ms"), help: "Interval of ': keep-alive' comments before the first token; 0: none.")
    var keepAliveMilliseconds: UInt64 = 0

    func validate() throws {
        guard tokens >= 0 && tokens <= StreamPlan.maxTokens else { throw ValidationError("--tokens must be 0-\(StreamPlan.maxTokens)") }
        for (name, value) in [("interval-ms", intervalMilliseconds), ("ttft-ms", ttftMilliseconds), ("keepalive-ms", keepAliveMilliseconds)]
        where value > StreamPlan.maxMilliseconds {
            throw ValidationError("--\(name) must be at most \(StreamPlan.maxMilliseconds)")
        }
    }

    func run() throws {
        // A client that vanishes is an EPIPE from writev, never a process-killing signal.
        signal(SIGPIPE, SIG_IGN)
        Socket.raiseDescriptorLimit()
        let defaults = StreamPlan(
            tokens: tokens, intervalMilliseconds: intervalMilliseconds, ttftMilliseconds: ttftMilliseconds,
            keepAliveMilliseconds: keepAliveMilliseconds)
        // A 1 ms tick: tokens are paced to the millisecond (the wheel fires late, never early).
        let reactor = try Reactor(timerTickMilliseconds: 1, timerSlots: 4096)
        let server = SimulatorServer(reactor: reactor, defaults: defaults)
        let bound = try server.listen(host: host, port: port)
        printToStandardError("aurawell-upstream-sim: listening on \(host):\(bound)")
        try server.run()
        printToStandardError("aurawell-upstream-sim: stopped")
    }
}

/// One line on stderr, unbuffered (a test reading the log sees it at once).
func printToStandardError(_ line: String) { writeAll(line + "\n", to: 2) }
