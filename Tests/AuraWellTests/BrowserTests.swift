import Foundation
import Glibc
import Testing

/// The chat page (`GET /`) in a real browser: `Browser/browser_test.py` drives headless Chromium
/// (Debian `chromium` + `chromium-driver`, Python `selenium` and `pillow`) against the real
/// gateway, whose upstream is the simulator. It sends questions and sees the answers grow,
/// switches member, stops a chat, checks a screenshot, and survives two gateway restarts on the
/// same port (one graceful, one a crash mid-answer), which this test performs when the script
/// prints `RESTART` / `RESTART kill`, answering `READY` on its stdin.
@Suite(.serialized) struct BrowserTests {
    /// Where the screenshots are copied for people to look at.
    static let screenshotCopy = "/tmp/aurawell-browser.png"
    static let phoneScreenshotCopy = "/tmp/aurawell-browser-phone.png"
    /// The script's transcript (PASS/FAIL lines), kept for people too.
    static let transcriptCopy = "/tmp/aurawell-browser.log"

    @Test(.timeLimit(.minutes(3))) func theChatPageWorksInHeadlessChromium() throws {
        let simulator = try ServerProcess.simulator()
        let database = ServerProcess.temporaryPath(suffix: ".db")
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        }
        let environment = [
            "DEEPSEEK_BASE_URL": "http://127.0.0.1:\(simulator.port)",
            "DEEPSEEK_API_KEY": "sk-browser-test",
            "AURAWELL_DB": database,
            "AURAWELL_UPSTREAM_RETRY_BASE_MS": "20",
        ]
        let gateway = Gateway(try ServerProcess(environment: environment), environment: environment)

        let added = try Self.run(ServerProcess.binaryURL, ["member", "add", "browser_user", "grandma", "--name", "奶奶", "--db", database])
        #expect(added.status == 0, "\(added.output)")

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Browser/browser_test.py")
        let screenshot = ServerProcess.temporaryPath(suffix: ".png")
        let phoneScreenshot = screenshot.replacingOccurrences(of: ".png", with: "-phone.png")
        defer {
            try? FileManager.default.removeItem(atPath: screenshot)
            try? FileManager.default.removeItem(atPath: phoneScreenshot)
        }

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", script.path, "http://127.0.0.1:\(gateway.port)", "\(simulator.port)", screenshot]
        let input = Pipe()
        let output = Pipe()
        python.standardInput = input
        python.standardOutput = output
        python.standardError = output
        try python.run()

        // The whole run has a deadline: SIGTERM (the script quits Chromium on it), then SIGKILL.
        let pid = python.processIdentifier
        let terminate = DispatchWorkItem { kill(pid, SIGTERM) }
        let killHard = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 80, execute: terminate)
        DispatchQueue.global().asyncAfter(deadline: .now() + 88, execute: killHard)

        // Read the script's lines as they come; restart the gateway when it asks. Not until EOF:
        // a process spawned meanwhile by another test may have inherited the pipe's write end, so
        // the loop ends when the script has exited and the pipe holds nothing more.
        var transcript = ""
        var pending: [UInt8] = []
        let descriptor = output.fileHandleForReading.fileDescriptor
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 200) <= 0 {
                if python.isRunning { continue }
                break
            }
            let count = read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            pending.append(contentsOf: chunk[0..<count])
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                transcript += line + "\n"
                guard line.hasPrefix("RESTART") else { continue }
                guard python.isRunning else { continue }  // no one to answer (and no SIGPIPE)
                do {
                    try gateway.restart(crash: line.contains("kill"))
                    transcript += "(gateway restarted on port \(gateway.port))\n"
                    try input.fileHandleForWriting.write(contentsOf: Data("READY\n".utf8))
                } catch {
                    transcript += "(restart failed: \(error))\n"
                    try? input.fileHandleForWriting.write(contentsOf: Data("FAILED\n".utf8))
                }
            }
        }
        transcript += String(decoding: pending, as: UTF8.self)
        python.waitUntilExit()
        terminate.cancel()
        killHard.cancel()

        for (source, copy) in [(screenshot, Self.screenshotCopy), (phoneScreenshot, Self.phoneScreenshotCopy)]
        where FileManager.default.fileExists(atPath: source) {
            try? FileManager.default.removeItem(atPath: copy)
            try? FileManager.default.copyItem(atPath: source, toPath: copy)
        }

        try? Data(transcript.utf8).write(to: URL(fileURLWithPath: Self.transcriptCopy))

        let failures = transcript.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        let context = "\(transcript)\n--- gateway log (last run) ---\n\(gateway.process.log.suffix(4000))"
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))\n\(context)")
        #expect(transcript.contains(" passed, 0 failed"), "\(context)")
        #expect(python.terminationStatus == 0, "exit status \(python.terminationStatus)\n\(context)")
        #expect(FileManager.default.fileExists(atPath: Self.screenshotCopy))
    }

    /// The gateway on a fixed port, restarted in place.
    final class Gateway {
        private(set) var process: ServerProcess
        let port: UInt16
        let environment: [String: String]

        init(_ process: ServerProcess, environment: [String: String]) {
            self.process = process
            self.port = process.port
            self.environment = environment
        }

        /// Stops the gateway (SIGTERM and its drain, or SIGKILL as a crash) and starts a new one
        /// on the same port and database.
        func restart(crash: Bool) throws {
            if crash {
                kill(process.process.processIdentifier, SIGKILL)
                process.process.waitUntilExit()
            } else {
                _ = process.terminate()
            }
            var lastError: (any Error)?
            for _ in 0..<20 {
                do {
                    process = try ServerProcess(
                        executable: "aurawell", arguments: ["serve", "--host", "127.0.0.1", "--port", "\(port)"],
                        environment: environment)
                    return
                } catch {
                    lastError = error
                    usleep(200_000)
                }
            }
            throw lastError ?? TestFailure("the gateway did not restart")
        }
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
