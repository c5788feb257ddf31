import Reactor

/// The gateway's counters and histograms, rendered in Prometheus text format on `/metrics`.
/// Everything is a plain integer bumped on the loop thread: nothing measurable on the hot path.
final class Metrics {
    /// Fixed-bucket histogram (cumulative on output), in seconds.
    struct Histogram {
        let bounds: [Double]
        private(set) var counts: [UInt64]
        private(set) var sum: Double = 0
        private(set) var total: UInt64 = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        /// The loop's iteration times, in seconds.
        init(_ times: IterationTimes) {
            bounds = IterationTimes.boundsNanoseconds.map { Double($0) / 1e9 }
            counts = times.counts
            sum = Double(times.sumNanoseconds) / 1e9
            total = times.total
        }

        mutating func observe(_ value: Double) {
            total += 1
            sum += value
            // Few buckets: a linear scan beats anything cleverer.
            for index in bounds.indices where value <= bounds[index] {
                counts[index] += 1
                return
            }
        }
    }

    var upgrades: UInt64 = 0
    /// HTTP answers other than 101/200, by status: the rejections (400, 401, 403, 404, 426, 503, ...).
    var rejections: [Int: UInt64] = [:]
    var httpRequests: UInt64 = 0
    var chatsByOutcome: [String: UInt64] = [:]
    var tokensRelayed: UInt64 = 0
    var upstreamRequestsByStatus: [String: UInt64] = [:]
    var timeToFirstToken = Histogram(bounds: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60])
    /// From the upstream bytes' arrival to the client frame's hand-off to the kernel.
    var relayLatency = Histogram(bounds: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05])

    func rejected(status: Int) { rejections[status, default: 0] += 1 }

    /// Renders everything; `gauges` are read at scrape time from the live server.
    func render(gauges: [(name: String, help: String, labels: String, value: Double)], loop: Histogram) -> String {
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        var seenGauges = Set<String>()
        for gauge in gauges {
            if seenGauges.insert(gauge.name).inserted { header(gauge.name, "gauge", gauge.help) }
            out += "\(gauge.name)\(gauge.labels) \(format(gauge.value))\n"
        }
        header("aurawell_http_requests_total", "counter", "HTTP requests answered without an upgrade.")
        out += "aurawell_http_requests_total \(httpRequests)\n"
        header("aurawell_websocket_upgrades_total", "counter", "WebSocket upgrades accepted.")
        out += "aurawell_websocket_upgrades_total \(upgrades)\n"
        header("aurawell_rejections_total", "counter", "Requests refused, by HTTP status.")
        for status in rejections.keys.sorted() { out += "aurawell_rejections_total{status=\"\(status)\"} \(rejections[status]!)\n" }
        header("aurawell_chats_total", "counter", "Chats finished, by outcome (finish_reason).")
        for outcome in chatsByOutcome.keys.sorted() { out += "aurawell_chats_total{outcome=\"\(outcome)\"} \(chatsByOutcome[outcome]!)\n" }
        header("aurawell_tokens_relayed_total", "counter", "chat_stream deltas sent to clients.")
        out += "aurawell_tokens_relayed_total \(tokensRelayed)\n"
        header("aurawell_upstream_requests_total", "counter", "Upstream requests, by HTTP status or failure.")
        for status in upstreamRequestsByStatus.keys.sorted() {
            out += "aurawell_upstream_requests_total{status=\"\(status)\"} \(upstreamRequestsByStatus[status]!)\n"
        }
        histogram("aurawell_time_to_first_token_seconds", "From a chat request to its first delta.", timeToFirstToken, into: &out)
        histogram("aurawell_relay_latency_seconds", "From an upstream read's first bytes to its client frames handed to the kernel (one per read).", relayLatency, into: &out)
        histogram("aurawell_loop_iteration_seconds", "Busy time of one event-loop iteration.", loop, into: &out)
        return out
    }

    private func histogram(_ name: String, _ help: String, _ histogram: Histogram, into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        for (index, bound) in histogram.bounds.enumerated() {
            cumulative += histogram.counts[index]
            out += "\(name)_bucket{le=\"\(format(bound))\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(histogram.total)\n"
        out += "\(name)_sum \(format(histogram.sum))\n\(name)_count \(histogram.total)\n"
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
