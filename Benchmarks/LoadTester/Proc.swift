import Glibc

/// Reads `/proc/PID/status` (VmRSS) and `/proc/PID/stat` (utime + stime).
enum Proc {
    struct Usage {
        var rssKiB: Int
        var cpuSeconds: Double
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func usage(_ pid: Int32) -> Usage? {
        guard let cpu = cpuSeconds(pid), let rss = rssKiB(pid) else { return nil }
        return Usage(rssKiB: rss, cpuSeconds: cpu)
    }

    /// VmRSS in KiB.
    static func rssKiB(_ pid: Int32) -> Int? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// utime + stime in seconds.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// CPU seconds of the whole machine since boot (all CPUs: /proc/stat "cpu" line): busy (every
    /// field but idle, iowait and steal) and steal (time the hypervisor ran something else while
    /// this machine's CPUs had work).
    static func machineSeconds() -> (busy: Double, steal: Double)? {
        guard let text = read("/proc/stat"), let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        // user nice system idle iowait irq softirq steal (guest time is inside user already)
        return ((fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / ticksPerSecond, fields[7] / ticksPerSecond)
    }

    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// This process's CPU (self) and that of its reaped children, seconds.
    static func rusageSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// The machine a run was measured on.
struct MachineInfo: Codable {
    var cpus: Int
    var memoryMiB: Int
    var kernel: String
    var hostname: String
    var descriptorLimit: Int

    static func current() -> MachineInfo {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let host = withUnsafeBytes(of: names.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var memory = 0
        if let text = Proc.read("/proc/meminfo") {
            for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
                memory = (Int(line.dropFirst(9).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0) / 1024
            }
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return MachineInfo(
            cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), memoryMiB: memory, kernel: release, hostname: host,
            descriptorLimit: Int(limit.rlim_max))
    }
}
