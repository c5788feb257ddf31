import FoundationEssentials

/// One /proc sample taken by the coordinator.
struct Sample: Codable {
    /// Seconds since the coordinator started.
    var t: Double
    /// Open client connections (sum of the workers' last progress reports).
    var connections: Int
    var serverRSSKiB: Int?
    var serverCPU: Double?
    var simRSSKiB: Int?
    var simCPU: Double?
    /// CPU seconds of the coordinator and every worker so far.
    var testerCPU = 0.0
    /// Busy CPU seconds of the whole machine since boot.
    var machineCPU: Double?
    /// CPU seconds the hypervisor took from this machine since boot.
    var machineSteal: Double?
}

/// RSS and CPU of one observed process (the gateway or the simulator) over a run.
struct ProcessFigures: Codable {
    var pid: Int32
    var rssBeforeKiB = 0
    /// At "all connected" (idle: after the settle time).
    var rssAtConnectionsKiB = 0
    var rssPeakKiB = 0
    var rssPeakInWindowKiB = 0
    var rssAfterKiB = 0
    var cpuSecondsWindow = 0.0
    /// CPU seconds per wall second in the window, as a percentage of one core.
    var cpuPercentWindow = 0.0
    /// From before the workers started to after they ended.
    var cpuSecondsRun = 0.0
    /// (RSS at N connections − RSS before) / connections opened.
    var bytesPerConnection = 0.0
    /// (peak RSS in the window − RSS before) / connections opened.
    var bytesPerConnectionAtPeak = 0.0

    init(pid: Int32) { self.pid = pid }
}

struct TesterFigures: Codable {
    var processes: Int
    var cpuSecondsWindow = 0.0
    var cpuPercentWindow = 0.0
    /// Coordinator plus reaped workers (getrusage), the whole run.
    var cpuSecondsRun = 0.0
    /// What the workers reported (getrusage RUSAGE_SELF at their end).
    var workerCPUSeconds = 0.0

    init(processes: Int) { self.processes = processes }
}

/// Everything one scenario run measured; the `--json` file.
struct ScenarioResult: Codable {
    var label: String
    var scenario: ScenarioKind
    var command: String
    var date: String
    var machine: MachineInfo
    var target: String
    var clients: Int
    var processes: Int
    var sourceAddresses: Int
    var parameters: [String: String]
    var opened = 0
    var failures: [String: Int] = [:]
    var endedEarly: [String: Int] = [:]
    var survivors = 0
    var pingsAnswered = 0
    /// First `go` → last worker resolved every connect.
    var connectSeconds = 0.0
    /// The measured window: connect (go → connected), hold (idle), run (chat, echo).
    var windowName = ""
    var windowSeconds = 0.0
    /// First request sent → last answer received (chat, echo).
    var loadSeconds: Double?
    var latency: [String: LatencySummary] = [:]
    var counters: [String: Int] = [:]
    var errorCodes: [String: Int] = [:]
    var finishReasons: [String: Int] = [:]
    var violations: [String: Int] = [:]
    var tokensPerSecond: Double?
    var tokensPerServerCPUSecond: Double?
    var messagesPerSecond: Double?
    var server: ProcessFigures?
    var simulator: ProcessFigures?
    var tester = TesterFigures(processes: 0)
    /// CPU of every other process of the machine in the window (machine busy − server −
    /// simulator − tester), % of one core: other work that competed with the run.
    var otherCPUPercentWindow: Double?
    /// Hypervisor steal in the window, % of one core (all CPUs together): time this virtual
    /// machine's CPUs had work but the host ran something else. It stalls the loop like any
    /// competing process, so it belongs next to the latencies.
    var stealCPUPercentWindow: Double?
    var problems: [String] = []
    var samples: [Sample] = []
    /// Phase marks: name → seconds since the coordinator started.
    var marks: [String: Double] = [:]

    init(plan: RunPlan, machine: MachineInfo) {
        label = plan.label
        scenario = plan.kind
        command = plan.commandLine
        date = Date.now.formatted(.iso8601)
        self.machine = machine
        target = "ws://\(plan.target.host):\(plan.target.port)\(plan.target.path)"
        clients = plan.clients
        processes = plan.processes
        sourceAddresses = plan.sourceAddressCount
        parameters = plan.parameters
    }

    // MARK: Presentation

    /// The figures worth a line in the summary, as (figure, value) pairs.
    func summaryRows() -> [(String, String)] {
        var rows: [(String, String)] = []
        rows.append(("clients", "\(Format.grouped(clients)) (\(processes) process\(processes == 1 ? "" : "es"), \(sourceAddresses) source address\(sourceAddresses == 1 ? "" : "es"))"))
        rows.append(("opened", "\(Format.grouped(opened)) in \(Format.fixed(connectSeconds, 2)) s"))
        for (reason, count) in failures.sorted(by: { $0.value > $1.value }) { rows.append(("failed: \(reason)", Format.grouped(count))) }
        for (name, title) in [("upgrade", "upgrade time"), ("ttft", "time to first token"), ("token", "added latency per token"), ("answer", "answer time"), ("rtt", "echo round trip"), ("dispatch", "tester's own read delay")] {
            guard let l = latency[name] else { continue }
            rows.append(("\(title) ms p50/p90/p99/max", "\(Format.ms(l.p50Ms)) / \(Format.ms(l.p90Ms)) / \(Format.ms(l.p99Ms)) / \(Format.ms(l.maxMs))  (n=\(Format.grouped(l.count)))"))
        }
        switch scenario {
        case .idle:
            rows.append(("survived the hold", "\(Format.grouped(survivors)) of \(Format.grouped(opened)) (\(Format.fixed(windowSeconds, 0)) s)"))
            rows.append(("pings answered", Format.grouped(pingsAnswered)))
        case .chat:
            let done = counters["chatsDone"] ?? 0
            rows.append(("chats ok / done / started", "\(Format.grouped(counters["chatsOK"] ?? 0)) / \(Format.grouped(done)) / \(Format.grouped(counters["chatsStarted"] ?? 0))"))
            rows.append(("tokens (stamps) / deltas / usage tokens", "\(Format.grouped(counters["tokens"] ?? 0)) / \(Format.grouped(counters["deltas"] ?? 0)) / \(Format.grouped(counters["usageCompletionTokens"] ?? 0))"))
            if let t = tokensPerSecond { rows.append(("tokens/s relayed", Format.fixed(t, 0))) }
            if let t = tokensPerServerCPUSecond { rows.append(("tokens per server CPU second", Format.fixed(t, 0))) }
            rows.append(("errors by code", errorCodes.isEmpty ? "none" : errorCodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
            rows.append(("finish reasons", finishReasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        case .echo:
            rows.append(("echoes", Format.grouped(counters["echoes"] ?? 0)))
            if let m = messagesPerSecond { rows.append(("messages/s", Format.fixed(m, 0))) }
        case .connect:
            break
        }
        if !violations.isEmpty {
            rows.append(("protocol violations", violations.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        } else if scenario == .chat || scenario == .echo {
            rows.append(("protocol violations", "none"))
        }
        if !endedEarly.isEmpty {
            rows.append(("closed early", endedEarly.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        }
        if let s = server {
            rows.append(("server RSS before / at N / peak / after", "\(Format.kib(s.rssBeforeKiB)) / \(Format.kib(s.rssAtConnectionsKiB)) / \(Format.kib(s.rssPeakKiB)) / \(Format.kib(s.rssAfterKiB))"))
            rows.append(("server RSS per connection", Format.bytes(s.bytesPerConnection) + (scenario == .chat ? " idle, \(Format.bytes(s.bytesPerConnectionAtPeak)) at the streaming peak" : "")))
            rows.append(("server CPU (\(windowName), \(Format.fixed(windowSeconds, 1)) s)", "\(Format.fixed(s.cpuSecondsWindow, 2)) s = \(Format.fixed(s.cpuPercentWindow, 1)) % of a core"))
        }
        if let s = simulator {
            rows.append(("simulator CPU (\(windowName))", "\(Format.fixed(s.cpuSecondsWindow, 2)) s = \(Format.fixed(s.cpuPercentWindow, 1)) % of a core"))
        }
        rows.append(("load tester CPU (\(windowName))", "\(Format.fixed(tester.cpuSecondsWindow, 2)) s = \(Format.fixed(tester.cpuPercentWindow, 1)) % of a core"))
        if let other = otherCPUPercentWindow {
            rows.append(("other processes' CPU (\(windowName))", "\(Format.fixed(other, 1)) % of a core (machine busy minus the three above)"))
        }
        if let steal = stealCPUPercentWindow {
            rows.append(("hypervisor steal (\(windowName))", "\(Format.fixed(steal, 1)) % of a core (CPU time the host took from this VM)"))
        }
        for problem in problems { rows.append(("problem", problem)) }
        return rows
    }

    func table() -> String {
        var table = TextTable(["\(label) (\(scenario.rawValue))", ""])
        for (figure, value) in summaryRows() { table.add([figure, value]) }
        return table.render()
    }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    static func load(_ path: String) throws -> ScenarioResult {
        let data = try Data(contentsOf: URL(filePath: path))
        return try JSONDecoder().decode(ScenarioResult.self, from: data)
    }
}
