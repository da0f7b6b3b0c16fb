import Foundation
import Testing

/// The request slots are fed across window boundaries: windows are looked
/// up and sent ahead of the one being committed while the slots are short
/// of work, and the output and the commits keep input order.
@Suite struct SchedulerTests {
    /// Windows of 32 texts, batches of 16: two batches a window. Finishing
    /// window by window, the requests of two windows at most (four) were in
    /// flight at once, whatever --max-requests allowed; fed across windows,
    /// the slow server holds all eight. The count is the server's record of
    /// what overlapped, not a clock's.
    @Test func slotsAreRefilledAcrossWindowBoundaries() throws {
        let server = try EmbeddingServer(api: "openai", latency: 0.5)
        let input = corpus(320)
        let flags = ["--window", "32", "--batch-size", "16"]
        let fed = try Embcache.run(
            server.flags() + flags + ["--max-requests", "8", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
        #expect(fed.status == 0, "\(fed.stderrText)")
        #expect(server.requests.count == 20)
        #expect(server.mostInFlight > 4, "at most \(server.mostInFlight) requests were in flight")
        #expect(server.mostInFlight <= 8)

        let single = try Self.oneRequestAtATime(input, flags)
        #expect(single.status == 0)
        #expect(fed.stdout == single.stdout)
    }

    /// A text sent by a window still in flight is not sent again by the
    /// windows after it, however many are ahead: each of 48 texts spread
    /// over 160 records (windows of 32) is computed once, and every copy
    /// gets its vector in input order.
    @Test func textsInFlightAreSentOnceAndHandedOnInOrder() throws {
        let server = try EmbeddingServer(api: "openai", latency: 0.3)
        let input = (0..<160).map { "{\"id\":\($0),\"text\":\"text \(($0 * 7) % 48)\"}\n" }.joined()
        let flags = ["--window", "32", "--batch-size", "4"]
        let fed = try Embcache.run(
            server.flags() + flags + ["--max-requests", "8", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
        #expect(fed.status == 0, "\(fed.stderrText)")
        #expect(server.requests.compactMap { $0["inputs"] as? Int }.reduce(0, +) == 48)

        let single = try Self.oneRequestAtATime(input, flags)
        #expect(single.status == 0)
        #expect(fed.stdout == single.stdout)
        #expect(parseJSONLines(fed.stdout).map { $0["id"] as! Int } == Array(0..<160))
    }

    /// The same run with one request in flight, against a server without
    /// latency: the output every schedule must give.
    static func oneRequestAtATime(_ input: String, _ flags: [String]) throws -> ProcessResult {
        let server = try EmbeddingServer(api: "openai")
        return try Embcache.run(
            server.flags() + flags + ["--max-requests", "1", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
    }
}
