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

enum ChunkDecodeError: Error, Equatable {
    case malformed(String)
}

/// What the gateway needs from one streamed `chat.completion.chunk` (OpenAI-compatible, as sent by
/// DeepSeek, vLLM, llama.cpp) or from an error body.
///
/// `decode` walks the JSON once, validating its syntax, and skips everything else without building
/// anything; only the fields below allocate (and strings of up to 15 UTF-8 bytes do not).
struct ChatCompletionChunk: Equatable, Sendable {
    /// `choices[0].delta.content` when it is a string, unescaped (`""` is kept as `""`).
    var content: String?
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
    static func decode(_ data: UnsafeRawBufferPointer) -> Result<ChatCompletionChunk, ChunkDecodeError> {
        guard !data.isEmpty else { return .failure(.malformed("empty data")) }
        var cursor = JSONCursor(data)
        do throws(JSONSyntaxError) {
            return .success(try decodeObject(&cursor))
        } catch {
            return .failure(.malformed("\(error.message) at byte \(error.offset)"))
        }
    }

    /// Whether the event data is the end-of-stream marker `[DONE]` (surrounding whitespace allowed).
    static func isDone(_ data: UnsafeRawBufferPointer) -> Bool {
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

    private static func decodeObject(_ cursor: inout JSONCursor) throws(JSONSyntaxError) -> ChatCompletionChunk {
        var chunk = ChatCompletionChunk()
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
            if cursor.token(name, is: "choices"), value == UInt8(ascii: "[") {
                try decodeChoices(&cursor, into: &chunk)
            } else if cursor.token(name, is: "usage"), value == UInt8(ascii: "{") {
                chunk.usage = try decodeUsage(&cursor)
            } else if cursor.token(name, is: "error"), value == UInt8(ascii: "{") {
                chunk.error = try decodeError(&cursor)
            } else if cursor.token(name, is: "error"), value == UInt8(ascii: "\"") {
                chunk.error = UpstreamErrorBody(message: cursor.string(try cursor.scanString(validateUTF8: false)))
            } else if cursor.token(name, is: "object"), value == UInt8(ascii: "\"") {
                isFlatError = cursor.token(try cursor.scanString(validateUTF8: false), is: "error")
            } else if cursor.token(name, is: "message"), value == UInt8(ascii: "\"") {
                flatMessage = try cursor.scanString(validateUTF8: false)
            } else if cursor.token(name, is: "type"), value == UInt8(ascii: "\"") {
                flatType = try cursor.scanString(validateUTF8: false)
            } else if cursor.token(name, is: "code"), let code = try scanCode(&cursor) {
                flatCode = code
            } else {
                try cursor.skipValue(depth: 1, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.failure("unexpected data after the object") }
        if isFlatError, chunk.error == nil {
            let reader = cursor
            chunk.error = UpstreamErrorBody(
                message: flatMessage.map { reader.string($0) } ?? "",
                type: flatType.map { reader.string($0) },
                code: flatCode.map { $0.text(reader) }
            )
        }
        return chunk
    }

    private static func decodeChoices(_ cursor: inout JSONCursor, into chunk: inout ChatCompletionChunk) throws(JSONSyntaxError) {
        cursor.index += 1
        var more = cursor.firstElement()
        var isFirst = true
        while more {
            if isFirst, cursor.current == UInt8(ascii: "{") {
                try decodeChoice(&cursor, into: &chunk)
            } else {
                try cursor.skipValue(depth: 2, maxDepth: maxDepth)
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
            if cursor.token(name, is: "delta"), value == UInt8(ascii: "{") {
                try decodeDelta(&cursor, into: &chunk)
            } else if cursor.token(name, is: "finish_reason"), value == UInt8(ascii: "\"") {
                chunk.finishReason = cursor.string(try cursor.scanString(validateUTF8: false))
            } else {
                try cursor.skipValue(depth: 3, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
    }

    private static func decodeDelta(_ cursor: inout JSONCursor, into chunk: inout ChatCompletionChunk) throws(JSONSyntaxError) {
        cursor.index += 1
        var key = try cursor.firstKey(validateUTF8: false)
        while let name = key {
            let value = cursor.current
            if cursor.token(name, is: "content"), value == UInt8(ascii: "\"") {
                chunk.content = cursor.string(try cursor.scanString(validateUTF8: false))
            } else if cursor.token(name, is: "reasoning_content"), value == UInt8(ascii: "\"") {
                _ = try cursor.scanString(validateUTF8: false)
                chunk.hasReasoning = true
            } else {
                try cursor.skipValue(depth: 4, maxDepth: maxDepth)
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
            let isNumber = cursor.current == UInt8(ascii: "-") || cursor.current &- UInt8(ascii: "0") < 10
            if isNumber, cursor.token(name, is: "prompt_tokens") {
                prompt = count(try cursor.scanNumber(), cursor)
            } else if isNumber, cursor.token(name, is: "completion_tokens") {
                completion = count(try cursor.scanNumber(), cursor)
            } else if isNumber, cursor.token(name, is: "total_tokens") {
                total = count(try cursor.scanNumber(), cursor)
            } else {
                try cursor.skipValue(depth: 2, maxDepth: maxDepth)
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
            if cursor.token(name, is: "message"), value == UInt8(ascii: "\"") {
                body.message = cursor.string(try cursor.scanString(validateUTF8: false))
            } else if cursor.token(name, is: "type"), value == UInt8(ascii: "\"") {
                body.type = cursor.string(try cursor.scanString(validateUTF8: false))
            } else if cursor.token(name, is: "code"), let code = try scanCode(&cursor) {
                body.code = code.text(cursor)
            } else {
                try cursor.skipValue(depth: 2, maxDepth: maxDepth)
            }
            key = try cursor.nextKey(validateUTF8: false)
        }
        return body
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

    /// Scans a string or number code; nil (nothing consumed) for any other value.
    private static func scanCode(_ cursor: inout JSONCursor) throws(JSONSyntaxError) -> Code? {
        let value = cursor.current
        if value == UInt8(ascii: "\"") { return .string(try cursor.scanString(validateUTF8: false)) }
        if value == UInt8(ascii: "-") || value &- UInt8(ascii: "0") < 10 { return .number(try cursor.scanNumber()) }
        return nil
    }
}
