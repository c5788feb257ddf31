/// Encodes the server → client messages of PROTOCOL.md. Each returns one JSON text frame's bytes.
package enum ServerMessages {
    static func welcome(message: String, userID: String, connectionID: String, activeMemberID: String, provider: String) -> [UInt8] {
        var json = JSONWriter()
        json.field("type", "welcome")
        json.field("message", message)
        json.field("user_id", userID)
        json.field("connection_id", connectionID)
        json.field("active_member_id", activeMemberID)
        json.field("provider", provider)
        json.timestampField()
        return json.finish()
    }

    static func statusUpdate(
        _ status: ChatStatus, conversationID: String, finishReason: String? = nil, usage: TokenUsage? = nil
    ) -> [UInt8] {
        var json = JSONWriter()
        json.field("type", "status_update")
        json.field("status", status.rawValue)
        json.field("message", status.message)
        json.field("conversation_id", conversationID)
        if let finishReason { json.field("finish_reason", finishReason) }
        if let usage {
            var object = JSONWriter(capacity: 80)
            object.field("prompt_tokens", usage.promptTokens)
            object.field("completion_tokens", usage.completionTokens)
            object.field("total_tokens", usage.totalTokens)
            json.field("usage", json: object.finish())
        }
        json.timestampField()
        return json.finish()
    }

    /// The hot path: one per relayed delta. Encodes into `buffer`'s storage, which the caller
    /// keeps between calls, so steady-state streaming does not allocate here.
    package static func chatStream(delta: UnsafeRawBufferPointer, conversationID: String, into buffer: inout [UInt8]) {
        var json = JSONWriter(reusing: &buffer)
        json.field("type", "chat_stream")
        json.field("delta", utf8: delta)
        json.field("conversation_id", conversationID)
        json.timestampField()
        buffer = json.finish()
    }

    static func error(_ error: ChatError, conversationID: String? = nil) -> [UInt8] {
        var json = JSONWriter()
        json.field("type", "error")
        json.field("message", error.message)
        json.field("error_code", error.code.rawValue)
        if let conversationID { json.field("conversation_id", conversationID) }
        json.timestampField()
        return json.finish()
    }

    static func memberSwitched(active: String, previous: String) -> [UInt8] {
        var json = JSONWriter()
        json.field("type", "member_switched")
        json.field("active_member_id", active)
        json.field("previous_member_id", previous)
        json.timestampField()
        return json.finish()
    }

    struct Status {
        var connectionID: String
        var userID: String
        var activeMemberID: String
        var connectionsForUser: Int
        var conversationID: String?
        var provider: String
        var uptimeSeconds: Int
    }

    static func status(_ status: Status) -> [UInt8] {
        var json = JSONWriter()
        json.field("type", "status")
        json.field("connection_id", status.connectionID)
        json.field("user_id", status.userID)
        json.field("active_member_id", status.activeMemberID)
        json.field("connections_for_user", status.connectionsForUser)
        json.field("chat_in_progress", status.conversationID != nil)
        json.field("conversation_id", status.conversationID)
        json.field("provider", status.provider)
        json.field("uptime_s", status.uptimeSeconds)
        json.timestampField()
        return json.finish()
    }
}

/// The `status_update` states, in the only order they are sent.
enum ChatStatus: String {
    case sending, streaming, done

    var message: String {
        switch self {
        case .sending: "正在发送请求到AI服务..."
        case .streaming: "正在生成个性化健康建议..."
        case .done: "响应完成"
        }
    }
}

struct TokenUsage: Equatable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
}
