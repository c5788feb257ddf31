/// Token counts from an OpenAI-compatible `usage` object.
struct ChatCompletionUsage: Equatable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
}

/// An upstream error: the body of an HTTP error response or an in-band `data: {"error": …}` event.
struct UpstreamErrorBody: Equatable, Sendable {
    var message: String
    var type: String?
    /// A string or, when the upstream sent a number, its text (`"429"`).
    var code: String?
}

package enum ChunkDecodeError: Error, Equatable {
    case malformed(String)
}

/// What the gateway needs from one streamed `chat.completion.chunk` (OpenAI-compatible, as sent by
/// DeepSeek, vLLM, llama.cpp) or from an error body.
///
/// `decode` walks the JSON once, validating its syntax, and skips everything else without building
/// anything; only the fields below allocate (and strings of up to 15 UTF-8 bytes do not).
package struct ChatCompletionChunk: Equatable, Sendable {
    /// `choices[0].delta.content` when it is a string, unescaped (`""` is kept as `""`).
    package var content: String?
    /// `choices[0].delta.reasoning_content` is a string: a thinking model's reasoning, not answer text.
    var hasReasoning: Bool
    /// `choices[0].finish_reason` when it is a string (`stop`, `length`, `content_filter`, …).
    var finishReason: String?
    /// The top-level `usage` when it is an object (the last chunk, often with `choices: []`).
    var usage: ChatCompletionUsage?
    /// A top-level `"error"` (an object, or a bare message string), or a vLLM-style flat error
    /// (`{"object": "error", "message": …, "type": …, "code": …}`).
    var error: UpstreamErrorBody?

    init(
        content: String? = nil, hasReasoning: Bool = false, finishReason: String? = nil,
        usage: ChatCompletionUsage? = nil, error: UpstreamErrorBody? = nil
    ) {
        self.content = content
        self.hasReasoning = hasReasoning
        self.finishReason = finishReason
        self.usage = usage
        self.error = error
    }

    /// Nesting limit for skipped values (the chunk object itself is level 1).
    static let maxDepth = 64

    /// Decodes one event's data (or an error response body). Anything that is not a single
    /// well-formed JSON object, with only whitespace around it, is `.malformed`. Fields of an
    /// unexpected type (`"content": 5`) are ignored rather than rejected.
    package static func decode(_ data: UnsafeRawBufferPointer) -> Result<ChatCompletionChunk, ChunkDecodeError> {
        guard !data.isEmpty else { return .failure(.malformed("empty data")) }
        var cursor = JSONCursor(data)
        var chunk = ChatCompletionChunk()
        do throws(JSONSyntaxError) {
            try decodeObject(&cursor, into: &chunk)
        } catch {
            return .failure(.malformed("\(error.message) at byte \(error.offset)"))
        }
        return .success(chunk)
    }

    /// Whether the event data is the end-of-stream marker `[DONE]` (surrounding whitespace allowed).
    package static func isDone(_ data: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        var end = data.count
        while start < end, isWhitespace(data[start]) { start += 1 }
        while end > start, isWhitespace(data[end - 1]) { end -= 1 }
        guard end - start == 6 else { return false }
        let marker: StaticString = "[DONE]"
        for k in 0..<6 where data[start + k] != marker.utf8Start[k] { return false }
        return true
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    // MARK: The walk (depth: chunk 1, choices 2, a choice 3, its delta 4)

    private static func decodeObject(_ cursor: inout JSONCursor, into chunk: inout ChatCompletionChunk) throws(JSONSyntaxError) {
        cursor.skipWhitespace()
        guard cursor.current == UInt8(ascii: "{") else { throw cursor.expected("expected a JSON object") }
        cursor.index += 1
        // A flat error's fields, kept as tokens until we know the object is an error.
        var isFlatError = false
        var flatMessage: JSONCursor.StringToken?
        var flatType: JSONCursor.StringToken?
        var flatCode: Code?
        var key = try cursor.firstKey(validateUTF8: false)
        while let name = key {
            let value = cursor.current
            switch Key(name, cursor) {
            case .choices where value == UInt8(ascii: "["):
                try decodeChoices(&cursor, into: &chunk)
            case .usage where value == UInt8(ascii: "{"):
                chunk.usage = try decodeUsage(&cursor)
            case .error where value == UInt8(ascii: "{"):
                chunk.error = try decodeError(&cursor)
            case .error where value == UInt8(ascii: "\""):
                chunk.error = UpstreamErrorBody(message: cursor.string(try cursor.scanString(validateUTF8: false)))
            case .object where value == UInt8(ascii: "\""):
                isFlatError = cursor.token(try cursor.scanString(validateUTF8: false), is: "error")
            case .message where value == UInt8(ascii: "\""):
                flatMessage = try cursor.scanString(validateUTF8: false)
            case .type where value == UInt8(ascii: "\""):
                flatType = try cursor.scanString(validateUTF8: false)
            case .code where isCodeStart(value):
                flatCode = try scanCode(&cursor)
            default:
                try cursor.skip(depth: 1, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the object") }
        if isFlatError, case .none = chunk.error {
            let reader = cursor
            chunk.error = UpstreamErrorBody(
                message: flatMessage.map { reader.string($0) } ?? "",
                type: flatType.map { reader.string($0) },
                code: flatCode.map { $0.text(reader) }
            )
        }
    }

    private static func decodeChoices(_ cursor: inout JSONCursor, into chunk: inout ChatCompletionChunk) throws(JSONSyntaxError) {
        cursor.index += 1
        var more = cursor.firstElement()
        var isFirst = true
        while more {
            if isFirst, cursor.current == UInt8(ascii: "{") {
                try decodeChoice(&cursor, into: &chunk)
            } else {
                try cursor.skip(depth: 2, maxDepth: maxDepth)
            }
            isFirst = false
            more = try cursor.nextElement()
        }
    }

    private static func decodeChoice(_ cursor: inout JSONCursor, into chunk: inout ChatCompletionChunk) throws(JSONSyntaxError) {
        cursor.index += 1
        var key = try cursor.firstKey(validateUTF8: false)
        while let name = key {
            let value = cursor.current
            switch Key(name, cursor) {
            case .delta where value == UInt8(ascii: "{"):
                try decodeDelta(&cursor, into: &chunk)
            case .finishReason where value == UInt8(ascii: "\""):
                chunk.finishReason = cursor.string(try cursor.scanString(validateUTF8: false))
            default:
                try cursor.skip(depth: 3, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
    }

    private static func decodeDelta(_ cursor: inout JSONCursor, into chunk: inout ChatCompletionChunk) throws(JSONSyntaxError) {
        cursor.index += 1
        var key = try cursor.firstKey(validateUTF8: false)
        while let name = key {
            let value = cursor.current
            switch Key(name, cursor) {
            case .content where value == UInt8(ascii: "\""):
                chunk.content = cursor.string(try cursor.scanString(validateUTF8: false))
            case .reasoningContent where value == UInt8(ascii: "\""):
                _ = try cursor.scanString(validateUTF8: false)
                chunk.hasReasoning = true
            default:
                try cursor.skip(depth: 4, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
    }

    /// `prompt_tokens`, `completion_tokens`, `total_tokens` (the sum when absent); others skipped.
    private static func decodeUsage(_ cursor: inout JSONCursor) throws(JSONSyntaxError) -> ChatCompletionUsage {
        cursor.index += 1
        var prompt = 0
        var completion = 0
        var total: Int?
        var key = try cursor.firstKey(validateUTF8: false)
        while let name = key {
            let isNumber = isNumberStart(cursor.current)
            switch Key(name, cursor) {
            case .promptTokens where isNumber: prompt = count(try cursor.scanNumber(), cursor)
            case .completionTokens where isNumber: completion = count(try cursor.scanNumber(), cursor)
            case .totalTokens where isNumber: total = count(try cursor.scanNumber(), cursor)
            default: try cursor.skip(depth: 2, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
        return ChatCompletionUsage(promptTokens: prompt, completionTokens: completion, totalTokens: total ?? prompt + completion)
    }

    /// A token count: the integer, an integral float (`12.0`), or 0 for anything else.
    private static func count(_ number: JSONCursor.NumberToken, _ cursor: JSONCursor) -> Int {
        if let value = cursor.intValue(number) { return value }
        return cursor.doubleValue(number).flatMap { Int(exactly: $0) } ?? 0
    }

    private static func decodeError(_ cursor: inout JSONCursor) throws(JSONSyntaxError) -> UpstreamErrorBody {
        cursor.index += 1
        var body = UpstreamErrorBody(message: "")
        var key = try cursor.firstKey(validateUTF8: false)
        while let name = key {
            let value = cursor.current
            switch Key(name, cursor) {
            case .message where value == UInt8(ascii: "\""):
                body.message = cursor.string(try cursor.scanString(validateUTF8: false))
            case .type where value == UInt8(ascii: "\""):
                body.type = cursor.string(try cursor.scanString(validateUTF8: false))
            case .code where isCodeStart(value):
                body.code = try scanCode(&cursor).text(cursor)
            default:
                try cursor.skip(depth: 2, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
        return body
    }

    /// The member names the walk looks for, recognised by length first, so that the usual
    /// unknown key costs one comparison of lengths.
    private enum Key {
        case choices, usage, error, object, message, type, code
        case delta, finishReason, content, reasoningContent
        case promptTokens, completionTokens, totalTokens
        case other

        @inline(__always)
        init(_ name: JSONCursor.StringToken, _ cursor: JSONCursor) {
            guard !name.hasEscapes else {
                self.init(cursor.string(name))
                return
            }
            func matches(_ literal: StaticString) -> Bool { cursor.token(name, is: literal) }
            switch name.end - name.start {
            case 4: self = matches("type") ? .type : matches("code") ? .code : .other
            case 5: self = matches("delta") ? .delta : matches("usage") ? .usage : matches("error") ? .error : .other
            case 6: self = matches("object") ? .object : .other
            case 7: self = matches("content") ? .content : matches("choices") ? .choices : matches("message") ? .message : .other
            case 12: self = matches("total_tokens") ? .totalTokens : .other
            case 13: self = matches("finish_reason") ? .finishReason : matches("prompt_tokens") ? .promptTokens : .other
            case 17: self = matches("reasoning_content") ? .reasoningContent : matches("completion_tokens") ? .completionTokens : .other
            default: self = .other
            }
        }

        /// A key written with escapes (`"con\u0074ent"`): rare, so compared as a `String`.
        private init(_ name: String) {
            switch name {
            case "choices": self = .choices
            case "usage": self = .usage
            case "error": self = .error
            case "object": self = .object
            case "message": self = .message
            case "type": self = .type
            case "code": self = .code
            case "delta": self = .delta
            case "finish_reason": self = .finishReason
            case "content": self = .content
            case "reasoning_content": self = .reasoningContent
            case "prompt_tokens": self = .promptTokens
            case "completion_tokens": self = .completionTokens
            case "total_tokens": self = .totalTokens
            default: self = .other
            }
        }
    }

    @inline(__always)
    private static func isNumberStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || byte &- UInt8(ascii: "0") < 10
    }

    @inline(__always)
    private static func isCodeStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || isNumberStart(byte)
    }

    /// An error code: a string, or a number kept as its text.
    private enum Code {
        case string(JSONCursor.StringToken)
        case number(JSONCursor.NumberToken)

        func text(_ cursor: JSONCursor) -> String {
            switch self {
            case .string(let token): cursor.string(token)
            case .number(let token): cursor.text(token)
            }
        }
    }

    /// At a string or a number (see `isCodeStart`): scans it.
    private static func scanCode(_ cursor: inout JSONCursor) throws(JSONSyntaxError) -> Code {
        if cursor.current == UInt8(ascii: "\"") { return .string(try cursor.scanString(validateUTF8: false)) }
        return .number(try cursor.scanNumber())
    }
}
