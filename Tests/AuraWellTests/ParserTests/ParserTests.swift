import Testing

/// The sans-IO parsers (SSE, chat chunks, JSON); every suite nests here so that
/// `swift test --filter ParserTests` runs exactly these.
@Suite enum ParserTests {}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}
