import EmbCacheCore

/// Ollama's own API (not its OpenAI-compatible one).
/// https://github.com/ollama/ollama/blob/main/docs/api.md#generate-embeddings
struct OllamaAPI: EmbeddingAPI {
    let name = "ollama"
    let defaultBaseURL: String? = "http://localhost:11434"
    /// Sent when set, for a server behind a proxy that asks for one.
    let keyVariable = "OLLAMA_API_KEY"
    // Ollama documents no limit: a batch a local server answers in seconds.
    let limits = APILimits(inputs: nil, size: nil, batch: BatchLimits(texts: 512, bytes: 1 << 20))
    let parameters: Set<APIParameter> = [.dimensions, .truncate]

    func requiresKey(customBaseURL: Bool) -> Bool { false }

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        var body = JSONObjectBuilder()
        body.add("model", settings.model)
        body.add("input", texts)
        if let truncate = settings.truncate { body.add("truncate", truncate == "true") }
        if let dimensions = settings.dimensions { body.add("dimensions", dimensions) }
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/api/embed",
            headers: settings.key.map { ["Authorization: Bearer \($0)"] } ?? [],
            body: body.finished())
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try AnswerShape.rows(document["embeddings"], named: "embeddings")
    }
}

extension HTTPAPI {
    public static let ollama = HTTPAPI(OllamaAPI())
}
