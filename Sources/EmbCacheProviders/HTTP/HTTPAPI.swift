import EmbCacheCore
import Foundation

/// One embedding API over HTTP, all of it in one file under `APIs/`: where
/// requests go, the key's variable, the batch limits, the parameters it
/// takes, the request it is sent and how its answer reads. A new API is a
/// new conforming type and its line in `HTTPAPI.all`.
protocol EmbeddingAPI: Sendable {
    /// The name `--provider` takes.
    var name: String { get }
    /// Where requests go when no `--base-url` is given; nil when the user
    /// must say (Azure's endpoint is per resource).
    var defaultBaseURL: String? { get }
    /// The variable that holds the key unless `--api-key-env` names another.
    var keyVariable: String { get }
    var limits: APILimits { get }
    /// The parameters the API has a field for; any other is refused.
    var parameters: Set<APIParameter> { get }
    /// The request for a batch; `base64` asks for little-endian float32 in
    /// base64 where the API offers it.
    func request(_ texts: [String], settings: HTTPProviderSettings, base64: Bool) -> HTTPRequest
    /// The vectors of a 2xx answer, in input order.
    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]]

    // With defaults below.
    /// Where requests go for this key when no `--base-url` is given.
    func defaultBaseURL(key: String?) -> String?
    func requiresKey(customBaseURL: Bool) -> Bool
    /// Whether the API can answer in base64.
    var offersBase64: Bool { get }
    /// The input type sent when none is given, for an API that always
    /// sends one; the identity records it.
    var defaultInputType: String? { get }
    /// The settings with each value checked and spelt one way, so that one
    /// request has one identity.
    func canonical(_ settings: HTTPProviderSettings) throws(ParameterProblem) -> HTTPProviderSettings
}

extension EmbeddingAPI {
    package func defaultBaseURL(key: String?) -> String? { defaultBaseURL }
    package func requiresKey(customBaseURL: Bool) -> Bool { true }
    var offersBase64: Bool { false }
    var defaultInputType: String? { nil }
    package func canonical(_ settings: HTTPProviderSettings) throws(ParameterProblem) -> HTTPProviderSettings {
        try APIParameter.checkBooleanTruncate(settings)
        return settings
    }
}

/// The HTTP embedding APIs embcache speaks: a name for one of the
/// `EmbeddingAPI` types, and what the rest of embcache may ask of it.
public struct HTTPAPI: Sendable, Hashable, CustomStringConvertible {
    let definition: any EmbeddingAPI

    init(_ definition: any EmbeddingAPI) { self.definition = definition }

    /// Every API, in the order `--help` and the manual list them.
    public static let all: [HTTPAPI] = [.openai, .azure, .ollama, .cohere, .voyage, .gemini, .tei]

    public init?(rawValue: String) {
        guard let found = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = found
    }

    public var rawValue: String { definition.name }
    public var description: String { rawValue }
    public static func == (a: HTTPAPI, b: HTTPAPI) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    public var defaultBaseURL: String? { definition.defaultBaseURL }
    public func defaultBaseURL(key: String?) -> String? { definition.defaultBaseURL(key: key) }
    public var defaultKeyVariable: String { definition.keyVariable }
    public func requiresKey(customBaseURL: Bool) -> Bool { definition.requiresKey(customBaseURL: customBaseURL) }
    public var limits: APILimits { definition.limits }
    public var parameters: Set<APIParameter> { definition.parameters }
    public var defaultInputType: String? { definition.defaultInputType }

    /// The settings checked and in their one spelling; a problem names the
    /// parameter (nil: the model name).
    public func canonical(_ settings: HTTPProviderSettings) throws(ParameterProblem) -> HTTPProviderSettings {
        try definition.canonical(settings)
    }
}

/// What an API documents of the size of one request, and what embcache
/// sends at most by default (`--batch-size`, `--batch-bytes`).
public struct APILimits: Sendable, Equatable {
    /// The API's most inputs per request; nil when it documents none.
    public var inputs: Int?
    /// The API's bound on a request's size, as it says it ("300,000
    /// tokens"); nil when it documents none.
    public var size: String?
    /// embcache's default batch: the inputs above, and a byte bound under
    /// the token limit (bytes bound tokens from above).
    public var batch: BatchLimits
}

/// A parameter that changes vectors, of which each API takes some.
public enum APIParameter: String, Sendable, CaseIterable {
    case dimensions
    case inputType = "input-type"
    case taskType = "task-type"
    case truncate
    case deployment
    case apiVersion = "api-version"

    /// Whether the settings carry a value for it.
    public func isGiven(in settings: HTTPProviderSettings) -> Bool {
        switch self {
        case .dimensions: settings.dimensions != nil
        case .inputType: settings.inputType != nil
        case .taskType: settings.taskType != nil
        case .truncate: settings.truncate != nil
        case .deployment: settings.deployment != nil
        case .apiVersion: settings.apiVersion != nil
        }
    }

    /// `truncate` as most APIs take it: true or false.
    static func checkBooleanTruncate(_ settings: HTTPProviderSettings) throws(ParameterProblem) {
        try check(.truncate, settings.truncate, oneOf: ["true", "false"], api: settings.api)
    }

    /// Refuses a value outside `allowed`.
    package static func check(_ parameter: APIParameter, _ value: String?, oneOf allowed: [String], api: HTTPAPI)
        throws(ParameterProblem)
    {
        guard let value, !allowed.contains(value) else { return }
        throw ParameterProblem(
            parameter: parameter,
            message:
                "\(parameter.rawValue) for \(api.rawValue) is one of \(allowed.joined(separator: ", ")), not \"\(value)\""
        )
    }
}

/// A parameter value, or a model name (`parameter` nil), the API does not
/// take; the message starts with the parameter's name.
public struct ParameterProblem: Error, Sendable {
    public var parameter: APIParameter?
    public var message: String
}

/// How one provider's requests look and how its answers read: the API's
/// type, given the run's settings.
struct WireFormat: Sendable {
    let settings: HTTPProviderSettings

    func request(_ texts: [String], base64: Bool) -> HTTPRequest {
        settings.api.definition.request(texts, settings: settings, base64: base64)
    }

    func vectors(from document: JSONValue, count: Int) throws(AnswerProblem) -> [[Float]] {
        try settings.api.definition.vectors(from: document, count: count)
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
}

extension HTTPProviderSettings {
    /// The base URL without a trailing slash, for paths to follow.
    var trimmedBaseURL: String { baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL }
}

/// The answer shapes the APIs share.
enum AnswerShape {
    /// `data[].embedding`, each item at the input its `index` names: the
    /// order of the list is not promised (OpenAI, Azure, Voyage).
    static func indexedData(_ document: JSONValue) throws(AnswerProblem) -> [[Float]] {
        guard let items = document["data"]?.elements else { throw AnswerProblem("no \"data\" array") }
        var vectors = [[Float]?](repeating: nil, count: items.count)
        for (position, item) in items.enumerated() {
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
    }

    /// An array of vectors.
    static func rows(_ value: JSONValue?, named name: String) throws(AnswerProblem) -> [[Float]] {
        guard let rows = value?.elements else { throw AnswerProblem("no \"\(name)\" array") }
        return try rows.enumerated().map { (position, row) throws(AnswerProblem) in try floats(row, at: position) }
    }

    /// A vector as numbers, or as base64 of little-endian float32.
    static func floats(_ value: JSONValue, at position: Int) throws(AnswerProblem) -> [Float] {
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
}

/// A path segment with every character that would end or leave it
/// escaped.
func percentEncodedSegment(_ text: String) -> String {
    text.addingPercentEncoding(
        withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&=#"))) ?? text
}

/// What is wrong with a provider's answer.
struct AnswerProblem: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}
