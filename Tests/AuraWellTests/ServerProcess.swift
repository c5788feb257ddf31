import Foundation
import Glibc
import Testing

/// A real binary of this package (`aurawell` or `aurawell-upstream-sim`), started on an ephemeral
/// loopback port and stopped by the test. Its stderr goes to a file (a pipe nobody drains would
/// block the server's logging).
final class ServerProcess {
    let process = Process()
    let port: UInt16
    let logURL: URL

    static var binaryURL: URL { url(of: "aurawell") }

    /// The test bundle sits in the build folder beside the executables.
    static func url(of executable: String) -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(executable).path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent(executable)
    }

    /// The gateway, with a fresh SQLite file unless the environment names one.
    convenience init(arguments: [String] = [], environment: [String: String] = [:]) throws {
        var environment = environment
        if environment["AURAWELL_DB"] == nil { environment["AURAWELL_DB"] = Self.temporaryPath(suffix: ".db") }
        try self.init(
            executable: "aurawell", arguments: ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments,
            environment: environment)
    }

    /// The upstream simulator.
    static func simulator(arguments: [String] = []) throws -> ServerProcess {
        try ServerProcess(executable: "aurawell-upstream-sim", arguments: ["--host", "127.0.0.1", "--port", "0"] + arguments, environment: [:])
    }

    /// A loopback port nobody listens on (bound to port 0, then released).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("cannot find a free port: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    static func temporaryPath(suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("aurawell-test-\(UUID().uuidString)\(suffix)").path
    }

    init(executable: String, arguments: [String], environment: [String: String]) throws {
        logURL = URL(fileURLWithPath: Self.temporaryPath(suffix: ".log"))
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = Self.url(of: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AURAWELL_") && !$0.key.hasPrefix("DEEPSEEK_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        port = try Self.waitForPort(logURL: logURL, process: process)
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: logURL)
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    private static func waitForPort(logURL: URL, process: Process) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(20)
        let pattern = /listening on [^\s]+:(\d+)/
        while Date() < deadline {
            let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: pattern), let port = UInt16(match.1) { return port }
            if !process.isRunning { break }
            usleep(20_000)
        }
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        throw TestFailure("server did not report its port; log:\n\(text)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
