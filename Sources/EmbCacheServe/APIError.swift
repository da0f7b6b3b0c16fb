import EmbCacheKit
import EmbCacheProviders
import Hummingbird

/// An answer other than 200, in OpenAI's error shape. Messages say what
/// was wrong with the request; none carries a text, a key or what a
/// provider answered (that goes to the server's log).
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var type: String
    var param: String?
    var code: String?

    static func invalid(_ message: String, _ param: String?) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: nil)
    }

    static func unknownModel(_ name: String) -> APIError {
        APIError(
            status: .notFound,
            message:
                "The model '\(name)' does not exist: embcache serve knows the models of its config file and hash-<d>",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    static let unauthorized = APIError(
        status: .unauthorized,
        message: "Incorrect or missing API key: give one of the server's client keys as a bearer token",
        type: "invalid_request_error", param: nil, code: "invalid_api_key")

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, message: "the request body is larger than \(limit) bytes (see --max-body-bytes)",
            type: "invalid_request_error", param: nil, code: nil)
    }

    static func unusableModel(_ name: String) -> APIError {
        APIError(
            status: .serviceUnavailable,
            message: "The model '\(name)' cannot be served now; the server's log says why",
            type: "server_error", param: "model", code: nil)
    }

    static func tooManyModels(_ limit: Int) -> APIError {
        APIError(
            status: .badRequest,
            message: "this server has \(limit) models open, its most (see --max-models)",
            type: "invalid_request_error", param: "model", code: nil)
    }

    static let upstream = APIError(
        status: .badGateway, message: "the embedding provider failed; the server's log says why",
        type: "upstream_error", param: nil, code: nil)

    static let store = APIError(
        status: .serviceUnavailable, message: "the cache could not be read or written; the server's log says why",
        type: "server_error", param: nil, code: nil)

    static let closing = APIError(
        status: .serviceUnavailable, message: "the server is shutting down", type: "server_error", param: nil,
        code: nil)

    /// A served request's failure as its answer.
    init(_ failure: ServeFailure) {
        switch failure {
        case .input(let index, let problem): self = .invalid("input[\(index)]: \(problem)", "input")
        case .rejected(let index, _): self = .invalid("input[\(index)] was refused by the embedding provider", "input")
        case .notInCache(let index):
            self = .invalid("input[\(index)] is not in the cache (the model is offline)", "input")
        case .provider: self = .upstream
        case .store: self = .store
        case .closing: self = .closing
        }
    }

    init(status: HTTPResponse.Status, message: String, type: String, param: String?, code: String?) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse(status, OpenAIAnswers.error(message: message, type: type, param: param, code: code))
    }
}

func jsonResponse(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
}
