import Foundation

/// `POST /v1/embeddings` as OpenAI documents it: `input` a string or an
/// array of strings, `model`, `dimensions`, `encoding_format` float or
/// base64; `user` and any other member are ignored, as OpenAI does.
struct EmbeddingsRequest: Decodable {
    var input: [String]
    var model: String
    var dimensions: Int?
    var base64: Bool

    private enum Keys: String, CodingKey {
        case input, model, dimensions
        case encodingFormat = "encoding_format"
    }

    init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: Keys.self)
        guard members.contains(.model) else { throw APIError.invalid("you must provide a model parameter", "model") }
        guard let model = try? members.decode(String.self, forKey: .model) else {
            throw APIError.invalid("'model' must be a string", "model")
        }
        self.model = model
        guard members.contains(.input) else { throw APIError.invalid("you must provide an input parameter", "input") }
        if let text = try? members.decode(String.self, forKey: .input) {
            input = [text]
        } else if let texts = try? members.decode([String].self, forKey: .input) {
            input = texts
        } else if (try? members.decode([Int].self, forKey: .input)) != nil
            || (try? members.decode([[Int]].self, forKey: .input)) != nil
        {
            // Token ids name no text: there is nothing to key the cache by.
            throw APIError.invalid(
                "'input' holds token ids; embcache serve takes texts only (a string or an array of strings)", "input")
        } else {
            throw APIError.invalid("'input' must be a string or an array of strings", "input")
        }
        if members.contains(.dimensions), try !members.decodeNil(forKey: .dimensions) {
            guard let dimensions = try? members.decode(Int.self, forKey: .dimensions), dimensions >= 1 else {
                throw APIError.invalid("'dimensions' must be a positive integer", "dimensions")
            }
            self.dimensions = dimensions
        }
        let format: String?
        do {
            format = try members.decodeIfPresent(String.self, forKey: .encodingFormat)
        } catch {
            throw APIError.invalid("'encoding_format' must be float or base64", "encoding_format")
        }
        switch format {
        case nil, "float": base64 = false
        case "base64": base64 = true
        default: throw APIError.invalid("'encoding_format' must be float or base64", "encoding_format")
        }
    }

    /// Decodes a body; anything but a JSON object of the shape above is a
    /// 400 in OpenAI's error shape.
    static func decode(_ body: Data) throws -> EmbeddingsRequest {
        do {
            return try JSONDecoder().decode(EmbeddingsRequest.self, from: body)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.invalid("the body is not a JSON object of an embeddings request", nil)
        }
    }
}
