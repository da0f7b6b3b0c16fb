import Glibc

/// Where a record came from: the input's name (`stdin` or a path) and its
/// 1-based line number.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var line: Int

    public init(source: String, line: Int) {
        self.source = source
        self.line = line
    }

    public var description: String { "\(source):\(line)" }
}

/// What is wrong with one input record. Never carries the record's text:
/// texts may be private and must not reach logs.
public enum InputProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidUTF8(byteOffset: Int)
    case invalidJSON(String)
    case notAnObject
    case missingField(String)
    case fieldNotString(String, found: String)
    case emptyText
    case lineTooLong(limit: Int)
    case fieldAlreadyPresent(String)
    case notInCache
    /// An imported vector that cannot be stored.
    case invalidVector(String)
    /// The provider refused this text alone (too long, empty, rejected).
    case rejected(provider: String, message: String)

    public var description: String {
        switch self {
        case .invalidUTF8(let offset): "invalid UTF-8 at byte \(offset + 1) of the line"
        case .invalidJSON(let why): "invalid JSON: \(why)"
        case .notAnObject: "record is not a JSON object"
        case .missingField(let path): "missing field \"\(path)\""
        case .fieldNotString(let path, let found): "field \"\(path)\" is \(found), not a string"
        case .emptyText: "empty text"
        case .lineTooLong(let limit): "line longer than \(limit) bytes (see --max-line-bytes)"
        case .fieldAlreadyPresent(let name):
            "record already has a field \"\(name)\" (replace it with --overwrite, or choose another --output-field)"
        case .notInCache: "not in the cache (--offline)"
        case .invalidVector(let why): "unusable vector: \(why)"
        case .rejected(let provider, let message): "provider \(provider) rejected the text: \(message)"
        }
    }
}

/// The engine's one error type: a case per stage, each with what a person
/// needs to act on it. The executable maps cases to exit statuses.
public enum EmbCacheError: Error, Sendable, CustomStringConvertible {
    /// Flags or arguments that cannot work together.
    case usage(String)
    /// A record that cannot be embedded, with its place in the input.
    case input(SourceLocation, InputProblem)
    /// An input file that cannot be opened or read.
    case inputFile(path: String, errno: Int32)
    /// SQLite failed: its result code, its message and the SQL, never the
    /// bound values.
    case store(path: String, code: Int32, message: String, sql: String?)
    /// A cache file that cannot serve this run: not SQLite, or holding
    /// another model's or another dimension's vectors.
    case unusableCache(path: String, reason: String)
    /// A database server failed, or could not be reached within the bound.
    case database(location: String, message: String)
    /// A backup could not be written or read (after retries).
    case backup(location: String, message: String)
    /// A backup whose files do not match its manifest, or that has none.
    case corruptBackup(location: String, message: String)
    /// The configuration cannot work: no provider for a model, a bad cache
    /// directory.
    case configuration(String)
    /// The provider failed after whatever retries it makes.
    case provider(name: String, message: String)
    /// The provider refused the key (401, 403): the message names the
    /// variable that held it, never the key.
    case unauthorized(provider: String, message: String)
    /// Writing the output failed.
    case output(path: String, errno: Int32)
    /// The reader of stdout went away (`embcache … | head`): not a failure.
    case brokenPipe
    /// SIGINT, SIGTERM or SIGHUP arrived; what was computed is committed.
    case interrupted

    public var description: String {
        switch self {
        case .usage(let message): message
        case .input(let location, let problem): "\(location): \(problem)"
        case .inputFile(let path, let code): "\(path): \(systemMessage(code))"
        case .store(let path, let code, let message, let sql):
            "cache \(path): \(message) (sqlite code \(code))" + (sql.map { " in: \($0)" } ?? "")
        case .unusableCache(let path, let reason): "cache \(path): \(reason)"
        case .database(let location, let message): "cache \(location): \(message)"
        case .backup(let location, let message), .corruptBackup(let location, let message): "\(location): \(message)"
        case .configuration(let message): message
        case .provider(let name, let message): "provider \(name): \(message)"
        case .unauthorized(let name, let message): "provider \(name): \(message)"
        case .output(let path, let code): "\(path): \(systemMessage(code))"
        case .brokenPipe: "broken pipe"
        case .interrupted: "interrupted"
        }
    }
}

package func systemMessage(_ code: Int32) -> String {
    String(cString: strerror(code)).lowercased()
}
