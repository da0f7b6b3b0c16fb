import Foundation
import Testing

/// Every ```bash block of README.md runs for real, in a fresh directory
/// holding examples/docs.jsonl as docs.jsonl, with the built embcache first
/// on PATH and a private cache. (```sh blocks are set-up commands that
/// build or need a network: not run here.)
@Suite struct ReadmeTests {
    static func blocks() throws -> [String] {
        let readme = try String(contentsOf: Embcache.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```bash" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test func readmeHasRecipesToRun() throws {
        #expect(try Self.blocks().count >= 5)
    }

    @Test(arguments: try blocks())
    func readmeBlockRuns(_ block: String) throws {
        let work = TemporaryDirectory()
        try FileManager.default.copyItem(
            at: Embcache.packageRoot.appendingPathComponent("examples/docs.jsonl"), to: work.file("docs.jsonl"))
        let binDirectory = URL(fileURLWithPath: Embcache.binary).deletingLastPathComponent().path
        let path = binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try runProcess(
            "/bin/bash", ["-euo", "pipefail", "-c", "cd \"$1\" && " + block, "readme", work.path],
            environment: ["PATH": path, "EMBCACHE_DIR": work.path + "/cache"])
        #expect(result.status == 0, "\(block)\n--- stderr:\n\(result.stderrText)")
    }
}
