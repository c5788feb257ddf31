import CCurl
import Glibc

/// libcurl's multi_socket API driven by the `Reactor`: curl tells us which sockets to watch and
/// when its single timer is due; we call `curl_multi_socket_action` when a socket is ready or the
/// timer fires, then collect finished transfers with `curl_multi_info_read`. No threads.
///
/// Rules from curl's documentation that shape this file: never remove a handle from inside a
/// curl callback (removals are deferred until the current `socket_action` returns); never
/// return -1 from a callback (it would fail every transfer); a timeout of 0 means "soon, not from
/// inside the callback" (we run it before the next `epoll_wait`, not 1 ms later).
public final class CurlMulti: TimerHandler {
    private let multi: UnsafeMutableRawPointer
    private unowned let reactor: Reactor
    private var timer = TimerID.none
    private var kickScheduled = false
    private lazy var kick: () -> Void = { [unowned self] in
        self.kickScheduled = false
        self.socketAction(CURL_SOCKET_BAD, events: 0)
    }
    /// Depth of `curl_multi_socket_action` calls in progress (callbacks run inside them).
    private var actionDepth = 0
    private var deferredRemovals: [CurlTransfer] = []
    /// Transfers in flight, keyed by their easy handle; holds them alive while curl uses them.
    private var transfers: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var watchers: [Int32: SocketWatcher] = [:]
    /// The socket curl last named for each transfer (pause and yield adjust its interest).
    private var watcherByTransfer: [UnsafeMutableRawPointer: SocketWatcher] = [:]
    public var activeTransfers: Int { transfers.count }
    /// Bytes one transfer may take per loop iteration before it yields to the others: curl
    /// would otherwise read a fast stream for up to a hundred buffers in one call.
    public var receiveBudgetPerIteration = 64 * 1024
    /// Called each time curl returns to the loop, after finished transfers were reported: what
    /// the callbacks of one read produced can be flushed together.
    public var onReturn: (() -> Void)?

    public init(reactor: Reactor) {
        Self.globalInit
        self.reactor = reactor
        multi = curl_multi_init()
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_multi_setopt_socketfunction(multi, curlSocketCallback)
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        _ = ccurl_multi_setopt_timerfunction(multi, curlTimerCallback)
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
        // HTTP/2 multiplexing where the upstream offers it; many streams share one connection.
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    }

    deinit {
        for transfer in transfers.values { curl_multi_remove_handle(multi, transfer.easy) }
        curl_multi_cleanup(multi)
    }

    /// curl_global_init is not thread-safe; it runs once, before the first multi handle.
    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Starts a configured transfer. Its delegate hears about it from now on.
    public func start(_ transfer: CurlTransfer) {
        guard !transfer.isActive else { return }
        transfer.isActive = true
        transfer.multi = self
        transfers[transfer.easy] = transfer
        let code = curl_multi_add_handle(multi, transfer.easy)
        if code != CURLM_OK {
            transfers[transfer.easy] = nil
            transfer.isActive = false
            let error = CurlTransferError(code: -Int32(code.rawValue), message: String(cString: curl_multi_strerror(code)))
            reactor.runSoon {
                let delegate = transfer.delegate
                transfer.delegate = nil
                delegate?.curlTransfer(transfer, didCompleteWith: error)
            }
        }
    }

    /// Aborts a transfer without telling its delegate (the caller knows). Safe from anywhere,
    /// including from inside this transfer's own callbacks.
    public func cancel(_ transfer: CurlTransfer) {
        guard transfer.isActive else { return }
        transfer.isActive = false
        transfer.delegate = nil
        if actionDepth > 0 {
            deferredRemovals.append(transfer)
        } else {
            remove(transfer)
        }
    }

    /// Stops (true) or resumes (false) receiving for a transfer: the backpressure valve.
    public func setReceivePaused(_ transfer: CurlTransfer, _ paused: Bool) {
        guard transfer.isActive, transfer.isPaused != paused else { return }
        transfer.isPaused = paused
        // A yielding transfer resumes on its own turn; unpausing it here would cut the queue.
        guard !transfer.isYielding else { return }
        // Unpausing may deliver buffered data at once, so callbacks can run inside this call.
        insideCurl { _ = curl_easy_pause(transfer.easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT) }
        // curl keeps asking for readability of a paused transfer's socket; level-triggered, that
        // would wake the loop for nothing until the pause ends. Stop watching its input meanwhile
        // (only for a connection of its own: an HTTP/2 connection serves other streams too).
        updateInterest(of: transfer)
    }

    /// Counts `bytes` against the transfer's share of this iteration; false when it must yield.
    func admit(_ transfer: CurlTransfer, bytes: Int) -> Bool {
        if transfer.budgetIteration != reactor.iterations {
            transfer.budgetIteration = reactor.iterations
            transfer.budgetUsed = 0
        }
        guard transfer.budgetUsed < receiveBudgetPerIteration else {
            transfer.isYielding = true
            updateInterest(of: transfer)
            reactor.runSoon { [self, transfer] in resumeYielded(transfer) }
            return false
        }
        transfer.budgetUsed += bytes
        return true
    }

    private func resumeYielded(_ transfer: CurlTransfer) {
        guard transfer.isActive, transfer.isYielding else { return }
        transfer.isYielding = false
        updateInterest(of: transfer)
        guard !transfer.isPaused else { return }
        insideCurl { _ = curl_easy_pause(transfer.easy, CURLPAUSE_CONT) }
    }

    private func updateInterest(of transfer: CurlTransfer) {
        if let watcher = watcherByTransfer[transfer.easy] { applyInterest(watcher) }
    }

    /// What epoll watches for a curl socket: what curl asked for, less input while the transfer
    /// that owns the connection is paused.
    private func applyInterest(_ watcher: SocketWatcher) {
        var interest = watcher.requested
        if let easy = watcher.easy, let transfer = transfers[easy], transfer.isPaused || transfer.isYielding,
           transfer.ownsConnection {
            interest.remove(.read)
        }
        guard interest != watcher.applied else { return }
        if (try? reactor.modify(watcher.fd, interest: interest)) != nil { watcher.applied = interest }
    }

    private func remove(_ transfer: CurlTransfer) {
        curl_multi_remove_handle(multi, transfer.easy)
        transfers[transfer.easy] = nil
        watcherByTransfer[transfer.easy] = nil
    }

    // MARK: Driving curl

    fileprivate func socketAction(_ fd: Int32, events: Int32) {
        var running: Int32 = 0
        insideCurl { _ = curl_multi_socket_action(multi, fd, events, &running) }
    }

    /// Runs a libcurl call during which callbacks may fire; removals they ask for wait until the
    /// outermost such call returns, then finished transfers are collected.
    private func insideCurl(_ call: () -> Void) {
        actionDepth += 1
        call()
        actionDepth -= 1
        guard actionDepth == 0 else { return }
        for transfer in deferredRemovals { remove(transfer) }
        deferredRemovals.removeAll()
        collectFinished()
        onReturn?()
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard let transfer = transfers[easy] else {
                curl_multi_remove_handle(multi, easy)
                continue
            }
            remove(transfer)
            guard transfer.isActive else { continue }
            transfer.isActive = false
            transfer.deliverResponseIfNeeded()
            let error = code == CURLE_OK ? nil : transfer.failure(for: code)
            let delegate = transfer.delegate
            transfer.delegate = nil
            delegate?.curlTransfer(transfer, didCompleteWith: error)
        }
    }

    fileprivate func updateSocket(_ fd: Int32, what: Int32, easy: UnsafeMutableRawPointer?) {
        if what == CURL_POLL_REMOVE {
            if let watcher = watchers.removeValue(forKey: fd) {
                reactor.deregister(fd)
                if let easy = watcher.easy, watcherByTransfer[easy] === watcher { watcherByTransfer[easy] = nil }
            }
            return
        }
        var interest: Interest = []
        if what & CURL_POLL_IN != 0 { interest.insert(.read) }
        if what & CURL_POLL_OUT != 0 { interest.insert(.write) }
        if let watcher = watchers[fd] {
            watcher.requested = interest
            if let previous = watcher.easy, previous != easy, watcherByTransfer[previous] === watcher {
                watcherByTransfer[previous] = nil
            }
            watcher.easy = easy
            if let easy { watcherByTransfer[easy] = watcher }
            applyInterest(watcher)
        } else {
            let watcher = SocketWatcher(fd: fd, easy: easy, multi: self)
            watcher.requested = interest
            do {
                try reactor.register(fd, interest: interest, handler: watcher)
                watcher.applied = interest
                watchers[fd] = watcher
                if let easy { watcherByTransfer[easy] = watcher }
                applyInterest(watcher)
            } catch {
                // Cannot watch it: let curl find out through its own timeout handling.
            }
        }
    }

    fileprivate func updateTimer(_ timeoutMilliseconds: Int) {
        reactor.cancel(timer)
        timer = .none
        if timeoutMilliseconds < 0 { return }
        if timeoutMilliseconds == 0 {
            if !kickScheduled {
                kickScheduled = true
                reactor.runSoon(kick)
            }
            return
        }
        timer = reactor.schedule(after: UInt64(timeoutMilliseconds), handler: self, tag: 0)
    }

    public func timerFired(tag: Int) {
        timer = .none
        socketAction(CURL_SOCKET_BAD, events: 0)
    }

    /// Forwards one curl socket's readiness.
    private final class SocketWatcher: IOHandler {
        let fd: Int32
        /// The transfer curl last named for this socket.
        var easy: UnsafeMutableRawPointer?
        /// What curl asked for, and what epoll is actually watching.
        var requested: Interest = []
        var applied: Interest = []
        unowned let multi: CurlMulti
        init(fd: Int32, easy: UnsafeMutableRawPointer?, multi: CurlMulti) {
            self.fd = fd
            self.easy = easy
            self.multi = multi
        }
        func handleIO(_ events: IOEvents) {
            var mask: Int32 = 0
            if events.contains(.readable) || events.contains(.hangup) { mask |= CURL_CSELECT_IN }
            if events.contains(.writable) { mask |= CURL_CSELECT_OUT }
            if events.contains(.error) { mask |= CURL_CSELECT_ERR }
            multi.socketAction(fd, events: mask)
        }
    }
}

private func curlSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ fd: curl_socket_t, _ what: Int32,
    _ context: UnsafeMutableRawPointer?, _ socketContext: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<CurlMulti>.fromOpaque(context).takeUnretainedValue().updateSocket(fd, what: what, easy: easy)
    return 0
}

private func curlTimerCallback(_ multi: UnsafeMutableRawPointer?, _ timeout: Int, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<CurlMulti>.fromOpaque(context).takeUnretainedValue().updateTimer(timeout)
    return 0
}
