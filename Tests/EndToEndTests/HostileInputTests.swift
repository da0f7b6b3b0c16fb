import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Input made to break a parser, through the real binary: no crash (the
/// status is 0 or 65, never a signal), no hang, bounded memory, each error
/// naming its line, and every vector the one of its own record's text.
@Suite struct HostileInputTests {
    enum Outcome: Sendable {
        /// Refused, with a message starting so (after `stdin:N: `).
        case error(String)
        /// Accepted, with this text.
        case text(String)
    }

    struct Hostile: CustomTestStringConvertible, Sendable {
        var name: String
        var line: [UInt8]
        var outcome: Outcome
        var testDescription: String { name }
    }

    static func record(_ text: String) -> [UInt8] { Array("{\"text\":\"\(text)\"}".utf8) }
    static func record(raw: [UInt8]) -> [UInt8] { Array("{\"text\":\"".utf8) + raw + Array("\"}".utf8) }

    static let cases: [Hostile] = {
        var cases: [Hostile] = []
        func add(_ name: String, _ line: [UInt8], _ outcome: Outcome) {
            cases.append(Hostile(name: name, line: line, outcome: outcome))
        }
        var random = SeededRandom(seed: 4)
        add(
            "random bytes",
            (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }.map { $0 == 0x0A ? 0x20 : $0 },
            .error(""))
        // Nesting.
        add(
            "10^5 open brackets", Array(repeating: UInt8(ascii: "["), count: 100_000),
            .error("invalid JSON: nested deeper than 512 levels"))
        add(
            "10^5 nested objects", Array(String(repeating: "{\"a\":", count: 100_000).utf8),
            .error("invalid JSON: nested deeper than 512 levels"))
        add(
            "nested 600 deep at the text field",
            Array(("{\"text\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}").utf8),
            .error("invalid JSON: nested deeper than 512 levels"))
        add(
            "nested 511 deep beside the text",
            Array(
                ("{\"x\":" + String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
                    + ",\"text\":\"deep\"}").utf8),
            .text("deep"))
        // Numbers.
        add("an exponent of 10^9", Array("{\"n\":1e999999999,\"text\":\"huge exponent\"}".utf8), .text("huge exponent"))
        add(
            "an integer of 10^5 digits",
            Array(("{\"n\":-" + String(repeating: "9", count: 100_000) + ",\"text\":\"digits\"}").utf8),
            .text("digits"))
        add(
            "a fraction of 10^4 zeros",
            Array(("{\"n\":0." + String(repeating: "0", count: 10_000) + "1E-99999,\"text\":\"tiny\"}").utf8),
            .text("tiny"))
        for bad in ["01", "1.", "-", ".5", "+1", "NaN", "Infinity", "1e", "0x10", "1_000"] {
            add("number \(bad)", Array("{\"n\":\(bad),\"text\":\"x\"}".utf8), .error("invalid JSON"))
        }
        // UTF-8: the byte of the line where it goes wrong.
        let utf8: [(String, [UInt8])] = [
            ("a lone continuation byte", [0x80]), ("overlong slash C0 AF", [0xC0, 0xAF]),
            ("overlong E0 80 AF", [0xE0, 0x80, 0xAF]), ("overlong F0 80 80 AF", [0xF0, 0x80, 0x80, 0xAF]),
            ("an encoded surrogate ED A0 80", [0xED, 0xA0, 0x80]),
            ("past U+10FFFF F4 90 80 80", [0xF4, 0x90, 0x80, 0x80]),
            ("byte FF", [0xFF]), ("a sequence cut short E2 82", [0xE2, 0x82]),
        ]
        for (name, bytes) in utf8 {
            add(
                "invalid UTF-8: \(name)", record(raw: Array("ok ".utf8) + bytes),
                .error("invalid UTF-8 at byte 13 of the line"))
        }
        add(
            "invalid UTF-8 in a key", Array("{\"".utf8) + [0xC3, 0x28] + Array("\":1,\"text\":\"k\"}".utf8),
            .error("invalid UTF-8 at byte 3 of the line"))
        add(
            "invalid UTF-8 outside strings", Array("{\"text\":\"o\"}".utf8) + [0xFE],
            .error("invalid UTF-8 at byte 13 of the line"))
        // NUL.
        add(
            "a raw NUL in the text", record(raw: [0x61, 0x00, 0x62]),
            .error("invalid JSON: control character in a string"))
        add(
            "a raw NUL outside strings", Array("{\"text\":\"n\"".utf8) + [0x00] + Array("}".utf8),
            .error("invalid JSON"))
        add("an escaped NUL", record("a\\u0000b"), .text("a\u{0}b"))
        add("only an escaped NUL", record("\\u0000"), .text("\u{0}"))
        // Surrogate escapes.
        add("an escaped surrogate pair", record("\\ud83d\\ude00 pair"), .text("😀 pair"))
        add("an escaped surrogate pair in capitals", record("\\uD83D\\uDE00 pair"), .text("😀 pair"))
        for (name, escape) in [
            ("a lone high surrogate", "\\ud800"), ("a lone low surrogate", "\\udc00"),
            ("two high surrogates", "\\ud800\\ud800"),
            ("a reversed pair", "\\ude00\\ud83d"), ("a high surrogate before another escape", "\\ud800\\n"),
            ("a high surrogate before a plain character", "\\ud800x"),
        ] {
            add("escaped: \(name)", record(escape), .error("invalid JSON: unpaired surrogate escape"))
        }
        add("an escape cut short", record("\\u12"), .error("invalid JSON"))
        add("an unknown escape", record("\\x41"), .error("invalid JSON: invalid escape"))
        // BOM and CR inside a file.
        add(
            "a byte order mark on a later line", [0xEF, 0xBB, 0xBF] + record("bom"),
            .error("invalid JSON: unexpected byte 0xEF"))
        add("a byte order mark inside the text", record("\u{FEFF}bom"), .text("\u{FEFF}bom"))
        add("carriage returns as whitespace", Array("{\"text\":\"cr\"}\r\r".utf8), .text("cr"))
        add(
            "a lone carriage return between two records", Array("{\"text\":\"a\"}\r{\"text\":\"b\"}".utf8),
            .error("invalid JSON"))
        // Shapes.
        add("an empty object", Array("{}".utf8), .error("missing field \"text\""))
        add("a bare string", Array("\"text\"".utf8), .error("record is not a JSON object"))
        add("two objects on one line", Array("{\"text\":\"a\"}{\"text\":\"b\"}".utf8), .error("invalid JSON"))
        add("a duplicated text field", Array("{\"text\":\"first\",\"text\":\"last\"}".utf8), .text("last"))
        add("an escaped field name", Array("{\"t\\u0065xt\":\"escaped name\"}".utf8), .text("escaped name"))
        // Every prefix of a record is refused, whatever it cuts.
        let full = Array(#"{"id":[1,2.5e-3,{"k":null}],"text":"héllo \u00e9 \ud83d\ude00 \"q\""}"#.utf8)
        for length in 1..<full.count {
            add("truncated JSON, \(length) of \(full.count) bytes", Array(full.prefix(length)), .error(""))
        }
        add("the untruncated record", full, .text("héllo é 😀 \"q\""))
        return cases
    }()

    /// Runs embcache with a bound on its time: a hang fails the test, it
    /// does not stall it.
    func run(_ arguments: [String], _ input: Data, seconds: Double = 120) throws -> ProcessResult {
        let running = try RunningProcess(Embcache.binary, arguments)
        running.feed(input)
        let (result, hung) = running.finish(within: seconds)
        #expect(!hung, "embcache did not finish within \(seconds) s")
        #expect(result.status == 0 || result.status == 65, "status \(result.status): \(result.stderrText.prefix(500))")
        return result
    }

    /// Each case alone between two good records under --on-error fail: the
    /// message names line 2, the record before it is written.
    @Test func eachHostileLineFailsTheRunNamingItsLineOrIsEmbedded() throws {
        let cache = TemporaryDirectory()
        for hostile in Self.cases {
            let input = Data(Self.record("before") + [0x0A] + hostile.line + [0x0A] + Self.record("after") + [0x0A])
            let result = try run(["--model", "hash-8", "--cache-dir", cache.path], input)
            switch hostile.outcome {
            case .error(let message):
                #expect(result.status == 65, "\(hostile.name)")
                #expect(
                    result.stderrText.hasPrefix("embcache: stdin:2: \(message)"),
                    "\(hostile.name): \(result.stderrText.prefix(300))")
                #expect(result.stderrText.filter { $0 == "\n" }.count == 1, "\(hostile.name)")
                #expect(lineCount(result.stdout) == 1, "\(hostile.name)")
            case .text:
                // Which text it got is checked through Python in the next test.
                #expect(result.status == 0, "\(hostile.name): \(result.stderrText.prefix(300))")
                let lines = result.stdout.split(separator: 0x0A)
                #expect(lines.count == 3, "\(hostile.name)")
                #expect(
                    String(decoding: lines.dropFirst().first ?? Data(), as: UTF8.self).contains("\"embedding\":["),
                    "\(hostile.name)")
            }
        }
    }

    /// All cases in one input through the fake provider: each refused line
    /// is named by its number, each accepted one gets its own text's vector,
    /// and the cache keys every text by the SHA-512 of its exact bytes.
    @Test func allHostileLinesInOneRunAreSkippedByNumberAndTheRestGetTheirOwnVectors() throws {
        let work = TemporaryDirectory()
        var input: [UInt8] = []
        var expectedErrors: [Int: String] = [:]
        var expectedTexts: [String] = []
        for (index, hostile) in Self.cases.enumerated() {
            input += hostile.line + [0x0A]
            switch hostile.outcome {
            case .error(let message): expectedErrors[index + 1] = message
            case .text(let text): expectedTexts.append(text)
            }
        }
        let result = try run(
            [
                "--model", "hostile", "--cache-dir", work.path, "--command", fakeProvider("--dim 8"), "--on-error",
                "skip", "--window", "7",
            ],
            Data(input))
        #expect(result.status == 0, "\(result.stderrText.prefix(500))")
        var named: [Int: String] = [:]
        for line in result.stderrText.split(separator: "\n") {
            #expect(line.hasPrefix("embcache: warning: stdin:"), "\(line.prefix(200))")
            let rest = line.dropFirst("embcache: warning: stdin:".count)
            guard let colon = rest.firstIndex(of: ":"), let number = Int(rest[..<colon]) else { continue }
            named[number] = String(rest[rest.index(colon, offsetBy: 2)...])
        }
        #expect(Set(named.keys) == Set(expectedErrors.keys))
        for (number, message) in expectedErrors {
            #expect(named[number]?.hasPrefix(message) == true, "line \(number): \(named[number] ?? "no message")")
        }
        let output = work.file("output.jsonl")
        try result.stdout.write(to: output)
        let lines = try CacheCheck.lines([output], dim: 8)
        #expect(lines.problems.isEmpty && lines.vectors == expectedTexts.count, "\(lines.problems)")
        #expect(lines.texts == expectedTexts.map { Data($0.utf8).map { String(format: "%02x", $0) }.joined() })
        let cache = try CacheCheck.cache(work.path, model: "hostile", dim: 8)
        #expect(cache.problems.isEmpty, "\(cache.problems)")
        #expect(cache.vectors == Set(expectedTexts.map { Array($0.utf8) }).count)
    }

    // MARK: - Size

    /// A 50 MB line is never held whole: with the default 16 MiB limit,
    /// peak memory stays well under the line's size, the line is named, and
    /// the records around it are embedded.
    @Test func aFiftyMegabyteLineIsNamedAndNeverBufferedWhole() throws {
        let work = TemporaryDirectory()
        let small = Data("{\"text\":\"a\"}\n{\"text\":\"b\"}\n".utf8)
        var big = Data("{\"text\":\"a\"}\n{\"text\":\"".utf8)
        big.append(Data(repeating: UInt8(ascii: "x"), count: 50 << 20))
        big.append(Data("\"}\n{\"text\":\"b\"}\n".utf8))
        try small.write(to: work.file("small.jsonl"))
        try big.write(to: work.file("big.jsonl"))
        let arguments = ["--model", "hash-8", "--cache-dir", work.path, "--on-error", "null", "-q"]
        let baseline = try peakMemoryKiB(arguments, input: work.file("small.jsonl"))
        let peak = try peakMemoryKiB(arguments, input: work.file("big.jsonl"))
        #expect(baseline.status == 0 && peak.status == 0, "\(peak.stderr)")
        // Holding the line whole would take more than its 50 MiB.
        #expect(
            peak.kib - baseline.kib < 40 << 10, "peak \(peak.kib) KiB against \(baseline.kib) KiB for two small records"
        )

        let failing = try run(["--model", "hash-8", "--cache-dir", work.path], big)
        #expect(failing.status == 65)
        #expect(failing.stderrText == "embcache: stdin:2: line longer than 16777216 bytes (see --max-line-bytes)\n")
        let nulls = try run(arguments, big)
        #expect(lineCount(nulls.stdout) == 3)
        #expect(nulls.stdoutLines[1] == "{\"embedding\":null}")
    }

    /// Texts of 100,000 characters of one, two and four UTF-8 bytes each,
    /// some over --batch-bytes (sent alone): each gets its own vector.
    @Test func hundredThousandCharacterTextsGetTheirOwnVectors() throws {
        let work = TemporaryDirectory()
        let texts =
            ["a", "é", "😀", "日"].map { String(repeating: $0, count: 100_000) } + [
                "mixed " + String(repeating: "aé😀", count: 33_334)
            ]
        let input =
            texts.map { "{\"text\":\"\($0)\"}\n" }.joined() + texts.reversed().map { "{\"text\":\"\($0)\"}\n" }.joined()
        let inputFile = work.write("input.jsonl", input)
        let result = try run(
            [
                "--model", "long", "--cache-dir", work.path + "/cache", "--command", fakeProvider("--dim 8"),
                "--batch-bytes", "250000", "--no-normalize",
            ],
            Data(input.utf8))
        #expect(result.status == 0, "\(result.stderrText)")
        let output = work.file("output.jsonl")
        try result.stdout.write(to: output)
        let rows = try CacheCheck.rows(input: inputFile, output: output, dim: 8, ["--no-normalize"])
        #expect(rows.problems.isEmpty && rows.rows == 10, "\(rows.problems)")
        let cache = try CacheCheck.cache(work.path + "/cache", model: "long", dim: 8)
        #expect(cache.problems.isEmpty && cache.vectors == 5, "\(cache.problems)")
    }

    // MARK: - Line ends and byte order marks

    @Test func crlfInputGivesTheSameOutputAsLF() throws {
        let cache = TemporaryDirectory()
        let lf = corpus(50)
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        let arguments = ["--model", "hash-16", "--cache-dir", cache.path]
        let fromLF = try run(arguments, Data(lf.utf8))
        let fromCRLF = try run(arguments, Data(crlf.utf8))
        #expect(fromLF.status == 0 && fromCRLF.status == 0)
        #expect(fromCRLF.stdout == fromLF.stdout)
        // A last line without its line feed, CRLF or not.
        let unterminated = try run(arguments, Data(crlf.utf8).dropLast(2))
        #expect(unterminated.stdout == fromLF.stdout)
    }

    @Test func aByteOrderMarkStartingEachFileIsSkippedAndNamedNowhereElse() throws {
        let work = TemporaryDirectory()
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let first = work.file("first.jsonl")
        let second = work.file("second.jsonl")
        try Data(bom + Array("{\"text\":\"one\"}\r\n{\"text\":\"two\"}\r\n".utf8)).write(to: first)
        try Data(bom + Array("{\"text\":\"three\"}\n".utf8)).write(to: second)
        let arguments = ["--model", "hash-8", "--cache-dir", work.path + "/cache"]
        let result = try run(arguments + [first.path, second.path], Data())
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(lineCount(result.stdout) == 3)
        #expect(!result.stdout.starts(with: bom))
        #expect(parseJSONLines(result.stdout).map { $0["text"] as? String } == ["one", "two", "three"])
        let piped = try run(arguments, Data(bom + Array("{\"text\":\"one\"}\n".utf8)))
        #expect(piped.stdoutLines == [result.stdoutLines[0]])
    }

    // MARK: - Keys

    /// NFC and NFD spellings look alike but differ in bytes: two keys, two
    /// rows, two vectors; an escape of the same bytes is the same text.
    @Test func canonicallyEquivalentTextsAreDifferentTexts() throws {
        let work = TemporaryDirectory()
        let nfc = "caf\u{E9} \u{212B}ngstr\u{F6}m"
        let nfd = "cafe\u{301} A\u{30A}ngstro\u{308}m"
        #expect(nfc == nfd, "Swift compares them as equal; their bytes differ")
        #expect(Array(nfc.utf8) != Array(nfd.utf8))
        let input = "{\"text\":\"\(nfc)\"}\n{\"text\":\"\(nfd)\"}\n{\"text\":\"caf\\u00e9 \\u212bngstr\\u00f6m\"}\n"
        let inputFile = work.write("input.jsonl", input)
        let result = try run(
            [
                "--model", "unicode", "--cache-dir", work.path + "/cache", "--command", fakeProvider("--dim 8"),
                "--no-normalize",
            ],
            Data(input.utf8))
        #expect(result.status == 0, "\(result.stderrText)")
        let output = work.file("output.jsonl")
        try result.stdout.write(to: output)
        let rows = try CacheCheck.rows(input: inputFile, output: output, dim: 8, ["--no-normalize"])
        #expect(rows.problems.isEmpty && rows.rows == 3, "\(rows.problems)")
        let vectors = vectors(result.stdout)
        #expect(vectors[0] != vectors[1])
        #expect(vectors[0] == vectors[2])
        let cache = try CacheCheck.cache(work.path + "/cache", model: "unicode", dim: 8)
        #expect(cache.problems.isEmpty && cache.texts == 2 && cache.vectors == 2, "\(cache.problems)")
    }

    // MARK: - Fuzzing the whole binary

    static let seeds: [[UInt8]] = [
        #"{"text":"plain"}"#, #"{"id":1,"text":"tab\there \u00e9 \ud83d\ude00 \"q\" \\ \/"}"#,
        #"{"meta":{"a":[1,2.5e-3,true,false,null],"b":{}},"text":"nested"}"#, #"{"text":"ünïcödé 日本語 😀"}"#,
        #" { "text" : "spaces" , "n" : -0.0e+0 } "#, #"{"text":"x","extra":{"deep":[[[[]]]]}}"#,
        #"{"text":"a\u0000b"}"#, #"{"text":"dup","text":"dup2"}"#, #"{"text":"","empty":true}"#,
        #"{"text":"with an embedding field","embeddings":[1,2]}"#, #"["text"]"#, #"{}"#,
    ].map { Array($0.utf8) }

    static let tokens: [[UInt8]] =
        [
            "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\ud83d\\ude00", "{", "}", "[", "]", ":", ",", "1e999", "-", ".",
            "null", "\"text\":", "\r", "\t", " ", "\n", "\\u0000",
        ].map { Array($0.utf8) } + [
            [0x00], [0xC0, 0xAF], [0xFF], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF], [0xE2, 0x82], [0xF0, 0x9F, 0x98],
        ]

    static func mutate(_ seed: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = seed
        for _ in 0...Int.random(in: 0...4, using: &random) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty:
                let i = min(at, bytes.count - 1)
                bytes[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            case 1 where !bytes.isEmpty:
                let end = min(bytes.count, at + Int.random(in: 1...8, using: &random))
                bytes.removeSubrange(min(at, end)..<end)
            case 2: bytes.insert(contentsOf: tokens.randomElement(using: &random)!, at: at)
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            case 4: bytes = Array(bytes.prefix(at))
            case 5:
                let other = seeds.randomElement(using: &random)!
                bytes = Array(bytes.prefix(at)) + other.suffix(Int.random(in: 0...other.count, using: &random))
            default:
                let end = min(bytes.count, at + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[min(at, end)..<end], at: at)
            }
        }
        return bytes
    }

    /// How many records embcache sees in `input`, and at which line each
    /// starts: its rules for line ends, a leading BOM and blank lines.
    static func recordLines(_ input: [UInt8]) -> [Int] {
        var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last == [] { lines.removeLast() }
        var numbers: [Int] = []
        for (index, var line) in lines.enumerated() {
            if line.last == 0x0D { line.removeLast() }
            if index == 0 && line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { numbers.append(index + 1) }
        }
        return numbers
    }

    /// Mutated records through the binary, bounded in count and time: never
    /// a crash or a hang, one output line per record under null, every
    /// message naming a line that exists, and every vector its text's.
    @Test func fuzzedInputsThroughTheBinaryNeverCrashHangOrMisplaceAVector() throws {
        let seed = SeededRandom.seed()
        var random = SeededRandom(seed: seed)
        let work = TemporaryDirectory()
        let started = Date()
        var outputs: [URL] = []
        var runs = 0
        var recordsTried = 0
        // At least 10 runs however slow the machine, up to 40 while within 8 s.
        while runs < 10 || (runs < 40 && Date().timeIntervalSince(started) < 8) {
            let context = "seed \(seed), run \(runs)"
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...150, using: &random) {
                let base = Self.seeds.randomElement(using: &random)!
                input += (Bool.random(using: &random) ? Self.mutate(base, &random) : base) + [0x0A]
            }
            if Int.random(in: 0..<4, using: &random) == 0 { input.removeLast() }
            let policy = ["skip", "null", "fail"].randomElement(using: &random)!
            let window = String(Int.random(in: 1...64, using: &random))
            let records = Self.recordLines(input)
            recordsTried += records.count
            let result = try run(
                [
                    "--model", "fuzz", "--cache-dir", work.path + "/cache", "--command", fakeProvider("--dim 8"),
                    "--on-error", policy, "--window", window,
                ],
                Data(input), seconds: 60)
            runs += 1
            let stderrLines = result.stderrText.split(separator: "\n")
            var named: [Int] = []
            for line in stderrLines {
                #expect(line.hasPrefix("embcache: "), "\(context): \(line.prefix(200))")
                let rest = line.dropFirst(line.hasPrefix("embcache: warning: ") ? 19 : 10)
                guard rest.hasPrefix("stdin:"), let colon = rest.dropFirst(6).firstIndex(of: ":"),
                    let number = Int(rest.dropFirst(6)[..<colon])
                else {
                    Issue.record("\(context): a message that names no line: \(line.prefix(200))")
                    continue
                }
                named.append(number)
            }
            #expect(Set(named).isSubset(of: Set(records)), "\(context): a message names a line that holds no record")
            let outputLines = lineCount(result.stdout)
            switch policy {
            case "null":
                #expect(result.status == 0, "\(context)")
                #expect(outputLines == records.count, "\(context): \(outputLines) lines for \(records.count) records")
            case "skip":
                #expect(result.status == 0, "\(context)")
                #expect(outputLines + named.count == records.count, "\(context)")
            default:
                if result.status == 65 {
                    #expect(named.count == 1, "\(context)")
                    #expect(outputLines == records.filter { $0 < (named.first ?? 0) }.count, "\(context)")
                } else {
                    #expect(outputLines == records.count, "\(context)")
                }
            }
            let output = work.file("output-\(runs).jsonl")
            try result.stdout.write(to: output)
            outputs.append(output)
        }
        let lines = try CacheCheck.lines(outputs, dim: 8)
        #expect(lines.problems.isEmpty, "seed \(seed): \(lines.problems)")
        let cache = try CacheCheck.cache(work.path + "/cache", model: "fuzz", dim: 8)
        #expect(cache.problems.isEmpty, "seed \(seed): \(cache.problems)")
        #expect(runs >= 10, "seed \(seed): only \(runs) runs")
        print(
            "HostileInputTests: seed \(seed), \(runs) fuzzed runs, \(recordsTried) records, \(lines.vectors) vectors checked"
        )
    }
}

/// Lines of an output, counted by its line feeds (a `\r` kept from the
/// input before one does not merge two lines, as it does for Swift's
/// `Character`s).
func lineCount(_ data: Data) -> Int {
    data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
}
