/// Receives timer expiries. `tag` tells one timer of the handler from another, so a connection
/// needs no closure (and no allocation) per timer.
public protocol TimerHandler: AnyObject {
    func timerFired(tag: Int)
}

/// Names one scheduled timer. Stale ids (fired or cancelled) are recognised by their generation,
/// so cancelling twice or after expiry is harmless.
public struct TimerID: Hashable, Sendable {
    let index: UInt32
    let generation: UInt32

    /// An id that names no timer; cancelling it does nothing.
    public static let none = TimerID(index: .max, generation: 0)
}

/// A hashed timer wheel (Varghese & Lauck): timers hang in `slotCount` intrusive doubly linked
/// lists indexed by expiry tick modulo the slot count. Schedule and cancel are O(1); a visit to a
/// slot skips the timers that belong to later revolutions. Timers fire late (by up to a tick),
/// never early. Network deadlines are nearly always cancelled or pushed back before they fire,
/// which is why O(1) arm and cancel matter more than precision here.
public struct TimerWheel {
    private struct Node {
        var next: Int32 = -1
        var prev: Int32 = -1
        /// Slot the node is linked into; -1 when free, -2 when collected for firing.
        var slot: Int32 = -1
        var generation: UInt32 = 1
        var deadlineTick: UInt64 = 0
        var tag: Int = 0
    }

    public let tickMilliseconds: UInt64
    private let slotMask: Int
    private var nodes: [Node] = []
    private var handlers: [(any TimerHandler)?] = []
    private var heads: [Int32]
    /// One bit per slot: set while the slot's list is non-empty (finds the next deadline fast).
    private var occupied: [UInt64]
    private var freeList: Int32 = -1
    /// The last tick whose slot has been processed.
    private var processedTick: UInt64
    private var due: [(index: Int32, generation: UInt32)] = []
    private var dueCursor = 0
    public private(set) var count = 0
    /// List links and unlinks performed so far: the unit of work a schedule or cancel costs,
    /// counted so that a test can show the cost does not grow with the number of timers.
    private(set) var linkOperations = 0

    /// - Parameters:
    ///   - tickMilliseconds: resolution; coarse on purpose (network deadlines need no precision).
    ///   - slotCount: rounded up to a power of two.
    ///   - now: the current monotonic time in milliseconds.
    public init(tickMilliseconds: UInt64 = 4, slotCount: Int = 1024, now: UInt64) {
        precondition(tickMilliseconds > 0 && slotCount > 0)
        var slots = 64
        while slots < slotCount { slots <<= 1 }
        self.tickMilliseconds = tickMilliseconds
        self.slotMask = slots - 1
        self.heads = Array(repeating: -1, count: slots)
        self.occupied = Array(repeating: 0, count: slots / 64)
        self.processedTick = now / tickMilliseconds
    }

    /// Arms a timer that fires at or after `deadline` (monotonic ms). O(1).
    public mutating func schedule(at deadline: UInt64, handler: any TimerHandler, tag: Int = 0) -> TimerID {
        // Round up so that a timer never fires early; a deadline already past fires on the next tick.
        var tick = (deadline + tickMilliseconds - 1) / tickMilliseconds
        if tick <= processedTick { tick = processedTick + 1 }
        let index = allocateNode()
        nodes[index].deadlineTick = tick
        nodes[index].tag = tag
        handlers[index] = handler
        link(Int32(index), slot: Int(tick) & slotMask)
        count += 1
        return TimerID(index: UInt32(index), generation: nodes[index].generation)
    }

    /// Cancels a timer; returns false if it had already fired or been cancelled. O(1).
    @discardableResult
    public mutating func cancel(_ id: TimerID) -> Bool {
        let index = Int(id.index)
        guard index < nodes.count, nodes[index].generation == id.generation, nodes[index].slot != -1 else {
            return false
        }
        if nodes[index].slot >= 0 { unlink(Int32(index)) }
        release(index)
        return true
    }

    /// Whether `id` names a timer that has not fired or been cancelled.
    public func isPending(_ id: TimerID) -> Bool {
        let index = Int(id.index)
        return index < nodes.count && nodes[index].generation == id.generation && nodes[index].slot != -1
    }

    /// Milliseconds from `now` until the next non-empty slot comes due, or nil when no timer is armed.
    /// That slot may hold only timers of later revolutions: the loop then wakes once for nothing,
    /// which is the price of a coarse wheel without per-slot minimums.
    public func millisecondsUntilNextSlot(now: UInt64) -> UInt64? {
        guard count > 0 else { return nil }
        let slotCount = slotMask + 1
        let startTick = processedTick + 1
        var offset = 0
        while offset < slotCount {
            let slot = (Int(truncatingIfNeeded: startTick) &+ offset) & slotMask
            let word = occupied[slot >> 6] >> UInt64(slot & 63)
            if word == 0 {
                offset += 64 - (slot & 63)  // skip the rest of this word
                continue
            }
            offset += word.trailingZeroBitCount
            break
        }
        let tick = startTick + UInt64(min(offset, slotCount - 1))
        let deadline = tick * tickMilliseconds
        return deadline > now ? deadline - now : 0
    }

    /// Collects every timer due at `now`; take them with `popExpired()`. Collecting first and then
    /// running means a handler that re-arms itself cannot starve the loop, one that cancels another
    /// collected timer wins, and no handler runs while the wheel is being mutated.
    public mutating func collectExpired(now: UInt64) {
        let nowTick = now / tickMilliseconds
        guard nowTick > processedTick else { return }
        let slotCount = UInt64(slotMask + 1)
        let firstTick = processedTick + 1
        let lastTick = min(nowTick, processedTick + slotCount)
        processedTick = nowTick
        guard count > 0 else { return }
        var tick = firstTick
        while tick <= lastTick {
            collectDue(slot: Int(truncatingIfNeeded: tick) & slotMask, nowTick: nowTick)
            tick += 1
        }
    }

    /// The next collected timer that is still armed, released before it is returned (so its
    /// handler may re-arm at once). Nil when none is left.
    public mutating func popExpired() -> (handler: any TimerHandler, tag: Int)? {
        while dueCursor < due.count {
            let (index32, generation) = due[dueCursor]
            dueCursor += 1
            let index = Int(index32)
            guard nodes[index].generation == generation, nodes[index].slot == -2,
                  let handler = handlers[index] else { continue }
            let tag = nodes[index].tag
            release(index)
            return (handler, tag)
        }
        due.removeAll(keepingCapacity: true)
        dueCursor = 0
        return nil
    }

    private mutating func collectDue(slot: Int, nowTick: UInt64) {
        var cursor = heads[slot]
        while cursor >= 0 {
            let index = Int(cursor)
            cursor = nodes[index].next
            if nodes[index].deadlineTick <= nowTick {
                unlink(Int32(index))
                nodes[index].slot = -2
                due.append((Int32(index), nodes[index].generation))
            }
        }
    }

    private mutating func allocateNode() -> Int {
        if freeList >= 0 {
            let index = Int(freeList)
            freeList = nodes[index].next
            return index
        }
        nodes.append(Node())
        handlers.append(nil)
        return nodes.count - 1
    }

    private mutating func release(_ index: Int) {
        nodes[index].generation &+= 1
        nodes[index].slot = -1
        nodes[index].prev = -1
        nodes[index].next = freeList
        handlers[index] = nil
        freeList = Int32(index)
        count -= 1
    }

    private mutating func link(_ index: Int32, slot: Int) {
        linkOperations += 1
        let head = heads[slot]
        nodes[Int(index)].slot = Int32(slot)
        nodes[Int(index)].prev = -1
        nodes[Int(index)].next = head
        if head >= 0 { nodes[Int(head)].prev = index }
        heads[slot] = index
        occupied[slot >> 6] |= 1 << UInt64(slot & 63)
    }

    private mutating func unlink(_ index: Int32) {
        linkOperations += 1
        let node = nodes[Int(index)]
        let slot = Int(node.slot)
        if node.prev >= 0 { nodes[Int(node.prev)].next = node.next } else { heads[slot] = node.next }
        if node.next >= 0 { nodes[Int(node.next)].prev = node.prev }
        if heads[slot] < 0 { occupied[slot >> 6] &= ~(1 << UInt64(slot & 63)) }
        nodes[Int(index)].next = -1
        nodes[Int(index)].prev = -1
    }
}
