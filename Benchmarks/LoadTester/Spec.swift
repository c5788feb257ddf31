/// Which load a run applies.
enum ScenarioKind: String, Codable, Sendable, CaseIterable {
    case connect, idle, chat, echo
}

/// Everything one worker process needs, sent by the coordinator as the first line of the worker's
/// standard input (one JSON object).
struct WorkerSpec: Codable, Sendable {
    var scenario: ScenarioKind
    /// 0-based worker number.
    var worker: Int
    /// Global index of this worker's first client (client `i` of the run is `firstClient + k`).
    var firstClient: Int
    var clients: Int
    /// Clients of the whole run.
    var totalClients = 0
    var target: TargetURL
    /// Append the client's global index to the path (distinct user ids per client).
    var appendIndex: Bool
    /// IPv4 source addresses to bind before connecting; client `i` uses `sourceAddresses[i % count]`.
    /// Empty: let the kernel choose.
    var sourceAddresses: [String]
    /// New connections per second for this worker; 0 starts them all at once.
    var connectRate: Double
    var handshakeTimeoutMilliseconds: UInt64
    /// How often the worker reports its progress.
    var progressMilliseconds: UInt64 = 250

    // chat
    var chats = 0
    var message = ""
    var chatType = "health_chat"
    var chatTimeoutMilliseconds: UInt64 = 120_000
    var thinkMilliseconds: UInt64 = 0
    /// First chats start spread evenly over this many milliseconds (0: all at once).
    var spreadMilliseconds: UInt64 = 0

    // echo
    var size = 0
    var binary = false
}

/// A line a worker writes on its standard output.
struct WorkerEvent: Codable {
    var event: String
    var open: Int?
    var failed: Int?
    var resolved: Int?
    var result: WorkerResult?
}

/// What one worker measured; the coordinator merges these.
struct WorkerResult: Codable {
    var worker: Int
    var clients: Int
    var opened = 0
    /// Connections that never opened, by reason.
    var failures: [String: Int] = [:]
    /// Open connections that ended before the run's end, by reason.
    var endedEarly: [String: Int] = [:]
    /// Connections still open when the run ended.
    var survivors = 0
    var pingsAnswered = 0
    /// Histograms as `[value, count]` pairs of HdrHistogram buckets (nanoseconds).
    var histograms: [String: [[UInt64]]] = [:]
    var counters: [String: Int] = [:]
    /// `error` messages by `error_code`.
    var errorCodes: [String: Int] = [:]
    var finishReasons: [String: Int] = [:]
    /// Protocol expectations broken (state order, conversation ids, sizes), by kind.
    var violations: [String: Int] = [:]
    /// CLOCK_MONOTONIC ns of the first request sent and the last answer received (chat, echo).
    var firstSendNs: UInt64?
    var lastReceiveNs: UInt64?
    var goNs: UInt64 = 0
    var connectedNs: UInt64 = 0
    var runNs: UInt64 = 0
    var stopNs: UInt64 = 0
    /// The worker's own CPU time (user + system), seconds.
    var cpuSeconds = 0.0
}
