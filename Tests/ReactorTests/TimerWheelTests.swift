import Testing
@testable import Reactor

/// Records which tags fired, in order.
private final class Recorder: TimerHandler {
    var fired: [Int] = []
    func timerFired(tag: Int) { fired.append(tag) }
}

private func drain(_ wheel: inout TimerWheel, at now: UInt64) {
    wheel.collectExpired(now: now)
    while let (handler, tag) = wheel.popExpired() { handler.timerFired(tag: tag) }
}

@Suite struct TimerWheelTests {
    @Test(arguments: [0, 1, 3, 4, 5, 100, 4095, 4096, 4097, 300_000])
    func firesAtOrAfterDeadlineNeverBefore(delay: UInt64) {
        let start: UInt64 = 1_000_000
        var wheel = TimerWheel(tickMilliseconds: 4, slotCount: 1024, now: start)
        let recorder = Recorder()
        _ = wheel.schedule(at: start + delay, handler: recorder, tag: 7)
        if delay > 0 {
            drain(&wheel, at: start + delay - 1)
            #expect(recorder.fired.isEmpty, "fired early")
        }
        drain(&wheel, at: start + delay + 4)
        #expect(recorder.fired == [7])
        #expect(wheel.count == 0)
    }

    @Test func cancelledTimersDoNotFireAndStaleIDsAreHarmless() {
        var wheel = TimerWheel(tickMilliseconds: 1, slotCount: 64, now: 0)
        let recorder = Recorder()
        let a = wheel.schedule(at: 10, handler: recorder, tag: 1)
        let b = wheel.schedule(at: 10, handler: recorder, tag: 2)
        let cancelled = wheel.cancel(a)
        let cancelledAgain = wheel.cancel(a)
        #expect(cancelled)
        #expect(!cancelledAgain, "second cancel must report nothing to cancel")
        drain(&wheel, at: 20)
        #expect(recorder.fired == [2])
        let cancelledFired = wheel.cancel(b)
        #expect(!cancelledFired, "a fired timer cannot be cancelled")
        // The node is reused; the old id must not cancel the new timer.
        let c = wheel.schedule(at: 30, handler: recorder, tag: 3)
        let cancelledStale = wheel.cancel(a)
        #expect(!cancelledStale)
        #expect(wheel.isPending(c))
        drain(&wheel, at: 30)
        #expect(recorder.fired == [2, 3])
    }

    @Test func timersInLaterRevolutionsWaitForTheirRound() {
        // 64 slots x 1 ms: deadlines 5, 69 and 133 share a slot.
        var wheel = TimerWheel(tickMilliseconds: 1, slotCount: 64, now: 0)
        let recorder = Recorder()
        for (tag, deadline) in [(3, UInt64(133)), (1, 5), (2, 69)] {
            _ = wheel.schedule(at: deadline, handler: recorder, tag: tag)
        }
        drain(&wheel, at: 5)
        #expect(recorder.fired == [1])
        drain(&wheel, at: 68)
        #expect(recorder.fired == [1])
        drain(&wheel, at: 69)
        #expect(recorder.fired == [1, 2])
        drain(&wheel, at: 1000)  // a long sleep: more than a revolution at once
        #expect(recorder.fired == [1, 2, 3])
    }

    @Test func aHandlerCancellingAnotherCollectedTimerWins() {
        final class Canceller: TimerHandler {
            var wheel: TimerWheel
            var ids: [Int: TimerID] = [:]
            var fired: [Int] = []
            init(wheel: TimerWheel) { self.wheel = wheel }
            func timerFired(tag: Int) {
                fired.append(tag)
                wheel.cancel(ids[1 - tag]!)  // cancel the other one
            }
        }
        let canceller = Canceller(wheel: TimerWheel(tickMilliseconds: 1, slotCount: 64, now: 0))
        canceller.ids[0] = canceller.wheel.schedule(at: 5, handler: canceller, tag: 0)
        canceller.ids[1] = canceller.wheel.schedule(at: 5, handler: canceller, tag: 1)
        // Both are collected in one pass; whichever runs first cancels the other.
        canceller.wheel.collectExpired(now: 10)
        while let (handler, tag) = canceller.wheel.popExpired() { handler.timerFired(tag: tag) }
        #expect(canceller.fired.count == 1)
        #expect(canceller.wheel.count == 0)
    }

    @Test func nextSlotDelayGuidesTheLoopTimeout() {
        var wheel = TimerWheel(tickMilliseconds: 4, slotCount: 1024, now: 0)
        #expect(wheel.millisecondsUntilNextSlot(now: 0) == nil)
        let recorder = Recorder()
        _ = wheel.schedule(at: 400, handler: recorder, tag: 0)
        #expect(wheel.millisecondsUntilNextSlot(now: 0) == 400)
        #expect(wheel.millisecondsUntilNextSlot(now: 100) == 300)
        let early = wheel.schedule(at: 40, handler: recorder, tag: 0)
        #expect(wheel.millisecondsUntilNextSlot(now: 0) == 40)
        wheel.cancel(early)
        #expect(wheel.millisecondsUntilNextSlot(now: 0) == 400)
    }

    /// Arming and cancelling cost the same constant work per timer with 100 timers armed as with
    /// 10,000: one link and one unlink, whatever else hangs in the wheel (and in the same slot).
    @Test(arguments: [100, 10_000])
    func armAndCancelAreConstantWorkPerTimer(count: Int) {
        var wheel = TimerWheel(tickMilliseconds: 4, slotCount: 1024, now: 0)
        let recorder = Recorder()
        // Crowd the wheel, including one slot that every timer shares.
        let background = (0..<count).map { wheel.schedule(at: UInt64(4096 * ($0 % 7 + 1)), handler: recorder, tag: $0) }
        let before = wheel.linkOperations
        var ids: [TimerID] = []
        for index in 0..<count { ids.append(wheel.schedule(at: 4096, handler: recorder, tag: index)) }
        for id in ids.reversed() { wheel.cancel(id) }
        #expect(wheel.linkOperations - before == 2 * count)
        #expect(wheel.count == background.count)
    }

    @Test func manyTimersScheduleAndCancelInAnyOrder() {
        var wheel = TimerWheel(tickMilliseconds: 4, slotCount: 1024, now: 0)
        let recorder = Recorder()
        var ids: [TimerID] = []
        for index in 0..<10_000 {
            ids.append(wheel.schedule(at: UInt64(index * 37 % 300_000), handler: recorder, tag: index))
        }
        #expect(wheel.count == 10_000)
        // Cancel every other one, from the middle outwards.
        var cancelled = 0
        for index in stride(from: 0, to: 10_000, by: 2) where wheel.cancel(ids[index]) { cancelled += 1 }
        #expect(cancelled == 5_000)
        #expect(wheel.count == 5_000)
        drain(&wheel, at: 400_000)
        #expect(recorder.fired.count == 5_000)
        #expect(recorder.fired.allSatisfy { $0 % 2 == 1 })
        #expect(wheel.count == 0)
    }
}
