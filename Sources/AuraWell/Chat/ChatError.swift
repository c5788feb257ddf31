/// The error codes of PROTOCOL.md.
enum ErrorCode: String, Sendable {
    case invalidJSON = "INVALID_JSON"
    case invalidMessage = "INVALID_MESSAGE"
    case unknownMessageType = "UNKNOWN_MESSAGE_TYPE"
    case emptyMessage = "EMPTY_MESSAGE"
    case messageTooLong = "MESSAGE_TOO_LONG"
    case chatInProgress = "CHAT_IN_PROGRESS"
    case memberNotFound = "MEMBER_NOT_FOUND"
    case rateLimited = "RATE_LIMITED"
    case tooManyConnections = "TOO_MANY_CONNECTIONS"
    case upstreamError = "UPSTREAM_ERROR"
    case upstreamTimeout = "UPSTREAM_TIMEOUT"
    case upstreamRateLimited = "UPSTREAM_RATE_LIMITED"
    case upstreamAuth = "UPSTREAM_AUTH"
    case serverShuttingDown = "SERVER_SHUTTING_DOWN"
    case processingError = "PROCESSING_ERROR"
}

/// An error for the client: a code and a human-readable (Chinese) message.
struct ChatError: Error, Equatable, Sendable {
    var code: ErrorCode
    var message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
