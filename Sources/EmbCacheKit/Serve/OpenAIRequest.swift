import EmbCacheCore

/// `POST /v1/embeddings` as OpenAI documents it: `input` a string or an
/// array of strings, `model`, `dimensions`, `encoding_format` float or
/// base64; `user` and any other member are ignored, as OpenAI ignores
/// them. Read with the scanner that reads records, so that a text the
/// filter and the server get in the same JSON has the same bytes, and so
/// the same key.
public struct OpenAIRequest: Sendable {
    public var input: [String]
    public var model: String
    public var dimensions: Int?
    public var base64: Bool

    /// What is wrong with a request, and the member at fault.
    public struct Problem: Error, Sendable {
        public var message: String
        public var param: String?
    }

    public init(json body: [UInt8]) throws(Problem) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            throw Problem(message: "the body is not JSON: \(error.message)", param: nil)
        }
        guard case .object = document else {
            throw Problem(message: "the body must be a JSON object", param: nil)
        }
        guard let model = document["model"] else { throw Problem(message: "you must provide a model", param: "model") }
        guard let name = model.string else { throw Problem(message: "'model' must be a string", param: "model") }
        self.model = name
        switch document["input"] {
        case nil:
            throw Problem(message: "you must provide an input", param: "input")
        case .string(let text):
            input = [text]
        case .array(let values) where values.allSatisfy { $0.string != nil }:
            input = values.map { $0.string! }
        case .numbers(let ids) where ids.allSatisfy { $0 == $0.rounded() }:
            throw Self.tokenIDs
        case .array(let values) where values.allSatisfy(Self.isTokenIDs):
            throw Self.tokenIDs
        default:
            throw Problem(message: "'input' must be a string or an array of strings", param: "input")
        }
        switch document["dimensions"] {
        case nil, .null?:
            dimensions = nil
        case let value?:
            guard let dimensions = value.integer, dimensions >= 1 else {
                throw Problem(message: "'dimensions' must be a positive integer", param: "dimensions")
            }
            self.dimensions = dimensions
        }
        switch document["encoding_format"] {
        case nil, .null?, .string("float")?: base64 = false
        case .string("base64")?: base64 = true
        default: throw Problem(message: "'encoding_format' must be float or base64", param: "encoding_format")
        }
    }

    /// Token ids name no text: there is nothing to key the cache by.
    private static let tokenIDs = Problem(
        message: "'input' holds token ids; embcache serve takes texts only (a string or an array of strings)",
        param: "input")

    private static func isTokenIDs(_ value: JSONValue) -> Bool {
        if case .numbers(let ids) = value { ids.allSatisfy { $0 == $0.rounded() } } else { false }
    }
}
