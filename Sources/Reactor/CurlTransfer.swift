import CCurl

/// Receives a transfer's progress. Every call comes from inside `curl_multi_socket_action` on the
/// loop thread, except `didComplete`, which comes after it returns.
public protocol CurlTransferDelegate: AnyObject {
    /// The status line and headers have arrived (called once, before the first body bytes).
    func curlTransfer(_ transfer: CurlTransfer, didReceiveResponse status: Int, headers: CurlResponseHeaders)
    /// Body bytes (already de-chunked). Return false to abort the transfer.
    func curlTransfer(_ transfer: CurlTransfer, didReceive bytes: UnsafeRawBufferPointer) -> Bool
    /// The transfer is over: `error` is nil on success, otherwise curl's description of the failure.
    func curlTransfer(_ transfer: CurlTransfer, didCompleteWith error: CurlTransferError?)
}

/// The header lines of the final response, kept as the bytes curl delivered them: most are
/// never looked at, so none is decoded into strings until asked for.
public struct CurlResponseHeaders: Sendable {
    /// `Name: value\r\n` lines, in order.
    var lines: [UInt8] = []

    public init() {}

    init(lines: [UInt8]) { self.lines = lines }

    /// The value of the first header called `name` (ASCII case-insensitive), trimmed.
    public func value(of name: String) -> String? {
        let wanted = Array(name.lowercased().utf8)
        var start = 0
        while start < lines.count {
            let end = lines[start...].firstIndex(of: UInt8(ascii: "\n")) ?? lines.count
            let line = lines[start..<end]
            if let colon = line.firstIndex(of: UInt8(ascii: ":")), Self.equalsIgnoringCase(line[start..<colon], wanted) {
                var value = line[(colon + 1)...]
                while let first = value.first, Self.isSpace(first) { value.removeFirst() }
                while let last = value.last, Self.isSpace(last) { value.removeLast() }
                return String(decoding: value, as: UTF8.self)
            }
            start = end + 1
        }
        return nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    private static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: [UInt8]) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        return zip(bytes, lowercase).allSatisfy { pair in
            let byte = pair.0 >= UInt8(ascii: "A") && pair.0 <= UInt8(ascii: "Z") ? pair.0 | 0x20 : pair.0
            return byte == pair.1
        }
    }
}

public struct CurlTransferError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    /// Connection-level failures (refused, reset, DNS, TLS): the request may be retried.
    public var isConnectionFailure: Bool {
        [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
         CURLE_GOT_NOTHING, CURLE_SSL_CONNECT_ERROR, CURLE_OPERATION_TIMEDOUT].map { Int32($0.rawValue) }.contains(code)
    }
    public var isTimeout: Bool { code == Int32(CURLE_OPERATION_TIMEDOUT.rawValue) }
    public var description: String { "\(message) (curl \(code))" }
}

/// One HTTP request driven by `CurlMulti`. Configure it, then `CurlMulti.start`.
public final class CurlTransfer {
    let easy: UnsafeMutableRawPointer
    /// Held strongly (a weak reference would move every retain of the delegate to the slow
    /// side-table path); `CurlMulti` clears it when the transfer completes or is cancelled.
    public var delegate: (any CurlTransferDelegate)?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var responseHeaders = CurlResponseHeaders()
    private var responseDelivered = false
    var isActive = false
    /// Paused by the application (backpressure).
    var isPaused = false
    /// Paused by the multi handle for fairness, until the next loop iteration.
    var isYielding = false
    /// Bytes received during the loop iteration `budgetIteration`.
    var budgetUsed = 0
    var budgetIteration: UInt64 = 0
    unowned(unsafe) var multi: CurlMulti?
    /// The body, kept alive for curl (CURLOPT_POSTFIELDS does not copy).
    private var body: [UInt8] = []
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE))

    public init(url: String) {
        easy = curl_easy_init()
        _ = ccurl_easy_setopt_str(easy, CURLOPT_URL, url)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_PRIVATE, me)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me)
        _ = ccurl_easy_setopt_write(easy, curlWriteCallback)
        _ = ccurl_easy_setopt_header(easy, curlHeaderCallback)
        errorBuffer.withUnsafeMutableBufferPointer { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, $0.baseAddress) }
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
    }

    public func addHeader(_ line: String) {
        headerList = curl_slist_append(headerList, line)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList)
    }

    /// Makes the request a POST with this body.
    public func setPostBody(_ bytes: [UInt8]) {
        body = bytes
        _ = ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        body.withUnsafeBytes { _ = ccurl_easy_setopt_ptr(easy, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
    }

    /// Seconds to establish the connection (0: curl's default).
    public func setConnectTimeout(milliseconds: Int) {
        _ = ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
    }

    /// Whether the transfer runs over a connection of its own (HTTP/1.x) rather than as one
    /// stream of a shared HTTP/2 connection.
    var ownsConnection: Bool {
        var version = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        return version != CURL_HTTP_VERSION_2_0 && version != CURL_HTTP_VERSION_3
    }

    /// The HTTP status, once known (0 before).
    public var responseStatus: Int {
        var status = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return status
    }

    func failure(for code: CURLcode) -> CurlTransferError {
        let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        return CurlTransferError(code: Int32(code.rawValue), message: message)
    }

    fileprivate func receivedHeader(_ line: UnsafeRawBufferPointer) {
        // A new status line (after a 100 Continue or a redirect) starts a new header block.
        if line.starts(with: "HTTP/".utf8) {
            responseHeaders.lines.removeAll(keepingCapacity: true)
            return
        }
        responseHeaders.lines.append(contentsOf: line)
    }

    fileprivate func receivedBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let delegate else { return false }
        if !responseDelivered {
            responseDelivered = true
            delegate.curlTransfer(self, didReceiveResponse: responseStatus, headers: responseHeaders)
        }
        return delegate.curlTransfer(self, didReceive: bytes)
    }

    /// Called when the transfer ends, so that a response without a body is still announced.
    func deliverResponseIfNeeded() {
        guard !responseDelivered, let delegate, responseStatus != 0 else { return }
        responseDelivered = true
        delegate.curlTransfer(self, didReceiveResponse: responseStatus, headers: responseHeaders)
    }
}

private func curlWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    // Over its share of this loop iteration: curl keeps the bytes and redelivers them when the
    // transfer resumes on the next iteration.
    if let multi = transfer.multi, !multi.admit(transfer, bytes: length) { return Int(CURL_WRITEFUNC_PAUSE) }
    // Returning a short count makes curl fail the transfer with CURLE_WRITE_ERROR: the one safe
    // way to abort from inside a callback.
    return transfer.receivedBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func curlHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    transfer.receivedHeader(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}
