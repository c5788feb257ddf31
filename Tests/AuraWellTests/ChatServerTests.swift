import Foundation
import Testing

/// The chat service end to end: the real gateway pointed at the real upstream simulator through
/// `DEEPSEEK_BASE_URL`, clients over real sockets.
@Suite struct ChatServerTests {
    /// A simulator and a gateway in deepseek mode, with fast retries and short deadlines.
    struct Stack {
        let simulator: ServerProcess
        let gateway: ServerProcess
        let database: String

        init(simulatorArguments: [String] = ["--tokens", "8", "--interval-ms", "5"], environment: [String: String] = [:]) throws {
            simulator = try ServerProcess.simulator(arguments: simulatorArguments)
            database = ServerProcess.temporaryPath(suffix: ".db")
            var env = [
                "DEEPSEEK_BASE_URL": "http://127.0.0.1:\(simulator.port)",
                "DEEPSEEK_API_KEY": "sk-test-secret",
                "AURAWELL_DB": database,
                "AURAWELL_UPSTREAM_RETRY_BASE_MS": "20",
            ]
            env.merge(environment) { $1 }
            gateway = try ServerProcess(environment: env)
        }

        func client(_ userID: String = "user_1") throws -> ChatClient { try ChatClient(port: gateway.port, userID: userID) }
        func upstream(_ id: String) throws -> [String: Any]? { try Simulator.request(id: id, port: simulator.port) }

        /// Runs `aurawell member …` against this stack's database.
        func member(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = ServerProcess.binaryURL
            process.arguments = ["member"] + arguments + ["--db", database]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }

    @Test func welcomeNamesTheProvider() throws {
        let stack = try Stack()
        let client = try stack.client()
        #expect(client.welcome["provider"] as? String == "deepseek")
    }

    @Test func aChatStreamsInOrderAndTheDeltasAreExactlyWhatUpstreamSent() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("我最近很累 SIM[id=one,tokens=12]", conversationID: "conv_a")
        #expect(chat.statuses == ["sending", "streaming", "done"])
        #expect(chat.finishReason == "stop")
        #expect(chat.deltaCount == 12)
        #expect(chat.conversationIDs == ["conv_a"])
        let upstream = try #require(try stack.upstream("one"))
        #expect(chat.text == upstream["sent_text"] as? String)
        #expect(upstream["authorization"] as? String == "Bearer sk-test-secret")
        let usage = try #require(chat.done?["usage"] as? [String: Any])
        #expect(usage["completion_tokens"] as? Int == 12)
        // The order of messages: sending, streaming, then only deltas, then done.
        #expect(chat.types.first == "status_update" && chat.types.last == "status_update")
        #expect(Array(chat.types.dropFirst(2).dropLast()).allSatisfy { $0 == "chat_stream" })
    }

    @Test func twoHundredConcurrentStreamsDoNotCrossTalk() throws {
        let stack = try Stack(simulatorArguments: ["--tokens", "20", "--interval-ms", "10"])
        let clients = try (0..<200).map { try stack.client("user_\($0)") }
        for (index, client) in clients.enumerated() {
            try client.send(["type": "general_chat", "data": ["message": "hello SIM[id=c\(index)]"], "conversation_id": "conv_\(index)"])
        }
        for (index, client) in clients.enumerated() {
            let chat = try client.readChat()
            #expect(chat.statuses == ["sending", "streaming", "done"])
            #expect(chat.conversationIDs == ["conv_\(index)"])
            let upstream = try #require(try stack.upstream("c\(index)"))
            #expect(chat.text == upstream["sent_text"] as? String, "client \(index)")
            #expect(chat.text.contains("·c\(index) "))
        }
    }

    @Test func contextAndMemberProfileReachTheUpstream() throws {
        let stack = try Stack()
        let added = try stack.member(["add", "user_1", "grandma", "--name", "奶奶", "--profile", #"{"age": 78, "conditions": ["高血压"], "allergies": ["青霉素"]}"#])
        #expect(added.status == 0, "\(added.output)")
        let client = try stack.client()
        try client.send(["type": "switch_member", "data": ["target_member_id": "grandma"]])
        let switched = try client.receive()
        #expect(switched["type"] as? String == "member_switched")
        #expect(switched["active_member_id"] as? String == "grandma")
        #expect(switched["previous_member_id"] as? String == "user_1")
        let chat = try client.chat("头晕怎么办 SIM[id=ctx]", context: ["mood": "anxious", "sleep_hours": 5, "activity_level": "low"])
        #expect(chat.finishReason == "stop")
        let body = try #require(try stack.upstream("ctx")?["body"] as? String)
        let request = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(request["stream"] as? Bool == true)
        #expect((request["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect((request["user_id"] as? String)?.count == 32)
        #expect(!body.contains("user_1"), "the upstream must see a hash, not the user id")
        let system = try #require(((request["messages"] as? [[String: Any]])?.first?["content"]) as? String)
        for expected in ["奶奶", "78", "高血压", "青霉素", "anxious", "5", "low"] {
            #expect(system.contains(expected), "system prompt lacks \(expected)")
        }
    }

    @Test func switchingToAnUnknownMemberChangesNothing() throws {
        let stack = try Stack()
        let client = try stack.client()
        try client.send(["type": "switch_member", "data": ["target_member_id": "stranger"]])
        let error = try client.receive()
        #expect(error["error_code"] as? String == "MEMBER_NOT_FOUND")
        try client.send(["type": "get_status", "data": [:] as [String: Any]])
        let status = try client.receive()
        #expect(status["active_member_id"] as? String == "user_1")
        // A chat naming an unknown member is refused before anything is sent upstream.
        try client.send(["type": "health_chat", "data": ["message": "hi"], "active_member_id": "stranger"])
        #expect(try client.receive()["error_code"] as? String == "MEMBER_NOT_FOUND")
    }

    @Test(arguments: [
        ("{not json", "INVALID_JSON"),
        (#"[1, 2]"#, "INVALID_MESSAGE"),
        (#"{"data": {}}"#, "INVALID_MESSAGE"),
        (#"{"type": "health_chat", "data": {"message": 42}}"#, "INVALID_MESSAGE"),
        (#"{"type": "health_chat", "data": {"message": "hi", "context": "tired"}}"#, "INVALID_MESSAGE"),
        (#"{"type": "switch_member", "data": {}}"#, "INVALID_MESSAGE"),
        (#"{"type": "dance", "data": {}}"#, "UNKNOWN_MESSAGE_TYPE"),
        (#"{"type": "health_chat", "data": {"message": "   "}}"#, "EMPTY_MESSAGE"),
        (#"{"type": "cancel_chat"}"#, "INVALID_MESSAGE"),
    ])
    func badInputGetsItsErrorCodeAndTheConnectionStaysUsable(input: String, code: String) throws {
        let stack = try Stack()
        let client = try stack.client()
        try client.sendRaw(input)
        let error = try client.receive()
        #expect(error["type"] as? String == "error")
        #expect(error["error_code"] as? String == code)
        #expect((error["message"] as? String)?.isEmpty == false)
        let chat = try client.chat("still works? SIM[tokens=2]")
        #expect(chat.finishReason == "stop")
    }

    @Test func messagesOverTheCharacterLimitAreRefused() throws {
        let stack = try Stack()
        let client = try stack.client()
        try client.send(["type": "general_chat", "data": ["message": String(repeating: "健", count: 1001)]])
        #expect(try client.receive()["error_code"] as? String == "MESSAGE_TOO_LONG")
        // Exactly at the limit: 987 + 13 characters of directive.
        let chat = try client.chat(String(repeating: "健", count: 987) + "SIM[tokens=1]")
        #expect(chat.finishReason == "stop")
    }

    @Test func aSecondChatWhileOneRunsGetsChatInProgress() throws {
        let stack = try Stack()
        let client = try stack.client()
        try client.send(["type": "general_chat", "data": ["message": "slow SIM[tokens=5,interval_ms=100]"], "conversation_id": "first"])
        try client.send(["type": "general_chat", "data": ["message": "second"], "conversation_id": "second"])
        var sawInProgress = false
        var chat = ChatTranscript()
        while chat.finishReason == nil {
            let message = try client.receive()
            if message["error_code"] as? String == "CHAT_IN_PROGRESS" { sawInProgress = true; continue }
            chat.messages.append(message)
        }
        #expect(sawInProgress)
        #expect(chat.conversationIDs == ["first"])
        #expect(chat.statuses == ["sending", "streaming", "done"])
    }

    @Test func statusReportsTheConnection() throws {
        let stack = try Stack()
        let client = try stack.client("user_s")
        let second = try stack.client("user_s")
        try client.send(["type": "get_status", "data": [:] as [String: Any]])
        let status = try client.receive()
        #expect(status["type"] as? String == "status")
        #expect(status["user_id"] as? String == "user_s")
        #expect(status["connection_id"] as? String == client.welcome["connection_id"] as? String)
        #expect(status["connections_for_user"] as? Int == 2)
        #expect(status["chat_in_progress"] as? Bool == false)
        #expect(status["conversation_id"] is NSNull)
        #expect(status["provider"] as? String == "deepseek")
        #expect(status["uptime_s"] is Int)
        _ = second
    }

    @Test func retriesThenSuccess() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("retry me SIM[id=flaky,status=503,fail_first=2,tokens=3]")
        #expect(chat.finishReason == "stop")
        #expect(chat.errors.isEmpty)
        #expect(try stack.upstream("flaky")?["attempt"] as? Int == 3)
    }

    /// With the upstream as fast as it goes, one read brings many tokens; they are written to the
    /// client together (one batch), and still arrive each as its own message, whole and in order.
    @Test func aBurstOfTokensArrivesWholeAndInOrder() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("burst SIM[id=burst,tokens=600,interval_ms=0,per_write=16]", conversationID: "conv_burst")
        #expect(chat.statuses == ["sending", "streaming", "done"])
        #expect(chat.deltaCount == 600)
        #expect(chat.conversationIDs == ["conv_burst"])
        #expect(chat.text == (try stack.upstream("burst"))?["sent_text"] as? String)
        #expect(chat.types.last == "status_update", "done comes after every token")
    }

    /// The retry waits for the upstream's `Retry-After` (1 s), not the 20 ms backoff of this stack.
    @Test func retryHonoursRetryAfter() throws {
        let stack = try Stack()
        let client = try stack.client()
        let started = Date()
        let chat = try client.chat("busy SIM[id=ra,status=429,fail_first=1,retry_after=1,tokens=2]")
        #expect(chat.finishReason == "stop")
        #expect(try stack.upstream("ra")?["attempt"] as? Int == 2)
        #expect(Date().timeIntervalSince(started) >= 0.95)
    }

    @Test(arguments: [(429, "UPSTREAM_RATE_LIMITED"), (500, "UPSTREAM_ERROR"), (401, "UPSTREAM_AUTH")])
    func upstreamFailuresAfterRetriesEndWithErrorThenDone(status: Int, code: String) throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("fail SIM[id=f\(status),status=\(status)]")
        #expect(chat.errors == [code])
        #expect(chat.finishReason == "error")
        #expect(chat.statuses == ["sending", "streaming", "done"])
        let attempts = try stack.upstream("f\(status)")?["attempt"] as? Int
        #expect(attempts == (status == 401 ? 1 : 3), "401 is not retried; 429/500 are retried twice")
        #expect(!stack.gateway.log.contains("sk-test-secret"), "the API key must never be logged")
    }

    @Test func dropMidStreamEndsWithErrorThenDone() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("drop SIM[id=drop,tokens=10,drop_after=3]")
        #expect(chat.deltaCount == 3)
        #expect(chat.errors == ["UPSTREAM_ERROR"])
        #expect(chat.finishReason == "error")
        #expect(chat.types.suffix(2) == ["error", "status_update"])
    }

    @Test func stallMidStreamEndsWithTimeoutThenDone() throws {
        let stack = try Stack(environment: ["AURAWELL_UPSTREAM_STALL_TIMEOUT_S": "1"])
        let client = try stack.client()
        let chat = try client.chat("stall SIM[id=stall,tokens=10,stall_after=2]")
        #expect(chat.deltaCount == 2)
        #expect(chat.errors == ["UPSTREAM_TIMEOUT"])
        #expect(chat.finishReason == "error")
        let upstream = try Simulator.waitFor(id: "stall", port: stack.simulator.port) { $0["client_closed"] as? Bool == true }
        #expect(upstream?["client_closed"] as? Bool == true, "the stalled upstream request must be aborted")
    }

    @Test func inBandErrorAfterOKIsAFailure() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("inband SIM[id=ib,tokens=6,inband_error_after=2]")
        #expect(chat.errors == ["UPSTREAM_ERROR"])
        #expect(chat.finishReason == "error")
    }

    @Test func reasoningContentIsNotPartOfTheAnswer() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("think SIM[id=rz,reasoning=3,tokens=2]")
        #expect(!chat.text.contains("think"))
        let sent = try stack.upstream("rz")?["sent_text"] as? String
        #expect(chat.text == sent)
    }

    @Test func cancelAbortsTheUpstreamRequest() throws {
        let stack = try Stack()
        let client = try stack.client()
        try client.send(["type": "general_chat", "data": ["message": "long SIM[id=cancel,tokens=100,interval_ms=50]"], "conversation_id": "cc"])
        var chat = ChatTranscript()
        while chat.deltaCount < 2 { chat.messages.append(try client.receive()) }
        try client.send(["type": "cancel_chat", "conversation_id": "cc"])
        let rest = try client.readChat()
        #expect(rest.finishReason == "cancelled")
        #expect((chat.statuses + rest.statuses) == ["sending", "streaming", "done"])
        let upstream = try Simulator.waitFor(id: "cancel", port: stack.simulator.port) { $0["client_closed"] as? Bool == true }
        #expect(upstream?["client_closed"] as? Bool == true)
        // The connection is still usable.
        #expect(try client.chat("again SIM[tokens=1]").finishReason == "stop")
    }

    @Test func clientDisconnectAbortsTheUpstreamRequest() throws {
        let stack = try Stack()
        var client: ChatClient? = try stack.client()
        try client!.send(["type": "general_chat", "data": ["message": "bye SIM[id=gone,tokens=100,interval_ms=50]"]])
        while try client!.receive()["type"] as? String != "chat_stream" {}
        client = nil  // closes the socket
        let upstream = try Simulator.waitFor(id: "gone", port: stack.simulator.port) { $0["client_closed"] as? Bool == true }
        #expect(upstream?["client_closed"] as? Bool == true)
        #expect((upstream?["tokens_sent"] as? Int ?? 100) < 100)
    }

    @Test func emergencyNoticeComesFirst() throws {
        let stack = try Stack()
        let client = try stack.client()
        let chat = try client.chat("我胸痛，而且呼吸困难 SIM[tokens=2]")
        let first = try #require(chat.messages.first { $0["type"] as? String == "chat_stream" }?["delta"] as? String)
        #expect(first.contains("120"))
        #expect(chat.finishReason == "stop")
        let calm = try client.chat("晚上睡不好怎么办 SIM[tokens=2]")
        #expect(!calm.text.contains("120"))
    }

    @Test func conversationsRememberEarlierTurns() throws {
        let stack = try Stack()
        let client = try stack.client()
        let first = try client.chat("第一个问题 SIM[id=turn1,tokens=3]", conversationID: "multi")
        _ = try client.chat("第二个问题 SIM[id=turn2,tokens=3]", conversationID: "multi")
        let body = try #require(try stack.upstream("turn2")?["body"] as? String)
        let request = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let messages = try #require(request["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "user"])
        #expect(messages[2]["content"] as? String == first.text)
    }

    @Test func offlineProviderStreamsAnAnswer() throws {
        let gateway = try ServerProcess(environment: ["AURAWELL_OFFLINE_TOKEN_INTERVAL_MS": "1"])
        let client = try ChatClient(port: gateway.port, userID: "offline_user")
        #expect(client.welcome["provider"] as? String == "offline")
        let chat = try client.chat("最近睡不好，很累", context: ["sleep_hours": 5])
        #expect(chat.statuses == ["sending", "streaming", "done"])
        #expect(chat.deltaCount > 10)
        #expect(chat.text.contains("离线"))
        #expect(chat.text.contains("睡眠"))
        #expect(chat.finishReason == "stop")
    }
}
