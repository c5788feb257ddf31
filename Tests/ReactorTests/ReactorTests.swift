import CLinux
import Glibc
import Testing
@testable import Reactor

/// A connected pair of non-blocking stream sockets.
private func socketPair() -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    let status = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
    precondition(status == 0)
    return (fds[0], fds[1])
}

private final class Reader: IOHandler {
    let fd: Int32
    var received: [UInt8] = []
    var events: [IOEvents] = []
    var onEvent: (() -> Void)?
    init(fd: Int32) { self.fd = fd }
    func handleIO(_ events: IOEvents) {
        self.events.append(events)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let result = buffer.withUnsafeMutableBytes { Socket.read(fd, into: $0) }
        if case .processed(let n) = result { received += buffer[..<n] }
        onEvent?()
    }
}

@Suite struct ReactorTests {
    @Test func dispatchesReadinessToTheRegisteredHandler() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        defer { Socket.close(a); Socket.close(b) }
        let reader = Reader(fd: a)
        try reactor.register(a, interest: .read, handler: reader)
        _ = "hello".withCString { write(b, $0, 5) }
        reactor.runOnce(maxWaitMilliseconds: 1000)
        #expect(reader.received == Array("hello".utf8))
        #expect(reader.events.first?.contains(.readable) == true)
    }

    @Test func reportsPeerHangup() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        defer { Socket.close(a) }
        let reader = Reader(fd: a)
        try reactor.register(a, interest: .read, handler: reader)
        Socket.close(b)
        reactor.runOnce(maxWaitMilliseconds: 1000)
        #expect(reader.events.first?.contains(.hangup) == true)
    }

    @Test func eventsForAnFdClosedEarlierInTheBatchAreDropped() throws {
        let reactor = try Reactor()
        let (a1, b1) = socketPair()
        let (a2, b2) = socketPair()
        defer { Socket.close(b1); Socket.close(b2) }
        let first = Reader(fd: a1)
        let second = Reader(fd: a2)
        // Whichever runs first closes the other: the other's event in the same batch must vanish.
        first.onEvent = { if reactor.isRegistered(a2) { reactor.closeLater(a2) } }
        second.onEvent = { if reactor.isRegistered(a1) { reactor.closeLater(a1) } }
        try reactor.register(a1, interest: .read, handler: first)
        try reactor.register(a2, interest: .read, handler: second)
        _ = write(b1, "x", 1)
        _ = write(b2, "y", 1)
        reactor.runOnce(maxWaitMilliseconds: 1000)
        #expect(first.events.count + second.events.count == 1)
    }

    @Test func writeInterestIsMaskedByTheCurrentRegistration() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        defer { Socket.close(a); Socket.close(b) }
        let handler = Reader(fd: a)
        try reactor.register(a, interest: [.read, .write], handler: handler)
        reactor.runOnce(maxWaitMilliseconds: 1000)
        #expect(handler.events.last?.contains(.writable) == true)
        try reactor.modify(a, interest: .read)
        handler.events.removeAll()
        reactor.runOnce(maxWaitMilliseconds: 20)
        #expect(handler.events.isEmpty)
    }

    @Test func workThatRequeuesItselfDoesNotStarveIO() throws {
        let reactor = try Reactor()
        let (a, b) = socketPair()
        defer { Socket.close(a); Socket.close(b) }
        let reader = Reader(fd: a)
        try reactor.register(a, interest: .read, handler: reader)
        var runs = 0
        func again() {
            runs += 1
            reactor.runSoon(again)
        }
        reactor.runSoon(again)
        _ = write(b, "x", 1)
        for _ in 0..<3 { reactor.runOnce(maxWaitMilliseconds: 1000) }
        #expect(reader.received == Array("x".utf8))
        #expect(runs <= 6, "each pass runs only the work queued before it")
    }

    @Test func timersFireFromTheLoopAndBoundItsWait() throws {
        let reactor = try Reactor()
        var fired = false
        let start = monotonicMilliseconds()
        reactor.schedule(after: 30) { fired = true }
        while !fired && monotonicMilliseconds() - start < 2000 { reactor.runOnce() }
        #expect(fired)
        #expect(monotonicMilliseconds() - start >= 30)
    }

    @Test func wakeupFromAnotherThreadRunsOnTheLoop() throws {
        let reactor = try Reactor()
        var woken = 0
        let wakeup = try Wakeup(reactor: reactor) { woken += 1 }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(wakeup)
        pthread_create(&thread, nil, { raw in
            Unmanaged<Wakeup>.fromOpaque(raw!).takeRetainedValue().signal()
            return nil
        }, box.toOpaque())
        pthread_join(thread, nil)
        reactor.runOnce(maxWaitMilliseconds: 1000)
        #expect(woken == 1)
    }

    @Test func outboundQueueKeepsOnlyWhatTheKernelRefused() throws {
        let (a, b) = socketPair()
        defer { Socket.close(a); Socket.close(b) }
        var queue = OutboundQueue()
        let small = [UInt8](repeating: 1, count: 100)
        let status = small.withUnsafeBytes { queue.write(a, $0) }
        #expect(status == .complete)
        #expect(queue.bufferedBytes == 0)
        // Fill the socket buffer until the kernel refuses: the rest must be queued, in order.
        let big = [UInt8]((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0) })
        let second = big.withUnsafeBytes { queue.write(a, UnsafeRawBufferPointer(rebasing: $0[..<10]), UnsafeRawBufferPointer(rebasing: $0[10...])) }
        #expect(second == .queued)
        #expect(queue.bufferedBytes > 0 && queue.bufferedBytes <= big.count)
        // Drain the peer while flushing; every byte arrives exactly once.
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while received.count < small.count + big.count {
            _ = queue.flush(a)
            let result = chunk.withUnsafeMutableBytes { Socket.read(b, into: $0) }
            if case .processed(let n) = result { received += chunk[..<n] }
        }
        #expect(queue.isEmpty)
        #expect(Array(received[..<100]) == small)
        #expect(Array(received[100...]) == big)
    }
}
