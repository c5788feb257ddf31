import CSystemd
import Glibc
public import Reactor

/// Listening sockets passed by systemd (socket activation, `sd_listen_fds(3)`).
public enum SocketActivation {
    public struct PassedSocket: Sendable {
        public var fd: Int32
        /// `FileDescriptorName=` of the socket unit ("unknown" when unnamed).
        public var name: String
    }

    /// The sockets systemd passed to this process (none when not socket-activated). The
    /// LISTEN_* variables are unset so that children do not inherit them.
    public static func passedSockets() -> [PassedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        return (0..<count).map { index in
            let name = names?[Int(index)].map { String(cString: $0) } ?? "unknown"
            return PassedSocket(fd: SD_LISTEN_FDS_START + index, name: name)
        }
    }
}

/// Talks to the service manager (`sd_notify(3)`): READY=1 once serving, STATUS= with live
/// counts, WATCHDOG=1 from the loop at half of WATCHDOG_USEC (a stuck loop stops the pings and
/// systemd restarts the service), STOPPING=1 when draining. Does nothing outside systemd.
public final class ServiceNotifier: TimerHandler {
    private unowned let server: Server
    private let socket: NotifySocket?
    private let watchdogIntervalMilliseconds: UInt64?
    private var lastStatus = ""
    /// How often STATUS= is refreshed when no watchdog sets the pace.
    private static let statusIntervalMilliseconds: UInt64 = 2_000

    public init(server: Server) {
        self.server = server
        socket = NotifySocket()
        var microseconds: UInt64 = 0
        if sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 {
            watchdogIntervalMilliseconds = max(1, microseconds / 2_000)
        } else {
            watchdogIntervalMilliseconds = nil
        }
    }

    public static var isSupervised: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// The server is listening and serving.
    public func ready() {
        notify("READY=1\nSTATUS=\(statusLine())")
        tick()
    }

    public func stopping() {
        notify("STOPPING=1\nSTATUS=draining: \(statusLine())")
    }

    public func timerFired(tag: Int) { tick() }

    private func tick() {
        var message = ""
        if watchdogIntervalMilliseconds != nil { message = "WATCHDOG=1" }
        let status = statusLine()
        if status != lastStatus {
            lastStatus = status
            message += (message.isEmpty ? "" : "\n") + "STATUS=\(server.isDraining ? "draining: " : "")\(status)"
        }
        if !message.isEmpty { notify(message) }
        let interval = watchdogIntervalMilliseconds.map { min($0, Self.statusIntervalMilliseconds) } ?? Self.statusIntervalMilliseconds
        _ = server.reactor.schedule(after: interval, handler: self, tag: 0)
    }

    private func statusLine() -> String {
        "connections=\(server.webSocketCount) streams=\(server.activeStreams)"
    }

    private func notify(_ message: String) {
        socket?.send(message)
    }
}

/// The datagram socket to NOTIFY_SOCKET, non-blocking: libsystemd's `sd_notify` blocks when the
/// receiver's queue is full, which would stall the whole loop; a dropped watchdog ping is
/// harmless by comparison (the next one follows at half the timeout).
private struct NotifySocket {
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t

    init?() {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return nil }
        var bytes = Array(path.utf8)
        // "@name" is Linux's abstract namespace: a leading NUL byte on the wire.
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
    }

    func send(_ message: String) {
        var address = address
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                message.withCString { sendto(fd, $0, strlen($0), Int32(MSG_NOSIGNAL), target, addressLength) }
            }
        }
    }
}
