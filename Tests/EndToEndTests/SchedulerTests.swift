import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

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
        let server = try FakeProvider(latency: 0.5)
        let input = corpus(320)
        let flags = ["--window", "32", "--batch-size", "16"]
        let fed = try Embcache.run(
            server.flags() + flags + ["--max-requests", "8", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
        #expect(fed.status == 0, "\(fed.stderrText)")
        #expect(server.answers.count == 20)
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
        let server = try FakeProvider(latency: 0.3)
        let input = (0..<160).map { "{\"id\":\($0),\"text\":\"text \(($0 * 7) % 48)\"}\n" }.joined()
        let flags = ["--window", "32", "--batch-size", "4"]
        let fed = try Embcache.run(
            server.flags() + flags + ["--max-requests", "8", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
        #expect(fed.status == 0, "\(fed.stderrText)")
        #expect(server.answers.map(\.texts).reduce(0, +) == 48)

        let single = try Self.oneRequestAtATime(input, flags)
        #expect(single.status == 0)
        #expect(fed.stdout == single.stdout)
        #expect(parseJSONLines(fed.stdout).map { $0["id"] as! Int } == Array(0..<160))
    }

    /// No request slot waits while texts remain to be sent. The server
    /// answers the oldest request only once all eight slots hold one (and
    /// its 0.2 s are up), so a slot left empty while work remains stalls it
    /// until no request has come for three seconds, when it answers all it
    /// holds: the record shows such an answer before the last arrival.
    /// Four windows of 1024 texts (the default for 8 requests of 32), so
    /// the slots are fed across three window boundaries; a scheduler that
    /// finishes window by window empties the slots at each.
    @Test func noSlotIsLeftEmptyWhileTextsRemain() throws {
        let server = try FakeProvider(latency: 0.2, hold: 8, idle: 3)
        let input = corpus(4096)
        let flags = ["--batch-size", "32"]
        let fed = try Embcache.run(
            server.flags() + flags + ["--max-requests", "8", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
        #expect(fed.status == 0, "\(fed.stderrText)")
        let answers = server.answers
        #expect(answers.count == 128)
        #expect(answers.map(\.texts).reduce(0, +) == 4096)
        // Only the last seven, once every request was sent, wait for the
        // server to give up on a full house.
        let early = answers.filter { $0.reason == "idle" && $0.arrivals < answers.count }
        #expect(
            early.isEmpty,
            "\(early.count) requests were answered with \(early.first?.held ?? 0) of 8 slots held, before request \(early.first?.arrivals ?? 0) of \(answers.count) arrived"
        )
        #expect(answers.filter { $0.reason == "full" }.count >= answers.count - 7)
        #expect(server.mostInFlight <= 8)

        let single = try Self.oneRequestAtATime(input, flags)
        #expect(single.status == 0)
        #expect(fed.stdout == single.stdout)
    }

    /// A window's vectors are committed as its batches are answered, not
    /// once its last batch is in: at the end of a run only the last few
    /// batches are left to commit, and a run killed in the middle of a
    /// long window keeps what it was answered. One window of 2048 texts in
    /// 64 requests, one at a time; the cache is read while the window's
    /// last requests are still to come.
    @Test func answeredBatchesAreCommittedBeforeTheirWindowEnds() throws {
        let server = try FakeProvider(latency: 0.05)
        let cache = TemporaryDirectory()
        let running = try RunningProcess(
            Embcache.binary,
            server.flags()
                + ["--window", "2048", "--batch-size", "32", "--max-requests", "1", "--cache-dir", cache.path],
            environment: server.environment)
        running.feed(Data(corpus(2048).utf8))
        running.closeInput()
        var committed = 0
        var answered = 0
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !running.outputsClosed {
            running.pump(seconds: 0.05)
            // The first 1024 vectors (32 answers) make a transaction.
            guard server.answers.count > 32 else { continue }
            committed = try Self.committedVectors(cache.path)
            answered = server.answers.count
            if committed > 0 || answered >= 64 { break }
        }
        running.signal(SIGKILL)
        _ = running.finish()
        #expect(committed >= 1024, "\(committed) vectors committed after \(answered) of 64 answers")
        #expect(answered < 64, "the window's last batch was answered before a vector was committed")
    }

    /// Rows of the model file's `embedding` table, through Python's sqlite3.
    static func committedVectors(_ directory: String) throws -> Int {
        let result = try python(
            """
            import glob, sqlite3, sys
            files = glob.glob(sys.argv[1] + "/embedding-*.sqlite")
            print(sqlite3.connect(files[0]).execute("SELECT count(*) FROM embedding").fetchone()[0] if files else 0)
            """, [directory])
        return Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// The thread whose work can wait (the commits) runs at nice 5 above
    /// the rest, so that on a busy machine a
    /// request slot whose answer has come gets a core first. Read from
    /// /proc while the four requests are held by the server.
    @Test func workThatCanWaitYieldsToTheRequestSlots() throws {
        let server = try FakeProvider(hold: 100, idle: 60)
        let running = try RunningProcess(
            Embcache.binary,
            server.flags() + ["--batch-size", "64", "--max-requests", "4", "--cache-dir", TemporaryDirectory().path],
            environment: server.environment)
        running.feed(Data(corpus(4096).utf8))
        running.closeInput()
        let base = Int(getpriority(Int32(PRIO_PROCESS.rawValue), 0))
        var nices: [Int] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            running.pump(seconds: 0.1)
            nices = Self.threadNices(of: running.pid)
            if nices.filter({ $0 == base + 5 }).count >= 1 && nices.filter({ $0 == base }).count >= 6 { break }
        }
        running.signal(SIGKILL)
        _ = running.finish()
        // The committer; the main stage, the writer and the four slots.
        #expect(nices.filter { $0 == base + 5 }.count >= 1, "nice values \(nices), started at \(base)")
        #expect(nices.filter { $0 == base }.count >= 6, "nice values \(nices), started at \(base)")
    }

    /// Each thread's nice value (field 19 of /proc/PID/task/TID/stat).
    static func threadNices(of pid: pid_t) -> [Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { task in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil
        }
    }

    /// The same run with one request in flight, against a server without
    /// latency: the output every schedule must give.
    static func oneRequestAtATime(_ input: String, _ flags: [String]) throws -> ProcessResult {
        let server = try FakeProvider()
        return try Embcache.run(
            server.flags() + flags + ["--max-requests", "1", "--cache-dir", TemporaryDirectory().path],
            stdin: input, environment: server.environment)
    }
}
