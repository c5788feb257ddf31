// Micro-benchmarks of the gateway's per-token hot path and of the reactor's timer wheel
// (ordo-one/package-benchmark): SSE parsing of a DeepSeek stream, `chat.completion.chunk` decoding,
// `chat_stream` encoding, timer wheel schedule/cancel and tick.
//
// The unit of work ("op") is named in each benchmark's name: `(MiB/s)` is 1 MiB per op,
// `(events/s)`, `(chunks/s)`, `(messages/s)` are one item per op (scaling factor 1,000: the
// benchmark runs 1,000 items per iteration and the metrics are reported per item, so the
// `throughput` column reads directly as items/s), and `(10k timers)` is 10,000 timers per op.
// See Benchmarks/README.md for how to run and compare.

import AuraWell
import Benchmark
import Reactor

private let mib = 1 << 20

private func configuration(scaling: BenchmarkScalingFactor = .one) -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        units: [.throughput: .count],
        warmupIterations: 10,
        scalingFactor: scaling,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )
}

/// One DeepSeek `chat.completion.chunk` as it is streamed (259 bytes with a two-character delta).
private func deepSeekChunk(content: String) -> String {
    #"{"id":"8f2b6c1e-4d7a-4e39-9b15-3c0a7f6d2e91","object":"chat.completion.chunk","created":1735689600,"#
        + #""model":"deepseek-chat","system_fingerprint":"fp_3a5770e1b4_prod0225","choices":[{"index":0,"#
        + #""delta":{"content":"\#(content)"},"logprobs":null,"finish_reason":null}]}"#
}

/// Deltas of one to a few tokens, as DeepSeek sends them.
private let deltas = ["睡眠", "质量", "不好", "，", "建议", "每晚", "固定", "时间", "上床", "。", "Sleep", " 7", "-", "8", " h", "！"]

/// Up to 1 MiB of `data: {chunk}\n\n` events (whole events only), and the byte ranges of the events.
private func deepSeekStream() -> (bytes: [UInt8], events: [Range<Int>]) {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(mib)
    var events: [Range<Int>] = []
    var k = 0
    while true {
        let event = Array("data: \(deepSeekChunk(content: deltas[k % deltas.count]))\n\n".utf8)
        guard bytes.count + event.count <= mib else { break }
        events.append(bytes.count..<bytes.count + event.count)
        bytes += event
        k += 1
    }
    return (bytes, events)
}

/// A timer handler that counts what fires.
private final class CountingHandler: TimerHandler {
    var fired = 0
    var tags = 0
    func timerFired(tag: Int) {
        fired += 1
        tags &+= tag
    }
}

private let timerCount = 10_000

let benchmarks: @Sendable () -> Void = {
    // MARK: SSE

    Benchmark("SSE parse 1 MiB DeepSeek stream, one feed (MiB/s)", configuration: configuration()) { benchmark in
        let (stream, events) = deepSeekStream()
        var parser = SSEParser()
        var count = 0
        var bytes = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            stream.withUnsafeBytes { buffer in
                let ok = parser.feed(buffer) { data in
                    count += 1
                    bytes &+= data.count
                }
                precondition(ok)
            }
        }
        benchmark.stopMeasurement()
        precondition(count == events.count * benchmark.scaledIterations.count)
        blackHole(bytes)
    }

    // The same stream as it arrives from a token-by-token upstream: one feed (one read) per event.
    Benchmark("SSE parse DeepSeek event, one feed per event (events/s)", configuration: configuration(scaling: .kilo)) { benchmark in
        let (stream, events) = deepSeekStream()
        var parser = SSEParser()
        var count = 0
        var bytes = 0
        var next = 0
        stream.withUnsafeBytes { buffer in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let range = events[next]
                next = next + 1 == events.count ? 0 : next + 1
                let ok = parser.feed(UnsafeRawBufferPointer(rebasing: buffer[range])) { data in
                    count += 1
                    bytes &+= data.count
                }
                precondition(ok)
            }
            benchmark.stopMeasurement()
        }
        precondition(count == benchmark.scaledIterations.count)
        blackHole(bytes)
    }

    // MARK: Chunk decode

    Benchmark("Chunk decode 259 B content chunk (chunks/s)", configuration: configuration(scaling: .kilo)) { benchmark in
        let chunk = Array(deepSeekChunk(content: "睡眠").utf8)
        var contentBytes = 0
        chunk.withUnsafeBytes { data in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                precondition(!ChatCompletionChunk.isDone(data))
                switch ChatCompletionChunk.decode(data) {
                case .success(let decoded): contentBytes &+= decoded.content?.utf8.count ?? 0
                case .failure(let error): fatalError("\(error)")
                }
            }
            benchmark.stopMeasurement()
        }
        precondition(contentBytes == 6 * benchmark.scaledIterations.count)
        blackHole(contentBytes)
    }

    // MARK: chat_stream encode

    Benchmark("chat_stream encode 20 B Chinese delta, reused buffer (messages/s)", configuration: configuration(scaling: .kilo)) {
        benchmark in
        let delta = Array("每晚睡7到8小时".utf8)
        precondition(delta.count == 20)
        let conversationID = "c4821_3"
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
        var total = 0
        delta.withUnsafeBytes { delta in
            ServerMessages.chatStream(delta: delta, conversationID: conversationID, into: &buffer)  // warm
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                ServerMessages.chatStream(delta: delta, conversationID: conversationID, into: &buffer)
                total &+= buffer.count
            }
            benchmark.stopMeasurement()
        }
        blackHole(total)
    }

    // MARK: Timer wheel

    // 10,000 idle-timeout-like deadlines spread over 1 to 61 s (many revolutions of the 4 ms × 1,024
    // slot wheel), then all cancelled. One op = 10,000 schedules + 10,000 cancels, on a wheel whose
    // node storage was grown by an earlier round (as in a long-running server).
    Benchmark("Timer wheel schedule+cancel (10k timers)", configuration: configuration()) { benchmark in
        let handler = CountingHandler()
        var wheel = TimerWheel(tickMilliseconds: 4, slotCount: 1024, now: 0)
        var ids = [TimerID](repeating: .none, count: timerCount)
        func round() {
            for i in 0..<timerCount {
                ids[i] = wheel.schedule(at: 1_000 + UInt64((i &* 7_919) % 60_000), handler: handler, tag: i)
            }
            for i in 0..<timerCount { precondition(wheel.cancel(ids[i])) }
        }
        round()  // grow the node storage
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { round() }
        benchmark.stopMeasurement()
        precondition(wheel.count == 0)
        blackHole(handler)
    }

    // One tick that finds 10,000 due timers (all in one slot) and runs their handlers through
    // `collectExpired` + `popExpired`. Scheduling them is not measured.
    Benchmark("Timer wheel tick firing 10k due timers (10k timers)", configuration: configuration()) { benchmark in
        let handler = CountingHandler()
        var wheel = TimerWheel(tickMilliseconds: 4, slotCount: 1024, now: 0)
        var now: UInt64 = 0
        func arm() {
            for i in 0..<timerCount { _ = wheel.schedule(at: now + 1 + UInt64(i & 3), handler: handler, tag: i) }
            now += 4
        }
        func fire() {
            wheel.collectExpired(now: now)
            while let (h, tag) = wheel.popExpired() { h.timerFired(tag: tag) }
        }
        arm()
        fire()  // grow the node and due storage
        for _ in benchmark.scaledIterations {
            arm()
            benchmark.startMeasurement()
            fire()
            benchmark.stopMeasurement()
        }
        precondition(wheel.count == 0 && handler.fired == timerCount * (1 + benchmark.scaledIterations.count))
        blackHole(handler)
    }
}
