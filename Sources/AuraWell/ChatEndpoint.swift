/// `/ws/chat/{user_id}`: the seed protocol. This first cut greets the client; the chat service
/// (messages, providers, members) builds on it.
final class ChatEndpoint: WebSocketEndpoint {
    let userID: String
    private let configuration: ServerConfiguration

    init(userID: String, configuration: ServerConfiguration) {
        self.userID = userID
        self.configuration = configuration
    }

    func didOpen(_ connection: Connection) {
        var json = JSONWriter()
        json.field("type", "welcome")
        json.field("message", configuration.welcomeMessage)
        json.field("user_id", userID)
        json.field("connection_id", connection.publicID)
        json.field("active_member_id", userID)
        json.field("provider", configuration.provider)
        json.field("timestamp", Timestamp.now())
        connection.sendText(json.finish())
    }

    func didReceiveText(_ connection: Connection, _ message: UnsafeRawBufferPointer) {}

    func didReceiveBinary(_ connection: Connection, _ message: UnsafeRawBufferPointer) {}

    func didClose(_ connection: Connection) {}
}
