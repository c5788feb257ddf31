// Micro-benchmarks of the WebSocket codec (ordo-one/package-benchmark).
//
// Every benchmark's unit of work ("op") is 1 MiB of payload, so the `throughput` column (ops/s)
// reads directly as MiB/s, and `mallocCountTotal` is allocations per MiB processed.
// See Benchmarks/README.md for how to run and compare.

import Benchmark
import WSCodec

private let mib = 1 << 20

private func configuration(_ tags: [String: String] = [:]) -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        tags: tags,
        units: [.throughput: .count],
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )
}

/// Counts delivered payload bytes; keeps the work observable.
private struct CountingSink: WebSocketEventSink {
    var bytes = 0
    var events = 0
    mutating func webSocketEvent(_ event: WebSocketEvent) {
        events += 1
        switch event {
        case .text(let b), .binary(let b), .ping(let b), .pong(let b): bytes &+= b.count
        case .close(_, let r): bytes &+= r.count
        }
    }
}

/// 1 MiB of payload as masked client frames of `size` bytes each, back to back in one buffer (one
/// `read`). The mask bytes are all below 0x80, so ASCII text stays ASCII whether masked or not: the
/// benchmark re-parses the same buffer (which flips between masked and unmasked) without copying.
private func maskedStream(size: Int, opcode: WebSocketOpcode) -> [UInt8] {
    let payload: [UInt8] =
        opcode == .text
        ? (0..<size).map { UInt8(0x20 + $0 % 95) }
        : (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131) }
    let frame = WebSocketFrameEncoder.maskedFrame(opcode: opcode, payload: payload, maskKey: (0x11, 0x22, 0x33, 0x44))
    var stream: [UInt8] = []
    stream.reserveCapacity(mib / size * frame.count)
    for _ in 0..<(mib / size) { stream += frame }
    return stream
}

private func decodeBenchmark(_ name: String, size: Int, opcode: WebSocketOpcode) {
    Benchmark(name, configuration: configuration()) { benchmark in
        var stream = maskedStream(size: size, opcode: opcode)
        var parser = WebSocketParser(role: .server, maxMessageBytes: 64 * 1024)
        var sink = CountingSink()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            stream.withUnsafeMutableBytes { buf in
                if let error = parser.parse(buf, into: &sink) { fatalError("\(error)") }
            }
        }
        benchmark.stopMeasurement()
        precondition(sink.bytes == mib * benchmark.scaledIterations.count)
        blackHole(sink)
    }
}

/// The server's send path: header via `writeHeader` plus a payload copy into a reused output buffer.
private func encodeBenchmark(_ name: String, size: Int) {
    Benchmark(name, configuration: configuration()) { benchmark in
        let payload = [UInt8](repeating: 0x61, count: size)
        let frames = mib / size
        let out = UnsafeMutableRawPointer.allocate(byteCount: mib + frames * 14, alignment: 16)
        defer { out.deallocate() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var offset = 0
            payload.withUnsafeBytes { p in
                for _ in 0..<frames {
                    offset += WebSocketFrameEncoder.writeHeader(opcode: .text, payloadLength: size, to: out + offset)
                    (out + offset).copyMemory(from: p.baseAddress!, byteCount: size)
                    offset += size
                }
            }
            blackHole(offset)
        }
        benchmark.stopMeasurement()
    }
}

/// Convenience path: one `[UInt8]` per frame.
private func encodeArrayBenchmark(_ name: String, size: Int) {
    Benchmark(name, configuration: configuration()) { benchmark in
        let payload = [UInt8](repeating: 0x61, count: size)
        let frames = mib / size
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for _ in 0..<frames { blackHole(WebSocketFrameEncoder.frame(opcode: .text, payload: payload)) }
        }
        benchmark.stopMeasurement()
    }
}

private func utf8Benchmark(_ name: String, text: String) {
    Benchmark(name, configuration: configuration()) { benchmark in
        var bytes = Array(text.utf8)
        while bytes.count < 64 * 1024 { bytes += Array(text.utf8) }
        // Trim to 64 KiB on a character boundary.
        var n = 64 * 1024
        while bytes[n] & 0xC0 == 0x80 { n -= 1 }
        bytes = Array(bytes[..<n])
        let rounds = mib / bytes.count
        let tail = mib - rounds * bytes.count
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            bytes.withUnsafeBytes { b in
                for _ in 0..<rounds { precondition(UTF8Validator.isValid(b)) }
                blackHole(UTF8Validator.isValid(UnsafeRawBufferPointer(rebasing: b[..<tail])))
            }
        }
        benchmark.stopMeasurement()
    }
}

let benchmarks: @Sendable () -> Void = {
    decodeBenchmark("Decode binary 16 B frames (MiB/s)", size: 16, opcode: .binary)
    decodeBenchmark("Decode binary 1 KiB frames (MiB/s)", size: 1024, opcode: .binary)
    decodeBenchmark("Decode binary 64 KiB frames (MiB/s)", size: 64 * 1024, opcode: .binary)
    decodeBenchmark("Decode text 16 B frames (MiB/s)", size: 16, opcode: .text)
    decodeBenchmark("Decode text 1 KiB frames (MiB/s)", size: 1024, opcode: .text)
    decodeBenchmark("Decode text 64 KiB frames (MiB/s)", size: 64 * 1024, opcode: .text)

    encodeBenchmark("Encode writeHeader+copy 16 B (MiB/s)", size: 16)
    encodeBenchmark("Encode writeHeader+copy 1 KiB (MiB/s)", size: 1024)
    encodeBenchmark("Encode writeHeader+copy 64 KiB (MiB/s)", size: 64 * 1024)
    encodeArrayBenchmark("Encode frame() array 16 B (MiB/s)", size: 16)
    encodeArrayBenchmark("Encode frame() array 1 KiB (MiB/s)", size: 1024)
    encodeArrayBenchmark("Encode frame() array 64 KiB (MiB/s)", size: 64 * 1024)

    Benchmark("Unmask 64 KiB (MiB/s)", configuration: configuration()) { benchmark in
        var buffer = [UInt8](repeating: 0x5A, count: 64 * 1024)
        let key = WebSocketMasking.key(0x12, 0x34, 0x56, 0x78)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.withUnsafeMutableBytes { b in
                for round in 0..<16 { WebSocketMasking.unmask(b, key: key, phase: round & 3) }
            }
        }
        benchmark.stopMeasurement()
        blackHole(buffer)
    }

    utf8Benchmark("UTF-8 validate ASCII 64 KiB (MiB/s)", text: "The quick brown fox jumps over the lazy dog. 0123456789\n")
    utf8Benchmark("UTF-8 validate CJK mixed 64 KiB (MiB/s)", text: "健康助手：今天睡眠七小时，心情不错。Sleep 7h, mood good! 运动30分钟。")
}
