import CLinux
import Glibc

/// Readiness reported to an `IOHandler`.
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOEvents(rawValue: EPOLLIN.rawValue)
    public static let writable = IOEvents(rawValue: EPOLLOUT.rawValue)
    /// The peer shut down its side (EPOLLRDHUP) or the socket hung up (EPOLLHUP).
    public static let hangup = IOEvents(rawValue: EPOLLRDHUP.rawValue | EPOLLHUP.rawValue)
    public static let error = IOEvents(rawValue: EPOLLERR.rawValue)
}

/// What a registration asks epoll for.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let read = Interest(rawValue: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
    public static let write = Interest(rawValue: EPOLLOUT.rawValue)
    /// Edge-triggered: the handler must drain the fd (or remember that it did not).
    public static let edgeTriggered = Interest(rawValue: EPOLLET.rawValue)
}

/// Receives readiness for a registered file descriptor.
public protocol IOHandler: AnyObject {
    func handleIO(_ events: IOEvents)
}

/// One single-threaded epoll event loop with a timer wheel. Everything it calls runs on the
/// thread that called `run()`; nothing in it is thread-safe except `Wakeup.signal()`.
///
/// Dispatch is O(1) through a table indexed by fd. Each registration carries a generation, packed
/// with the fd into the epoll user data, so an event for an fd that a handler closed (and that
/// may already be reused) earlier in the same batch is dropped rather than misdelivered.
/// The loop also hosts foreign descriptors (curl's sockets) and timers through the same API.
public final class Reactor {
    private struct Registration {
        var handler: (any IOHandler)?
        var generation: UInt32 = 0
        var interest: UInt32 = 0
    }

    private let epoll: Epoll
    private var registrations: [Registration] = []
    private var nextGeneration: UInt32 = 1
    public private(set) var timers: TimerWheel
    /// Monotonic milliseconds, read once per loop iteration (after `epoll_wait` returns).
    public private(set) var now: UInt64
    private var running = false
    private var pendingCloses: [Int32] = []
    private var soon: [() -> Void] = []
    private var soonRunning: [() -> Void] = []
    private var beforeSleepHooks: [() -> Void] = []
    /// The shared receive buffer: every handler reads into it and must consume what it read
    /// before returning, so idle connections hold no read buffer of their own.
    public let receiveBuffer: UnsafeMutableRawBufferPointer
    public private(set) var iterations: UInt64 = 0
    /// How long iterations spent working (from the end of `epoll_wait` to the next wait).
    public private(set) var iterationTimes = IterationTimes()

    public init(
        timerTickMilliseconds: UInt64 = 4, timerSlots: Int = 1024, receiveBufferSize: Int = 256 * 1024,
        maxEventsPerWait: Int = 1024
    ) throws(SystemError) {
        epoll = try Epoll(capacity: maxEventsPerWait)
        now = monotonicMilliseconds()
        timers = TimerWheel(tickMilliseconds: timerTickMilliseconds, slotCount: timerSlots, now: now)
        receiveBuffer = .allocate(byteCount: receiveBufferSize, alignment: 16)
    }

    deinit {
        receiveBuffer.deallocate()
        for fd in pendingCloses { Syscall.close(fd) }
    }

    // MARK: File descriptors

    /// Starts watching `fd`. The reactor keeps a strong reference to `handler` until `deregister`.
    public func register(_ fd: Int32, interest: Interest, handler: any IOHandler) throws(SystemError) {
        precondition(fd >= 0)
        if Int(fd) >= registrations.count {
            registrations.append(contentsOf: repeatElement(Registration(), count: Int(fd) + 1 - registrations.count))
        }
        precondition(registrations[Int(fd)].handler == nil, "fd \(fd) registered twice")
        let generation = nextGeneration
        nextGeneration &+= 1
        if nextGeneration == 0 { nextGeneration = 1 }
        try epoll.add(fd, events: interest.rawValue, data: Self.pack(fd, generation))
        registrations[Int(fd)] = Registration(handler: handler, generation: generation, interest: interest.rawValue)
    }

    /// Changes what `fd` is watched for (one `epoll_ctl(MOD)`; nothing when unchanged).
    public func modify(_ fd: Int32, interest: Interest) throws(SystemError) {
        guard Int(fd) < registrations.count, registrations[Int(fd)].handler != nil else { return }
        guard registrations[Int(fd)].interest != interest.rawValue else { return }
        try epoll.modify(fd, events: interest.rawValue, data: Self.pack(fd, registrations[Int(fd)].generation))
        registrations[Int(fd)].interest = interest.rawValue
    }

    /// Stops watching `fd`; any events for it still in the current batch are dropped.
    public func deregister(_ fd: Int32) {
        guard Int(fd) < registrations.count, registrations[Int(fd)].handler != nil else { return }
        epoll.delete(fd)
        registrations[Int(fd)] = Registration()
    }

    public func isRegistered(_ fd: Int32) -> Bool {
        Int(fd) < registrations.count && registrations[Int(fd)].handler != nil
    }

    /// Deregisters `fd` and closes it at the end of this iteration, after the current batch of
    /// events has been dispatched (so the number cannot be reused under a pending event).
    public func closeLater(_ fd: Int32) {
        deregister(fd)
        pendingCloses.append(fd)
    }

    // MARK: Timers

    /// Arms a timer `milliseconds` from the loop's current time.
    public func schedule(after milliseconds: UInt64, handler: any TimerHandler, tag: Int = 0) -> TimerID {
        timers.schedule(at: now + milliseconds, handler: handler, tag: tag)
    }

    public func schedule(at deadline: UInt64, handler: any TimerHandler, tag: Int = 0) -> TimerID {
        timers.schedule(at: deadline, handler: handler, tag: tag)
    }

    /// Arms a one-shot closure timer (allocates a box; prefer `TimerHandler` on hot paths).
    @discardableResult
    public func schedule(after milliseconds: UInt64, _ body: @escaping () -> Void) -> TimerID {
        timers.schedule(at: now + milliseconds, handler: ClosureTimer(body), tag: 0)
    }

    @discardableResult
    public func cancel(_ timer: TimerID) -> Bool { timers.cancel(timer) }

    // MARK: Loop

    /// Runs `body` on this loop after the current callback, before the loop sleeps again.
    public func runSoon(_ body: @escaping () -> Void) { soon.append(body) }

    /// Runs `body` every iteration just before `epoll_wait` (write flushing, curl's pending work).
    public func addBeforeSleepHook(_ body: @escaping () -> Void) { beforeSleepHooks.append(body) }

    /// Runs until `stop()`.
    public func run() {
        running = true
        while running { runOnce() }
    }

    public func stop() { running = false }

    /// One iteration: hooks, wait (bounded by the next timer), dispatch I/O, fire due timers,
    /// run deferred work, close deferred descriptors.
    public func runOnce(maxWaitMilliseconds: Int32 = -1) {
        iterations &+= 1
        for hook in beforeSleepHooks { hook() }
        runSoonQueue()
        let timeout = waitTimeout(cap: maxWaitMilliseconds)
        let count = epoll.wait(timeoutMs: timeout)
        let woke = monotonicNanoseconds()
        now = woke / 1_000_000
        for index in 0..<count { dispatch(epoll.event(at: index)) }
        timers.collectExpired(now: now)
        while let (handler, tag) = timers.popExpired() { handler.timerFired(tag: tag) }
        runSoonQueue()
        closePending()
        iterationTimes.record(nanoseconds: monotonicNanoseconds() &- woke)
    }

    private func waitTimeout(cap: Int32) -> Int32 {
        if !soon.isEmpty { return 0 }
        var timeout: Int64 = cap < 0 ? -1 : Int64(cap)
        if let untilTimer = timers.millisecondsUntilNextSlot(now: monotonicMilliseconds()) {
            let bounded = Int64(min(untilTimer, UInt64(Int32.max)))
            timeout = timeout < 0 ? bounded : min(timeout, bounded)
        }
        return Int32(timeout)
    }

    private func dispatch(_ event: (events: UInt32, data: UInt64)) {
        let fd = Int32(truncatingIfNeeded: event.data & 0xFFFF_FFFF)
        let generation = UInt32(truncatingIfNeeded: event.data >> 32)
        guard Int(fd) < registrations.count else { return }
        let registration = registrations[Int(fd)]
        // A stale event: the fd was deregistered (and maybe reused) earlier in this batch.
        guard registration.generation == generation, let handler = registration.handler else { return }
        // Mask with the current interest (a handler earlier in the batch may have changed it);
        // errors and hangups are always delivered.
        let always = EPOLLERR.rawValue | EPOLLHUP.rawValue
        let events = event.events & (registration.interest | always)
        guard events != 0 else { return }
        handler.handleIO(IOEvents(rawValue: events))
    }

    /// Runs the work queued so far. Work it queues in turn waits for the next pass, after an
    /// `epoll_wait` that does not block: curl asks for "timeout 0" again and again under load,
    /// and running that in the same pass would starve every socket.
    private func runSoonQueue() {
        guard !soon.isEmpty else { return }
        swap(&soon, &soonRunning)
        for body in soonRunning { body() }
        soonRunning.removeAll(keepingCapacity: true)
    }

    private func closePending() {
        guard !pendingCloses.isEmpty else { return }
        for fd in pendingCloses { Syscall.close(fd) }
        pendingCloses.removeAll(keepingCapacity: true)
    }

    private static func pack(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }
}

/// A fixed-bucket histogram of loop iteration busy times.
public struct IterationTimes: Sendable {
    public static let boundsNanoseconds: [UInt64] = [
        10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000,
    ]
    public private(set) var counts = [UInt64](repeating: 0, count: boundsNanoseconds.count)
    public private(set) var sumNanoseconds: UInt64 = 0
    public private(set) var total: UInt64 = 0

    mutating func record(nanoseconds: UInt64) {
        total &+= 1
        sumNanoseconds &+= nanoseconds
        for index in Self.boundsNanoseconds.indices where nanoseconds <= Self.boundsNanoseconds[index] {
            counts[index] &+= 1
            return
        }
    }
}

private final class ClosureTimer: TimerHandler {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    func timerFired(tag: Int) { body() }
}
