import Foundation

/// The HTTP embedding APIs embcache speaks.
public enum HTTPAPI: String, Sendable, CaseIterable {
    case openai, azure, ollama, cohere, voyage, gemini, tei

    /// Where requests go when no `--base-url` is given; nil when the user
    /// must say (Azure's endpoint is per resource).
    public var defaultBaseURL: String? {
        switch self {
        case .openai: "https://api.openai.com/v1"
        case .azure: nil
        case .ollama: "http://localhost:11434"
        case .cohere: "https://api.cohere.com"
        case .voyage: "https://api.voyageai.com/v1"
        case .gemini: "https://generativelanguage.googleapis.com/v1beta"
        case .tei: "http://localhost:8080"
        }
    }

    /// The variable that holds the key unless `--api-key-env` names another.
    public var defaultKeyVariable: String {
        switch self {
        case .openai: "OPENAI_API_KEY"
        case .azure: "AZURE_OPENAI_API_KEY"
        case .ollama: "OLLAMA_API_KEY"
        case .cohere: "CO_API_KEY"
        case .voyage: "VOYAGE_API_KEY"
        case .gemini: "GEMINI_API_KEY"
        case .tei: "TEI_API_KEY"
        }
    }

    /// Local servers (Ollama, TEI) run without a key; so may an
    /// OpenAI-compatible server at another base URL.
    public func requiresKey(customBaseURL: Bool) -> Bool {
        switch self {
        case .ollama, .tei: false
        case .openai: !customBaseURL
        case .azure, .cohere, .voyage, .gemini: true
        }
    }

    /// Each API's documented maximum of inputs per request, and a byte
    /// bound under its token limit per request (bytes bound tokens from
    /// above).
    public var limits: BatchLimits {
        switch self {
        // 2048 inputs and 300,000 tokens summed over the inputs.
        case .openai, .azure: BatchLimits(texts: 2048, bytes: 300_000)
        case .ollama: BatchLimits(texts: 512, bytes: 1 << 20)
        // 96 texts per call.
        case .cohere: BatchLimits(texts: 96, bytes: 512 << 10)
        // 1,000 inputs; 120,000 tokens for the largest models.
        case .voyage: BatchLimits(texts: 1000, bytes: 120_000)
        // 100 requests per batchEmbedContents call.
        case .gemini: BatchLimits(texts: 100, bytes: 1 << 20)
        // text-embeddings-inference's default --max-client-batch-size.
        case .tei: BatchLimits(texts: 32, bytes: 1 << 20)
        }
    }
}

/// How one provider's requests look and how its answers read.
struct WireFormat: Sendable {
    let settings: HTTPProviderSettings
    var api: HTTPAPI { settings.api }

    /// The request for a batch; `base64` asks for little-endian float32 in
    /// base64 where the API offers it (OpenAI, Azure, Voyage).
    func request(_ texts: [String], base64: Bool) -> HTTPRequest {
        let base = settings.baseURL.hasSuffix("/") ? String(settings.baseURL.dropLast()) : settings.baseURL
        var body = JSONObjectBuilder()
        var url: String
        var auth: String? = settings.key.map { "Authorization: Bearer \($0)" }
        switch api {
        case .openai, .azure:
            // https://platform.openai.com/docs/api-reference/embeddings/create
            // https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference#embeddings
            if api == .azure {
                let deployment = percentEncoded(settings.deployment ?? settings.model)
                url =
                    "\(base)/openai/deployments/\(deployment)/embeddings?api-version=\(percentEncoded(settings.apiVersion ?? HTTPProviderSettings.defaultAzureAPIVersion))"
                auth = settings.key.map { "api-key: \($0)" }
            } else {
                url = "\(base)/embeddings"
                body.add("model", settings.model)
            }
            body.add("input", texts)
            body.add("encoding_format", base64 ? "base64" : "float")
            if let dimensions = settings.dimensions { body.add("dimensions", dimensions) }
        case .ollama:
            // https://github.com/ollama/ollama/blob/main/docs/api.md#generate-embeddings
            url = "\(base)/api/embed"
            body.add("model", settings.model)
            body.add("input", texts)
            if let truncate = settings.truncate { body.add("truncate", truncate == "true") }
            if let dimensions = settings.dimensions { body.add("dimensions", dimensions) }
        case .cohere:
            // https://docs.cohere.com/reference/embed (v2: input_type is required)
            url = "\(base)/v2/embed"
            body.add("model", settings.model)
            body.add("texts", texts)
            body.add("input_type", settings.inputType ?? HTTPProviderSettings.defaultCohereInputType)
            body.add("embedding_types", ["float"])
            if let truncate = settings.truncate { body.add("truncate", truncate.uppercased()) }
            if let dimensions = settings.dimensions { body.add("output_dimension", dimensions) }
        case .voyage:
            // https://docs.voyageai.com/reference/embeddings-api
            url = "\(base)/embeddings"
            body.add("model", settings.model)
            body.add("input", texts)
            if let inputType = settings.inputType { body.add("input_type", inputType) }
            if let dimensions = settings.dimensions { body.add("output_dimension", dimensions) }
            if let truncate = settings.truncate { body.add("truncation", truncate == "true") }
            // Voyage knows base64 (little-endian float32) or nothing at all.
            if base64 { body.add("encoding_format", "base64") }
        case .gemini:
            // https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
            let model = settings.model.hasPrefix("models/") ? settings.model : "models/\(settings.model)"
            url = "\(base)/\(model):batchEmbedContents"
            auth = settings.key.map { "x-goog-api-key: \($0)" }
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
            body.add("requests", raw: JSONObjectBuilder.array(requests))
        case .tei:
            // https://huggingface.github.io/text-embeddings-inference/ (POST /embed)
            url = "\(base)/embed"
            body.add("inputs", texts)
            if let truncate = settings.truncate { body.add("truncate", truncate == "true") }
            // Vectors are stored as the model makes them; output is
            // normalised by embcache itself.
            body.add("normalize", false)
        }
        return HTTPRequest(url: url, headers: auth.map { [$0] } ?? [], body: body.finished())
    }

    /// The vectors of a 2xx answer, in input order. Throws a message for a
    /// shape that does not match the API's.
    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        switch api {
        case .openai, .azure, .voyage:
            guard let items = document["data"]?.elements else { throw AnswerProblem("no \"data\" array") }
            var vectors = [[Float]?](repeating: nil, count: items.count)
            for (position, item) in items.enumerated() {
                // Items carry their input's index; the order of the list
                // is not promised.
                let index = item["index"]?.integer ?? position
                guard vectors.indices.contains(index), vectors[index] == nil else {
                    throw AnswerProblem("item \(position + 1) has index \(index), out of place")
                }
                guard let embedding = item["embedding"] else {
                    throw AnswerProblem("item \(position + 1) has no \"embedding\"")
                }
                vectors[index] = try floats(embedding, at: position)
            }
            return vectors.map { $0! }
        case .ollama:
            return try rows(document["embeddings"], named: "embeddings")
        case .cohere:
            return try rows(document["embeddings"]?["float"], named: "embeddings.float")
        case .gemini:
            guard let items = document["embeddings"]?.elements else {
                throw AnswerProblem("no \"embeddings\" array")
            }
            return try items.enumerated().map { (position, item) throws(AnswerProblem) in
                guard let values = item["values"] else { throw AnswerProblem("item \(position + 1) has no \"values\"") }
                return try floats(values, at: position)
            }
        case .tei:
            return try rows(document, named: "answer")
        }
    }

    /// The message in an error answer, in whichever field the API puts it.
    func errorMessage(_ document: JSONValue?) -> String? {
        guard let document else { return nil }
        for candidate in [document["error"]?["message"], document["error"], document["message"], document["detail"]] {
            if let text = candidate?.string { return text }
        }
        if let detail = document["detail"], case .array = detail { return detail.jsonText }
        return nil
    }

    private func rows(_ value: JSONValue?, named name: String) throws(AnswerProblem) -> [[Float]] {
        guard let rows = value?.elements else { throw AnswerProblem("no \"\(name)\" array") }
        return try rows.enumerated().map { (position, row) throws(AnswerProblem) in try floats(row, at: position) }
    }

    private func floats(_ value: JSONValue, at position: Int) throws(AnswerProblem) -> [Float] {
        switch value {
        case .numbers(let floats):
            return floats
        case .string(let encoded):
            guard let data = Data(base64Encoded: encoded), data.count % 4 == 0 else {
                throw AnswerProblem("embedding \(position + 1) is not base64 of float32 values")
            }
            return data.withUnsafeBytes { raw in
                (0..<(data.count / 4)).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
        case .array([]):
            return []
        default:
            throw AnswerProblem("embedding \(position + 1) is \(value.typeName), not an array of numbers")
        }
    }

    private func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(
            withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&=#"))) ?? text
    }
}

/// What is wrong with a provider's answer.
struct AnswerProblem: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}
