/// A token bucket: `rate` messages per second on average, bursts of up to `burst`.
struct TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var updatedAt: UInt64

    init(rate: Double, burst: Double, now: UInt64) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    /// Takes one token if there is one; `now` in monotonic milliseconds.
    mutating func take(now: UInt64) -> Bool {
        let elapsed = Double(now &- updatedAt) / 1000
        updatedAt = now
        tokens = min(burst, tokens + elapsed * rate)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
