import Glibc

/// RFC 3339 UTC timestamps with milliseconds (`2026-01-16T12:00:00.123Z`), as PROTOCOL.md fixes.
/// Every server message carries one, so the formatted seconds are cached and only the
/// milliseconds are written per call.
enum Timestamp {
    nonisolated(unsafe) private static var cachedSecond: Int = -1
    nonisolated(unsafe) private static var cachedPrefix: [UInt8] = []

    /// Appends the current time (19 + 5 bytes) to `bytes`. Loop thread only.
    static func append(to bytes: inout [UInt8]) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        if spec.tv_sec != cachedSecond {
            cachedSecond = spec.tv_sec
            cachedPrefix = Array(formatSeconds(spec.tv_sec).utf8)
        }
        bytes.append(contentsOf: cachedPrefix)
        let millis = Int(spec.tv_nsec / 1_000_000)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(48 + millis / 100))
        bytes.append(UInt8(48 + millis / 10 % 10))
        bytes.append(UInt8(48 + millis % 10))
        bytes.append(UInt8(ascii: "Z"))
    }

    private static func formatSeconds(_ seconds: Int) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(parts.tm_year + 1900)-\(pad(Int(parts.tm_mon) + 1))-\(pad(Int(parts.tm_mday)))T"
            + "\(pad(Int(parts.tm_hour))):\(pad(Int(parts.tm_min))):\(pad(Int(parts.tm_sec)))"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
}
