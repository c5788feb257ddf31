import CLinux
import Glibc

/// An `errno` captured from a failed system call.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The outcome of a non-blocking read or write: "would block" is an ordinary value, not an error.
public enum IOResult: Equatable, Sendable {
    case processed(Int)
    case wouldBlock
    /// Read returned 0: the peer closed its side.
    case endOfFile
    case failed(errno: Int32)
}

enum Syscall {
    /// Retries `body` while it fails with EINTR; returns its result or -1 with errno kept.
    @inline(__always)
    static func retryingEINTR<T: FixedWidthInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = retryingEINTR { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        if n > 0 { return .processed(n) }
        if n == 0 { return .endOfFile }
        return classify(errno)
    }

    /// `writev` with MSG_NOSIGNAL (through `sendmsg`): a peer that reset the connection is an
    /// EPIPE value, never a SIGPIPE that would kill the process.
    static func writev(_ fd: Int32, _ iov: UnsafePointer<iovec>, count: Int32) -> IOResult {
        var message = msghdr()
        message.msg_iov = UnsafeMutablePointer(mutating: iov)
        message.msg_iovlen = Int(count)
        let n = retryingEINTR { sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return .processed(n) }
        return classify(errno)
    }

    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOResult {
        // MSG_NOSIGNAL: a vanished peer is an EPIPE value, never a process-killing SIGPIPE.
        let n = retryingEINTR { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return .processed(n) }
        return classify(errno)
    }

    @inline(__always)
    static func classify(_ code: Int32) -> IOResult {
        code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(errno: code)
    }

    static func close(_ fd: Int32) {
        // Linux releases the descriptor even when close reports EINTR: never retry.
        _ = Glibc.close(fd)
    }
}

/// Milliseconds on CLOCK_MONOTONIC.
public func monotonicMilliseconds() -> UInt64 { clinux_monotonic_ms() }

/// Nanoseconds on CLOCK_MONOTONIC: comparable across processes on one machine.
public func monotonicNanoseconds() -> UInt64 { clinux_monotonic_ns() }

/// Writes all of `text` to `fd` (standard output or error, a pipe), retrying interrupted and
/// would-block writes; gives up silently if the descriptor is gone.
public func writeAll(_ text: String, to fd: Int32) {
    var text = text
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}
