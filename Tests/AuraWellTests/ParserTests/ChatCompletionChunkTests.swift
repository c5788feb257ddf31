import Testing

@testable import AuraWell

extension ParserTests {
    @Suite struct ChunkDecoding {
        static func decode(_ bytes: [UInt8]) -> Result<ChatCompletionChunk, ChunkDecodeError> {
            bytes.withUnsafeBytes { ChatCompletionChunk.decode($0) }
        }

        static func decode(_ text: String) -> Result<ChatCompletionChunk, ChunkDecodeError> {
            decode([UInt8](text))
        }

        /// A DeepSeek-shaped chunk around `choice` (the first element of `choices`).
        static func chunk(_ choice: String) -> String {
            #"{"id":"0f8c2a8e-6b1d-4a57-9d0c-2b6f1c8e4a11","object":"chat.completion.chunk","created":1768564800,"model":"deepseek-v4-flash","system_fingerprint":"fp_3a5770e1b4_prod0820_fp8_kvcache","choices":["#
                + choice + "]}"
        }

        static func content(_ json: String) -> String {
            chunk(#"{"index":0,"delta":{"content":"# + json + #"},"logprobs":null,"finish_reason":null}"#)
        }

        static let cases: [(name: String, json: String, expected: ChatCompletionChunk)] = [
            ("role chunk with empty content",
             chunk(#"{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}"#),
             ChatCompletionChunk(content: "")),
            ("plain content", content(#""Hello""#), ChatCompletionChunk(content: "Hello")),
            ("escapes", content(#""a\nb\t\"q\" \\ \/ \r\b\f""#), ChatCompletionChunk(content: "a\nb\t\"q\" \\ / \r\u{08}\u{0C}")),
            ("raw Chinese and emoji", content(#""你好，世界 😀👍🏽""#), ChatCompletionChunk(content: "你好，世界 😀👍🏽")),
            ("BMP \\u escapes", content(#""\u4f60\u597D\u00e9\u0041""#), ChatCompletionChunk(content: "你好éA")),
            ("surrogate pair", content(#""x\ud83d\ude00y""#), ChatCompletionChunk(content: "x😀y")),
            ("lone high surrogate", content(#""a\ud83d""#), ChatCompletionChunk(content: "a\u{FFFD}")),
            ("high surrogate then non-low escape", content(#""\ud83d\u0041""#), ChatCompletionChunk(content: "\u{FFFD}A")),
            ("high surrogate then text", content(#""\ud83dxy""#), ChatCompletionChunk(content: "\u{FFFD}xy")),
            ("lone low surrogate", content(#""\ude00z""#), ChatCompletionChunk(content: "\u{FFFD}z")),
            ("escaped NUL", content(#""a\u0000b""#), ChatCompletionChunk(content: "a\u{0}b")),
            ("long content", content("\"" + String(repeating: "健康", count: 200) + "\""),
             ChatCompletionChunk(content: String(repeating: "健康", count: 200))),
            ("null content", content("null"), ChatCompletionChunk()),
            ("content of the wrong type is ignored", content("42"), ChatCompletionChunk()),
            ("finish chunk with usage (DeepSeek)",
             String(chunk(#"{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop"}"#).dropLast())
                + #","usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30,"prompt_tokens_details":{"cached_tokens":0},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":21}}"#,
             ChatCompletionChunk(content: "", finishReason: "stop", usage: ChatCompletionUsage(promptTokens: 21, completionTokens: 9, totalTokens: 30))),
            ("finish reason insufficient_system_resource",
             chunk(#"{"index":0,"delta":{},"finish_reason":"insufficient_system_resource"}"#),
             ChatCompletionChunk(finishReason: "insufficient_system_resource")),
            ("usage chunk with empty choices (OpenAI)",
             #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"completion_tokens_details":{"reasoning_tokens":0}}}"#,
             ChatCompletionChunk(usage: ChatCompletionUsage(promptTokens: 5, completionTokens: 7, totalTokens: 12))),
            ("usage chunk with null choices (vLLM)", #"{"choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2}}"#,
             ChatCompletionChunk(usage: ChatCompletionUsage(promptTokens: 1, completionTokens: 2, totalTokens: 3))),
            ("null usage on a content chunk", #"{"choices":[{"delta":{"content":"x"}}],"usage":null}"#, ChatCompletionChunk(content: "x")),
            ("reasoning chunk",
             chunk(#"{"index":0,"delta":{"content":null,"reasoning_content":"嗯，用户问的是\n睡眠"},"logprobs":null,"finish_reason":null}"#),
             ChatCompletionChunk(hasReasoning: true)),
            ("answer chunk of a thinking model",
             chunk(#"{"index":0,"delta":{"content":"好","reasoning_content":null},"finish_reason":null}"#),
             ChatCompletionChunk(content: "好")),
            ("in-band error (vLLM)",
             #"{"error":{"object":"error","message":"Engine died: \"oom\"","type":"InternalServerError","param":null,"code":500}}"#,
             ChatCompletionChunk(error: UpstreamErrorBody(message: "Engine died: \"oom\"", type: "InternalServerError", code: "500"))),
            ("HTTP error body (DeepSeek 401)",
             #"{"error":{"message":"Authentication Fails, Your api key: ****abcd is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}"#,
             ChatCompletionChunk(error: UpstreamErrorBody(message: "Authentication Fails, Your api key: ****abcd is invalid", type: "authentication_error", code: "invalid_request_error"))),
            ("error with null type and code", #"{"error":{"message":"busy","type":null,"code":null}}"#,
             ChatCompletionChunk(error: UpstreamErrorBody(message: "busy"))),
            ("error as a bare string", #"{"error":"rate limited"}"#, ChatCompletionChunk(error: UpstreamErrorBody(message: "rate limited"))),
            ("flat error (older vLLM)", #"{"object":"error","message":"bad model","type":"NotFoundError","param":null,"code":404}"#,
             ChatCompletionChunk(error: UpstreamErrorBody(message: "bad model", type: "NotFoundError", code: "404"))),
            ("message and type without object error are not an error", #"{"message":"hi","type":"x","choices":[]}"#, ChatCompletionChunk()),
            ("unknown nested fields skipped",
             #"{"x":{"y":[1,{"z":[true,false,null,"s\"]}",-1.5e-3,{}]},[]]},"choices":[{"logprobs":{"content":[{"token":"ok","logprob":-0.1,"bytes":[111,107],"top_logprobs":[]}]},"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":[1]}"}}],"content":"ok","extra":{"a":[[[]]]}},"finish_reason":null}],"z":"end"}"#,
             ChatCompletionChunk(content: "ok")),
            ("only the first choice counts", #"{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"},"finish_reason":"stop"}]}"#,
             ChatCompletionChunk(content: "a")),
            ("pretty-printed", "\n {\n \"choices\" : [ {\r\n\t\"delta\" : { \"content\" : \"x\" } , \"finish_reason\" : \"length\" } ]\n} \n",
             ChatCompletionChunk(content: "x", finishReason: "length")),
            ("escaped key", #"{"choices":[{"delta":{"con\u0074ent":"x"}}]}"#, ChatCompletionChunk(content: "x")),
            ("empty object", "{}", ChatCompletionChunk()),
            ("nesting of 64 levels", #"{"a":"# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}",
             ChatCompletionChunk()),
        ]

        @Test(arguments: cases)
        func decodes(_ example: (name: String, json: String, expected: ChatCompletionChunk)) {
            #expect(Self.decode(example.json) == .success(example.expected), "\(example.name)")
        }

        static let malformed: [(name: String, json: String)] = [
            ("empty", ""),
            ("whitespace", "  \n"),
            ("not an object", "[1]"),
            ("a string", "\"x\""),
            ("DONE marker", "[DONE]"),
            ("truncated", #"{"choices":[{"delta":{"content":"x"}}]"#),
            ("truncated in string", #"{"choices":[{"delta":{"content":"x"#),
            ("missing value", #"{"a":}"#),
            ("trailing comma in object", #"{"a":1,}"#),
            ("trailing comma in array", #"{"a":[1,]}"#),
            ("trailing comma in choices", #"{"choices":[{"delta":{}},]}"#),
            ("mismatched brackets", #"{"a":{"b":1]}"#),
            ("missing colon", #"{"a" 1}"#),
            ("missing comma", #"{"a":1 "b":2}"#),
            ("single quotes", "{'a':1}"),
            ("unquoted key", "{a:1}"),
            ("leading zero", #"{"a":01}"#),
            ("bare minus", #"{"a":-}"#),
            ("dot without digits", #"{"a":1.}"#),
            ("exponent without digits", #"{"a":1e}"#),
            ("plus sign", #"{"a":+1}"#),
            ("NaN", #"{"a":NaN}"#),
            ("bad literal", #"{"a":tru}"#),
            ("invalid escape", #"{"a":"\x"}"#),
            ("bad \\u escape", #"{"choices":[{"delta":{"content":"\u12G4"}}]}"#),
            ("short \\u escape", #"{"a":"\u12"}"#),
            ("raw control character", "{\"choices\":[{\"delta\":{\"content\":\"a\u{1}b\"}}]}"),
            ("raw newline in string", "{\"a\":\"a\nb\"}"),
            ("data after the object", "{} x"),
            ("two objects", "{}{}"),
            ("comment", "{/* c */}"),
            ("nesting of 65 levels", #"{"a":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"),
        ]

        @Test(arguments: malformed)
        func rejectsMalformed(_ example: (name: String, json: String)) {
            guard case .failure(.malformed(let reason)) = Self.decode(example.json) else {
                Issue.record("\(example.name): accepted")
                return
            }
            #expect(!reason.isEmpty)
        }

        @Test func reportsWhereItFailed() {
            #expect(Self.decode(#"{"a":[1,]}"#) == .failure(.malformed("expected a value at byte 8")))
            #expect(Self.decode(#"{"a":"#) == .failure(.malformed("unexpected end of input at byte 5")))
        }

        @Test func invalidUTF8InContentIsRepaired() {
            let bytes = [UInt8](#"{"choices":[{"delta":{"content":"a"#) + [0xFF, 0xE4, 0xBD] + [UInt8](#""}}]}"#)
            #expect(Self.decode(bytes) == .success(ChatCompletionChunk(content: "a\u{FFFD}\u{FFFD}")))
        }

        @Test(arguments: [
            ("[DONE]", true), (" [DONE] \r\n", true), ("\n[DONE]", true),
            ("[DONE]x", false), ("DONE", false), ("[done]", false), ("", false), ("{}", false), ("[DONE", false),
        ])
        func recognisesDone(text: String, done: Bool) {
            #expect([UInt8](text).withUnsafeBytes { ChatCompletionChunk.isDone($0) } == done)
        }
    }
}
