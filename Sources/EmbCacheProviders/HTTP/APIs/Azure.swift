import EmbCacheCore

/// Azure OpenAI: OpenAI's request at a resource's endpoint, the deployment
/// in the path standing for the model.
/// https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference#embeddings
struct AzureAPI: EmbeddingAPI {
    static let defaultAPIVersion = "2024-10-21"

    let name = "azure"
    /// Each resource has its own: `--base-url` must say.
    let defaultBaseURL: String? = nil
    let keyVariable = "AZURE_OPENAI_API_KEY"
    let limits = APILimits(inputs: 2048, size: "300,000 tokens", batch: BatchLimits(texts: 2048, bytes: 300_000))
    let parameters: Set<APIParameter> = [.dimensions, .deployment, .apiVersion]
    let offersBase64 = true

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        let deployment = percentEncodedSegment(settings.deployment ?? settings.model)
        let version = percentEncodedSegment(settings.apiVersion ?? Self.defaultAPIVersion)
        var body = JSONObjectBuilder()
        OpenAIAPI.addInput(texts, settings: settings, base64: base64, to: &body)
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/openai/deployments/\(deployment)/embeddings?api-version=\(version)",
            headers: settings.key.map { ["api-key: \($0)"] } ?? [], body: body.finished())
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try AnswerShape.indexedData(document)
    }
}

extension HTTPAPI {
    public static let azure = HTTPAPI(AzureAPI())
}
