import EmbCacheCore

/// The Gemini API's batch of embedContent requests.
/// https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
struct GeminiAPI: EmbeddingAPI {
    let name = "gemini"
    let defaultBaseURL: String? = "https://generativelanguage.googleapis.com/v1beta"
    let keyVariable = "GEMINI_API_KEY"
    // 100 requests per batchEmbedContents call.
    let limits = APILimits(inputs: 100, size: nil, batch: BatchLimits(texts: 100, bytes: 1 << 20))
    let parameters: Set<APIParameter> = [.dimensions, .taskType]

    /// `models/x` and `x` are one model, and a task type in any case one
    /// task type: each is spelt one way before it names a cache file, the
    /// way the cache files made before were named (`x`, upper case). A
    /// name that would end or leave its place in the URL's path is
    /// refused, as google-genai refuses it.
    func canonical(_ settings: HTTPProviderSettings) throws(ParameterProblem) -> HTTPProviderSettings {
        var settings = settings
        let model = settings.model
        let segments = Self.resource(model).split(separator: "/", omittingEmptySubsequences: false)
        for forbidden in ["..", "?", "&", "#"] where model.contains(forbidden) {
            throw ParameterProblem(
                parameter: nil,
                message: "model \"\(model)\" is not a \(name) model name: it may not hold \"\(forbidden)\"")
        }
        guard segments.count >= 2, !segments.contains(where: { $0.isEmpty || $0 == "." }) else {
            throw ParameterProblem(
                parameter: nil, message: "model \"\(model)\" is not a \(name) model name: it has an empty part")
        }
        if model.hasPrefix("models/") { settings.model = String(model.dropFirst("models/".count)) }
        settings.taskType = settings.taskType?.uppercased()
        return settings
    }

    /// The model's resource name: `models/x`, or a tuned model's own.
    static func resource(_ model: String) -> String {
        model.hasPrefix("models/") || model.hasPrefix("tunedModels/") ? model : "models/\(model)"
    }

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        let model = Self.resource(settings.model)
        let path = model.split(separator: "/", omittingEmptySubsequences: false).map {
            percentEncodedSegment(String($0))
        }.joined(separator: "/")
        let requests = texts.map { text in
            var request = JSONObjectBuilder()
            request.add("model", model)
            var part = JSONObjectBuilder()
            part.add("text", text)
            var content = JSONObjectBuilder()
            content.add("parts", raw: JSONObjectBuilder.array([part.finished()]))
            request.add("content", raw: content.finished())
            if let taskType = settings.taskType { request.add("taskType", taskType) }
            if let dimensions = settings.dimensions { request.add("outputDimensionality", dimensions) }
            return request.finished()
        }
        var body = JSONObjectBuilder()
        body.add("requests", raw: JSONObjectBuilder.array(requests))
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/\(path):batchEmbedContents",
            headers: settings.key.map { ["x-goog-api-key: \($0)"] } ?? [], body: body.finished())
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        guard let items = document["embeddings"]?.elements else {
            throw AnswerProblem("no \"embeddings\" array")
        }
        return try items.enumerated().map { (position, item) throws(AnswerProblem) in
            guard let values = item["values"] else { throw AnswerProblem("item \(position + 1) has no \"values\"") }
            return try AnswerShape.floats(values, at: position)
        }
    }
}

extension HTTPAPI {
    public static let gemini = HTTPAPI(GeminiAPI())
}
