import ArgumentParser
import EmbCacheCore
import Foundation
import Glibc

/// A command of embcache: parsed by ArgumentParser, run against the
/// engine. Errors it throws are mapped to exit statuses in `main`.
public protocol EmbCacheSubcommand: ParsableCommand {
    func execute(environment: [String: String]) throws
}

/// The command tree, declared once: help, completions and typo
/// suggestions follow from it. The filter is the default subcommand, so
/// `embcache [options] [file ...]` runs it (`embcache -- stats` reads a
/// file named stats).
struct EmbCacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embcache",
        abstract: "Embed each text once per model, ever: answer from a local cache, compute only the misses.",
        discussion: "The filter (embed) is the default: `embcache --help` shows its options.",
        version: EmbCacheVersion.line,
        subcommands: [
            FilterCommand.self, GetCommand.self, StatsCommand.self, ModelsCommand.self, ImportCommand.self,
            ExportCommand.self, VerifyCommand.self, GCCommand.self, RemoveCommand.self, BackupCommand.self,
            RestoreCommand.self, CopyCommand.self, ServeLauncher.self,
        ],
        defaultSubcommand: FilterCommand.self
    )

    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }

    /// `embcache stat` reads a file named stat, which most likely is a
    /// misspelt subcommand: said so when no such file exists.
    static func refuseMisspeltSubcommand(_ files: [String]) throws {
        guard let first = files.first, first != "-", !FileManager.default.fileExists(atPath: first) else { return }
        let close = subcommandNames.filter { editDistance(first, $0) <= 2 && first.count >= 2 }
        guard !close.isEmpty else { return }
        throw ValidationError(
            "no input file \"\(first)\"; did you mean \(close.map { "embcache \($0)" }.joined(separator: " or "))?")
    }
}

/// Levenshtein distance, for suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.lowercased()), b = Array(b.lowercased())
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1] + Array(repeating: 0, count: b.count)
        for (j, y) in b.enumerated() {
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// The `embcache` executable's entry.
public enum EmbCacheMain {
    public static func main() -> Never {
        Interrupt.ignoreWriteSignals()
        var arguments = Array(CommandLine.arguments.dropFirst())
        // The server is an executable of its own, which the filter does not
        // load: its framework would slow every start (see ServeLauncher).
        if arguments.first == "serve" { ServeLauncher.exec(Array(arguments.dropFirst())) }
        if arguments == ["help", "serve"] { ServeLauncher.exec(["--help"]) }
        // The filter is what most runs are: its help is the top-level help.
        if arguments == ["--help"] || arguments == ["-h"] { arguments = ["help", "embed"] }
        // Before parsing, so that a signal at start-up is an interrupt too:
        // the filter's runs (`embed` is the default) and get's.
        let named = arguments.first.flatMap { EmbCacheCommand.subcommandNames.contains($0) ? $0 : nil }
        if named == nil || named == "embed" || named == "get" { Interrupt.install() }
        let helpName =
            arguments.first.flatMap { EmbCacheCommand.subcommandNames.contains($0) ? "embcache \($0)" : nil }
            ?? "embcache"
        run(EmbCacheCommand.self, arguments, helpName: helpName)
    }
}

/// Parses `arguments` under `root`, runs the command and exits: usage
/// errors with 64 and the command's help named, engine errors with their
/// status (see `exitStatus(of:)`).
public func run<Root: ParsableCommand>(_ root: Root.Type, _ arguments: [String], helpName: String) -> Never {
    let command: any EmbCacheSubcommand
    do {
        var parsed = try Root.parseAsRoot(arguments)
        guard let runnable = parsed as? any EmbCacheSubcommand else {
            try parsed.run()
            exit(0)
        }
        command = runnable
    } catch {
        let code = Root.exitCode(for: error)
        guard code != .success else { Root.exit(withError: error) }
        var message = Root.message(for: error)
        if let first = message.first { message = first.lowercased() + message.dropFirst() }
        printError(message + " (see \(helpName) --help)")
        exit(code.rawValue)
    }
    do {
        try command.execute(environment: ProcessInfo.processInfo.environment)
        exit(0)
    } catch let error as EmbCacheError {
        let status = exitStatus(of: error)
        if status != 0 { printError(error.description) }
        exit(status)
    } catch let code as ExitCode {
        // A status the command has explained already (verify, import).
        exit(code.rawValue)
    } catch {
        printError("\(error)")
        exit(70)
    }
}

/// The sysexits status of each kind of failure; documented in embcache(1).
public func exitStatus(of error: EmbCacheError) -> Int32 {
    switch error {
    case .brokenPipe: 0
    case .usage: 64
    case .input, .corruptBackup: 65
    case .inputFile: 66
    case .provider: 69
    case .unauthorized: 77
    case .store, .database, .backup, .output: 74
    case .unusableCache, .configuration: 78
    case .interrupted: 130
    }
}

public func printError(_ message: String) {
    var line = "embcache: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
