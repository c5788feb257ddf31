import Glibc
import Logging

/// Log lines on stderr: under journald (JOURNAL_STREAM names our stderr) each line starts with
/// its `<N>` syslog priority and carries no timestamp (the journal adds its own); on a terminal
/// or a file, a readable line with a UTC timestamp.
struct AuraWellLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let journald: Bool
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = journald ? "<\(Self.priority(event.level))>" : "\(Self.timestamp()) \(event.level) "
        line += event.message.description
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            line += " \(key)=\(merged[key]!)"
        }
        line += "\n"
        // One write per line: lines from one process never interleave mid-line.
        var bytes = line
        bytes.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// Whether stderr is the stream journald gave us (`JOURNAL_STREAM=DEVICE:INODE`, systemd.exec(5)).
    static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    private static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let millis = Int(spec.tv_nsec / 1_000_000)
        return String(cString: buffer) + "." + String(millis + 1000).dropFirst() + "Z"
    }
}
