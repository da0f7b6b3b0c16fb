import Foundation
import Testing

/// man/embcache.1 against what the binary and its sources say: options and
/// their defaults against --help, the filter's and each command's, exit
/// statuses against the code, and the page itself against the linters.
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

    /// The `.Ss` subsections of a section's lines, by name, each without
    /// its heading.
    static func subsections(of lines: [Substring]) -> [String: [Substring]] {
        var found: [String: [Substring]] = [:]
        var current: String?
        for line in lines {
            if line.hasPrefix(".Ss ") {
                current = String(line.dropFirst(4))
                found[current!, default: []] = []
            } else if let current {
                found[current]!.append(line)
            }
        }
        return found
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

    /// The options of the filter's --help, or of a command's, one entry
    /// per option, wrapped lines joined; without -h, --help and --version,
    /// which every command takes and the page says once for all.
    static func helpOptions(_ command: String? = nil) throws -> [HelpOption] {
        let help = try Embcache.run((command.map { [$0] } ?? []) + ["--help"])
        #expect(help.status == 0)
        // Every group of options after the usage line (INPUT:, OUTPUT:, ...).
        guard let start = help.stdoutText.range(of: "\nUSAGE:") else {
            Issue.record("no USAGE in --help:\n\(help.stdoutText)")
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
            guard let head = matches(#"^\s+(?:-([a-z]), )?--([a-z][a-z-]*)"#, in: entry).first,
                !["help", "version"].contains(head[2])
            else { return nil }
            let defaultValue = matches(#"default: ([^;)]+)\)"#, in: entry).first?[1]
            return HelpOption(long: head[2], short: head[1].isEmpty ? nil : head[1], defaultValue: defaultValue)
        }
    }

    /// The `.It` entries of the OPTIONS section by long option, each with
    /// its text up to the next option.
    static func manOptionEntries() throws -> [String: String] {
        optionEntries(in: section("OPTIONS", of: try page()))
    }

    static func optionEntries(in lines: [Substring]) -> [String: String] {
        var entries: [String: String] = [:]
        var current: String?
        for line in lines {
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
        #expect(
            Set(documented.keys).subtracting(helpNames).subtracting(["help", "version"]).sorted() == [],
            "OPTIONS entries that --help does not know")
    }

    @Test func everyLongOptionThePageMentionsExists() throws {
        let help = try Embcache.run(["--help"])
        var known = Set(Self.matches(#"--([a-z][a-z-]*)"#, in: help.stdoutText).map { $0[1] })
        for command in Self.commands {
            let commandHelp = try Embcache.run([command, "--help"])
            known.formUnion(Self.matches(#"--([a-z][a-z-]*)"#, in: commandHelp.stdoutText).map { $0[1] })
        }
        let page = try Self.page()
        let mentioned = Set(Self.matches(#"Fl -([a-z][a-z-]*)"#, in: page).map { $0[1] })
        #expect(mentioned.subtracting(known).sorted() == [], "the page names options --help does not know")
        // Options of the OPTIONS part, including those only named in
        // another option's help text, are all on the page.
        let optionsPart = help.stdoutText.components(separatedBy: "\nUSAGE:").last ?? ""
        let inOptions = Set(Self.matches(#"--([a-z][a-z-]*)"#, in: optionsPart).map { $0[1] })
        #expect(inOptions.subtracting(mentioned).sorted() == [], "options of --help the page never names")
    }

    @Test func shortOptionsAndDefaultsMatchHelp() throws {
        Self.expectShortOptionsAndDefaults(try Self.helpOptions(), in: try Self.manOptionEntries(), of: "embcache")
    }

    /// Each entry of an option that --help gives a short name starts with
    /// both names, and gives the default --help prints.
    static func expectShortOptionsAndDefaults(
        _ options: [HelpOption], in documented: [String: String], of command: String
    ) {
        for option in options {
            guard let entry = documented[option.long] else { continue }
            if let short = option.short {
                #expect(
                    entry.hasPrefix(".It Fl \(short) , Fl -\(option.long)"),
                    "\(command) --\(option.long): expected `.It Fl \(short) , Fl -\(option.long)`, got \(entry.prefix(60))"
                )
            }
            guard let value = option.defaultValue else { continue }
            // 60.0 in --help reads 60 on the page.
            var forms = [value]
            if let number = Double(value), number == number.rounded() { forms.append(String(Int(number))) }
            let text = entry.replacingOccurrences(of: "\n", with: " ")
            #expect(
                forms.contains { text.contains("default is \($0)") || Self.defaultIsMacro(text, $0) },
                "\(command) --\(option.long): the page does not give its default \(value)")
        }
    }

    /// `The default is` followed by the value as a macro argument, such as
    /// `.Cm jsonl` or `.Ql text`.
    static func defaultIsMacro(_ text: String, _ value: String) -> Bool {
        !matches(#"default is \.(?:Cm|Ql|Ar|Li) \#(NSRegularExpression.escapedPattern(for: value))(?: |$)"#, in: text)
            .isEmpty
    }

    // MARK: - Commands

    /// The commands, in the order the filter's --help names them.
    static let commands = [
        "get", "stats", "models", "import", "export", "verify", "gc", "rm", "backup", "restore", "copy", "serve",
    ]

    /// The `.Ss` subsections of COMMANDS, by command.
    static func commandSubsections() throws -> [String: [Substring]] {
        subsections(of: section("COMMANDS", of: try page()))
    }

    @Test func theCommandsAreThoseTheFiltersHelpNames() throws {
        let help = try Embcache.run(["--help"])
        // "Subcommands (embcache SUBCOMMAND --help): get, stats, ..., backup."
        guard let list = Self.matches(#"Subcommands \([^)]*\):([a-z, \n]+)\."#, in: help.stdoutText).first?[1] else {
            Issue.record("no list of subcommands in --help:\n\(help.stdoutText)")
            return
        }
        let named = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(named == Self.commands)
    }

    /// A name that is not a command would run the filter, whose --help
    /// this is not.
    @Test(arguments: commands)
    func eachCommandAnswersItsOwnHelp(_ command: String) throws {
        let help = try Embcache.run([command, "--help"])
        #expect(help.status == 0)
        #expect(
            !Self.matches(#"USAGE: (?:embcache )?\#(command) "#, in: help.stdoutText).isEmpty,
            "\(command) --help:\n\(help.stdoutText)")
    }

    @Test func commandsHasASubsectionPerCommandAndSynopsisALine() throws {
        let page = try Self.page()
        #expect(Set(try Self.commandSubsections().keys) == Set(Self.commands))
        let synopsis = Self.section("SYNOPSIS", of: page)
        for command in Self.commands {
            #expect(synopsis.contains(".Cm \(command)"), "SYNOPSIS has no line for \(command)")
        }
    }

    /// Every option of a command's --help is named in its subsection, and
    /// the subsection names no option the command does not take. (-h,
    /// --help, which every command takes, is said once for all.)
    @Test(arguments: commands)
    func eachCommandsOptionsAreInItsSubsectionAndNoOthers(_ command: String) throws {
        let help = Set(try Self.helpOptions(command).map(\.long)).subtracting(["help"])
        #expect(!help.isEmpty)
        let lines = try Self.commandSubsections()[command] ?? []
        let mentioned = Set(Self.matches(#"Fl -([a-z][a-z-]*)"#, in: lines.joined(separator: "\n")).map { $0[1] })
        #expect(help.subtracting(mentioned).sorted() == [], "\(command): options of --help missing from its subsection")
        #expect(mentioned.subtracting(help).sorted() == [], "\(command): options its --help does not know")
    }

    /// Each option of a command has an `.It` entry giving its default, but
    /// for get, whose options are the filter's and are described in
    /// OPTIONS.
    @Test(arguments: commands)
    func eachCommandsOptionsHaveEntriesWithTheirDefaults(_ command: String) throws {
        let options = try Self.helpOptions(command).filter { $0.long != "help" }
        if command == "get" {
            // get's options are some of the filter's, described in OPTIONS.
            let filter = Set(try Self.helpOptions().map(\.long))
            #expect(
                Set(options.map(\.long)).isSubset(of: filter), "get takes options the filter does not: describe them")
            #expect(!options.contains { ["command", "base-url", "batch-size", "offline"].contains($0.long) })
            return
        }
        let entries = Self.optionEntries(in: try Self.commandSubsections()[command] ?? [])
        for option in options {
            guard let entry = entries[option.long] else {
                Issue.record("\(command) --\(option.long) has no .It entry")
                continue
            }
            #expect(entry.lowercased().contains("default"), "\(command) --\(option.long): no default given")
        }
        Self.expectShortOptionsAndDefaults(options, in: entries, of: command)
    }

    // MARK: - Exit statuses

    /// The statuses as EXIT STATUS documents them.
    static let documentedStatuses: Set<Int32> = [0, 64, 65, 66, 69, 70, 74, 77, 78, 130]

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
            contentsOfFile: Embcache.packageRoot.appendingPathComponent("Sources/EmbCacheCLI/EmbCacheCommand.swift")
                .path,
            encoding: .utf8)
        guard let start = source.range(of: "func exitStatus(of error: EmbCacheError) -> Int32 {"),
            let end = source.range(of: "\n}\n", range: start.upperBound..<source.endIndex)
        else {
            Issue.record("exitStatus(of:) not found in EmbCacheCommand.swift")
            return
        }
        let mapped = Self.matches(#"case [^:\n]+: (\d+)"#, in: source[start.upperBound..<end.lowerBound]).map { $0[1] }
        let literal = Self.matches(#"exit\((\d+)\)"#, in: source).map { $0[1] }
        // Statuses the commands throw themselves (verify, import).
        let executable = Embcache.packageRoot.appendingPathComponent("Sources/EmbCacheCLI")
        let files = try FileManager.default.contentsOfDirectory(atPath: executable.path).filter {
            $0.hasSuffix(".swift")
        }
        var thrown: [String] = []
        for name in files {
            let text = try String(contentsOf: executable.appendingPathComponent(name), encoding: .utf8)
            thrown += Self.matches(#"ExitCode\((\d+)\)"#, in: text).map { $0[1] }
        }
        // ArgumentParser exits 64 on usage errors by itself.
        let used = Set((mapped + literal + thrown).compactMap { Int32($0) } + [64])
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

    /// The statuses COMMANDS gives for the commands.
    @Test func commandsExitAsDocumented() throws {
        let work = TemporaryDirectory()
        let cache = work.file("cache").path
        #expect(try Embcache.run(["--model", "hash-8", "--cache-dir", cache], stdin: "{\"text\":\"a\"}\n").status == 0)
        // A file whose metadata names a model whose file is another.
        let foreign = work.file("foreign").path
        _ = try Embcache.run(
            ["import", "--model", "y", "--cache-dir", foreign], stdin: "{\"text\":\"a\",\"embedding\":[1,2]}\n")
        try FileManager.default.moveItem(
            atPath: foreign + "/embedding-y.sqlite", toPath: foreign + "/embedding-x.sqlite")
        let cases: [(String, [String], String, Int32)] = [
            ("stats", ["stats", "--cache-dir", cache], "", 0),
            ("get, a miss", ["get", "--model", "hash-8", "--cache-dir", cache], "{\"text\":\"b\"}\n", 65),
            (
                "import, a record skipped", ["import", "--model", "m", "--cache-dir", cache],
                "{\"text\":\"a\",\"embedding\":[1]}\nnot json\n", 65
            ),
            ("import without --model", ["import", "--cache-dir", cache], "", 64),
            (
                "import, a missing file", ["import", "--model", "m", "--cache-dir", cache, work.file("absent").path],
                "", 66
            ),
            ("verify, a problem", ["verify", "--cache-dir", foreign], "", 65),
            ("verify --repair, the problem remains", ["verify", "--repair", "--cache-dir", foreign], "", 65),
            ("rm without --yes or a terminal", ["rm", "--model", "hash-8", "--cache-dir", cache], "y\n", 64),
            ("stats of a missing cache", ["stats", "--cache-dir", work.file("none").path], "", 78),
            ("export of a model not cached", ["export", "--model", "absent", "--cache-dir", cache], "", 78),
            ("gc of a missing cache", ["gc", "--cache-dir", work.file("none").path], "", 78),
            ("backup", ["backup", work.file("copy").path, "--cache-dir", cache], "", 0),
            ("backup into cache files", ["backup", work.file("copy").path, "--cache-dir", cache], "", 78),
        ]
        for (name, arguments, input, status) in cases {
            let result = try Embcache.run(arguments, stdin: input)
            #expect(Self.documentedStatuses.contains(status))
            #expect(result.status == status, "\(name): \(result.stderrText)")
        }
        #expect(FileManager.default.fileExists(atPath: cache + "/embedding-hash-8.sqlite"), "rm removed without --yes")
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
