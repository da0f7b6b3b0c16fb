import EmbCacheKit
import Logging

/// The server's log on stderr in embcache's own shape, `embcache: …` and
/// `embcache: warning: …`, one line each: no timestamp or label (a
/// service manager adds its own), metadata only at debug level.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "embcache: "
        switch event.level {
        case .warning: line += "warning: "
        case .error, .critical: line += "error: "
        default: break
        }
        line += "\(event.message)"
        if logLevel <= .debug {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        }
        Reporter.writeStderr(line + "\n")
    }
}
