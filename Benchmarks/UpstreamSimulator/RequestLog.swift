/// What happened to one chat request, for `GET /_sim/requests`. The stream updates it as it goes.
final class RequestRecord {
    enum Outcome: String {
        /// Still being answered.
        case streaming
        /// The whole stream, `[DONE]` and the terminating chunk included, was written.
        case completed
        /// Answered with an HTTP error status (`status=`).
        case errorStatus = "error_status"
        /// The simulator closed the connection mid-stream (`drop_after=`).
        case dropped
        /// The simulator stopped sending (`stall_after=`) and the client has not closed yet.
        case stalled
        /// An in-band error event ended the stream (`inband_error_after=`).
        case inbandError = "inband_error"
        /// The client closed or reset the connection before the stream was complete.
        case clientClosed = "client_closed"
    }

    /// 1-based position since the last reset.
    let sequence: Int
    let id: [UInt8]
    let path: String
    let authorization: String?
    let body: [UInt8]
    let attempt: Int
    var status = 200
    var tokensSent = 0
    var sentText: [UInt8] = []
    var completed = false
    var clientClosed = false
    var outcome = Outcome.streaming
    /// `CLOCK_MONOTONIC` milliseconds when the request was complete, and when the stream ended.
    let receivedAt: UInt64
    var endedAt: UInt64?

    init(sequence: Int, id: [UInt8], path: String, authorization: String?, body: [UInt8], attempt: Int, receivedAt: UInt64) {
        self.sequence = sequence
        self.id = id
        self.path = path
        self.authorization = authorization
        self.body = body
        self.attempt = attempt
        self.receivedAt = receivedAt
    }

    func appendJSON(to out: inout [UInt8]) {
        out.append("{\"id\":")
        out.appendJSONString(id)
        out.append(",\"seq\":")
        out.appendDecimal(sequence)
        out.append(",\"path\":")
        out.appendJSONString(path)
        out.append(",\"authorization\":")
        if let authorization { out.appendJSONString(authorization) } else { out.append("null") }
        out.append(",\"body\":")
        out.appendJSONString(body)
        out.append(",\"status\":")
        out.appendDecimal(status)
        out.append(",\"tokens_sent\":")
        out.appendDecimal(tokensSent)
        out.append(",\"sent_text\":")
        out.appendJSONString(sentText)
        out.append(",\"completed\":")
        out.append(completed ? "true" : "false")
        out.append(",\"client_closed\":")
        out.append(clientClosed ? "true" : "false")
        out.append(",\"attempt\":")
        out.appendDecimal(attempt)
        out.append(",\"outcome\":\"")
        out.append(contentsOf: outcome.rawValue.utf8)
        out.append("\",\"duration_ms\":")
        if let endedAt { out.appendDecimal(endedAt &- receivedAt) } else { out.append("null") }
        out.append("}")
    }
}

/// The last `capacity` chat requests, oldest first, and how often each explicit id was seen.
struct RequestLog {
    let capacity: Int
    private var ring: [RequestRecord] = []
    private var head = 0
    private var attempts: [[UInt8]: Int] = [:]
    /// Bounds the attempt table when a load test gives every request its own id.
    private static let maxTrackedIDs = 200_000

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    var count: Int { ring.count }

    /// Counts one more request with an explicit `id` and returns its 1-based attempt number.
    mutating func nextAttempt(for id: [UInt8]) -> Int {
        if attempts.count >= Self.maxTrackedIDs && attempts[id] == nil { attempts.removeAll(keepingCapacity: true) }
        let attempt = (attempts[id] ?? 0) + 1
        attempts[id] = attempt
        return attempt
    }

    mutating func append(_ record: RequestRecord) {
        if ring.count < capacity {
            ring.append(record)
        } else {
            ring[head] = record
            head = (head + 1) % capacity
        }
    }

    mutating func removeAll() {
        ring.removeAll()
        head = 0
        attempts.removeAll()
    }

    /// The records in arrival order.
    func forEach(_ body: (RequestRecord) -> Void) {
        for index in 0..<ring.count { body(ring[(head + index) % ring.count]) }
    }
}
