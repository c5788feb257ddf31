import Glibc

/// One dispatched server-sent event. Both buffers are valid only during the callback.
struct SSEEvent {
    /// The `event:` field's value; empty when the event had none (the spec's default, `message`).
    var type: UnsafeRawBufferPointer
    /// The `data:` lines' values joined with `\n`.
    var data: UnsafeRawBufferPointer
}

/// An incremental `text/event-stream` parser (WHATWG HTML, "Server-sent events", event stream
/// interpretation), sans-IO: bytes in, events out.
///
/// - Lines end in CRLF, LF or CR; a CRLF split between two inputs is still one line end.
/// - `field:value` loses one space after the colon; a line without a colon is a field with an empty
///   value; a line starting with `:` is a comment. `data` values are joined with `\n`; `event` sets
///   the event's type; `id`, `retry` and unknown fields are ignored. A leading BOM is skipped.
/// - An empty line dispatches the event if it had a `data` field (even an empty one); a trailing
///   event without its empty line is never dispatched.
///
/// Input may be split anywhere. An event that lies wholly in one input is delivered straight from
/// that input, without copying; otherwise its data is gathered in a buffer that is reused, so a
/// long stream allocates nothing per event.
package struct SSEParser: Sendable {
    let maxEventBytes: Int

    private enum State: UInt8 {
        case streamStart  // looking for a byte order mark
        case lineStart
        case fieldName
        case valueStart  // after the colon: one space to skip
        case value
    }

    private enum Field: UInt8 {
        case data, event, ignored
    }

    private var state = State.streamStart
    private var field = Field.ignored
    /// The field name's first 8 bytes, little-endian, and its length.
    private var nameBits: UInt64 = 0
    private var nameLength = 0
    private var byteOrderMarkMatched = 0
    /// The previous input ended with CR: an LF at the start of the next one belongs to it.
    private var skipLineFeed = false
    private var failed = false
    /// The current event has a data field.
    private var hasData = false
    /// The current data line is the event's first and none of its value has been seen yet: if the
    /// value and the dispatch lie in the same input, the data need not be copied.
    private var zeroCopyCandidate = false
    /// The current event's data, when it is not taken straight from the input.
    private var data: [UInt8] = []
    private var eventType: [UInt8] = []

    private static let lineFeed: UInt8 = 0x0A
    private static let carriageReturn: UInt8 = 0x0D
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")
    private static let dataName: UInt64 = 0x6174_6164  // "data"
    private static let eventName: UInt64 = 0x74_6E65_7665  // "event"

    /// `maxEventBytes` bounds one event's data (and its type).
    package init(maxEventBytes: Int = 1 << 20) {
        self.maxEventBytes = maxEventBytes
    }

    /// Forgets any partial event, as at the start of a new stream.
    mutating func reset() {
        state = .streamStart
        field = .ignored
        byteOrderMarkMatched = 0
        skipLineFeed = false
        failed = false
        hasData = false
        zeroCopyCandidate = false
        data.removeAll(keepingCapacity: true)
        eventType.removeAll(keepingCapacity: true)
    }

    /// Calls `onEvent` with each complete event's data (valid only during the call). Returns false
    /// if an event exceeded `maxEventBytes` (the caller treats the stream as broken); from then on
    /// every call returns false until `reset()`.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, onEvent: (_ data: UnsafeRawBufferPointer) -> Void) -> Bool {
        feedEvents(bytes) { event in onEvent(event.data) }
    }

    /// As `feed(_:onEvent:)`, with each event's type as well.
    mutating func feedEvents(_ bytes: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) -> Bool {
        guard !failed else { return false }
        guard let raw = bytes.baseAddress, !bytes.isEmpty else { return true }
        let input = raw.assumingMemoryBound(to: UInt8.self)
        let count = bytes.count
        // When `inputDataStart >= 0`, the current event's whole data is input[inputDataStart..<inputDataEnd]
        // and `data` is empty.
        var inputDataStart = -1
        var inputDataEnd = -1
        var i = 0
        var nextLineFeed = -1  // see `lineEnd`
        if skipLineFeed {
            skipLineFeed = false
            if input[0] == Self.lineFeed { i = 1 }
        }
        while i < count {
            switch state {
            case .streamStart:
                let bom: (UInt8, UInt8, UInt8) = (0xEF, 0xBB, 0xBF)
                let expected = byteOrderMarkMatched == 0 ? bom.0 : byteOrderMarkMatched == 1 ? bom.1 : bom.2
                if input[i] == expected {
                    byteOrderMarkMatched += 1
                    i += 1
                    if byteOrderMarkMatched == 3 { state = .lineStart }
                } else if byteOrderMarkMatched == 0 {
                    state = .lineStart
                } else {
                    // Part of a BOM and then something else: those bytes begin a field name that
                    // matches no known field.
                    nameBits = 0
                    nameLength = 9
                    state = .fieldName
                }

            case .lineStart:
                let byte = input[i]
                if byte == Self.lineFeed || byte == Self.carriageReturn {
                    i = consumeLineEnd(input, at: i, count: count)
                    dispatch(input, &inputDataStart, inputDataEnd, onEvent)
                } else if byte == Self.colon {
                    field = .ignored  // a comment
                    state = .value
                    i += 1
                } else if i + 5 <= count, input[i + 4] == Self.colon,
                    UInt32(littleEndian: UnsafeRawPointer(input + i).loadUnaligned(as: UInt32.self)) == UInt32(Self.dataName)
                {
                    // `data:`, the usual line, without the general field-name loop.
                    i += 5
                    field = .data
                    guard beginValue(input, &inputDataStart, inputDataEnd) else { return fail() }
                    state = .valueStart
                } else {
                    nameBits = 0
                    nameLength = 0
                    state = .fieldName
                }

            case .fieldName:
                while i < count {
                    let byte = input[i]
                    if byte == Self.colon || byte == Self.lineFeed || byte == Self.carriageReturn { break }
                    if nameLength < 8 { nameBits |= UInt64(byte) << (nameLength &* 8) }
                    if nameLength < 9 { nameLength += 1 }
                    i += 1
                }
                guard i < count else { break }
                field =
                    nameLength == 4 && nameBits == Self.dataName ? .data
                    : nameLength == 5 && nameBits == Self.eventName ? .event : .ignored
                guard beginValue(input, &inputDataStart, inputDataEnd) else { return fail() }
                if input[i] == Self.colon {
                    i += 1
                    state = .valueStart
                } else {
                    i = consumeLineEnd(input, at: i, count: count)
                    state = .lineStart
                }

            case .valueStart:
                if input[i] == Self.space { i += 1 }
                state = .value

            case .value:
                let end = Self.lineEnd(input, from: i, count: count, nextLineFeed: &nextLineFeed)
                if end > i {
                    guard appendValue(input, i, end, &inputDataStart, &inputDataEnd) else { return fail() }
                }
                if end == count {
                    i = count
                } else {
                    i = consumeLineEnd(input, at: end, count: count)
                    state = .lineStart
                }
            }
        }
        if inputDataStart >= 0 {
            // The event continues in a later input: keep its data.
            data.append(contentsOf: UnsafeBufferPointer(start: input + inputDataStart, count: inputDataEnd - inputDataStart))
        }
        return true
    }

    private mutating func fail() -> Bool {
        failed = true
        return false
    }

    /// At a CR or LF: the index after the line end (CRLF counts as one, even split across inputs).
    @inline(__always)
    private mutating func consumeLineEnd(_ input: UnsafePointer<UInt8>, at index: Int, count: Int) -> Int {
        if input[index] == Self.carriageReturn {
            if index + 1 < count { return input[index + 1] == Self.lineFeed ? index + 2 : index + 1 }
            skipLineFeed = true
        }
        return index + 1
    }

    /// The index of the first CR or LF at or after `start`, or `count`. Two `memchr`s (vectorised in
    /// glibc) beat a byte loop; `nextLineFeed` remembers the first LF found, so a stream whose lines
    /// end in CR alone does not rescan the input for an LF on every line.
    @inline(__always)
    private static func lineEnd(_ input: UnsafePointer<UInt8>, from start: Int, count: Int, nextLineFeed: inout Int) -> Int {
        if nextLineFeed < start {
            nextLineFeed = memchr(input + start, Int32(lineFeed), count - start).map { UnsafeRawPointer(input).distance(to: $0) } ?? count
        }
        if nextLineFeed > start, let carriageReturn = memchr(input + start, Int32(carriageReturn), nextLineFeed - start) {
            return UnsafeRawPointer(input).distance(to: carriageReturn)
        }
        return nextLineFeed
    }

    /// A field's name is known: prepares for its value. False when the event grows too large.
    private mutating func beginValue(_ input: UnsafePointer<UInt8>, _ inputDataStart: inout Int, _ inputDataEnd: Int) -> Bool {
        switch field {
        case .data:
            if hasData {
                moveInputData(input, &inputDataStart, inputDataEnd)
                guard data.count < maxEventBytes else { return false }
                data.append(Self.lineFeed)
                zeroCopyCandidate = false
            } else {
                hasData = true
                zeroCopyCandidate = true
            }
        case .event:
            eventType.removeAll(keepingCapacity: true)
        case .ignored:
            break
        }
        return true
    }

    /// Bytes `start..<end` of the input belong to the current field's value.
    @inline(__always)
    private mutating func appendValue(
        _ input: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ inputDataStart: inout Int, _ inputDataEnd: inout Int
    ) -> Bool {
        switch field {
        case .data:
            if zeroCopyCandidate {
                zeroCopyCandidate = false
                guard end - start <= maxEventBytes else { return false }
                inputDataStart = start
                inputDataEnd = end
            } else {
                moveInputData(input, &inputDataStart, inputDataEnd)
                guard data.count + (end - start) <= maxEventBytes else { return false }
                data.append(contentsOf: UnsafeBufferPointer(start: input + start, count: end - start))
            }
        case .event:
            guard eventType.count + (end - start) <= maxEventBytes else { return false }
            eventType.append(contentsOf: UnsafeBufferPointer(start: input + start, count: end - start))
        case .ignored:
            break
        }
        return true
    }

    /// Copies data still in the input into the buffer, before more is appended.
    private mutating func moveInputData(_ input: UnsafePointer<UInt8>, _ inputDataStart: inout Int, _ inputDataEnd: Int) {
        guard inputDataStart >= 0 else { return }
        data.append(contentsOf: UnsafeBufferPointer(start: input + inputDataStart, count: inputDataEnd - inputDataStart))
        inputDataStart = -1
    }

    /// An empty line: delivers the event if it has data, then starts a new one.
    @inline(__always)
    private mutating func dispatch(
        _ input: UnsafePointer<UInt8>, _ inputDataStart: inout Int, _ inputDataEnd: Int, _ onEvent: (SSEEvent) -> Void
    ) {
        if hasData {
            if inputDataStart >= 0 {
                let eventData = UnsafeRawBufferPointer(start: input + inputDataStart, count: inputDataEnd - inputDataStart)
                eventType.withUnsafeBytes { type in onEvent(SSEEvent(type: type, data: eventData)) }
                inputDataStart = -1
            } else {
                eventType.withUnsafeBytes { type in
                    data.withUnsafeBytes { eventData in onEvent(SSEEvent(type: type, data: eventData)) }
                }
                data.removeAll(keepingCapacity: true)
            }
            hasData = false
            zeroCopyCandidate = false
        }
        if !eventType.isEmpty { eventType.removeAll(keepingCapacity: true) }
    }
}
