import Histogram

/// Latencies in nanoseconds, 3 significant digits.
typealias LatencyHistogram = Histogram<UInt64>

extension Histogram where Count == UInt64 {
    /// 1 ns to 1 hour, allocated up front: growing an auto-resizing histogram goes through
    /// unspecialised generic code and costs milliseconds, which would land on the first clients.
    static func latency() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        return histogram
    }

    /// The non-empty buckets as `[value, count]` pairs: `value` is the bucket's highest equivalent
    /// value, so recording it again lands in the same bucket and a merge is exact. The lowest
    /// bucket carries the exact minimum and the highest the exact maximum instead (same buckets),
    /// because percentiles are clamped to them.
    var buckets: [[UInt64]] {
        var pairs = recordedValues().map { [$0.value, $0.count] }
        guard let last = pairs.indices.last else { return [] }
        if last == 0 {
            let count = pairs[0][1]
            pairs = count > 1 ? [[min, 1], [maxRecorded, count - 1]] : [[maxRecorded, 1]]
        } else {
            pairs[0][0] = min
            pairs[last][0] = maxRecorded
        }
        return pairs
    }

    // Spelled in this module, so that code importing only LoadTester (the tests) can use them.
    mutating func add(_ value: UInt64) { _ = record(value) }
    var recordedCount: UInt64 { totalCount }
    func value(atPercentile p: Double) -> UInt64 { valueAtPercentile(p) }

    mutating func add(buckets: [[UInt64]]) {
        for pair in buckets where pair.count == 2 && pair[1] > 0 {
            _ = record(pair[0], count: pair[1])
        }
    }

    func summary() -> LatencySummary {
        LatencySummary(self)
    }
}

/// Percentiles of one latency histogram, in milliseconds, plus the curve for charts.
struct LatencySummary: Codable {
    var count: UInt64
    var minMs: Double
    var meanMs: Double
    var p50Ms: Double
    var p90Ms: Double
    var p99Ms: Double
    var p999Ms: Double
    var maxMs: Double
    /// `[percentile, ms]` points of the distribution (HdrHistogram percentile iteration).
    var curve: [[Double]]

    init(_ h: LatencyHistogram) {
        count = h.totalCount
        let ms = { (ns: UInt64) in Double(ns) / 1e6 }
        guard count > 0 else {
            minMs = 0; meanMs = 0; p50Ms = 0; p90Ms = 0; p99Ms = 0; p999Ms = 0; maxMs = 0; curve = []
            return
        }
        minMs = ms(h.min)
        meanMs = h.mean / 1e6
        p50Ms = ms(h.valueAtPercentile(50))
        p90Ms = ms(h.valueAtPercentile(90))
        p99Ms = ms(h.valueAtPercentile(99))
        p999Ms = ms(h.valueAtPercentile(99.9))
        maxMs = ms(h.max)
        var points: [[Double]] = []
        for step in h.percentiles(ticksPerHalfDistance: 4) {
            let p = step.percentileLevelIteratedTo
            if p > 99.999 { break }
            points.append([p, ms(step.value)])
        }
        points.append([100, maxMs])
        curve = points
    }
}
