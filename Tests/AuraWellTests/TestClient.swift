import Foundation
import Glibc

/// A deliberately simple, blocking WebSocket client for tests: it writes frames byte by byte as
/// told (masked or not, fragmented or not, valid or not) and parses server frames by hand, so the
/// tests do not lean on the codec they check.
final class TestClient {
    struct Frame: Equatable {
        var fin: Bool
        var opcode: UInt8
        var payload: [UInt8]
        var text: String { String(decoding: payload, as: UTF8.self) }
        /// The close code of a close frame.
        var closeCode: UInt16? {
            opcode == 8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        }
    }

    let fd: Int32
    private var pending: [UInt8] = []

    /// - Parameter receiveBuffer: a small SO_RCVBUF makes a client that does not read stall the
    ///   server's writes quickly (loopback buffers otherwise absorb megabytes).
    init(port: UInt16, timeoutSeconds: Int = 10, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw TestFailure("connect: errno \(errno)") }
    }

    deinit { Glibc.close(fd) }

    static func request(path: String, key: String = "dGhlIHNhbXBsZSBub25jZQ==", extraHeaders: [String] = []) -> String {
        (["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
          "Sec-WebSocket-Key: \(key)", "Sec-WebSocket-Version: 13"] + extraHeaders).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads an HTTP response head; returns the status and the head's text.
    func readResponseHead() throws -> (status: Int, head: String) {
        while true {
            if let end = findHeadEnd() {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeFirst(end + 4)
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                return (status, head)
            }
            try fill()
        }
    }

    /// Upgrades to a WebSocket on `path`; throws unless the answer is 101.
    @discardableResult
    func upgrade(path: String) throws -> String {
        try send(Self.request(path: path))
        let (status, head) = try readResponseHead()
        guard status == 101 else { throw TestFailure("upgrade answered \(status): \(head)") }
        return head
    }

    /// A client frame; masked unless told otherwise.
    static func frame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0,
                      mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            bytes.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            bytes.append(maskBit | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        if masked {
            bytes += mask
            bytes += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        } else {
            bytes += payload
        }
        return bytes
    }

    func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0) throws {
        try send(Self.frame(opcode: opcode, payload: payload, fin: fin, masked: masked, rsv: rsv))
    }

    func sendText(_ text: String) throws { try sendFrame(opcode: 1, payload: Array(text.utf8)) }

    /// Reads one server frame (server frames are never masked).
    func readFrame() throws -> Frame {
        try need(2)
        let fin = pending[0] & 0x80 != 0
        let opcode = pending[0] & 0x0F
        guard pending[1] & 0x80 == 0 else { throw TestFailure("server sent a masked frame") }
        var length = Int(pending[1] & 0x7F)
        var headerSize = 2
        if length == 126 {
            try need(4)
            length = Int(pending[2]) << 8 | Int(pending[3])
            headerSize = 4
        } else if length == 127 {
            try need(10)
            length = (2..<10).reduce(0) { $0 << 8 | Int(pending[$1]) }
            headerSize = 10
        }
        try need(headerSize + length)
        let payload = Array(pending[headerSize..<(headerSize + length)])
        pending.removeFirst(headerSize + length)
        return Frame(fin: fin, opcode: opcode, payload: payload)
    }

    /// Reads a whole response with a Content-Length body.
    func readResponse() throws -> (status: Int, head: String, body: [UInt8]) {
        let (status, head) = try readResponseHead()
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let omitBody = status == 304 || status == 204
        return (status, head, omitBody ? [] : try readBytes(length))
    }

    /// Reads exactly `count` bytes (after whatever was already parsed).
    func readBytes(_ count: Int) throws -> [UInt8] {
        try need(count)
        let bytes = Array(pending[..<count])
        pending.removeFirst(count)
        return bytes
    }

    /// Reads frames until a close frame; returns its code (nil for an empty close payload).
    func readClose() throws -> Frame {
        while true {
            let frame = try readFrame()
            if frame.opcode == 8 { return frame }
        }
    }

    /// True when the server closes the TCP connection (EOF) within the receive timeout.
    func waitForEOF() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    private func findHeadEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for index in 0...(pending.count - 4)
        where pending[index] == 13 && pending[index + 1] == 10 && pending[index + 2] == 13 && pending[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func need(_ count: Int) throws {
        while pending.count < count { try fill() }
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { throw TestFailure("connection closed by the server") }
        if n < 0 { throw TestFailure("recv: errno \(errno) (timeout?)") }
        pending += buffer[..<n]
    }
}
