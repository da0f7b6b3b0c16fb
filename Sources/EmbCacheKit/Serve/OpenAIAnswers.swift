import EmbCacheCore

/// The bodies `embcache serve` answers with, in the shapes of OpenAI's
/// embeddings API, written as the filter writes its records: floats in
/// their shortest round-trip form, base64 of little-endian float32.
public enum OpenAIAnswers {
    /// `{"object":"list","data":[…],"model":…,"usage":{…}}`.
    public static func embeddings(_ vectors: [[Float]], model: String, base64: Bool, tokens: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(vectors.reduce(64) { $0 + 64 + $1.count * (base64 ? 6 : 12) })
        out.append(contentsOf: #"{"object":"list","data":["#.utf8)
        for (index, vector) in vectors.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"object":"embedding","index":"#.utf8)
            out.append(contentsOf: String(index).utf8)
            out.append(contentsOf: #","embedding":"#.utf8)
            if base64 {
                out.append(UInt8(ascii: "\""))
                littleEndianBytes(vector) { appendBase64($0, to: &out) }
                out.append(UInt8(ascii: "\""))
            } else {
                appendJSONNumbers(vector, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"model":"#.utf8)
        appendJSONString(model, to: &out)
        out.append(contentsOf: #","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#.utf8)
        return out
    }

    /// `{"error":{"message":…,"type":…,"param":…,"code":…}}`; a nil param
    /// or code is null, as OpenAI writes them.
    public static func error(message: String, type: String, param: String?, code: String?) -> [UInt8] {
        var error = JSONObjectBuilder()
        error.add("message", message)
        error.add("type", type)
        error.add("param", raw: param.map(jsonString) ?? Array("null".utf8))
        error.add("code", raw: code.map(jsonString) ?? Array("null".utf8))
        var outer = JSONObjectBuilder()
        outer.add("error", raw: error.finished())
        return outer.finished()
    }

    /// `GET /v1/models`: each model as OpenAI lists one.
    public static func models(_ names: [String]) -> [UInt8] {
        let entries = names.map { name in
            var model = JSONObjectBuilder()
            model.add("id", name)
            model.add("object", "model")
            model.add("created", 0)
            model.add("owned_by", "embcache")
            return model.finished()
        }
        var list = JSONObjectBuilder()
        list.add("object", "list")
        list.add("data", raw: JSONObjectBuilder.array(entries))
        return list.finished()
    }

    /// Tokens of `usage`, estimated as `--tpm` counts them: a token per 4
    /// bytes of text, at least one per text. embcache does not tokenize.
    public static func estimatedTokens(_ texts: [String]) -> Int {
        texts.reduce(0) { $0 + max(1, ($1.utf8.count + 3) / 4) }
    }

    private static func jsonString(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        appendJSONString(text, to: &out)
        return out
    }
}
