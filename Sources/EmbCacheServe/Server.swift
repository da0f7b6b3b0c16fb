import EmbCacheCore
import EmbCacheKit
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Everything `embcache serve` was told.
public struct ServeSettings: Sendable {
    public var host: String
    public var port: Int
    /// Written with the port bound, once listening (for port 0).
    public var portFile: String?
    /// Bearer tokens a client must give; empty: none asked for (loopback only).
    public var clientKeys: [String]
    public var maxBodyBytes: Int
    public var maxInputs: Int
    /// Most models (by identity) open at once: each holds a cache, threads
    /// and, on PostgreSQL, connections.
    public var maxModels: Int
    /// How long a miss waits for others to share its provider request.
    public var gatherDelay: Duration
    /// Names `GET /v1/models` lists: the config file's models.
    public var modelNames: [String]
    public var logLevel: Logger.Level

    public init(
        host: String, port: Int, portFile: String?, clientKeys: [String], maxBodyBytes: Int, maxInputs: Int,
        maxModels: Int, gatherDelay: Duration, modelNames: [String], logLevel: Logger.Level
    ) {
        self.host = host
        self.port = port
        self.portFile = portFile
        self.clientKeys = clientKeys
        self.maxBodyBytes = maxBodyBytes
        self.maxInputs = maxInputs
        self.maxModels = maxModels
        self.gatherDelay = gatherDelay
        self.modelNames = modelNames
        self.logLevel = logLevel
    }
}

/// Serves the cache behind OpenAI's embeddings API until SIGTERM or
/// SIGINT, then stops accepting, answers the requests it took, commits
/// and returns.
public func runServer(_ settings: ServeSettings, resolve: @escaping ModelResolver) throws {
    LoggingSystem.bootstrap { _ in StderrLogHandler(logLevel: settings.logLevel) }
    let logger = Logger(label: "embcache")
    let metrics = ServeMetrics()
    let reporter = Reporter(verbosity: settings.logLevel > .warning ? .quiet : .normal, showProgress: false)
    let models = ServedModels(
        resolve: resolve, gatherDelay: settings.gatherDelay, reporter: reporter, metrics: metrics,
        limit: settings.maxModels)
    defer { models.close() }

    let router = Router()
    router.add(middleware: MeteringMiddleware(metrics: metrics))
    if !settings.clientKeys.isEmpty { router.add(middleware: ClientKeyMiddleware(keys: settings.clientKeys)) }
    router.get("/health") { _, _ in jsonResponse(.ok, Array(#"{"status":"ok"}"#.utf8)) }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
    router.get("/v1/models") { _, _ in jsonResponse(.ok, OpenAIAnswers.models(settings.modelNames)) }
    router.post("/v1/embeddings") { request, context in
        try await embeddings(request, settings: settings, models: models, logger: context.logger)
    }

    let portFile = settings.portFile
    let app = Application(
        router: router,
        configuration: ApplicationConfiguration(
            address: .hostname(settings.host, port: settings.port), serverName: "embcache"),
        onServerRunning: { channel in
            guard let port = channel.localAddress?.port else { return }
            logger.info(
                "listening on http://\(settings.host.contains(":") ? "[\(settings.host)]" : settings.host):\(port)")
            if let portFile { writeAtomically(String(port), to: portFile) }
        },
        logger: logger)
    do {
        try blockingRun { try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint]) }
    } catch let error as IOError {
        // Binding is the one thing a running server's NIO reports by throwing.
        throw EmbCacheError.configuration("cannot listen on \(settings.host):\(settings.port): \(error.description)")
    }
    logger.info("stopped: every request taken was answered; committing")
}

/// `POST /v1/embeddings`.
private func embeddings(
    _ request: Request, settings: ServeSettings, models: ServedModels, logger: Logger
) async throws -> Response {
    var body: [UInt8] = []
    for try await part in request.body {
        guard body.count + part.readableBytes <= settings.maxBodyBytes else {
            throw APIError.tooLarge(settings.maxBodyBytes)
        }
        body.append(contentsOf: part.readableBytesView)
    }
    let asked: OpenAIRequest
    do {
        asked = try OpenAIRequest(json: body)
    } catch {
        throw APIError.invalid(error.message, error.param)
    }
    guard !asked.input.isEmpty else { throw APIError.invalid("'input' must not be an empty array", "input") }
    guard asked.input.count <= settings.maxInputs else {
        throw APIError.invalid(
            "'input' holds \(asked.input.count) texts; at most \(settings.maxInputs) are taken (see --max-inputs)",
            "input")
    }
    let served: ServedModel
    do {
        served = try await models.service(asked.model, dimensions: asked.dimensions)
    } catch let error as APIError {
        throw error
    } catch {
        logger.error("model \(asked.model) cannot be opened: \(error)")
        throw APIError.store
    }
    let result = await withCheckedContinuation { continuation in
        served.service.embed(asked.input) { continuation.resume(returning: $0) }
    }
    switch result {
    case .success(let vectors):
        served.metrics.texts(vectors)
        return jsonResponse(
            .ok,
            OpenAIAnswers.embeddings(
                vectors.vectors, model: asked.model, base64: asked.base64,
                tokens: OpenAIAnswers.estimatedTokens(asked.input)))
    case .failure(let failure):
        switch failure {
        case .provider(let error): logger.error("model \(asked.model): \(error)")
        case .store(let error): logger.error("model \(asked.model): cache: \(error)")
        default: break
        }
        throw APIError(failure)
    }
}

/// Counts and times every answer, errors included, by endpoint.
private struct MeteringMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        let path = request.uri.path
        let endpoint = ServeMetrics.endpoints.contains(path) ? path : "other"
        do {
            let response = try await next(request, context)
            metrics.request(endpoint: endpoint, status: response.status.code, duration: .now - start)
            return response
        } catch let error as any HTTPResponseError {
            metrics.request(endpoint: endpoint, status: error.status.code, duration: .now - start)
            throw error
        } catch {
            metrics.request(endpoint: endpoint, status: 500, duration: .now - start)
            throw error
        }
    }
}

/// Runs async work to its end from synchronous code (the command's
/// `execute`), on Swift's own executors.
private func blockingRun(_ work: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    let failure = UnsafeTransferBox<(any Error)?>(nil)
    Task {
        do { try await work() } catch { failure.value = error }
        done.signal()
    }
    done.wait()
    if let error = failure.value { throw error }
}

/// A value written by one task and read after a semaphore says it is done.
private final class UnsafeTransferBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

private func writeAtomically(_ text: String, to path: String) {
    let temporary = path + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else { return }
    _ = rename(temporary, path)
}
