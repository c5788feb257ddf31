/// The deadlines of an open WebSocket (PROTOCOL.md limits).
public struct LivenessPolicy: Sendable {
    public init() {}

    /// No client frame (pongs count) for this long: close 1000 "idle timeout".
    public var idleMilliseconds: UInt64 = 300_000
    /// A quiet client is pinged this often.
    public var pingIntervalMilliseconds: UInt64 = 30_000
    /// A ping unanswered for this long: close.
    public var pongTimeoutMilliseconds: UInt64 = 30_000
    /// Queued output that makes no progress for this long: the client is stuck, drop it.
    public var sendTimeoutMilliseconds: UInt64 = 30_000
}

/// Decides, from timestamps alone, when a WebSocket should be pinged or given up on. Connections
/// touch only timestamps on the hot path (a frame in, a blocked write); one timer per connection
/// asks `check` at the next instant anything could be due, so resetting the idle clock costs no
/// timer work.
struct Liveness {
    enum Action: Equatable {
        /// Nothing to do; check again at the given time.
        case wait(until: UInt64)
        /// Send a ping, then check again at the given time.
        case ping(thenCheckAt: UInt64)
        /// Close with a WebSocket close frame.
        case close(reason: String)
        /// The client does not read: closing politely would only queue behind the stuck bytes.
        case abort(reason: String)
    }

    private(set) var lastFrameAt: UInt64
    private var pingSentAt: UInt64?
    private var blockedSince: UInt64?

    init(now: UInt64) {
        lastFrameAt = now
    }

    mutating func frameReceived(at now: UInt64) { lastFrameAt = now }

    mutating func pongReceived(at now: UInt64) {
        lastFrameAt = now
        pingSentAt = nil
    }

    /// Output is queued (the kernel refused some): the stall clock runs from the first refusal.
    mutating func writeBlocked(at now: UInt64) {
        if blockedSince == nil { blockedSince = now }
    }

    /// Queued output moved (or drained): the client is reading.
    mutating func writeProgressed(at now: UInt64, drained: Bool) {
        blockedSince = drained ? nil : now
    }

    mutating func check(now: UInt64, policy: LivenessPolicy) -> Action {
        if let blockedSince, now &- blockedSince >= policy.sendTimeoutMilliseconds {
            return .abort(reason: "client stopped reading")
        }
        if now &- lastFrameAt >= policy.idleMilliseconds { return .close(reason: "idle timeout") }
        if let pingSentAt, now &- pingSentAt >= policy.pongTimeoutMilliseconds { return .close(reason: "pong timeout") }
        var ping = false
        if pingSentAt == nil && now &- lastFrameAt >= policy.pingIntervalMilliseconds {
            pingSentAt = now
            ping = true
        }
        var next = lastFrameAt + policy.idleMilliseconds
        if let pingSentAt {
            next = min(next, pingSentAt + policy.pongTimeoutMilliseconds)
        } else {
            next = min(next, lastFrameAt + policy.pingIntervalMilliseconds)
        }
        if let blockedSince { next = min(next, blockedSince + policy.sendTimeoutMilliseconds) }
        return ping ? .ping(thenCheckAt: next) : .wait(until: next)
    }
}
