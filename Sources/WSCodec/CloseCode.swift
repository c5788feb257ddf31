/// A WebSocket close status code (RFC 6455 §7.4, IANA registry).
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = WebSocketCloseCode(1000)
    public static let goingAway = WebSocketCloseCode(1001)
    public static let protocolError = WebSocketCloseCode(1002)
    public static let unsupportedData = WebSocketCloseCode(1003)
    /// Never sent on the wire: "the close frame carried no status code".
    public static let noStatus = WebSocketCloseCode(1005)
    /// Never sent on the wire: "the connection dropped without a close frame" (EOF).
    public static let abnormal = WebSocketCloseCode(1006)
    public static let invalidPayload = WebSocketCloseCode(1007)
    public static let policyViolation = WebSocketCloseCode(1008)
    public static let messageTooBig = WebSocketCloseCode(1009)
    public static let mandatoryExtension = WebSocketCloseCode(1010)
    public static let internalError = WebSocketCloseCode(1011)
    public static let serviceRestart = WebSocketCloseCode(1012)
    public static let tryAgainLater = WebSocketCloseCode(1013)
    public static let badGateway = WebSocketCloseCode(1014)

    /// Whether a close frame may carry this code: 1000-1003 and 1007-1014 (RFC 6455 plus the
    /// IANA-registered 1012-1014, as Autobahn expects), and 3000-4999 (registered and private use).
    /// 1004 (reserved), 1005, 1006 and 1015 (local-only), anything below 1000, 1016-2999 (reserved
    /// for future RFCs) and 5000+ are rejected.
    public static func isSendableOnWire(_ raw: UInt16) -> Bool {
        switch raw {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    public var isSendableOnWire: Bool { Self.isSendableOnWire(rawValue) }

    public var description: String { String(rawValue) }
}
