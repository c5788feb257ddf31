import CLinux
import Glibc

/// A connection's unsent bytes. It stays empty, with no storage allocated, while the kernel takes
/// everything at once; only what a write could not place is copied in. `bufferedBytes` is the
/// backpressure signal.
public struct OutboundQueue {
    private var storage: [UInt8] = []
    private var head = 0

    public enum Status: Equatable {
        /// Everything is in the kernel.
        case complete
        /// Some bytes wait here: the caller must wait for writability and call `flush`.
        case queued
        /// The socket failed (EPIPE, ECONNRESET…); the connection is gone.
        case failed(errno: Int32)
    }

    public init() {}

    public var bufferedBytes: Int { storage.count - head }
    public var isEmpty: Bool { head == storage.count }

    /// Sends `first` then `second` (a frame header and its payload, say) with one `writev` when
    /// nothing is queued; whatever the kernel does not take is queued. When bytes are already
    /// queued, appends without a syscall (order is kept; `flush` will send them).
    public mutating func write(
        _ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> Status {
        guard isEmpty else {
            storage.append(contentsOf: first)
            storage.append(contentsOf: second)
            return .queued
        }
        let total = first.count + second.count
        var written = 0
        var vectors = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
        )
        let result = withUnsafePointer(to: &vectors) {
            $0.withMemoryRebound(to: iovec.self, capacity: 2) { Syscall.writev(fd, $0, count: second.count == 0 ? 1 : 2) }
        }
        switch result {
        case .processed(let n): written = n
        case .wouldBlock: written = 0
        case .failed(let code): return .failed(errno: code)
        case .endOfFile: written = 0
        }
        if written == total { return .complete }
        if written < first.count {
            storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: first[written...]))
            storage.append(contentsOf: second)
        } else {
            storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: second[(written - first.count)...]))
        }
        return .queued
    }

    /// Sends queued bytes; `.complete` once the queue is empty (its storage is then released).
    public mutating func flush(_ fd: Int32) -> Status {
        while !isEmpty {
            let result = storage.withUnsafeBytes { bytes in
                Syscall.send(fd, UnsafeRawBufferPointer(rebasing: bytes[head...]))
            }
            switch result {
            case .processed(let n): head += n
            case .wouldBlock, .endOfFile: return .queued
            case .failed(let code): return .failed(errno: code)
            }
        }
        // Drop the storage: an idle connection should cost no buffer memory.
        storage = []
        head = 0
        return .complete
    }

    /// Forgets everything queued (the connection is being torn down).
    public mutating func discard() {
        storage = []
        head = 0
    }
}
