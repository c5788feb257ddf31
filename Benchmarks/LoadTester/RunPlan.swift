/// One scenario run as the command line asked for it; `specs()` splits it over the workers.
struct RunPlan {
    var kind: ScenarioKind
    var label: String
    var commandLine: String
    var target: TargetURL
    var clients: Int
    var processes: Int
    /// 127.0.0.2 … 127.0.0.(1 + n) as source addresses; 0: no bind.
    var sourceAddressCount: Int
    var appendIndex: Bool
    var connectRate: Double
    var handshakeTimeoutMilliseconds: UInt64
    var serverPID: Int32?
    var simulatorPID: Int32?
    var sampleMilliseconds: UInt64
    var quiet: Bool
    /// Seconds between the last worker's exit and the "after" sample.
    var settleAfterSeconds = 1.0

    // idle, echo
    var durationSeconds = 0.0
    /// idle: seconds between "all connected" and the RSS-at-N sample.
    var settleSeconds = 1.0
    // chat
    var chats = 0
    var message = ""
    var chatType = "health_chat"
    var chatTimeoutMilliseconds: UInt64 = 120_000
    var thinkMilliseconds: UInt64 = 0
    var spreadMilliseconds: UInt64 = 0
    var maxRunSeconds = 600.0
    // echo
    var size = 0
    var binary = false

    var parameters: [String: String] = [:]

    var sourceAddresses: [String] {
        guard sourceAddressCount > 0 else { return [] }
        return (0..<sourceAddressCount).map { "127.0.0.\(2 + $0)" }
    }

    func specs() -> [WorkerSpec] {
        var specs: [WorkerSpec] = []
        var first = 0
        let sources = sourceAddresses
        for worker in 0..<processes {
            let count = clients / processes + (worker < clients % processes ? 1 : 0)
            var spec = WorkerSpec(
                scenario: kind, worker: worker, firstClient: first, clients: count, target: target,
                appendIndex: appendIndex, sourceAddresses: sources,
                connectRate: connectRate > 0 ? connectRate / Double(processes) : 0,
                handshakeTimeoutMilliseconds: handshakeTimeoutMilliseconds)
            spec.progressMilliseconds = sampleMilliseconds
            spec.totalClients = clients
            spec.spreadMilliseconds = spreadMilliseconds
            spec.chats = chats
            spec.message = message
            spec.chatType = chatType
            spec.chatTimeoutMilliseconds = chatTimeoutMilliseconds
            spec.thinkMilliseconds = thinkMilliseconds
            spec.size = size
            spec.binary = binary
            specs.append(spec)
            first += count
        }
        return specs
    }
}
