import Foundation
import Testing

@testable import LoadTester

/// Correctness of the load tester (`aurawell-load`) on small runs against real servers started
/// here: counts, protocol checks and token accounting, not timings (latencies are only checked
/// to be positive and plausible).
@Suite(.serialized) struct LoadTesterTests {
    /// Runs `aurawell-load` with `arguments` plus `--json`; returns the exit status and the result.
    static func load(_ arguments: [String]) throws -> (status: Int32, result: [String: Any], output: String) {
        let json = ServerProcess.temporaryPath(suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: json) }
        let process = Process()
        process.executableURL = ServerProcess.url(of: "aurawell-load")
        process.arguments = arguments + ["--json", json, "--quiet"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let data = (try? Data(contentsOf: URL(fileURLWithPath: json))) ?? Data()
        let result = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return (process.terminationStatus, result, output)
    }

    static func simulatorAndGateway(echo: Bool = false) throws -> (simulator: ServerProcess, gateway: ServerProcess) {
        let simulator = try ServerProcess.simulator()
        let gateway = try ServerProcess(
            arguments: echo ? ["--enable-echo"] : [],
            environment: [
                "DEEPSEEK_BASE_URL": "http://127.0.0.1:\(simulator.port)", "DEEPSEEK_API_KEY": "sk-load",
                "AURAWELL_UPSTREAM_RETRY_BASE_MS": "20",
            ])
        return (simulator, gateway)
    }

    static func latency(_ result: [String: Any], _ name: String) -> [String: Any] {
        ((result["latency"] as? [String: Any])?[name] as? [String: Any]) ?? [:]
    }

    static func counter(_ result: [String: Any], _ name: String) -> Int {
        (result["counters"] as? [String: Any])?[name] as? Int ?? -1
    }

    /// Positive and under a second: a sanity bound, not a performance claim.
    static func plausible(_ summary: [String: Any]) -> Bool {
        guard let p50 = summary["p50Ms"] as? Double, let max = summary["maxMs"] as? Double else { return false }
        return p50 > 0 && max >= p50 && max < 1_000
    }

    @Test func connectOpensEveryClientFromSeveralProcessesAndAddresses() throws {
        let gateway = try ServerProcess()
        let run = try Self.load([
            "connect", "--url", "ws://127.0.0.1:\(gateway.port)/ws/chat/u", "--clients", "20", "--processes", "2",
            "--source-addresses", "3", "--server-pid", "\(gateway.process.processIdentifier)",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.result["opened"] as? Int == 20)
        #expect((run.result["failures"] as? [String: Any])?.isEmpty == true)
        #expect(run.result["processes"] as? Int == 2)
        let upgrade = Self.latency(run.result, "upgrade")
        #expect(upgrade["count"] as? Int == 20)
        #expect(Self.plausible(upgrade), "\(upgrade)")
        let server = try #require(run.result["server"] as? [String: Any])
        #expect((server["rssBeforeKiB"] as? Int ?? 0) > 0)
        #expect(run.output.contains("upgrade time"))
    }

    @Test func refusedConnectionsAreCountedByReason() throws {
        // A port nobody listens on: bind one, then close it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        close(fd)
        let run = try Self.load(["connect", "--url", "ws://127.0.0.1:\(port)/ws/chat/u", "--clients", "3"])
        #expect(run.status == 2)
        #expect(run.result["opened"] as? Int == 0)
        #expect((run.result["failures"] as? [String: Int])?["connect: ECONNREFUSED"] == 3, "\(run.result["failures"] ?? "")")
    }

    @Test func chatCountsEveryTokenTheSimulatorSentAndChecksTheStateOrder() throws {
        let (simulator, gateway) = try Self.simulatorAndGateway()
        let run = try Self.load([
            "chat", "--url", "ws://127.0.0.1:\(gateway.port)/ws/chat/u", "--clients", "5", "--chats", "2", "--spread-ms", "20",
            "--message", "我最近很累 SIM[stamp=1,tokens=7,interval_ms=5]",
            "--server-pid", "\(gateway.process.processIdentifier)", "--sim-pid", "\(simulator.process.processIdentifier)",
        ])
        #expect(run.status == 0, "\(run.output)")
        let r = run.result
        #expect(Self.counter(r, "chatsStarted") == 10)
        #expect(Self.counter(r, "chatsDone") == 10)
        #expect(Self.counter(r, "chatsOK") == 10)
        #expect((r["errorCodes"] as? [String: Any])?.isEmpty == true, "\(r["errorCodes"] ?? "")")
        #expect((r["violations"] as? [String: Any])?.isEmpty == true, "\(r["violations"] ?? "")")
        #expect((r["finishReasons"] as? [String: Int])?["stop"] == 10)
        // Every token the simulator sent was read, once, with its stamp.
        let requests = try Simulator.requests(port: simulator.port)
        #expect(requests.count == 10)
        let sent = requests.reduce(0) { $0 + ($1["tokens_sent"] as? Int ?? 0) }
        #expect(sent == 70)
        #expect(Self.counter(r, "tokens") == sent)
        #expect(Self.counter(r, "usageCompletionTokens") == sent)
        #expect(Self.counter(r, "welcomes") == 5)
        let token = Self.latency(r, "token")
        #expect(token["count"] as? Int == sent)
        #expect(Self.plausible(token), "\(token)")
        #expect(Self.latency(r, "ttft")["count"] as? Int == 10)
        #expect(Self.plausible(Self.latency(r, "ttft")))
        #expect(Self.latency(r, "answer")["count"] as? Int == 10)
        #expect((r["tokensPerSecond"] as? Double ?? 0) > 0)
        #expect(r["simulator"] as? [String: Any] != nil)
    }

    @Test func chatErrorsAreCountedByCode() throws {
        let (_, gateway) = try Self.simulatorAndGateway()
        let run = try Self.load([
            "chat", "--url", "ws://127.0.0.1:\(gateway.port)/ws/chat/u", "--clients", "2",
            "--message", "hi SIM[status=401]",
        ])
        #expect(run.status == 0, "\(run.output)")
        // One code for both chats (which one is the gateway's mapping of 401, not the tester's).
        let codes = try #require(run.result["errorCodes"] as? [String: Int])
        #expect(codes.count == 1 && codes.values.first == 2 && codes.keys.first?.hasPrefix("UPSTREAM_") == true, "\(codes)")
        #expect(Self.counter(run.result, "chatsDone") == 2)
        #expect(Self.counter(run.result, "chatsOK") == 0)
        #expect((run.result["finishReasons"] as? [String: Int])?["error"] == 2)
    }

    @Test func echoRoundTripsUntilTheRunStops() throws {
        let gateway = try ServerProcess(arguments: ["--enable-echo"])
        let run = try Self.load([
            "echo", "--url", "ws://127.0.0.1:\(gateway.port)/ws/echo", "--clients", "4", "--duration", "1", "--size", "300",
        ])
        #expect(run.status == 0, "\(run.output)")
        let echoes = Self.counter(run.result, "echoes")
        #expect(echoes > 4)
        #expect(Self.latency(run.result, "rtt")["count"] as? Int == echoes)
        #expect(Self.plausible(Self.latency(run.result, "rtt")))
        #expect((run.result["violations"] as? [String: Any])?.isEmpty == true)
        #expect((run.result["messagesPerSecond"] as? Double ?? 0) > 0)
    }

    @Test func idleHoldsEveryConnectionToTheEnd() throws {
        let gateway = try ServerProcess()
        let run = try Self.load([
            "idle", "--url", "ws://127.0.0.1:\(gateway.port)/ws/chat/u", "--clients", "30", "--processes", "3",
            "--duration", "1", "--settle", "0.2", "--server-pid", "\(gateway.process.processIdentifier)",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.result["opened"] as? Int == 30)
        #expect(run.result["survivors"] as? Int == 30)
        #expect((run.result["endedEarly"] as? [String: Any])?.isEmpty == true)
        #expect((run.result["samples"] as? [Any])?.isEmpty == false)
    }

    @Test func theReportIsOneSelfContainedHTMLPage() throws {
        let gateway = try ServerProcess()
        let json = ServerProcess.temporaryPath(suffix: ".json")
        let html = ServerProcess.temporaryPath(suffix: ".html")
        defer {
            try? FileManager.default.removeItem(atPath: json)
            try? FileManager.default.removeItem(atPath: html)
        }
        let connect = Process()
        connect.executableURL = ServerProcess.url(of: "aurawell-load")
        connect.arguments = ["connect", "--url", "ws://127.0.0.1:\(gateway.port)/ws/chat/u", "--clients", "5", "--quiet", "--json", json, "--label", "c5"]
        connect.standardOutput = FileHandle.nullDevice
        try connect.run()
        connect.waitUntilExit()
        let report = Process()
        report.executableURL = ServerProcess.url(of: "aurawell-load")
        report.arguments = ["report", "--input", json, "--html", html]
        report.standardOutput = FileHandle.nullDevice
        report.standardError = FileHandle.nullDevice
        try report.run()
        report.waitUntilExit()
        #expect(report.terminationStatus == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg"))
        #expect(page.contains("c5"))
        #expect(!page.contains("<script") && !page.contains("src=\"http") && !page.contains("href=\"http"))
    }

    // MARK: Pieces, in process

    @Test func stampsAreFoundRawEscapedAndMerged() throws {
        var message = Array(#"{"type":"chat_stream","delta":"⟨100⟩⟨200⟩\u27e8300\u27e9 x⟨oops⟩","conversation_id":"c1_0","timestamp":"t"}"#.utf8)
        var stamps: [UInt64] = []
        var fields: ServerMessage?
        message.withUnsafeMutableBytes { raw in
            let buffer = UnsafeRawBufferPointer(raw)
            fields = MessageScanner.scan(buffer)
            if let delta = fields?.delta { MessageScanner.forEachStamp(in: buffer, delta) { stamps.append($0) } }
            #expect(MessageScanner.equals(buffer, fields?.type, "chat_stream"))
            #expect(MessageScanner.equals(buffer, fields?.conversationID, Array("c1_0".utf8)))
        }
        #expect(stamps == [100, 200, 300])
    }

    @Test func usageAndStatusFieldsAreRead() throws {
        var message = Array(#"{"type":"status_update","status":"done","message":"a \"quoted\" {text}","usage":{"prompt_tokens":12,"completion_tokens":40,"total_tokens":52},"finish_reason":"stop","conversation_id":"c"}"#.utf8)
        message.withUnsafeMutableBytes { raw in
            let buffer = UnsafeRawBufferPointer(raw)
            let fields = MessageScanner.scan(buffer)
            #expect(MessageScanner.equals(buffer, fields?.status, "done"))
            #expect(MessageScanner.equals(buffer, fields?.finishReason, "stop"))
            #expect(fields?.completionTokens == 40)
        }
    }

    @Test func mergedHistogramsGiveTheSamePercentilesAsOneHistogram() throws {
        var whole = LatencyHistogram.latency()
        var parts = [LatencyHistogram.latency(), LatencyHistogram.latency(), LatencyHistogram.latency()]
        var seed: UInt64 = 42
        for i in 0..<30_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let value = 1_000 + (seed >> 33) % 50_000_000
            whole.add(value)
            parts[i % 3].add(value)
        }
        var merged = LatencyHistogram.latency()
        for part in parts { merged.add(buckets: part.buckets) }
        #expect(merged.recordedCount == whole.recordedCount)
        for p in [50.0, 90, 99, 99.9, 100] {
            #expect(merged.value(atPercentile: p) == whole.value(atPercentile: p), "p\(p)")
        }
    }

    @Test func pathsGetTheClientIndex() throws {
        let chat = try TargetURL(parsing: "ws://127.0.0.1:9/ws/chat/u")
        #expect(chat.path(forClient: 7, appendIndex: true) == "/ws/chat/u7")
        let templated = try TargetURL(parsing: "ws://localhost:9/ws/chat/user_{i}?x=1")
        #expect(templated.host == "127.0.0.1")
        #expect(templated.path(forClient: 3, appendIndex: false) == "/ws/chat/user_3?x=1")
        #expect(throws: (any Error).self) { try TargetURL(parsing: "http://127.0.0.1/") }
    }
}
