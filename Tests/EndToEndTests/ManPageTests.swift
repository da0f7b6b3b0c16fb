import Foundation
import Testing

/// man/embcache.1 against what the binary and its sources say: options and
/// their defaults against --help, exit statuses against the code, and the
/// page itself against the linters.
@Suite struct ManPageTests {
    static let pagePath = Embcache.packageRoot.appendingPathComponent("man/embcache.1").path

    static func page() throws -> String {
        try String(contentsOfFile: pagePath, encoding: .utf8)
    }

    /// The lines of one `.Sh` section, without its heading.
    static func section(_ name: String, of page: String) -> [Substring] {
        var lines: [Substring] = []
        var inside = false
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(".Sh ") {
                inside = line.dropFirst(4) == name
                continue
            }
            if inside { lines.append(line) }
        }
        return lines
    }

    static func matches(_ pattern: String, in text: some StringProtocol) -> [[String]] {
        let regex = try! NSRegularExpression(pattern: pattern)
        let string = String(text)
        return regex.matches(in: string, range: NSRange(string.startIndex..., in: string)).map { match in
            (0..<match.numberOfRanges).map { index in
                Range(match.range(at: index), in: string).map { String(string[$0]) } ?? ""
            }
        }
    }

    /// One option of --help: its long name, short name if any, default if
    /// it prints one.
    struct HelpOption {
        var long: String
        var short: String?
        var defaultValue: String?
    }

    /// The OPTIONS part of --help, one entry per option, wrapped lines
    /// joined.
    static func helpOptions() throws -> [HelpOption] {
        let help = try Embcache.run(["--help"])
        #expect(help.status == 0)
        guard let start = help.stdoutText.range(of: "\nOPTIONS:\n") else {
            Issue.record("no OPTIONS in --help:\n\(help.stdoutText)")
            return []
        }
        var entries: [String] = []
        for line in help.stdoutText[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("  -") {
                entries.append(String(line))
            } else if line.hasPrefix("   "), !entries.isEmpty {
                entries[entries.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        return entries.compactMap { entry in
            guard let head = matches(#"^\s+(?:-([a-z]), )?--([a-z][a-z-]*)"#, in: entry).first else { return nil }
            let defaultValue = matches(#"default: ([^;)]+)\)"#, in: entry).first?[1]
            return HelpOption(long: head[2], short: head[1].isEmpty ? nil : head[1], defaultValue: defaultValue)
        }
    }

    /// The `.It` entries of the OPTIONS section by long option, each with
    /// its text up to the next option.
    static func manOptionEntries() throws -> [String: String] {
        var entries: [String: String] = [:]
        var current: String?
        for line in section("OPTIONS", of: try page()) {
            if line.hasPrefix(".It "), let name = matches(#"Fl -([a-z][a-z-]*)"#, in: line).first?[1] {
                current = name
                entries[name] = String(line)
            } else if let current {
                entries[current]! += "\n" + line
            }
        }
        return entries
    }

    @Test func everyOptionOfHelpHasAnEntryInOptionsAndNoOtherDoes() throws {
        let help = try Self.helpOptions()
        #expect(help.count > 10)
        let documented = try Self.manOptionEntries()
        let helpNames = Set(help.map(\.long))
        #expect(helpNames.subtracting(documented.keys).sorted() == [], "options of --help missing from OPTIONS")
        #expect(Set(documented.keys).subtracting(helpNames).sorted() == [], "OPTIONS entries that --help does not know")
    }

    @Test func everyLongOptionThePageMentionsExists() throws {
        let help = try Embcache.run(["--help"])
        let known = Set(Self.matches(#"--([a-z][a-z-]*)"#, in: help.stdoutText).map { $0[1] })
        let page = try Self.page()
        let mentioned = Set(Self.matches(#"Fl -([a-z][a-z-]*)"#, in: page).map { $0[1] })
        #expect(mentioned.subtracting(known).sorted() == [], "the page names options --help does not know")
        // Options of the OPTIONS part, including those only named in
        // another option's help text, are all on the page.
        let optionsPart = help.stdoutText.components(separatedBy: "\nOPTIONS:\n").last ?? ""
        let inOptions = Set(Self.matches(#"--([a-z][a-z-]*)"#, in: optionsPart).map { $0[1] })
        #expect(inOptions.subtracting(mentioned).sorted() == [], "options of --help the page never names")
    }

    @Test func shortOptionsAndDefaultsMatchHelp() throws {
        let documented = try Self.manOptionEntries()
        for option in try Self.helpOptions() {
            guard let entry = documented[option.long] else { continue }
            if let short = option.short {
                #expect(
                    entry.hasPrefix(".It Fl \(short) , Fl -\(option.long)"),
                    "--\(option.long): expected `.It Fl \(short) , Fl -\(option.long)`, got \(entry.prefix(60))")
            }
            guard let value = option.defaultValue else { continue }
            // 60.0 in --help reads 60 on the page.
            var forms = [value]
            if let number = Double(value), number == number.rounded() { forms.append(String(Int(number))) }
            let text = entry.replacingOccurrences(of: "\n", with: " ")
            #expect(
                forms.contains { text.contains("default is \($0)") || Self.defaultIsMacro(text, $0) },
                "--\(option.long): the page does not give its default \(value)")
        }
    }

    /// `The default is` followed by the value as a macro argument, such as
    /// `.Cm jsonl` or `.Ql text`.
    static func defaultIsMacro(_ text: String, _ value: String) -> Bool {
        !matches(#"default is \.(?:Cm|Ql|Ar|Li) \#(NSRegularExpression.escapedPattern(for: value))(?: |$)"#, in: text)
            .isEmpty
    }

    // MARK: - Exit statuses

    /// The statuses as EXIT STATUS documents them.
    static let documentedStatuses: Set<Int32> = [0, 64, 65, 66, 69, 70, 74, 78, 130]

    @Test func exitStatusSectionListsWhatTheCodeUses() throws {
        let listed = Set(
            Self.section("EXIT STATUS", of: try Self.page()).compactMap { line -> Int32? in
                guard line.hasPrefix(".It ") else { return nil }
                return Int32(line.dropFirst(4))
            })
        #expect(listed == Self.documentedStatuses)

        // The code's statuses: the mapping in exitStatus(of:), and the
        // literal exits of main (success, an error the engine did not type).
        let source = try String(
            contentsOfFile: Embcache.packageRoot.appendingPathComponent("Sources/embcache/Main.swift").path,
            encoding: .utf8)
        guard let start = source.range(of: "func exitStatus(of error: EmbCacheError) -> Int32 {"),
            let end = source.range(of: "\n}\n", range: start.upperBound..<source.endIndex)
        else {
            Issue.record("exitStatus(of:) not found in Main.swift")
            return
        }
        let mapped = Self.matches(#"case [^:\n]+: (\d+)"#, in: source[start.upperBound..<end.lowerBound]).map { $0[1] }
        let literal = Self.matches(#"exit\((\d+)\)"#, in: source).map { $0[1] }
        // ArgumentParser exits 64 on usage errors by itself.
        let used = Set((mapped + literal).compactMap { Int32($0) } + [64])
        #expect(mapped.count >= 8)
        #expect(used == Self.documentedStatuses)
    }

    @Test func realRunsExitAsDocumented() throws {
        let cache = TemporaryDirectory()
        let base = ["--model", "hash-8", "--cache-dir", cache.path]
        let cases: [(String, [String], String, Int32)] = [
            ("help", ["--help"], "", 0),
            ("unknown option", ["--bogus"], "", 64),
            ("no model", ["--cache-dir", cache.path], "{\"text\":\"a\"}\n", 64),
            ("invalid JSON", base, "{\"text\":\"a\"}\nnot json\n", 65),
            ("missing input file", base + [cache.file("absent.jsonl").path], "", 66),
            (
                "provider exits", ["--model", "m", "--cache-dir", cache.path, "--command", "exit 3"],
                "{\"text\":\"a\"}\n", 69
            ),
            (
                "output directory missing", base + ["-o", cache.file("no/such/dir/out.jsonl").path],
                "{\"text\":\"a\"}\n", 74
            ),
            (
                "cache directory is a file", ["--model", "hash-8", "--cache-dir", cache.write("file", "x").path],
                "{\"text\":\"a\"}\n", 78
            ),
        ]
        for (name, arguments, input, status) in cases {
            let result = try Embcache.run(arguments, stdin: input)
            #expect(Self.documentedStatuses.contains(status))
            #expect(result.status == status, "\(name): \(result.stderrText)")
        }
    }

    // MARK: - Lint

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mandoc")))
    func mandocLintIsClean() throws {
        let result = try runProcess("/usr/bin/mandoc", ["-Tlint", Self.pagePath])
        // Whether jq(1) or sqlite3(1) are installed, and indexed, is the
        // machine's business, not the page's.
        let messages = (result.stdoutText + result.stderrText).split(separator: "\n").filter {
            !$0.contains("mandoc.db") && !$0.contains("referenced manual not found")
        }
        #expect(messages == [])
        #expect(result.status == 0)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/groff")))
    func groffFindsNothingToWarnAbout() throws {
        let result = try runProcess("/usr/bin/groff", ["-mdoc", "-ww", "-z", Self.pagePath])
        #expect(result.stderrText == "")
        #expect(result.status == 0)
    }
}
