import Foundation

/// A chat client over `TestClient`: JSON in, JSON out, and a helper that collects one chat.
final class ChatClient {
    let socket: TestClient
    private(set) var welcome: [String: Any] = [:]

    init(port: UInt16, userID: String, timeoutSeconds: Int = 15) throws {
        socket = try TestClient(port: port, timeoutSeconds: timeoutSeconds)
        try socket.upgrade(path: "/ws/chat/\(userID)")
        welcome = try receive()
    }

    func send(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object)
        try socket.sendFrame(opcode: 1, payload: Array(data))
    }

    func sendRaw(_ text: String) throws { try socket.sendText(text) }

    func receive() throws -> [String: Any] {
        let frame = try socket.readFrame()
        guard frame.opcode == 1 else { throw TestFailure("expected a text frame, got opcode \(frame.opcode)") }
        guard let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(frame.text)")
        }
        return object
    }

    /// Sends a chat and reads until its `done`.
    func chat(_ message: String, type: String = "health_chat", conversationID: String? = nil,
              context: [String: Any]? = nil, memberID: String? = nil) throws -> ChatTranscript {
        var request: [String: Any] = ["type": type, "data": ["message": message]]
        if let context { request["data"] = ["message": message, "context": context] }
        if let conversationID { request["conversation_id"] = conversationID }
        if let memberID { request["active_member_id"] = memberID }
        try send(request)
        return try readChat()
    }

    /// Reads messages until a `status_update` `done`.
    func readChat() throws -> ChatTranscript {
        var transcript = ChatTranscript()
        while true {
            let message = try receive()
            transcript.messages.append(message)
            if message["type"] as? String == "status_update", message["status"] as? String == "done" { return transcript }
        }
    }
}

struct ChatTranscript {
    var messages: [[String: Any]] = []

    var statuses: [String] {
        messages.filter { $0["type"] as? String == "status_update" }.compactMap { $0["status"] as? String }
    }
    var text: String {
        messages.filter { $0["type"] as? String == "chat_stream" }.compactMap { $0["delta"] as? String }.joined()
    }
    var deltaCount: Int { messages.filter { $0["type"] as? String == "chat_stream" }.count }
    var errors: [String] { messages.filter { $0["type"] as? String == "error" }.compactMap { $0["error_code"] as? String } }
    var done: [String: Any]? { messages.last }
    var finishReason: String? { done?["finish_reason"] as? String }
    var types: [String] { messages.compactMap { $0["type"] as? String } }
    var conversationIDs: Set<String> { Set(messages.compactMap { $0["conversation_id"] as? String }) }
}

/// Reads the upstream simulator's introspection endpoints over a plain socket.
enum Simulator {
    static func get(_ path: String, port: UInt16) throws -> Any {
        let client = try TestClient(port: port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let (status, head) = try client.readResponseHead()
        guard status == 200 else { throw TestFailure("simulator answered \(status): \(head)") }
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let body = try client.readBytes(length)
        return try JSONSerialization.jsonObject(with: Data(body))
    }

    /// Every stream request the simulator has seen.
    static func requests(port: UInt16) throws -> [[String: Any]] {
        (try get("/_sim/requests", port: port) as? [[String: Any]]) ?? []
    }

    static func request(id: String, port: UInt16) throws -> [String: Any]? {
        try requests(port: port).last { $0["id"] as? String == id }
    }

    /// Polls until `condition` holds for the request `id` (the simulator notices closes a bit later).
    static func waitFor(id: String, port: UInt16, seconds: Double = 5, _ condition: ([String: Any]) -> Bool) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String: Any]?
        while Date() < deadline {
            last = try request(id: id, port: port)
            if let last, condition(last) { return last }
            usleep(50_000)
        }
        return last
    }
}
