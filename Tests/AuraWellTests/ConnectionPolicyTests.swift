import Foundation
import Testing
@testable import AuraWell

/// Issue 4's rules, each over real sockets against the real binary.
@Suite struct ConnectionPolicyTests {
    @Test func theFourthConnectionOfAUserIsRefusedAndCountsStayExact() throws {
        let server = try ServerProcess()
        var clients = try (0..<3).map { _ in try ChatClient(port: server.port, userID: "alice") }
        let fourth = try TestClient(port: server.port)
        try fourth.upgrade(path: "/ws/chat/alice")
        let error = try fourth.readFrame()
        #expect(error.text.contains("TOO_MANY_CONNECTIONS"))
        #expect(try fourth.readClose().closeCode == 1008)
        // Other users are unaffected.
        let bob = try ChatClient(port: server.port, userID: "bob")
        #expect(bob.welcome["type"] as? String == "welcome")
        // Closing one of alice's frees exactly one place.
        clients.removeLast()
        usleep(200_000)
        let again = try ChatClient(port: server.port, userID: "alice")
        try again.send(["type": "get_status", "data": [:] as [String: Any]])
        #expect(try again.receive()["connections_for_user"] as? Int == 3)
        let fifth = try TestClient(port: server.port)
        try fifth.upgrade(path: "/ws/chat/alice")
        #expect(try fifth.readFrame().text.contains("TOO_MANY_CONNECTIONS"))
    }

    @Test func beyondTheGlobalLimitUpgradesGet503() throws {
        let server = try ServerProcess(environment: ["AURAWELL_MAX_CONNECTIONS": "2"])
        let first = try ChatClient(port: server.port, userID: "u1")
        let second = try ChatClient(port: server.port, userID: "u2")
        let third = try TestClient(port: server.port)
        try third.send(TestClient.request(path: "/ws/chat/u3"))
        #expect(try third.readResponseHead().status == 503)
        _ = (first, second)
    }

    @Test func idleConnectionsAreClosedWith1000() throws {
        let server = try ServerProcess(environment: ["AURAWELL_IDLE_TIMEOUT_S": "1", "AURAWELL_PING_INTERVAL_S": "60"])
        let client = try ChatClient(port: server.port, userID: "idle")
        let started = Date()
        let close = try client.socket.readClose()
        #expect(close.closeCode == 1000)
        #expect(String(decoding: close.payload.dropFirst(2), as: UTF8.self) == "idle timeout")
        #expect(Date().timeIntervalSince(started) >= 0.9)
    }

    @Test func aPingWithoutPongCloses() throws {
        let server = try ServerProcess(environment: ["AURAWELL_PING_INTERVAL_S": "1", "AURAWELL_PONG_TIMEOUT_S": "1"])
        let client = try ChatClient(port: server.port, userID: "silent")
        let ping = try client.socket.readFrame()
        #expect(ping.opcode == 9)
        // No pong: the server gives up.
        let close = try client.socket.readClose()
        #expect(String(decoding: close.payload.dropFirst(2), as: UTF8.self) == "pong timeout")
    }

    @Test func answeredPingsKeepAConnectionAlivePastTheIdleTimeout() throws {
        let server = try ServerProcess(environment: ["AURAWELL_PING_INTERVAL_S": "1", "AURAWELL_IDLE_TIMEOUT_S": "3"])
        try Self.expectPingsEverySecond(server)
    }

    /// After a pong the next ping is an interval away, however long the pong timeout is.
    @Test func pingsKeepTheirIntervalWhateverThePongTimeout() throws {
        let server = try ServerProcess(environment: ["AURAWELL_PING_INTERVAL_S": "1", "AURAWELL_PONG_TIMEOUT_S": "10"])
        try Self.expectPingsEverySecond(server)
    }

    static func expectPingsEverySecond(_ server: ServerProcess) throws {
        let client = try ChatClient(port: server.port, userID: "alive")
        let until = Date().addingTimeInterval(4)
        var pings = 0
        while Date() < until {
            let frame = try client.socket.readFrame()
            #expect(frame.opcode == 9, "expected only pings, got opcode \(frame.opcode)")
            pings += 1
            try client.socket.sendFrame(opcode: 10, payload: frame.payload)
        }
        #expect(pings >= 3)
        try client.send(["type": "get_status", "data": [:] as [String: Any]])
        #expect(try client.receive()["type"] as? String == "status")
    }

    @Test func aClientSendingTooFastIsRateLimitedAndKeepsItsConnection() throws {
        let server = try ServerProcess(environment: ["AURAWELL_RATE_LIMIT_PER_S": "1", "AURAWELL_RATE_LIMIT_BURST": "3"])
        let client = try ChatClient(port: server.port, userID: "fast")
        for _ in 0..<6 { try client.send(["type": "get_status", "data": [:] as [String: Any]]) }
        let replies = try (0..<6).map { _ in try client.receive() }
        #expect(replies.filter { $0["type"] as? String == "status" }.count == 3)
        #expect(replies.filter { $0["error_code"] as? String == "RATE_LIMITED" }.count == 3)
        sleep(2)
        try client.send(["type": "get_status", "data": [:] as [String: Any]])
        #expect(try client.receive()["type"] as? String == "status")
    }

    @Test func authTokensAreRequiredAndBoundToTheUser() throws {
        let secret = "test-secret"
        let server = try ServerProcess(environment: ["AURAWELL_AUTH_SECRET": secret])
        let authority = TokenAuthority(secret: secret)
        let now = Int(Date().timeIntervalSince1970)
        let valid = authority.mint(userID: "carol", expiry: now + 60)
        let cases: [(String, Int)] = [
            ("/ws/chat/carol", 401),
            ("/ws/chat/carol?token=garbage", 401),
            ("/ws/chat/carol?token=\(authority.mint(userID: "carol", expiry: now - 1))", 401),
            ("/ws/chat/dave?token=\(valid)", 401),
            ("/ws/chat/carol?token=\(TokenAuthority(secret: "other").mint(userID: "carol", expiry: now + 60))", 401),
            ("/ws/chat/carol?token=\(valid)", 101),
        ]
        for (path, status) in cases {
            let client = try TestClient(port: server.port)
            try client.send(TestClient.request(path: path))
            #expect(try client.readResponseHead().status == status, "\(path)")
        }
        let withCookie = try TestClient(port: server.port)
        try withCookie.send(TestClient.request(path: "/ws/chat/carol", extraHeaders: ["Cookie: theme=dark; aurawell_token=\(valid)"]))
        #expect(try withCookie.readResponseHead().status == 101)
    }

    @Test func theTokenCommandMintsATokenTheServerAccepts() throws {
        let process = Process()
        process.executableURL = ServerProcess.binaryURL
        process.arguments = ["token", "erin", "--ttl", "60"]
        process.environment = ["AURAWELL_AUTH_SECRET": "cli-secret"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let token = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        process.waitUntilExit()
        #expect(token.hasPrefix("v1.erin."))
        let server = try ServerProcess(environment: ["AURAWELL_AUTH_SECRET": "cli-secret"])
        let client = try TestClient(port: server.port)
        try client.send(TestClient.request(path: "/ws/chat/erin?token=\(token)"))
        #expect(try client.readResponseHead().status == 101)
    }

    @Test func originsOutsideTheAllowlistGet403() throws {
        let server = try ServerProcess()
        for (origin, status) in [("http://evil.example", 403), ("http://127.0.0.1:\(server.port)", 101), ("http://localhost:\(server.port)", 101)] {
            let client = try TestClient(port: server.port)
            try client.send(TestClient.request(path: "/ws/chat/u1", extraHeaders: ["Origin: \(origin)"]))
            #expect(try client.readResponseHead().status == status, "\(origin)")
        }
        let configured = try ServerProcess(environment: ["AURAWELL_ALLOWED_ORIGINS": "https://app.example, https://m.example"])
        for (origin, status) in [("https://app.example", 101), ("http://127.0.0.1:\(configured.port)", 403)] {
            let client = try TestClient(port: configured.port)
            try client.send(TestClient.request(path: "/ws/chat/u1", extraHeaders: ["Origin: \(origin)"]))
            #expect(try client.readResponseHead().status == status, "\(origin)")
        }
    }

    @Test func listeningBeyondLoopbackWithoutASecretIsRefused() throws {
        let process = Process()
        process.executableURL = ServerProcess.binaryURL
        process.arguments = ["serve", "--host", "0.0.0.0", "--port", "0"]
        process.environment = ["AURAWELL_DB": ServerProcess.temporaryPath(suffix: ".db")]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(output.contains("AURAWELL_AUTH_SECRET"))
    }

    @Test func sigtermLetsAStreamFinishThenExitsZero() throws {
        let stack = try ChatServerTests.Stack(simulatorArguments: ["--tokens", "20", "--interval-ms", "50"])
        let streaming = try stack.client("streamer")
        let idle = try stack.client("bystander")
        try streaming.send(["type": "general_chat", "data": ["message": "long SIM[id=drain]"], "conversation_id": "d"])
        var chat = ChatTranscript()
        while chat.deltaCount < 2 { chat.messages.append(try streaming.receive()) }
        kill(stack.gateway.process.processIdentifier, SIGTERM)
        // The idle client is told at once.
        #expect(try idle.receive()["error_code"] as? String == "SERVER_SHUTTING_DOWN")
        #expect(try idle.socket.readClose().closeCode == 1001)
        // The stream runs to its end, then the same notice and close.
        let rest = try streaming.readChat()
        chat.messages += rest.messages
        #expect(chat.finishReason == "stop")
        #expect(chat.text == (try stack.upstream("drain")?["sent_text"] as? String))
        #expect(try streaming.receive()["error_code"] as? String == "SERVER_SHUTTING_DOWN")
        #expect(try streaming.socket.readClose().closeCode == 1001)
        stack.gateway.process.waitUntilExit()
        #expect(stack.gateway.process.terminationStatus == 0)
    }
}
