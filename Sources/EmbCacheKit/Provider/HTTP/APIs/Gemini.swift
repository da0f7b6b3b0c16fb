/// The Gemini API's batch of embedContent requests.
/// https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
struct GeminiAPI: EmbeddingAPI {
    let name = "gemini"
    let defaultBaseURL: String? = "https://generativelanguage.googleapis.com/v1beta"
    let keyVariable = "GEMINI_API_KEY"
    // 100 requests per batchEmbedContents call.
    let limits = APILimits(inputs: 100, size: nil, batch: BatchLimits(texts: 100, bytes: 1 << 20))
    let parameters: Set<APIParameter> = [.dimensions, .taskType]

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        let model = settings.model.hasPrefix("models/") ? settings.model : "models/\(settings.model)"
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
            url: "\(settings.trimmedBaseURL)/\(model):batchEmbedContents",
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
