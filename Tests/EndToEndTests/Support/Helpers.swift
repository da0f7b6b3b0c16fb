import Foundation

/// The test provider speaking the command protocol, with fault flags (see
/// Fixtures/fake_provider.py).
func fakeProvider(_ flags: String = "") -> String {
    let script = Embcache.fixtures.appendingPathComponent("fake_provider.py").path
    return "\(pythonExecutable) \(script) \(flags)"
}

/// The interpreter `python3` names, resolved once: a version manager's
/// shim (pyenv) costs a shell and tens of milliseconds at every start.
let pythonExecutable: String = {
    let found = try? runProcess("/usr/bin/env", ["python3", "-c", "import sys; print(sys.executable)"])
    let path = found?.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    return found?.status == 0 && !path.isEmpty ? path : "python3"
}()

/// Lines of a counting file written by the fake provider; 0 if absent.
func countLines(_ url: URL) -> Int {
    guard let data = try? Data(contentsOf: url) else { return 0 }
    return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
}

/// JSONL records `{"id": i, "text": "text i …"}`.
func corpus(_ count: Int, prefix: String = "text") -> String {
    (0..<count).map { "{\"id\":\($0),\"text\":\"\(prefix) number \($0) with some words\"}\n" }.joined()
}

/// Rows of the `embedding` table of a model file, via Python's sqlite3 so
/// the check does not go through our own code.
func python(_ code: String, _ arguments: [String] = []) throws -> ProcessResult {
    try runProcess(pythonExecutable, ["-c", code] + arguments)
}

func parseJSONLines(_ data: Data) -> [[String: Any]] {
    String(decoding: data, as: UTF8.self).split(separator: "\n").map {
        try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
}

func vectors(_ data: Data, field: String = "embedding") -> [[Double]] {
    parseJSONLines(data).map { ($0[field] as! [NSNumber]).map(\.doubleValue) }
}

/// The most of these (start, end) spans that cover one instant: how many
/// requests a server held at once at most. At equal times a span ends
/// before another starts.
func mostOverlapping(_ spans: [(start: Double, end: Double)]) -> Int {
    let events = spans.flatMap { [($0.start, 1), ($0.end, -1)] }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    var current = 0
    var most = 0
    for (_, change) in events {
        current += change
        most = max(most, current)
    }
    return most
}
