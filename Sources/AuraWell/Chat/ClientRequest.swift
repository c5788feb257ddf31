/// A validated client → server message (PROTOCOL.md "Client → server").
enum ClientRequest: Equatable {
    case chat(kind: HealthAdviceService.Kind, question: String, context: JSONValue?, conversationID: String?, memberID: String?)
    case switchMember(target: String)
    case getStatus
    case cancelChat(conversationID: String?)

    struct Rejection: Error, Equatable {
        var error: ChatError
        /// The conversation it concerns, when the message named one.
        var conversationID: String?
    }

    /// Parses and validates one text message. Every failure carries its PROTOCOL.md code.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxMessageCharacters: Int) -> Result<ClientRequest, Rejection> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            return .failure(Rejection(error: ChatError(.invalidJSON, "消息不是有效的 JSON：\(error.message)")))
        }
        guard value.objectValue != nil else {
            return .failure(Rejection(error: ChatError(.invalidMessage, "消息必须是 JSON 对象")))
        }
        guard let type = value["type"]?.stringValue else {
            return .failure(Rejection(error: ChatError(.invalidMessage, "缺少字段 type（字符串）")))
        }
        var conversationID: String?
        if let field = value["conversation_id"], !field.isNull {
            guard let text = field.stringValue, (1...128).contains(text.utf8.count) else {
                return .failure(Rejection(error: ChatError(.invalidMessage, "conversation_id 必须是 1 到 128 字节的字符串")))
            }
            conversationID = text
        }
        func reject(_ code: ErrorCode, _ message: String) -> Result<ClientRequest, Rejection> {
            .failure(Rejection(error: ChatError(code, message), conversationID: conversationID))
        }
        let data = value["data"]
        if let data, data.objectValue == nil, !data.isNull {
            return reject(.invalidMessage, "data 必须是对象")
        }

        switch type {
        case "health_chat", "general_chat":
            guard let field = data?["message"] else { return reject(.invalidMessage, "缺少字段 data.message") }
            guard let question = field.stringValue else { return reject(.invalidMessage, "data.message 必须是字符串") }
            if question.allSatisfy(\.isWhitespace) { return reject(.emptyMessage, "消息内容不能为空") }
            let length = question.unicodeScalars.count
            if length > maxMessageCharacters {
                return reject(.messageTooLong, "消息过长：\(length) 个字符，上限为 \(maxMessageCharacters)")
            }
            var context: JSONValue?
            if let field = data?["context"], !field.isNull {
                guard field.objectValue != nil else { return reject(.invalidMessage, "data.context 必须是对象") }
                context = field
            }
            var memberID: String?
            if type == "health_chat", let field = value["active_member_id"], !field.isNull {
                guard let text = field.stringValue, Identifier.isValid(text) else {
                    return reject(.invalidMessage, "active_member_id 必须匹配 [A-Za-z0-9_.-]{1,64}")
                }
                memberID = text
            }
            let kind: HealthAdviceService.Kind = type == "health_chat" ? .health : .general
            return .success(.chat(kind: kind, question: question, context: context, conversationID: conversationID, memberID: memberID))
        case "switch_member":
            guard let target = data?["target_member_id"]?.stringValue else {
                return reject(.invalidMessage, "缺少字段 data.target_member_id（字符串）")
            }
            guard Identifier.isValid(target) else {
                return reject(.invalidMessage, "target_member_id 必须匹配 [A-Za-z0-9_.-]{1,64}")
            }
            return .success(.switchMember(target: target))
        case "get_status":
            return .success(.getStatus)
        case "cancel_chat":
            return .success(.cancelChat(conversationID: conversationID))
        default:
            return reject(.unknownMessageType, "未知的消息类型：\(type)")
        }
    }
}

extension HealthAdviceService.Kind: Equatable {}
