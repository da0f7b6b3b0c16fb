import ArgumentParser
import EmbCacheKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A command of embcache: parsed by ArgumentParser, run against the
/// engine. Errors it throws are mapped to exit statuses in `main`.
protocol EmbCacheSubcommand: ParsableCommand {
    func execute(environment: [String: String]) throws
}

@main
enum EmbCacheMain {
    /// The filter is the default: a first argument that names a subcommand
    /// (each is named `embcache NAME`, as its usage line shows it)
    /// runs that one instead (`embcache -- stats` reads a file named stats).
    static let subcommands: [any EmbCacheSubcommand.Type] = [
        GetCommand.self, StatsCommand.self, ModelsCommand.self, ImportCommand.self, ExportCommand.self,
        VerifyCommand.self, GCCommand.self, RemoveCommand.self, BackupCommand.self, RestoreCommand.self,
        CopyCommand.self,
    ]

    static func main() {
        Interrupt.ignoreWriteSignals()
        let arguments = Array(CommandLine.arguments.dropFirst())
        let type: any EmbCacheSubcommand.Type =
            arguments.first.flatMap { name in
                subcommands.first { $0.configuration.commandName == "embcache \(name)" }
            } ?? FilterCommand.self
        let rest = type == FilterCommand.self ? arguments : Array(arguments.dropFirst())
        if type == FilterCommand.self || type == GetCommand.self { Interrupt.install() }
        run(type, rest)
    }

    /// Parses, runs and exits with the status of the outcome: the one place
    /// where errors become exit statuses.
    private static func run(_ type: any EmbCacheSubcommand.Type, _ arguments: [String]) -> Never {
        let command: any EmbCacheSubcommand
        do {
            var parsed = try type.parseAsRoot(arguments)
            guard let runnable = parsed as? any EmbCacheSubcommand else {
                try parsed.run()
                exit(0)
            }
            command = runnable
        } catch {
            let code = type.exitCode(for: error)
            guard code != .success else { type.exit(withError: error) }
            var message = type.message(for: error)
            if let first = message.first { message = first.lowercased() + message.dropFirst() }
            printError(message + " (see \(type.configuration.commandName!) --help)")
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
}

/// The sysexits status of each kind of failure; documented in embcache(1).
func exitStatus(of error: EmbCacheError) -> Int32 {
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

func printError(_ message: String) {
    var line = "embcache: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
