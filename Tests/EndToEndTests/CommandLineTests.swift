import Foundation
import Testing

/// The command tree as a person meets it: one declaration gives help,
/// typo suggestions and completions; Scripts/install puts the binary, the
/// page and the completions where a Unix tool's go.
@Suite struct CommandLineTests {
    @Test func aMisspeltSubcommandIsNamedNotReadAsAFile() throws {
        let result = try Embcache.run(["stat"])
        #expect(result.status == 64)
        #expect(result.stderrText.contains("did you mean embcache stats?"), "\(result.stderrText)")
        #expect(result.stdout.isEmpty)
        // A file of that name is read, as the page says.
        let work = TemporaryDirectory()
        let file = work.write("stat", "{\"text\":\"a\"}\n")
        let read = try Embcache.run(["-m", "hash-4", "--cache-dir", work.path + "/c", "-q", file.path])
        #expect(read.status == 0, "\(read.stderrText)")
    }

    @Test func helpNamesEachSubcommandsOwnOptions() throws {
        let stats = try Embcache.run(["help", "stats"])
        #expect(stats.status == 0)
        #expect(stats.stdoutText.contains("--json"))
        #expect(!stats.stdoutText.contains("--format"))
        let get = try Embcache.run(["get", "--help"])
        #expect(get.status == 0)
        for option in ["--model", "--cache-dir", "--on-error", "--format"] {
            #expect(get.stdoutText.contains(option), "get --help lacks \(option)")
        }
        let offered = get.stdoutLines.compactMap { line -> String? in
            guard line.hasPrefix("  -") else { return nil }
            return line.split(separator: " ").first { $0.hasPrefix("--") }.map(String.init)
        }
        for option in ["--command", "--base-url", "--batch-size", "--max-requests", "--rpm", "--offline"] {
            #expect(!offered.contains(option), "get --help offers \(option), which it never uses")
        }
    }

    @Test func theFiltersHelpGroupsItsOptions() throws {
        let help = try Embcache.run(["--help"])
        #expect(help.status == 0)
        let headings = help.stdoutLines.filter { $0.hasSuffix(":") && $0.uppercased() == $0 && !$0.hasPrefix(" ") }
        #expect(
            headings == [
                "INPUT:", "OUTPUT:", "CACHE:", "MODEL:", "PROVIDER:", "HTTP PROVIDERS:", "LOCAL MODEL:", "RUNTIME:",
                "OPTIONS:",
            ], "\(headings)")
        #expect(try Embcache.run(["embed", "--help"]).stdout == help.stdout)
    }

    @Test func dashMIsTheModel() throws {
        let work = TemporaryDirectory()
        let input = "{\"text\":\"short flag\"}\n"
        let short = try Embcache.run(["-m", "hash-8", "--cache-dir", work.path], stdin: input)
        let long = try Embcache.run(["--model", "hash-8", "--cache-dir", work.path], stdin: input)
        #expect(short.status == 0 && long.status == 0, "\(short.stderrText)")
        #expect(short.stdout == long.stdout)
    }

    /// Scripts/install into a temporary DESTDIR; the prefix's path.
    static func install(into work: TemporaryDirectory) throws -> String {
        let script = Embcache.packageRoot.appendingPathComponent("Scripts/install").path
        let installed = try runProcess(
            "/usr/bin/env", ["DESTDIR=\(work.path)", "PREFIX=/opt/e", script, "--bin", Embcache.binary])
        try #require(installed.status == 0, "\(installed.stderrText)")
        return work.path + "/opt/e"
    }

    /// "LINE|match match" lines as a table of what each line offered.
    static func offered(_ lines: [String]) -> [String: [String]] {
        var offered: [String: [String]] = [:]
        for line in lines {
            let parts = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            offered[String(parts[0])] = parts[1].split(separator: " ").map(String.init)
        }
        return offered
    }

    /// The lines zsh's and fish's completions are tried on, `data` being
    /// a directory that holds `docs.jsonl`.
    static func completionLines(_ data: String) -> [String] {
        [
            "embcache st", "embcache stats --", "embcache --mo", "embcache -m x --ove", "embcache --format ",
            "embcache get --on-error ", "embcache \(data)/do", "embcache --model hash-8 \(data)/do",
        ]
    }

    /// What the lines of `completionLines` must offer: the filter's options
    /// at the root, as bash's do, and each subcommand its own. `file` is
    /// how the shell offers `docs.jsonl`.
    static func expectCompletions(_ offered: [String: [String]], data: String, file: String, shell: String) {
        #expect(offered["embcache st"] == ["stats"], "\(shell): \(offered)")
        let stats = offered["embcache stats --"] ?? []
        #expect(stats.contains("--json") && !stats.contains("--format"), "\(shell): \(stats)")
        #expect(Set(offered["embcache --mo"] ?? []) == ["--model", "--model-path"], "\(shell): \(offered)")
        #expect(offered["embcache -m x --ove"] == ["--overwrite"], "\(shell): \(offered)")
        #expect(
            offered["embcache --format "] == ["jsonl", "base64", "f32", "raw", "npy", "none"], "\(shell): \(offered)")
        #expect(offered["embcache get --on-error "] == ["fail", "skip", "null"], "\(shell): \(offered)")
        #expect(offered["embcache \(data)/do"] == [file], "\(shell): \(offered)")
        #expect(offered["embcache --model hash-8 \(data)/do"] == [file], "\(shell): \(offered)")
    }

    /// PATH with the installed binary first: the completions run it. The
    /// shells' own directories under `root` too: fish makes its config and
    /// data directories when it starts, and must not make them where the
    /// other tests' environment points (a path that must not exist).
    static func pathWithInstalledBinary(_ root: String) -> [String: String] {
        [
            "PATH": root + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"),
            "HOME": root + "/home", "XDG_CONFIG_HOME": root + "/config", "XDG_DATA_HOME": root + "/data",
            "XDG_CACHE_HOME": root + "/cache", "XDG_STATE_HOME": root + "/state",
        ]
    }

    /// zsh's completion as zsh runs it: compinit finds the installed
    /// `_embcache`, and each line is completed at a Tab on a terminal.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zsh")))
    func zshCompletesTheFiltersOptionsAtTheRootAndEachSubcommandsOwn() throws {
        let work = TemporaryDirectory()
        let root = try Self.install(into: work)
        try FileManager.default.createDirectory(at: work.file("data"), withIntermediateDirectories: true)
        _ = work.write("data/docs.jsonl", "")
        let driver = Embcache.fixtures.appendingPathComponent("zsh_complete.zsh").path
        let result = try runProcess(
            "/usr/bin/zsh",
            ["-f", driver, root + "/share/zsh/site-functions"] + Self.completionLines(work.path + "/data"),
            environment: Self.pathWithInstalledBinary(root))
        #expect(result.status == 0, "\(result.stderrText)")
        // zsh offers a file by its name, after the directory typed.
        Self.expectCompletions(
            Self.offered(result.stdoutLines), data: work.path + "/data", file: "docs.jsonl", shell: "zsh")
    }

    /// fish's own `complete -C`, with the installed completion loaded.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fish")))
    func fishCompletesTheFiltersOptionsAtTheRootAndEachSubcommandsOwn() throws {
        let work = TemporaryDirectory()
        let root = try Self.install(into: work)
        try FileManager.default.createDirectory(at: work.file("data"), withIntermediateDirectories: true)
        _ = work.write("data/docs.jsonl", "")
        let driver = """
            source $argv[1]
            for line in $argv[2..]
                echo "$line|"(complete -C "$line" | string replace -r '\\t.*' '' | string join ' ')
            end
            """
        let result = try runProcess(
            "/usr/bin/fish",
            ["--no-config", "-c", driver, root + "/share/fish/vendor_completions.d/embcache.fish"]
                + Self.completionLines(work.path + "/data"),
            environment: Self.pathWithInstalledBinary(root))
        #expect(result.status == 0, "\(result.stderrText)")
        Self.expectCompletions(
            Self.offered(result.stdoutLines), data: work.path + "/data", file: work.path + "/data/docs.jsonl",
            shell: "fish")
    }

    /// Scripts/install with DESTDIR and PREFIX, then bash's completion
    /// driven as bash drives it (COMP_WORDS, COMP_LINE, COMP_POINT), then
    /// --uninstall.
    @Test func installPutsEverythingUnderThePrefixAndBashCompletesWhatExists() throws {
        let work = TemporaryDirectory()
        let script = Embcache.packageRoot.appendingPathComponent("Scripts/install").path
        let installed = try runProcess(
            "/usr/bin/env", ["DESTDIR=\(work.path)", "PREFIX=/opt/e", script, "--bin", Embcache.binary])
        try #require(installed.status == 0, "\(installed.stderrText)")
        let root = work.path + "/opt/e"
        let files = [
            "bin/embcache", "bin/embcache-serve", "share/man/man1/embcache.1",
            "share/bash-completion/completions/embcache", "share/zsh/site-functions/_embcache",
            "share/fish/vendor_completions.d/embcache.fish",
        ]
        #expect(installed.stdoutLines == files.map { root + "/" + $0 })
        for file in files {
            #expect(FileManager.default.fileExists(atPath: root + "/" + file), "\(file) not installed")
        }
        #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/embcache"))
        // embcache serve runs the embcache-serve installed beside it.
        let serve = try runProcess(root + "/bin/embcache", ["serve", "--help"])
        #expect(serve.status == 0 && serve.stdoutText.contains("USAGE: embcache serve"), "\(serve.stderrText)")

        let data = work.file("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        _ = work.write("data/docs.jsonl", "")
        let driver = """
            source "$1"
            complete -p embcache
            complete_line() {
                COMP_LINE=$1; COMP_POINT=${#1}
                read -ra COMP_WORDS <<<"$1"
                [[ $1 == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMPREPLY=()
                _embcache_default_subcommand embcache "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                echo "$1|${COMPREPLY[*]}"
            }
            complete_line "embcache st"
            complete_line "embcache stats --"
            complete_line "embcache --mo"
            complete_line "embcache --format "
            complete_line "embcache get --on-error "
            complete_line "embcache \(data.path)/do"
            complete_line "embcache --model hash-8 \(data.path)/do"
            """
        let completion = try runProcess(
            "/bin/bash", ["-c", driver, "bash", root + "/share/bash-completion/completions/embcache"])
        #expect(completion.status == 0, "\(completion.stderrText)")
        var offered: [String: [String]] = [:]
        for line in completion.stdoutLines.dropFirst() {
            let parts = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            offered[String(parts[0])] = parts[1].split(separator: " ").map(String.init)
        }
        #expect(completion.stdoutLines.first?.hasSuffix(" embcache") == true)
        #expect(offered["embcache st"] == ["stats"])
        let stats = offered["embcache stats --"] ?? []
        #expect(stats.contains("--json") && !stats.contains("--format"), "\(stats)")
        #expect(Set(offered["embcache --mo"] ?? []) == ["--model", "--model-path"])
        #expect(offered["embcache --format "] == ["jsonl", "base64", "f32", "raw", "npy", "none"])
        #expect(offered["embcache get --on-error "] == ["fail", "skip", "null"])
        #expect(offered["embcache \(data.path)/do"] == [data.path + "/docs.jsonl"])
        #expect(offered["embcache --model hash-8 \(data.path)/do"] == [data.path + "/docs.jsonl"])

        let removed = try runProcess(
            "/usr/bin/env", ["DESTDIR=\(work.path)", "PREFIX=/opt/e", script, "--uninstall"])
        #expect(removed.status == 0)
        for file in files {
            #expect(!FileManager.default.fileExists(atPath: root + "/" + file), "\(file) left behind")
        }
    }
}
