import Logging
import Reactor

/// What every chat connection shares: the provider, the family store, conversation history,
/// per-user connection counts.
final class ChatService {
    let configuration: ServerConfiguration
    let provider: any ChatProvider
    let members: MemberStore
    let history = ConversationHistory()
    let logger: Logger
    let metrics: Metrics
    private let startedAt: UInt64
    private unowned let reactor: Reactor
    private(set) var connectionsPerUser: [String: Int] = [:]
    /// Chats in progress across all connections.
    private(set) var activeStreams = 0
    func chatStarted() { activeStreams += 1 }
    func chatEnded() { activeStreams -= 1 }
    /// Scratch storage for encoding `chat_stream` messages without allocating per token.
    var streamScratch: [UInt8] = []

    init(
        configuration: ServerConfiguration, provider: any ChatProvider, members: MemberStore, reactor: Reactor,
        logger: Logger, metrics: Metrics
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.provider = provider
        self.members = members
        self.reactor = reactor
        self.logger = logger
        self.startedAt = reactor.now
    }

    var uptimeSeconds: Int { Int((reactor.now - startedAt) / 1000) }
    /// The loop's current monotonic time in milliseconds.
    var now: UInt64 { reactor.now }

    func connectionOpened(userID: String) {
        connectionsPerUser[userID, default: 0] += 1
    }

    func connectionClosed(userID: String) {
        guard let count = connectionsPerUser[userID] else { return }
        connectionsPerUser[userID] = count > 1 ? count - 1 : nil
    }

    func connections(for userID: String) -> Int { connectionsPerUser[userID] ?? 0 }

    /// Looks a member up; store failures become a logged PROCESSING_ERROR.
    func member(userID: String, memberID: String) -> Result<FamilyMember?, ChatError> {
        do {
            return .success(try members.member(userID: userID, memberID: memberID))
        } catch {
            logger.error("member store failed", metadata: ["error": "\(error)"])
            return .failure(ChatError(.processingError, "读取家庭成员信息失败"))
        }
    }
}
