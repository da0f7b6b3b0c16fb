import EmbCacheCore

/// OpenAI's API, and the servers that copy it (vLLM, llama.cpp's
/// llama-server, LM Studio, LiteLLM).
/// https://platform.openai.com/docs/api-reference/embeddings/create
struct OpenAIAPI: EmbeddingAPI {
    let name = "openai"
    let defaultBaseURL: String? = "https://api.openai.com/v1"
    let keyVariable = "OPENAI_API_KEY"
    // 2048 inputs and 300,000 tokens summed over the inputs.
    let limits = APILimits(inputs: 2048, size: "300,000 tokens", batch: BatchLimits(texts: 2048, bytes: 300_000))
    let parameters: Set<APIParameter> = [.dimensions]
    let offersBase64 = true

    /// An OpenAI-compatible server at another base URL may run without one.
    func requiresKey(customBaseURL: Bool) -> Bool { !customBaseURL }

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        var body = JSONObjectBuilder()
        body.add("model", settings.model)
        Self.addInput(texts, settings: settings, base64: base64, to: &body)
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/embeddings",
            headers: settings.key.map { ["Authorization: Bearer \($0)"] } ?? [],
            body: body.finished())
    }

    /// The fields OpenAI and Azure share.
    static func addInput(
        _ texts: [String], settings: HTTPProviderSettings, base64: Bool, to body: inout JSONObjectBuilder
    ) {
        body.add("input", texts)
        body.add("encoding_format", base64 ? "base64" : "float")
        if let dimensions = settings.dimensions { body.add("dimensions", dimensions) }
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try AnswerShape.indexedData(document)
    }
}

extension HTTPAPI {
    public static let openai = HTTPAPI(OpenAIAPI())
}
