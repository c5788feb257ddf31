import Foundation
import Glibc
import Testing

/// Socket activation under the real `systemd-socket-activate`, and sd_notify messages read from
/// a datagram socket standing in for systemd's NOTIFY_SOCKET.
@Suite struct SystemdTests {
    /// Inodes of the TCP sockets in LISTEN state that `pid` holds.
    static func listeningSockets(of pid: Int32) -> Set<String> {
        let listening = ["/proc/net/tcp", "/proc/net/tcp6"].flatMap { path -> [String] in
            let table = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return table.split(separator: "\n").dropFirst().compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count > 9 && fields[3] == "0A" ? String(fields[9]) : nil
            }
        }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = descriptors.compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst("socket:[".count).dropLast())
        }
        return Set(inodes).intersection(listening)
    }

    /// Runs `aurawell serve` under systemd-socket-activate with the given listening ports.
    final class Activated {
        let process = Process()
        let log = ServerProcess.temporaryPath(suffix: ".log")

        init(ports: [UInt16]) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
            var arguments = ports.flatMap { ["-l", "127.0.0.1:\($0)"] }
            arguments += ["-E", "AURAWELL_DB=\(ServerProcess.temporaryPath(suffix: ".db"))"]
            // The configured port is one systemd already holds: binding it would fail, so a
            // working server proves it served on the passed socket.
            arguments += [ServerProcess.binaryURL.path, "serve", "--port", "\(ports[0])"]
            process.arguments = arguments
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
            // systemd-socket-activate execs the server on the first connection; wait until it listens.
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("Listening on") {
                usleep(20_000)
            }
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    @Test func servesOnTheSocketSystemdPasses() throws {
        let port = try ServerProcess.freePort()
        let activated = try Activated(ports: [port])
        let client = try ChatClient(port: port, userID: "activated")
        #expect(client.welcome["type"] as? String == "welcome")
        #expect(activated.logText.contains("socket_activation=true"), "\(activated.logText)")
        #expect(Self.listeningSockets(of: activated.process.processIdentifier).count == 1, "it must not bind a socket of its own")
    }

    @Test func servesOnEveryPassedSocket() throws {
        let ports = [try ServerProcess.freePort(), try ServerProcess.freePort()]
        let activated = try Activated(ports: ports)
        for port in ports {
            let client = try ChatClient(port: port, userID: "u\(port)")
            #expect(client.welcome["type"] as? String == "welcome", "port \(port)")
        }
        #expect(Self.listeningSockets(of: activated.process.processIdentifier).count == 2)
    }

    @Test func notifiesReadyStatusWatchdogAndStopping() throws {
        let path = ServerProcess.temporaryPath(suffix: ".notify")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let server = try ServerProcess(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"])
        func receive() -> (message: String, at: Date)? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? (String(decoding: buffer[..<n], as: UTF8.self), Date()) : nil
        }
        let first = try #require(receive())
        #expect(first.message.contains("READY=1"))
        #expect(first.message.contains("STATUS=connections=0 streams=0"))
        // A connection shows in the next STATUS=.
        let client = try ChatClient(port: server.port, userID: "watched")
        var watchdogs: [Date] = []
        var sawConnection = false
        let until = Date().addingTimeInterval(1.5)
        while Date() < until, let (message, at) = receive() {
            if message.contains("WATCHDOG=1") { watchdogs.append(at) }
            if message.contains("STATUS=connections=1") { sawConnection = true }
        }
        #expect(sawConnection)
        // Half of WATCHDOG_USEC: one every 200 ms.
        #expect(watchdogs.count >= 5 && watchdogs.count <= 9, "\(watchdogs.count) pings in 1.5 s")
        kill(server.process.processIdentifier, SIGTERM)
        var stopping = false
        while let (message, _) = receive() {
            if message.contains("STOPPING=1") { stopping = true; break }
        }
        #expect(stopping)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        _ = client
    }

    @Test func logsCarryJournalPrioritiesUnderJournald() throws {
        // JOURNAL_STREAM must name the very stream stderr is: the log file's device and inode.
        let log = ServerProcess.temporaryPath(suffix: ".journal")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        var info = stat()
        stat(log, &info)
        let process = Process()
        process.executableURL = ServerProcess.binaryURL
        process.arguments = ["serve", "--port", "0"]
        process.environment = ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)", "AURAWELL_DB": ServerProcess.temporaryPath(suffix: ".db")]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        usleep(500_000)
        process.terminate()
        process.waitUntilExit()
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<6>listening on 127.0.0.1:") })
        #expect(lines.contains { $0.hasPrefix("<4>auth is off") })
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "no line without a priority, no timestamps")
    }
}
