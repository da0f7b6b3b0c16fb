import EmbCacheCore

/// Cohere's v2 API.
/// https://docs.cohere.com/reference/embed (v2: input_type is required)
struct CohereAPI: EmbeddingAPI {
    let name = "cohere"
    let defaultBaseURL: String? = "https://api.cohere.com"
    let keyVariable = "CO_API_KEY"
    // 96 texts per call.
    let limits = APILimits(inputs: 96, size: nil, batch: BatchLimits(texts: 96, bytes: 512 << 10))
    let parameters: Set<APIParameter> = [.dimensions, .inputType, .truncate]
    let defaultInputType: String? = "search_document"

    /// `truncate` is an upper-case enum; any case is taken and sent upper.
    func canonical(_ settings: HTTPProviderSettings) throws(ParameterProblem) -> HTTPProviderSettings {
        var settings = settings
        if let truncate = settings.truncate {
            let allowed = ["NONE", "START", "END"]
            guard allowed.contains(truncate.uppercased()) else {
                throw ParameterProblem(
                    parameter: .truncate,
                    message: "truncate for \(name) is one of \(allowed.joined(separator: ", ")), not \"\(truncate)\"")
            }
            settings.truncate = truncate.uppercased()
        }
        return settings
    }

    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest {
        var body = JSONObjectBuilder()
        body.add("model", settings.model)
        body.add("texts", texts)
        body.add("input_type", settings.inputType ?? defaultInputType!)
        body.add("embedding_types", ["float"])
        if let truncate = settings.truncate { body.add("truncate", truncate.uppercased()) }
        if let dimensions = settings.dimensions { body.add("output_dimension", dimensions) }
        return HTTPRequest(
            url: "\(settings.trimmedBaseURL)/v2/embed",
            headers: settings.key.map { ["Authorization: Bearer \($0)"] } ?? [],
            body: body.finished())
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try AnswerShape.rows(document["embeddings"]?["float"], named: "embeddings.float")
    }
}

extension HTTPAPI {
    public static let cohere = HTTPAPI(CohereAPI())
}
