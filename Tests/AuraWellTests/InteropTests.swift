import Foundation
import Testing

/// An independent client (Python `websockets`, plus hand-built frames for the invalid cases)
/// against the real binary: handshake, echo up to 16 MiB, fragmentation, ping/pong, close codes.
@Suite struct InteropTests {
    @Test func pythonWebsocketsClientAgreesWithTheServer() throws {
        let server = try ServerProcess(arguments: ["--enable-echo", "--max-message-bytes", "\(16 << 20)"])
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Interop/websocket_interop.py")
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", script.path, "ws://127.0.0.1:\(server.port)"]
        let output = Pipe()
        python.standardOutput = output
        python.standardError = output
        try python.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let failures = text.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(text.contains(" passed, 0 failed"), "\(text)")
        #expect(python.terminationStatus == 0, "\(text)")
    }
}
