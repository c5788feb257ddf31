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
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func writeRaw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0)) }
    }

    private mutating func writeString(utf8 value: UnsafeRawBufferPointer) {
        JSONValue.appendQuoted(value, to: &bytes)
    }
}
