/// The figures issue 6 asks for, taken from a set of results (by label first: `connect-1000`,
/// `idle-10000`, `idle-19500`, `chat-100`, `chat-700`, `chat-1000`, `chat-1000-turnover`,
/// `chat-max`; else by scenario and size).
struct TargetTable {
    var results: [ScenarioResult]

    private func find(_ label: String, _ scenario: ScenarioKind, clients: Int? = nil) -> ScenarioResult? {
        results.first { $0.label == label }
            ?? results.last { $0.scenario == scenario && (clients == nil || $0.clients == clients) }
    }

    func rows() -> [[String]] {
        var rows: [[String]] = []
        func met(_ ok: Bool?) -> String { ok.map { $0 ? "yes" : "NO" } ?? "–" }

        let idles = results.filter { $0.scenario == .idle }
        if let best = idles.max(by: { $0.survivors < $1.survivors }) {
            rows.append([
                "idle WebSocket connections held by one server process", "≥ 19,500",
                "\(Format.grouped(best.survivors)) of \(Format.grouped(best.clients)) held \(Format.fixed(best.windowSeconds, 0)) s (\(best.label))",
                met(best.survivors >= 19_500),
            ])
        }
        if let idle = find("idle-10000", .idle, clients: 10_000), let server = idle.server {
            rows.append([
                "server RSS per idle connection (at \(Format.grouped(idle.opened)))", "≤ 4 KiB",
                "\(Format.bytes(server.bytesPerConnection)) ((\(Format.kib(server.rssAtConnectionsKiB)) − \(Format.kib(server.rssBeforeKiB))) / \(Format.grouped(idle.opened)))",
                met(server.bytesPerConnection <= 4096),
            ])
        }
        if let chat = find("chat-1000", .chat, clients: 1_000), let server = chat.server {
            rows.append([
                "server RSS per streaming connection (at \(Format.grouped(chat.opened)) streams)", "≤ 64 KiB",
                "\(Format.bytes(server.bytesPerConnectionAtPeak)) ((peak \(Format.kib(server.rssPeakInWindowKiB)) − \(Format.kib(server.rssBeforeKiB))) / \(Format.grouped(chat.opened)))",
                met(server.bytesPerConnectionAtPeak <= 65_536),
            ])
        }
        // The 1,000-stream figure is the target; the others show where it holds and what chat
        // turnover adds (found by label only, so that none stands in for another).
        let latencyRuns: [(label: String, run: ScenarioResult?, isTarget: Bool)] = [
            ("chat-100", find("chat-100", .chat, clients: 100), false),
            ("chat-700", results.first { $0.label == "chat-700" }, false),
            ("chat-1000", find("chat-1000", .chat, clients: 1_000), true),
            ("chat-1000-turnover", results.first { $0.label == "chat-1000-turnover" }, false),
        ]
        for entry in latencyRuns {
            guard let chat = entry.run, let token = chat.latency["token"] else { continue }
            let turnover = entry.label.hasSuffix("turnover") ? ", with chat turnover" : ""
            rows.append([
                "added latency per token, emit → receipt, \(Format.grouped(chat.clients)) streams\(turnover)",
                entry.isTarget ? "p99 ≤ 2 ms" : "(report)",
                "p50 \(Format.ms(token.p50Ms)) ms, p99 \(Format.ms(token.p99Ms)) ms, max \(Format.ms(token.maxMs)) ms (\(Format.grouped(token.count)) tokens, \(chat.label))",
                entry.isTarget ? met(token.p99Ms <= 2) : (token.p99Ms <= 2 ? "(≤ 2 ms)" : "(> 2 ms)"),
            ])
        }
        if let connect = find("connect-1000", .connect, clients: 1_000), let upgrade = connect.latency["upgrade"] {
            rows.append([
                "WebSocket upgrade time, \(Format.grouped(connect.clients)) clients at once", "p99 ≤ 20 ms",
                "p50 \(Format.ms(upgrade.p50Ms)) ms, p99 \(Format.ms(upgrade.p99Ms)) ms, max \(Format.ms(upgrade.maxMs)) ms",
                met(upgrade.p99Ms <= 20),
            ])
        }
        let chats = results.filter { $0.tokensPerServerCPUSecond != nil }
        if let best = chats.max(by: { ($0.tokensPerServerCPUSecond ?? 0) < ($1.tokensPerServerCPUSecond ?? 0) }),
            let perCore = best.tokensPerServerCPUSecond
        {
            rows.append([
                "relayed tokens per second, one server core", "report; aim 200,000",
                "\(Format.fixed(perCore, 0)) per server CPU second (\(Format.fixed(best.tokensPerSecond ?? 0, 0)) tokens/s at \(Format.fixed(best.server?.cpuPercentWindow ?? 0, 0)) % of a core, \(best.label))",
                perCore >= 200_000 ? "yes" : "NO",
            ])
        }
        return rows
    }

    func render() -> String {
        var table = TextTable(["figure", "target", "measured", "met?"])
        for row in rows() { table.add(row) }
        return table.render()
    }

    /// Markdown, for Benchmarks/RESULTS.md.
    func markdown() -> String {
        var out = "| figure | target | measured | met? |\n|---|---|---|---|\n"
        for row in rows() { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out
    }
}
