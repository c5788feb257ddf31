import Glibc
import Logging
import Reactor

/// A listening socket on the loop (level-triggered: whatever is left in the backlog after one
/// batch of accepts is reported again, so one busy listener cannot starve the connections).
final class Listener: IOHandler, TimerHandler {
    let fd: Int32
    private unowned let server: Server
    private var paused = false

    /// Accepts per readiness event before the loop serves others.
    private static let acceptBatch = 128
    /// How long to stop accepting when the process is out of descriptors.
    private static let exhaustionBackoffMilliseconds: UInt64 = 100

    init(fd: Int32, server: Server) throws(SystemError) {
        self.fd = fd
        self.server = server
        try server.reactor.register(fd, interest: .read, handler: self)
    }

    func handleIO(_ events: IOEvents) {
        for _ in 0..<Self.acceptBatch {
            switch Socket.accept(fd) {
            case .accepted(let client):
                server.adopt(client)
            case .wouldBlock:
                return
            case .transient:
                continue
            case .exhausted(let code):
                // Level-triggered: the pending connection would wake us in a busy loop. Step back
                // and let closes free descriptors.
                server.logger.warning("accept: out of resources, pausing", metadata: ["errno": "\(code)"])
                pause()
                return
            }
        }
    }

    private func pause() {
        guard !paused else { return }
        paused = true
        server.reactor.deregister(fd)
        _ = server.reactor.schedule(after: Self.exhaustionBackoffMilliseconds, handler: self, tag: 0)
    }

    func timerFired(tag: Int) {
        guard paused else { return }
        paused = false
        do {
            try server.reactor.register(fd, interest: .read, handler: self)
        } catch {
            server.logger.error("cannot resume accepting", metadata: ["error": "\(error)"])
        }
    }

    /// Stops accepting and closes the socket.
    func close() {
        if paused {
            paused = false
            Socket.close(fd)
        } else {
            server.reactor.closeLater(fd)
        }
    }
}
