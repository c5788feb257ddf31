import Foundation
import Glibc
import Testing

/// The deployment files in deploy/: the systemd units pass `systemd-analyze verify` and score
/// "OK" in `systemd-analyze security`, deploy/nginx.conf passes `nginx -t`, and a chat works
/// through nginx to the real gateway. The tools come from Debian's `systemd` and `nginx`
/// packages (scripts/bootstrap); a missing tool fails the test, it does not skip it.
@Suite struct DeployTests {
    static let deployDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy")
    static let systemdAnalyze = "/usr/bin/systemd-analyze"
    static let nginx = "/usr/sbin/nginx"

    @Test func unitsPassSystemdAnalyzeVerify() throws {
        try Self.requireTool(Self.systemdAnalyze, package: "systemd")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("aurawell.socket")
        let service = directory.appendingPathComponent("aurawell.service")
        try FileManager.default.copyItem(at: Self.deployDirectory.appendingPathComponent("aurawell.socket"), to: socket)
        // verify checks that ExecStart= names an executable: point it at the binary under test.
        let original = try String(contentsOf: Self.deployDirectory.appendingPathComponent("aurawell.service"), encoding: .utf8)
        #expect(original.contains("\nExecStart=/usr/local/bin/aurawell serve\n"))
        let rewritten = original.replacingOccurrences(
            of: "\nExecStart=/usr/local/bin/aurawell ", with: "\nExecStart=\(ServerProcess.binaryURL.path) ")
        try rewritten.write(to: service, atomically: true, encoding: .utf8)

        let result = try Self.run(Self.systemdAnalyze, ["verify", socket.path, service.path])
        #expect(result.status == 0, "systemd-analyze verify failed:\n\(result.output)")
        let complaints = result.output.split(separator: "\n").filter { $0.contains("aurawell") }
        #expect(complaints.isEmpty, "systemd-analyze verify complained:\n\(complaints.joined(separator: "\n"))")
    }

    @Test func serviceExposureIsOK() throws {
        try Self.requireTool(Self.systemdAnalyze, package: "systemd")
        let service = Self.deployDirectory.appendingPathComponent("aurawell.service").path
        let result = try Self.run(Self.systemdAnalyze, ["security", "--offline=yes", "--no-pager", service])
        #expect(result.status == 0, "systemd-analyze security failed:\n\(result.output)")
        let pattern = /Overall exposure level for aurawell\.service: (\d+\.\d+) (\w+)/
        let match = try #require(result.output.firstMatch(of: pattern), "no overall exposure line in:\n\(result.output)")
        let exposure = try #require(Double(match.1))
        #expect(exposure <= 2.0, "exposure \(exposure) \(match.2); want 2.0 or lower (OK):\n\(result.output)")
        #expect(match.2 == "OK")
    }

    @Test func nginxConfigPassesNginxT() throws {
        try Self.requireTool(Self.nginx, package: "nginx")
        let prefix = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: prefix) }
        let config = try Self.nginxConfig(in: prefix, listenPort: try ServerProcess.freePort(), gatewayPort: 8000)
        let result = try Self.run(Self.nginx, ["-t"] + Self.nginxArguments(prefix: prefix, config: config))
        #expect(result.status == 0, "nginx -t failed:\n\(result.output)")
        #expect(result.output.contains("test is successful"), "\(result.output)")
    }

    @Test func chatThroughNginx() throws {
        try Self.requireTool(Self.nginx, package: "nginx")
        let gateway = try ServerProcess(environment: ["AURAWELL_OFFLINE_TOKEN_INTERVAL_MS": "1"])
        let prefix = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: prefix) }
        let port = try ServerProcess.freePort()
        let config = try Self.nginxConfig(in: prefix, listenPort: port, gatewayPort: gateway.port)

        let nginx = Process()
        nginx.executableURL = URL(fileURLWithPath: Self.nginx)
        nginx.arguments = Self.nginxArguments(prefix: prefix, config: config)
        let log = prefix.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        nginx.standardError = try FileHandle(forWritingTo: log)
        nginx.standardOutput = FileHandle.nullDevice
        try nginx.run()
        defer {
            if nginx.isRunning {
                nginx.terminate()
                nginx.waitUntilExit()
            }
        }
        var nginxLog: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        try #require(Self.waitUntilAccepting(port: port, while: nginx), "nginx did not start:\n\(nginxLog)")

        // Plain HTTP through the proxy.
        let health = try TestClient(port: port)
        try health.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(try health.readResponseHead().status == 200)

        // A WebSocket chat through the proxy: welcome, then sending → streaming → done.
        let client = try ChatClient(port: port, userID: "u1")
        #expect(client.welcome["type"] as? String == "welcome", "\(client.welcome)")
        #expect(client.welcome["user_id"] as? String == "u1")
        let transcript = try client.chat("睡不好怎么办")
        #expect(transcript.statuses == ["sending", "streaming", "done"], "\(transcript.types)")
        #expect(transcript.finishReason == "stop")
        #expect(!transcript.text.isEmpty)
        #expect(transcript.errors.isEmpty, "\(transcript.errors)")

        nginx.terminate()
        nginx.waitUntilExit()
        let errors = nginxLog.split(separator: "\n").filter { $0.contains("[error]") || $0.contains("[emerg]") || $0.contains("[crit]") }
        #expect(errors.isEmpty, "nginx logged errors:\n\(nginxLog)")
    }

    // MARK: Helpers

    /// The config of deploy/nginx.conf made runnable in `prefix`: the strings its header names
    /// are replaced (listen port, upstream address, log directory).
    static func nginxConfig(in prefix: URL, listenPort: UInt16, gatewayPort: UInt16) throws -> URL {
        let original = try String(contentsOf: deployDirectory.appendingPathComponent("nginx.conf"), encoding: .utf8)
        let replacements = [
            ("listen 80;", "listen 127.0.0.1:\(listenPort);"),
            ("server 127.0.0.1:8000", "server 127.0.0.1:\(gatewayPort)"),
            ("/var/log/nginx/", prefix.path + "/"),
        ]
        var text = original
        for (old, new) in replacements {
            #expect(text.contains(old), "deploy/nginx.conf no longer contains \(old.debugDescription), which the tests replace")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let config = prefix.appendingPathComponent("nginx.conf")
        try text.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    static func nginxArguments(prefix: URL, config: URL) -> [String] {
        ["-p", prefix.path + "/", "-c", config.path, "-g", "daemon off; pid \(prefix.path)/nginx.pid; error_log stderr;"]
    }

    static func requireTool(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: install Debian's \(package) package (scripts/bootstrap does)")
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = URL(fileURLWithPath: ServerProcess.temporaryPath(suffix: ".deploy"))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a tool to completion; stdout and stderr together.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Polls until something accepts TCP connections on `port`, for up to 10 s or until
    /// `process` exits.
    static func waitUntilAccepting(port: UInt16, while process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, process.isRunning {
            if (try? TestClient(port: port, timeoutSeconds: 1)) != nil { return true }
            usleep(20_000)
        }
        return false
    }
}
