import CLinux
import Glibc

/// Delivers signals as loop events through a signalfd: the signals are blocked for the process,
/// so no handler ever runs on an arbitrary stack and the loop sees them in order with its I/O.
public final class SignalWatcher: IOHandler {
    private let fd: Int32
    private let onSignal: (Int32) -> Void
    private unowned let reactor: Reactor

    public init(reactor: Reactor, signals: [Int32], onSignal: @escaping (Int32) -> Void) throws(SystemError) {
        var set = sigset_t()
        let blocked = signals.withUnsafeBufferPointer { clinux_block_signals($0.baseAddress, Int32($0.count), &set) }
        guard blocked == 0 else { throw SystemError("sigprocmask", errno: errno) }
        let fd = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("signalfd", errno: errno) }
        self.fd = fd
        self.reactor = reactor
        self.onSignal = onSignal
        try reactor.register(fd, interest: .read, handler: self)
    }

    public func handleIO(_ events: IOEvents) {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while true {
            let n = withUnsafeMutableBytes(of: &info) { Syscall.read(fd, into: $0) }
            guard case .processed(let count) = n, count == size else { return }
            onSignal(Int32(info.ssi_signo))
        }
    }

    /// Stops watching (the signals stay blocked).
    public func close() {
        reactor.closeLater(fd)
    }
}

/// Wakes the loop from another thread (an eventfd): `signal()` is the one thread-safe call here.
public final class Wakeup: IOHandler, @unchecked Sendable {
    private let fd: Int32
    private let onWake: () -> Void

    public init(reactor: Reactor, onWake: @escaping () -> Void) throws(SystemError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("eventfd", errno: errno) }
        self.fd = fd
        self.onWake = onWake
        try reactor.register(fd, interest: .read, handler: self)
    }

    /// Thread-safe: makes the loop call `onWake` soon (several signals may coalesce into one call).
    public func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { bytes in Syscall.retryingEINTR { Glibc.write(fd, bytes.baseAddress, 8) } }
    }

    public func handleIO(_ events: IOEvents) {
        var counter: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &counter) { Syscall.read(fd, into: $0) }
        onWake()
    }
}
