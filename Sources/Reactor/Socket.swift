import CLinux
import Glibc

/// Socket helpers for the loop: non-blocking listeners, `accept4`, options, addresses.
public enum Socket {
    /// Binds and listens on `host:port` (IPv4 or IPv6 literal or name), non-blocking, close-on-exec.
    /// Port 0 asks the kernel for an ephemeral port; `localPort(of:)` tells which.
    public static func listen(host: String, port: UInt16, backlog: Int32 = 4096) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else { throw SystemError("getaddrinfo(\(host))", errno: EADDRNOTAVAIL) }
        defer { freeaddrinfo(list) }
        var lastError = SystemError("listen", errno: EADDRNOTAVAIL)
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = SystemError("socket", errno: errno); continue }
            setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if info.pointee.ai_family == AF_INET6 { setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                lastError = SystemError("bind(\(host):\(port))", errno: errno)
                Syscall.close(fd)
                continue
            }
            if Glibc.listen(fd, backlog) != 0 {
                lastError = SystemError("listen", errno: errno)
                Syscall.close(fd)
                continue
            }
            return fd
        }
        throw lastError
    }

    public enum AcceptResult {
        case accepted(Int32)
        case wouldBlock
        /// Out of descriptors or memory: the caller should back off, not spin.
        case exhausted(errno: Int32)
        /// The connection was reset before we took it; try the next one.
        case transient
    }

    /// Takes one pending connection as a non-blocking, close-on-exec socket.
    public static func accept(_ listener: Int32) -> AcceptResult {
        let fd = Syscall.retryingEINTR {
            clinux_accept4(listener, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }
        if fd >= 0 { return .accepted(fd) }
        switch errno {
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .exhausted(errno: errno)
        default: return .transient  // ECONNABORTED, EPROTO, EPERM (firewall) and the like
        }
    }

    /// Sets an integer socket option; failures are ignored (options are optimisations here).
    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Disables Nagle: every token frame goes out at once.
    public static func setNoDelay(_ fd: Int32) { setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }

    public static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// The local address of a socket as `host:port` (`[v6]:port` for IPv6), for logs.
    public static func localAddressDescription(of fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { return "fd \(fd)" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &storage) { pointer -> String in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                    return "\(String(cString: text)):\(UInt16(bigEndian: address.pointee.sin_port))"
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                    return "[\(String(cString: text))]:\(UInt16(bigEndian: address.pointee.sin6_port))"
                }
            case AF_UNIX:
                return "unix socket"
            default:
                return "fd \(fd)"
            }
        }
    }

    /// The local port a socket is bound to.
    public static func localPort(of fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { return nil }
        return withUnsafePointer(to: &storage) { pointer -> UInt16? in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET: return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            case AF_INET6: return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            default: return nil
            }
        }
    }

    /// Reads from a socket into `buffer`.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        Syscall.read(fd, into: buffer)
    }

    /// Closes a descriptor now (use `Reactor.closeLater` for registered ones).
    public static func close(_ fd: Int32) { Syscall.close(fd) }

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
    @discardableResult
    public static func raiseDescriptorLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }
}
