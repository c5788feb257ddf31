import Foundation
import Glibc
import Testing

/// Clients that never read: the server bounds what it holds for them, pauses their upstream
/// transfers, and drops those that stay stuck; everyone else is served.
@Suite struct BackpressureTests {
    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func neverReadingClientsKeepMemoryFlatAndAreDroppedWhenStuck() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let stack = try ChatServerTests.Stack(
            simulatorArguments: ["--tokens", "20", "--interval-ms", "5"],
            environment: [
                "AURAWELL_SEND_TIMEOUT_S": "4", "AURAWELL_MAX_CONNECTIONS_PER_USER": "1000", "AURAWELL_SEND_BUFFER_BYTES": "16384",
            ])
        let pid = stack.gateway.process.processIdentifier
        let baseline = Self.residentKiB(pid)
        let count = 200
        // Each asks for a long answer (about 2 MB of chat_stream frames) and never reads.
        let stuck = try (0..<count).map { index -> TestClient in
            let client = try TestClient(port: stack.gateway.port, receiveBuffer: 4096)
            try client.upgrade(path: "/ws/chat/stuck\(index)")
            let request = #"{"type":"general_chat","data":{"message":"SIM[id=s\#(index),tokens=20000,interval_ms=0]"}}"#
            try client.sendFrame(opcode: 1, payload: Array(request.utf8))
            return client
        }
        sleep(2)
        let loaded = Self.residentKiB(pid)
        // A reading client is served normally meanwhile.
        let reader = try stack.client("reader")
        #expect(try reader.chat("hi SIM[tokens=3]").finishReason == "stop")
        // Bounded: far below the ~2 MB each stream would need if buffered.
        let perClient = (loaded - baseline) / count
        #expect(perClient < 400, "server grew \(loaded - baseline) KiB for \(count) stuck clients")
        let paused = try Simulator.requests(port: stack.simulator.port).filter {
            ($0["id"] as? String)?.hasPrefix("s") == true && ($0["tokens_sent"] as? Int ?? 0) < 20000
        }
        #expect(paused.count == count, "every stuck client's upstream must be paused, not drained")
        // Past the send timeout the stuck clients are dropped and their upstreams aborted.
        let aborted = try Simulator.waitFor(id: "s0", port: stack.simulator.port, seconds: 10) { $0["client_closed"] as? Bool == true }
        #expect(aborted?["client_closed"] as? Bool == true)
        _ = stuck
    }

    @Test func aSlowReaderGetsEveryDeltaInOrderWithBoundedMemory() throws {
        let stack = try ChatServerTests.Stack(
            simulatorArguments: ["--tokens", "20", "--interval-ms", "1"], environment: ["AURAWELL_SEND_BUFFER_BYTES": "16384"])
        let socket = try TestClient(port: stack.gateway.port, timeoutSeconds: 15, receiveBuffer: 4096)
        try socket.upgrade(path: "/ws/chat/slow")
        _ = try socket.readFrame()  // welcome
        let pid = stack.gateway.process.processIdentifier
        let before = Self.residentKiB(pid)
        let request = #"{"type":"general_chat","data":{"message":"SIM[id=slow,tokens=30000,interval_ms=0]"}}"#
        try socket.sendFrame(opcode: 1, payload: Array(request.utf8))
        sleep(2)  // the answer (about 3.9 MB of frames) is ready; the client has read none of it
        let during = Self.residentKiB(pid)
        var chat = ChatTranscript()
        while chat.finishReason == nil {
            let frame = try socket.readFrame()
            chat.messages.append(try #require(try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any]))
        }
        #expect(chat.finishReason == "stop")
        let sent = try stack.upstream("slow")?["sent_text"] as? String
        #expect(chat.text == sent, "nothing lost, nothing reordered")
        #expect(chat.deltaCount <= 30000, "deltas may be merged, never split")
        #expect(during - before < 2048, "the server held \(during - before) KiB for one slow reader")
    }
}
