import CCurl
import Foundation
import Testing

@testable import EmbCacheCore
@testable import EmbCacheProviders

/// The pieces of the HTTP providers that need no server: reading answers,
/// reading Retry-After, pacing.
@Suite struct HTTPPartsTests {
    /// A host name that does not resolve is said at once: no retry fixes a
    /// misspelt URL or a machine without a network (it once took 9
    /// attempts and about 50 s of silence). A refused connection is still
    /// retried: the server may be starting.
    @Test func anUnresolvedHostIsFinalARefusedConnectionIsRetried() {
        for code in [CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY] {
            let failure = HTTPClient.failure(code)
            #expect(!failure.isTransient)
            #expect(failure.description.contains("not retried"), "\(failure.description)")
        }
        #expect(HTTPClient.failure(CURLE_COULDNT_CONNECT).isTransient)
        #expect(HTTPClient.failure(CURLE_OPERATION_TIMEDOUT).isTransient)
    }

    @Test func numberArraysAreReadStraightToFloat32() throws {
        // Decimals that round differently through Double than straight to
        // float32 are the trap: 1.00000005960464477539062500000001 is just
        // over the midpoint between 1 and the next float.
        let text =
            #"{"data":[{"index":0,"embedding":[0.1,-2.5e-3,1.00000005960464477539062500000001,1e-46,3.4028235e38]}]}"#
        let document = try JSONValue.parse(Array(text.utf8))
        guard case .numbers(let floats)? = document["data"]?.elements?.first?["embedding"] else {
            Issue.record("not read as numbers: \(document)")
            return
        }
        #expect(
            floats == [Float("0.1")!, Float("-2.5e-3")!, Float(bitPattern: 0x3F80_0001), 0, .greatestFiniteMagnitude])
        #expect(document["data"]?.elements?.first?["index"]?.integer == 0)
    }

    @Test func mixedArraysAndScalarsKeepTheirValues() throws {
        let document = try JSONValue.parse(Array(#"[1, "two", [3.5], {"k": null, "b": true}, -0.25]"#.utf8))
        #expect(
            document
                == .array([
                    .number(1), .string("two"), .numbers([3.5]), .object(["k": .null, "b": .bool(true)]),
                    .number(-0.25),
                ]))
        #expect(try JSONValue.parse(Array("[]".utf8)) == .array([]))
        #expect(try JSONValue.parse(Array(#""\u00e9\n""#.utf8)) == .string("é\n"))
    }

    @Test func malformedAnswersAreRefused() {
        for text in ["", "{", #"{"a":1,}"#, "[1,2", "[01]", "NaN", #"{"a":1} x"#, "[1e]", "[-]"] {
            #expect(throws: JSONScanner.Failure.self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
        }
    }

    @Test func retryAfterReadsMillisecondsSecondsAndDates() {
        #expect(HTTPProvider.retryAfter(["retry-after-ms": "250"]) == .milliseconds(250))
        #expect(HTTPProvider.retryAfter(["retry-after-ms": "12.5", "retry-after": "9"]) == .milliseconds(13))
        // A day's wait is kept as asked (and then stops the run), a huge
        // one is capped at a year.
        #expect(HTTPProvider.retryAfter(["retry-after": "86400"]) == .seconds(86400))
        #expect(HTTPProvider.retryAfter(["retry-after": "1e300"]) == .seconds(31_536_000))
        #expect(HTTPProvider.retryAfter(["retry-after": "2"]) == .seconds(2))
        #expect(HTTPProvider.retryAfter(["retry-after": "0.5"]) == .milliseconds(500))
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(HTTPProvider.retryAfter(["retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"], now: now) == .seconds(30))
        #expect(HTTPProvider.retryAfter(["retry-after": "Wednesday, 21-Oct-15 07:28:10 GMT"], now: now) == .seconds(10))
        #expect(HTTPProvider.retryAfter(["retry-after": "Wed Oct 21 07:28:05 2015"], now: now) == .seconds(5))
        // A date in the past means now; nonsense means the client's own
        // backoff.
        #expect(HTTPProvider.retryAfter(["retry-after": "Wed, 21 Oct 2015 07:00:00 GMT"], now: now) == .zero)
        #expect(HTTPProvider.retryAfter(["retry-after": "soon"]) == nil)
        #expect(HTTPProvider.retryAfter(["retry-after": "-1"]) == nil)
        #expect(HTTPProvider.retryAfter([:]) == nil)
    }

    @Test func thePacerSpacesRequestsAndTokens() {
        let requests = RequestPacer(requestsPerMinute: 60, tokensPerMinute: nil)
        #expect(requests.admit(tokens: 1) < .milliseconds(50))
        let second = requests.admit(tokens: 1)
        #expect(second > .milliseconds(900) && second <= .seconds(1))
        let third = requests.admit(tokens: 1)
        #expect(third > .milliseconds(1900) && third <= .seconds(2))

        // 6000 tokens a minute: 100 tokens take a second of the budget.
        let tokens = RequestPacer(requestsPerMinute: nil, tokensPerMinute: 6000)
        #expect(tokens.admit(tokens: 100) < .milliseconds(50))
        let next = tokens.admit(tokens: 1)
        #expect(next > .milliseconds(900) && next <= .seconds(1))
    }

    @Test func tokensAreEstimatedFromBytes() {
        #expect(RequestPacer.estimatedTokens(["", "a", "abcd", "abcde"]) == 1 + 1 + 1 + 2)
        #expect(RequestPacer.estimatedTokens([String(repeating: "é", count: 10)]) == 5)
    }

    /// Each API's request carries the parameters that change vectors, and
    /// the identity records exactly those.
    @Test func identityParametersAreTheOnesThatChangeVectors() {
        var settings = HTTPProviderSettings(api: .cohere, model: "embed-v4.0", baseURL: "http://x", key: nil)
        #expect(settings.identityParameters == ["input_type": "search_document"])
        settings.dimensions = 256
        settings.truncate = "END"
        #expect(
            settings.identityParameters == ["input_type": "search_document", "dimensions": "256", "truncate": "END"])
        let openai = HTTPProviderSettings(api: .openai, model: "text-embedding-3-small", baseURL: "http://x", key: nil)
        #expect(openai.identityParameters.isEmpty)
        let gemini = HTTPProviderSettings(
            api: .gemini, model: "gemini-embedding-001", baseURL: "http://x", key: nil, taskType: "CLUSTERING")
        #expect(gemini.identityParameters == ["task_type": "CLUSTERING"])
    }
}
