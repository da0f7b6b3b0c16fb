import EmbCacheCore

/// Hugging Face's text-embeddings-inference.
/// https://huggingface.github.io/text-embeddings-inference/ (POST /embed)
struct TEIAPI: EmbeddingAPI {
    let name = "tei"
    let defaultBaseURL: String? = "http://localhost:8080"
    /// Sent when set.
    let keyVariable = "TEI_API_KEY"
    // The server's default --max-client-batch-size.
    let limits = APILimits(inputs: 32, size: nil, batch: BatchLimits(texts: 32, bytes: 1 << 20))
    let parameters: Set<APIParameter> = [.truncate]

    func requiresKey(customBaseURL: Bool) -> Bool { false }

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        var body = JSONObjectBuilder()
        body.add("inputs", texts)
        if let truncate = settings.truncate { body.add("truncate", truncate == "true") }
        // Vectors are stored as the model makes them; output is
        // normalised by embcache itself.
        body.add("normalize", false)
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/embed",
            headers: settings.key.map { ["Authorization: Bearer \($0)"] } ?? [],
            body: body.finished())
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try AnswerShape.rows(document, named: "answer")
    }
}

extension HTTPAPI {
    public static let tei = HTTPAPI(TEIAPI())
}
