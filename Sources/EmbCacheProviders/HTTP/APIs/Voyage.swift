import EmbCacheCore

/// Voyage AI.
/// https://docs.voyageai.com/reference/embeddings-api
struct VoyageAPI: EmbeddingAPI {
    let name = "voyage"
    let defaultBaseURL: String? = "https://api.voyageai.com/v1"
    let keyVariable = "VOYAGE_API_KEY"
    /// Keys made in MongoDB Atlas (`al-`) are Atlas's, served at its own
    /// endpoint: the voyageai SDK sends them there (`get_default_base_url`).
    static let atlasBaseURL = "https://ai.mongodb.com/v1"
    // 1,000 inputs; 120,000 tokens for the largest models.
    let limits = APILimits(inputs: 1000, size: "120,000 tokens", batch: BatchLimits(texts: 1000, bytes: 120_000))
    let parameters: Set<APIParameter> = [.dimensions, .inputType, .truncate]
    let offersBase64 = true

    /// The API's input types, or none.
    static let inputTypes = ["query", "document"]

    func defaultBaseURL(key: String?) -> String? {
        key?.hasPrefix("al-") == true ? Self.atlasBaseURL : defaultBaseURL
    }

    func canonical(_ settings: HTTPProviderSettings) throws(ParameterProblem) -> HTTPProviderSettings {
        try APIParameter.checkBooleanTruncate(settings)
        try APIParameter.check(.inputType, settings.inputType, oneOf: Self.inputTypes, api: settings.api)
        return settings
    }

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        var body = JSONObjectBuilder()
        body.add("model", settings.model)
        body.add("input", texts)
        if let inputType = settings.inputType { body.add("input_type", inputType) }
        if let dimensions = settings.dimensions { body.add("output_dimension", dimensions) }
        if let truncate = settings.truncate { body.add("truncation", truncate == "true") }
        // Voyage knows base64 (little-endian float32) or nothing at all.
        if base64 { body.add("encoding_format", "base64") }
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/embeddings",
            headers: settings.key.map { ["Authorization: Bearer \($0)"] } ?? [],
            body: body.finished())
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try AnswerShape.indexedData(document)
    }
}

extension HTTPAPI {
    public static let voyage = HTTPAPI(VoyageAPI())
}
