import CLinux
import Glibc

/// The thin epoll backend: create, add/modify/delete interest, wait. Loop policy lives in `Reactor`.
struct Epoll: ~Copyable {
    let fd: Int32
    private let events: UnsafeMutableRawPointer
    let capacity: Int
    private let eventSize = clinux_epoll_event_size()

    init(capacity: Int = 1024) throws(SystemError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemError("epoll_create1", errno: errno) }
        self.fd = fd
        self.capacity = capacity
        self.events = UnsafeMutableRawPointer.allocate(byteCount: capacity * eventSize, alignment: 8)
    }

    deinit {
        events.deallocate()
        Syscall.close(fd)
    }

    func add(_ target: Int32, events: UInt32, data: UInt64) throws(SystemError) {
        guard clinux_epoll_ctl(fd, EPOLL_CTL_ADD, target, events, data) == 0 else {
            throw SystemError("epoll_ctl(ADD)", errno: errno)
        }
    }

    func modify(_ target: Int32, events: UInt32, data: UInt64) throws(SystemError) {
        guard clinux_epoll_ctl(fd, EPOLL_CTL_MOD, target, events, data) == 0 else {
            throw SystemError("epoll_ctl(MOD)", errno: errno)
        }
    }

    /// Removing an fd that is already closed (EBADF) or unknown (ENOENT) is benign: curl may
    /// report REMOVE for a socket it has just closed.
    func delete(_ target: Int32) {
        _ = clinux_epoll_ctl(fd, EPOLL_CTL_DEL, target, 0, 0)
    }

    /// Waits up to `timeoutMs` (-1: forever). EINTR counts as zero events.
    func wait(timeoutMs: Int32) -> Int {
        let n = epoll_wait(fd, events.assumingMemoryBound(to: epoll_event.self), Int32(capacity), timeoutMs)
        return n < 0 ? 0 : Int(n)
    }

    func event(at index: Int) -> (events: UInt32, data: UInt64) {
        let pointer = (events + index * eventSize).assumingMemoryBound(to: epoll_event.self)
        return (clinux_epoll_event_events(pointer), clinux_epoll_event_data(pointer))
    }
}
