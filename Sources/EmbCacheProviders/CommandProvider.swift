import EmbCacheCore
import Foundation
import Synchronization

/// `command`: any program that reads one JSON request per line on stdin,
/// `{"texts": ["…", …]}`, and writes one answer line per request on stdout,
/// `{"embeddings": [[…], …]}` (or `{"error": "…"}`). It stays running for
/// the whole run; with several requests in flight, several copies run.
public final class CommandProvider: EmbeddingProvider, @unchecked Sendable {
    public let command: String
    public let timeout: Duration
    public let limits: BatchLimits
    public var name: String { "command" }
    public var dimension: Int? { nil }

    /// Children not serving a request right now.
    private let idle = Mutex<[ChildProcess]>([])

    public init(command: String, timeout: Duration, limits: BatchLimits = BatchLimits(texts: 64, bytes: 1 << 20)) {
        self.command = command
        self.timeout = timeout
        self.limits = limits
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        let child = try idle.withLock { $0.popLast() } ?? spawn()
        let answer: [UInt8]
        let id = child.nextRequestID()
        let request = Self.request(texts, id: id)
        do throws(ChildProcess.Failure) {
            answer = try child.exchange(request, timeout: timeout)
        } catch {
            child.terminate()
            throw describe(error)
        }
        let vectors: [[Float]]
        do {
            vectors = try Self.parse(answer, id: id)
        } catch {
            // A child that said something we cannot read may be out of step.
            child.terminate()
            throw error
        }
        idle.withLock { $0.append(child) }
        return vectors
    }

    private func spawn() throws -> ChildProcess {
        do throws(ChildProcess.Failure) {
            return try ChildProcess(command: command)
        } catch {
            throw describe(error)
        }
    }

    private func describe(_ failure: ChildProcess.Failure) -> EmbCacheError {
        switch failure {
        case .interrupted: return .interrupted
        case .spawn(let code): return .provider(name: name, message: "cannot start /bin/sh: \(systemMessage(code))")
        case .exited(let how): return .provider(name: name, message: "the command \(how)")
        case .timedOut:
            return .provider(
                name: name, message: "no answer within \(String(format: "%g", timeout.seconds)) s (see --timeout)")
        case .io(let code): return .provider(name: name, message: "pipe to the command: \(systemMessage(code))")
        case .protocolViolation(let what): return .provider(name: name, message: "the command \(what)")
        }
    }

    /// `{"id":N,"texts":[...]}`: a child that echoes the id in its answer
    /// can never have an old line taken for a new answer.
    package static func request(_ texts: [String], id: Int) -> [UInt8] {
        var request = JSONObjectBuilder()
        request.add("id", id)
        request.add("texts", texts)
        return request.finished() + [UInt8(ascii: "\n")]
    }

    package static func parse(_ line: [UInt8], id: Int) throws -> [[Float]] {
        func bad(_ why: String) -> EmbCacheError { .provider(name: "command", message: why) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line))
        } catch {
            throw bad("answer is not JSON (\(line.count) bytes)")
        }
        guard let answer = object as? [String: Any] else { throw bad("answer is not a JSON object") }
        if let echoed = answer["id"], (echoed as? NSNumber)?.intValue != id {
            throw bad("the command answered request \(echoed) while request \(id) was waiting")
        }
        if let message = answer["error"] {
            throw bad("the command reported: \(message)")
        }
        guard let rows = answer["embeddings"] as? [Any] else { throw bad("answer has no \"embeddings\" array") }
        return try rows.enumerated().map { (index, row) in
            guard let numbers = row as? [Any] else { throw bad("embedding \(index + 1) is not an array") }
            return try numbers.map { value in
                guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
                    throw bad("embedding \(index + 1) holds a value that is not a number")
                }
                return number.floatValue
            }
        }
    }
}
