/// Earlier turns of each conversation, kept in memory while the server runs so that a
/// conversation continues across messages and reconnects. Bounded: a few turns per
/// conversation, and the least recently used conversations are forgotten first.
final class ConversationHistory {
    private struct Key: Hashable {
        var userID: String
        var conversationID: String
    }

    private var turns: [Key: [ChatMessage]] = [:]
    private var lastUse: [Key: UInt64] = [:]
    private var clock: UInt64 = 0
    let maxMessagesPerConversation: Int
    let maxConversations: Int

    init(maxMessagesPerConversation: Int = 20, maxConversations: Int = 10_000) {
        self.maxMessagesPerConversation = maxMessagesPerConversation
        self.maxConversations = maxConversations
    }

    func messages(userID: String, conversationID: String) -> [ChatMessage] {
        turns[Key(userID: userID, conversationID: conversationID)] ?? []
    }

    func append(userID: String, conversationID: String, question: String, answer: String) {
        let key = Key(userID: userID, conversationID: conversationID)
        var messages = turns[key] ?? []
        messages.append(ChatMessage(role: "user", content: question))
        messages.append(ChatMessage(role: "assistant", content: answer))
        if messages.count > maxMessagesPerConversation {
            messages.removeFirst(messages.count - maxMessagesPerConversation)
        }
        turns[key] = messages
        clock += 1
        lastUse[key] = clock
        if turns.count > maxConversations { evictOldest() }
    }

    private func evictOldest() {
        // Rare (only past the cap): drop the least recently used tenth in one pass.
        let victims = lastUse.sorted { $0.value < $1.value }.prefix(max(1, maxConversations / 10))
        for (key, _) in victims {
            turns[key] = nil
            lastUse[key] = nil
        }
    }
}
