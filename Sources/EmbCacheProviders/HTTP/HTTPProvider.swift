import EmbCacheCore
import Foundation
import Synchronization

/// Everything an HTTP provider needs, resolved from flags, the config file
/// and the environment.
public struct HTTPProviderSettings: Sendable, Equatable {
    public var api: HTTPAPI
    /// The provider's name of the model (for Azure, the deployment's model).
    public var model: String
    public var baseURL: String
    /// The variable the key is read from: messages name it, never the key.
    public var keyVariable: String
    /// The key, when the variable holds one.
    public var key: String?
    public var dimensions: Int?
    public var inputType: String?
    public var taskType: String?
    /// "true"/"false", or Cohere's NONE/START/END.
    public var truncate: String?
    public var deployment: String?
    public var apiVersion: String?
    public var timeout: Duration
    public var maxRetries: Int
    /// The most time one batch may spend waiting between its attempts.
    public var maxRetryWait: Duration
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?

    public init(
        api: HTTPAPI, model: String, baseURL: String, keyVariable: String? = nil, key: String?, dimensions: Int? = nil,
        inputType: String? = nil,
        taskType: String? = nil, truncate: String? = nil, deployment: String? = nil, apiVersion: String? = nil,
        timeout: Duration = .seconds(60), maxRetries: Int = 8, maxRetryWait: Duration = .seconds(300),
        requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil
    ) {
        self.api = api
        self.model = model
        self.baseURL = baseURL
        self.keyVariable = keyVariable ?? api.defaultKeyVariable
        self.key = key
        self.dimensions = dimensions
        self.inputType = inputType
        self.taskType = taskType
        self.truncate = truncate
        self.deployment = deployment
        self.apiVersion = apiVersion
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.maxRetryWait = maxRetryWait
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }

    /// Every request parameter that changes the vectors, as the cache
    /// identity records it: vectors made under one setting never mix with
    /// another's.
    public var identityParameters: [String: String] {
        var parameters: [String: String] = [:]
        parameters["dimensions"] = dimensions.map(String.init)
        parameters["input_type"] = inputType ?? api.defaultInputType
        parameters["task_type"] = taskType
        parameters["truncate"] = truncate
        return parameters
    }
}

/// An embedding API over HTTP: batches go out as one POST each, with
/// retries, pacing and a strict check of every answer.
public final class HTTPProvider: EmbeddingProvider, Sendable {
    public let settings: HTTPProviderSettings
    public let limits: BatchLimits
    public var name: String { settings.api.rawValue }
    public var dimension: Int? { settings.dimensions }

    private let client: HTTPClient
    private let wire: WireFormat
    /// Told of each retry before its wait, so a run that waits says so.
    private let retryNotice = Mutex<(@Sendable (String) -> Void)?>(nil)
    /// Told of each wait before a request, pacing or retry, as it starts.
    private let waitNotice = Mutex<(@Sendable (ProviderWait) -> Void)?>(nil)
    private let pacer: RequestPacer?
    /// Up to `--max-retries` retries, waiting at most `--max-retry-wait`
    /// in all: what the server asks for, else a random wait up to
    /// 0.5 s × 2^(retry − 1), at most 30 s.
    private let retryPolicy: RetryPolicy
    private let statistics = Mutex(ProviderStatistics())
    /// Set when the run stops: a batch waiting to retry gives up.
    private let cancelled = Atomic<Bool>(false)
    /// Cleared when the server refuses base64 answers: floats from then on.
    private let base64 = Atomic<Bool>(true)
    private let redactor: KeyRedactor?

    /// `notice` gets a line for each retry: what failed, which attempt
    /// comes next, and after how long.
    public func reportRetries(to notice: @escaping @Sendable (String) -> Void) {
        retryNotice.withLock { $0 = notice }
    }

    /// `notice` gets each wait before a request as it starts: what the
    /// progress line shows while nothing is sent.
    public func reportWaits(to notice: @escaping @Sendable (ProviderWait) -> Void) {
        waitNotice.withLock { $0 = notice }
    }

    public init(settings: HTTPProviderSettings) {
        self.settings = settings
        self.limits = settings.api.limits.batch
        self.client = HTTPClient(timeout: settings.timeout)
        self.wire = WireFormat(settings: settings)
        self.redactor = KeyRedactor(key: settings.key)
        self.pacer =
            settings.requestsPerMinute == nil && settings.tokensPerMinute == nil
            ? nil
            : RequestPacer(requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute)
        self.retryPolicy = RetryPolicy(
            attempts: settings.maxRetries + 1, base: .milliseconds(500), cap: .seconds(30),
            budget: settings.maxRetryWait, longestRequest: Self.longestRetryAfter)
        self.base64.store(settings.api.definition.offersBase64, ordering: .relaxed)
    }

    public var providerStatistics: ProviderStatistics? { statistics.withLock { $0 } }

    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// Every message leaves with the key taken out, once it is whole: the
    /// server's text, ours around it, and what the transport said.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        do {
            return try embedWithRetries(texts)
        } catch EmbCacheError.provider(let name, let message) {
            throw EmbCacheError.provider(name: name, message: redact(message))
        } catch EmbCacheError.unauthorized(let name, let message) {
            throw EmbCacheError.unauthorized(provider: name, message: redact(message))
        } catch var rejection as ProviderRejection {
            rejection.message = redact(rejection.message)
            throw rejection
        }
    }

    private func embedWithRetries(_ texts: [String]) throws -> [[Float]] {
        var retries = retryPolicy.start()
        while true {
            try Interrupt.check()
            if let pacer {
                let pause = pacer.admit(tokens: RequestPacer.estimatedTokens(texts))
                if pause > .zero {
                    try self.pause(pause, .paced)
                    statistics.withLock { $0.rateLimitWait += pause }
                }
            }
            let asBase64 = base64.load(ordering: .relaxed)
            let request = wire.request(texts, base64: asBase64)
            statistics.withLock { $0.requests += 1 }
            let outcome: Result<HTTPResponse, TransportFailure>
            do throws(TransportFailure) {
                outcome = .success(try client.send(request))
            } catch {
                outcome = .failure(error)
            }

            var retryAfter: Duration?
            var problem: String
            var rateLimited = false
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status):
                return try decode(response, count: texts.count)
            case .success(let response):
                let message = describe(response)
                // OpenAI's servers say outright whether a retry can help.
                let serverSays = response.headers["x-should-retry"].map { $0.lowercased() == "true" }
                let status = response.status
                if status == 401 || status == 403 {
                    throw EmbCacheError.unauthorized(
                        provider: name,
                        message: settings.key.map { _ in "the key in $\(settings.keyVariable) was refused (\(status))" }
                            ?? "the server wants a key (\(status)); set \(settings.keyVariable)"
                    )
                }
                if (status == 400 || status == 422) && asBase64 && Self.refusesBase64(message) {
                    base64.store(false, ordering: .relaxed)
                    continue
                }
                if status == 429 && Self.errorCode(response) == "insufficient_quota" {
                    // Billing, not a rate limit: waiting does not help.
                    throw EmbCacheError.provider(name: name, message: message + " (out of quota; not retried)")
                }
                // A refused batch is split whatever the server says of retrying it whole.
                if [400, 413, 422].contains(status) && serverSays != true {
                    throw ProviderRejection(status: status, message: message)
                }
                if serverSays == false {
                    throw EmbCacheError.provider(name: name, message: message + " (the server says not to retry)")
                }
                guard serverSays == true || [408, 409, 429].contains(status) || (500...599).contains(status) else {
                    throw EmbCacheError.provider(name: name, message: message)
                }
                retryAfter = Self.retryAfter(response.headers)
                rateLimited = status == 429
                problem = message
            case .failure(let failure):
                guard failure.isTransient else {
                    throw EmbCacheError.provider(name: name, message: failure.description)
                }
                problem = failure.description
            }

            // Another attempt, after a pause: what the server asked for, or
            // exponential backoff with full jitter, so clients that failed
            // together do not come back together.
            let pause: Duration
            switch retries.failed(requested: retryAfter) {
            case .wait(let wait):
                pause = wait
            case .requestTooLong(let asked):
                throw EmbCacheError.provider(
                    name: name,
                    message:
                        "\(problem); the server asks to wait \(String(format: "%g", asked.seconds)) s, longer than a retry is worth"
                )
            case .noAttemptsLeft:
                throw EmbCacheError.provider(
                    name: name,
                    message: "\(problem); gave up after \(retries.failures) attempts (see --max-retries)")
            case .overBudget(let next):
                throw EmbCacheError.provider(
                    name: name,
                    message:
                        "\(problem); gave up after \(retries.failures) attempts: waiting \(String(format: "%.3g", next.seconds)) s more would pass --max-retry-wait"
                )
            }
            let notice = retryNotice.withLock { $0 }
            notice?(
                redact(
                    "\(name): \(problem); attempt \(retries.nextAttempt) of \(settings.maxRetries + 1) in "
                        + String(format: "%.1f s", pause.seconds) + (rateLimited ? " (rate limited)" : "")))
            try self.pause(pause, .retry(rateLimited: rateLimited))
            statistics.withLock {
                $0.retries += 1
                if rateLimited { $0.rateLimitWait += pause }
            }
        }
    }

    private func decode(_ response: HTTPResponse, count: Int) throws -> [[Float]] {
        do {
            let document = try JSONValue.parse(response.body)
            return try wire.vectors(from: document, count: count)
        } catch let failure as JSONScanner.Failure {
            throw EmbCacheError.provider(
                name: name,
                message: "answer (\(response.status), \(response.body.count) bytes) is not JSON: \(failure.message)")
        } catch let problem as AnswerProblem {
            throw EmbCacheError.provider(name: name, message: "unexpected answer: \(problem.message)")
        }
    }

    /// `503 Service Unavailable: the provider's message`, as short plain
    /// text without the key.
    private func describe(_ response: HTTPResponse) -> String {
        let document = try? JSONValue.parse(response.body)
        var text = "\(response.status)" + (Self.reasons[response.status].map { " " + $0 } ?? "")
        if let message = ErrorBody.text(
            response.body, document: document, message: wire.errorMessage(document), redactor: redactor)
        {
            text += ": " + message
        }
        return text
    }

    /// Removes the key from anything that may be printed.
    private func redact(_ text: String) -> String {
        redactor?.redact(text) ?? text
    }

    /// A server asking for a longer pause is down, not busy: stop.
    static let longestRetryAfter = Duration.seconds(120)

    /// `error.code` of an OpenAI-style error answer.
    private static func errorCode(_ response: HTTPResponse) -> String? {
        (try? JSONValue.parse(response.body))?["error"]?["code"]?.string
    }

    private static let reasons = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
        413: "Content Too Large", 422: "Unprocessable Content", 429: "Too Many Requests",
        500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    ]

    private static func refusesBase64(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("base64") || lowered.contains("encoding_format")
    }

    /// `retry-after-ms` (milliseconds) or `Retry-After` (seconds, or an
    /// HTTP date).
    static func retryAfter(_ headers: [String: String], now: Date = Date()) -> Duration? {
        // Waits are capped at a year, far past any that is worth waiting.
        func wait(_ seconds: Double) -> Duration {
            .milliseconds(Int64((min(seconds, 31_536_000) * 1000).rounded(.up)))
        }
        if let text = headers["retry-after-ms"], let milliseconds = Double(text), milliseconds >= 0 {
            return wait(milliseconds / 1000)
        }
        guard let text = headers["retry-after"]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(text), seconds >= 0 { return wait(seconds) }
        return httpDate(text).map { wait(max(0, $0.timeIntervalSince(now))) }
    }

    /// IMF-fixdate, and the two obsolete forms RFC 9110 still accepts.
    private static func httpDate(_ text: String) -> Date? {
        for pattern in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = pattern
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// The policy's sleep, which SIGINT, SIGTERM and SIGHUP end, and so
    /// does a run that is stopping (whose window is being given up). The
    /// wait is told first, so the progress line can say so.
    private func pause(_ duration: Duration, _ reason: ProviderWait.Reason) throws {
        waitNotice.withLock { $0 }?(ProviderWait(reason: reason, until: ContinuousClock.now + duration))
        try retryPolicy.sleep(duration) { cancelled.load(ordering: .relaxed) }
    }
}

/// Spreads requests evenly under `--rpm` and `--tpm`: each request starts
/// no sooner than 60/rpm seconds after the one before, and tokens/tpm
/// minutes after the one before took its tokens. A job paced this way
/// stays under its limits over any minute instead of bursting into 429s.
final class RequestPacer: Sendable {
    private let requestInterval: Duration?
    private let tokenInterval: Duration?
    private let next = Mutex<(request: ContinuousClock.Instant, tokens: ContinuousClock.Instant)>(
        (ContinuousClock.now, ContinuousClock.now))

    init(requestsPerMinute: Int?, tokensPerMinute: Int?) {
        requestInterval = requestsPerMinute.map { .seconds(60) / $0 }
        tokenInterval = tokensPerMinute.map { .seconds(60) / $0 }
    }

    /// Reserves a start time for a request of this many tokens and returns
    /// how long to wait for it.
    func admit(tokens: Int) -> Duration {
        let now = ContinuousClock.now
        return next.withLock { next in
            let start = max(now, next.request, next.tokens)
            if let requestInterval { next.request = start + requestInterval }
            if let tokenInterval { next.tokens = start + tokenInterval * tokens }
            return start - now
        }
    }

    /// A quarter of the UTF-8 bytes, at least one per text: the usual
    /// ratio of English text to BPE tokens.
    static func estimatedTokens(_ texts: [String]) -> Int {
        texts.reduce(0) { $0 + max(1, ($1.utf8.count + 3) / 4) }
    }
}
