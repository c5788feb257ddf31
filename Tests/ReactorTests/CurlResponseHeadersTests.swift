import Testing
@testable import Reactor

@Suite struct CurlResponseHeadersTests {
    let headers = CurlResponseHeaders(lines: Array(
        "Content-Type: text/event-stream\r\nRETRY-after: \t 7 \r\nX-Empty:\r\nRetry-After: 9\r\nbroken line\r\n".utf8))

    @Test func findsTheFirstMatchCaseInsensitivelyAndTrimmed() {
        #expect(headers.value(of: "Retry-After") == "7")
        #expect(headers.value(of: "content-type") == "text/event-stream")
    }

    @Test func emptyAndMissingHeaders() {
        #expect(headers.value(of: "X-Empty") == "")
        #expect(headers.value(of: "Retry") == nil, "a prefix of a name is not the name")
        #expect(headers.value(of: "broken line") == nil)
        #expect(CurlResponseHeaders().value(of: "Retry-After") == nil)
    }
}
