import ArgumentParser
import Foundation
import Glibc

/// `embcache serve`, in the list of subcommands: the server itself is the
/// executable `embcache-serve`, installed beside `embcache`, which this
/// replaces itself with. Linked into `embcache`, the server framework's
/// type records made every start slower (the argument parser's reflection
/// searches them all: 1.7 ms of 21 for `--version`), filter runs included.
struct ServeLauncher: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the cache behind an OpenAI-compatible embeddings endpoint.")

    static let executableName = "embcache-serve"

    /// Runs `embcache-serve` from the directory of this executable with
    /// `arguments`; exits 78 when it is not there.
    static func exec(_ arguments: [String]) -> Never {
        let own =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = own.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let path = (directory.isEmpty ? "." : directory) + "/" + executableName
        let argv = ([executableName] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        printError(
            "embcache serve runs \(path), which cannot be run: \(String(cString: strerror(errno))) (install it beside embcache)"
        )
        Glibc.exit(78)
    }
}
