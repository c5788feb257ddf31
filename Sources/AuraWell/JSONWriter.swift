/// Builds one JSON object into a byte buffer without Foundation: server messages are small, hot
/// and shaped ahead of time, so a writer beats a generic encoder (no boxing, one buffer).
struct JSONWriter {
    private(set) var bytes: [UInt8]
    private var needsComma = false

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Reuses `buffer`'s storage (emptied first): the hot path encodes without allocating.
    init(reusing buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        bytes = buffer
        buffer = []
        bytes.append(UInt8(ascii: "{"))
    }

    mutating func field(_ key: StaticString, _ value: String) {
        writeKey(key)
        writeString(value)
    }

    mutating func field(_ key: StaticString, _ value: String?) {
        writeKey(key)
        if let value { writeString(value) } else { writeRaw("null") }
    }

    mutating func field(_ key: StaticString, utf8 value: UnsafeRawBufferPointer) {
        writeKey(key)
        writeString(utf8: value)
    }

    mutating func field(_ key: StaticString, _ value: Int) {
        writeKey(key)
        writeRaw(String(value))
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        writeKey(key)
        writeRaw(value ? "true" : "false")
    }

    /// The current time as PROTOCOL.md formats it.
    mutating func timestampField() {
        writeKey("timestamp")
        bytes.append(UInt8(ascii: "\""))
        Timestamp.append(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func nullField(_ key: StaticString) {
        writeKey(key)
        writeRaw("null")
    }

    /// A value that is already JSON (an object built by another writer).
    mutating func field(_ key: StaticString, json: [UInt8]) {
        writeKey(key)
        bytes.append(contentsOf: json)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func writeKey(_ key: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    private mutating func writeRaw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Escapes per RFC 8259: quote, backslash and control characters; other UTF-8 passes as is.
    private mutating func writeString(utf8 value: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<value.count {
            let byte = value[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[runStart..<index])) }
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        if runStart < value.count { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }
}
