import Crypto
import EmbCacheCore
import EmbCacheProviders
import Foundation

/// `s3://bucket/prefix`: where a backup lives.
public struct S3Location: Sendable, CustomStringConvertible {
    public var bucket: String
    /// Without a leading or trailing `/`; may be empty.
    public var prefix: String

    public static func isURL(_ text: String) -> Bool { text.hasPrefix("s3://") }

    public init(_ url: String) throws {
        guard Self.isURL(url) else { throw EmbCacheError.usage("\(url) is not an s3://bucket/prefix URL") }
        let path = url.dropFirst("s3://".count)
        let parts = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        bucket = String(parts[0])
        prefix = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: ["/"]) : ""
        guard !bucket.isEmpty, bucket.allSatisfy({ $0.isLetter || $0.isNumber || "-._".contains($0) }) else {
            throw EmbCacheError.usage("\(url): no valid bucket name")
        }
    }

    /// The object key of a file of the backup.
    package func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "/" + name }

    public var description: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix) }
}

/// The standard AWS variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION` (else `AWS_DEFAULT_REGION`, else
/// us-east-1) and `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` for
/// S3-compatible stores, which are addressed path-style.
public struct S3Settings: Sendable {
    package var accessKey: String
    package var secretKey: String
    var sessionToken: String?
    var region: String
    /// nil: AWS itself, addressed virtual-host style.
    package var endpoint: String?

    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let accessKey = value("AWS_ACCESS_KEY_ID") else {
            throw EmbCacheError.configuration("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard let secretKey = value("AWS_SECRET_ACCESS_KEY") else {
            throw EmbCacheError.configuration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        self.accessKey = accessKey
        self.secretKey = secretKey
        sessionToken = value("AWS_SESSION_TOKEN")
        region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        endpoint = (value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL")).map {
            $0.hasSuffix("/") ? String($0.dropLast()) : $0
        }
    }

    /// Removes every secret from a message.
    package func scrub(_ message: String) -> String {
        [secretKey, sessionToken].compactMap { $0 }.reduce(message) { $0.replacing($1, with: "***") }
    }
}

/// The few S3 calls a backup needs, over libcurl with its AWS Signature V4:
/// PUT (whole or multipart), ranged GET, DELETE and a listing. Transient
/// failures (5xx, 429, timeouts, dropped connections) are retried with
/// backoff; a refused signature stops at once.
final class S3Client: Sendable {
    let settings: S3Settings
    let location: S3Location
    private let client = HTTPClient(timeout: .seconds(300))
    /// 6 attempts in all; before retry n, a random wait up to
    /// 0.2 s × 2^n, at most 10 s.
    static let retryPolicy = RetryPolicy(attempts: 6, base: .milliseconds(400), cap: .seconds(10))

    init(settings: S3Settings, location: S3Location) {
        self.settings = settings
        self.location = location
    }

    /// The URL of an object (or with `key` nil, of the bucket), with a
    /// query already in canonical form: keys sorted, values encoded. The key
    /// is encoded byte by byte and its `.` and `..` segments are kept (the
    /// request is sent with its path as is): S3 keys are names, not paths.
    private func url(_ key: String?, query: [(String, String)] = []) -> String {
        let path = key.map { "/" + Self.encode($0, keepingSlashes: true) } ?? "/"
        var url =
            if let endpoint = settings.endpoint {
                endpoint + "/" + location.bucket + (key == nil ? "" : path)
            } else {
                "https://\(location.bucket).s3.\(settings.region).amazonaws.com" + path
            }
        if !query.isEmpty {
            url +=
                "?"
                + query.sorted { $0.0 < $1.0 }.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(
                    separator: "&")
        }
        return url
    }

    /// SigV4's URI encoding: everything but unreserved characters.
    static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var encoded = ""
        for byte in text.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (character.isLetter || character.isNumber || "-._~".contains(character))
                || (keepingSlashes && byte == UInt8(ascii: "/"))
            {
                encoded.append(character)
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }

    /// Sends one request, retried while the failure is transient. Answers
    /// other than 2xx (and `accepting`) are errors naming the operation.
    @discardableResult
    private func send(
        _ method: String, _ url: String, body: [UInt8] = [], headers: [String] = [], accepting: Set<Int> = [],
        what: String
    ) throws -> HTTPResponse {
        let digest = SHA256.hash(data: body).hexDigits
        var request = HTTPRequest(
            url: url,
            headers: headers + ["x-amz-content-sha256: \(digest)"]
                + (settings.sessionToken.map { ["x-amz-security-token: \($0)"] } ?? []),
            body: body, method: method,
            contentType: method == "GET" || method == "HEAD" ? nil : "application/octet-stream")
        request.signing = AWSSigning(
            scope: "aws:amz:\(settings.region):s3", accessKey: settings.accessKey, secretKey: settings.secretKey)
        request.pathAsIs = true
        var problem = ""
        var retries = Self.retryPolicy.start()
        // `continue` retries after the policy's wait; `break` gives up.
        repeat {
            let response: HTTPResponse
            do {
                response = try client.send(request)
            } catch {
                problem = error.description
                if error.isTransient { continue }
                break
            }
            let code = Self.errorCode(response.body)
            // Not a missing key that `accepting` may allow for: no bucket.
            if response.status == 404 && code == "NoSuchBucket" {
                throw EmbCacheError.configuration(
                    "\(location): bucket \(location.bucket) does not exist (\(what): HTTP 404 NoSuchBucket)")
            }
            if (200..<300).contains(response.status) || accepting.contains(response.status) {
                // A multipart completion may fail inside a 200.
                if method == "POST", let code = Self.errorCode(response.body) {
                    problem = "200 with error \(code)"
                    continue
                }
                return response
            }
            problem = "HTTP \(response.status)" + (code.map { " \($0)" } ?? "")
            if response.status == 403 || response.status == 401 {
                throw EmbCacheError.unauthorized(
                    provider: "s3",
                    message: "\(what) was refused (\(problem)): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            // S3 refuses a session token with 400, not 403.
            if response.status == 400, let code, Self.tokenRefusals.contains(code) {
                throw EmbCacheError.unauthorized(
                    provider: "s3",
                    message: "\(what) was refused (\(problem)): the session token is expired or not valid: "
                        + "check AWS_SESSION_TOKEN")
            }
            if response.status == 404 {
                throw EmbCacheError.configuration("\(what): \(problem)")
            }
            guard response.status >= 500 || response.status == 429 || response.status == 408 else { break }
        } while try retries.waitAfterFailure()
        throw EmbCacheError.backup(
            location: location.description, message: settings.scrub("\(what) failed: \(problem)"))
    }

    /// The error codes of a session token S3 will not take.
    static let tokenRefusals: Set<String> = ["InvalidToken", "ExpiredToken", "TokenRefreshRequired"]

    /// The `<Code>` of an S3 error body.
    static func errorCode(_ body: [UInt8]) -> String? {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        guard text.contains("<Error>") else { return nil }
        return element("Code", in: text).first ?? "error"
    }

    /// The text of every `<name>` element, unescaped (S3's XML is flat).
    static func element(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            found.append(
                String(rest[open.upperBound..<close.lowerBound]).replacing("&quot;", with: "\"")
                    .replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&apos;", with: "'")
                    .replacing("&amp;", with: "&"))
            rest = rest[close.upperBound...]
        }
        return found
    }

    // MARK: - Objects

    func put(_ name: String, _ body: [UInt8]) throws {
        try send("PUT", url(location.key(name)), body: body, what: "upload of \(location.key(name))")
    }

    /// The object, or nil when there is none.
    func get(_ name: String) throws -> [UInt8]? {
        let response = try send(
            "GET", url(location.key(name)), accepting: [404], what: "download of \(location.key(name))")
        return response.status == 404 ? nil : response.body
    }

    /// Bytes `start..<end` of an object.
    func get(_ name: String, range: Range<Int>) throws -> [UInt8] {
        try send(
            "GET", url(location.key(name)), headers: ["Range: bytes=\(range.lowerBound)-\(range.upperBound - 1)"],
            what: "download of \(location.key(name))"
        ).body
    }

    func delete(_ name: String) throws {
        try send("DELETE", url(location.key(name)), accepting: [404], what: "removal of \(location.key(name))")
    }

    /// The names of the objects under the prefix (one level of listing,
    /// continued until complete).
    func list() throws -> [String] {
        var names: [String] = []
        var token: String?
        let start = location.prefix.isEmpty ? "" : location.prefix + "/"
        repeat {
            var query = [("list-type", "2"), ("prefix", start)]
            if let token { query.append(("continuation-token", token)) }
            let text = String(
                decoding: try send("GET", url(nil, query: query), what: "listing of \(location)").body, as: UTF8.self)
            names += Self.element("Key", in: text).map { String($0.dropFirst(start.count)) }
            token =
                Self.element("IsTruncated", in: text).first == "true"
                ? Self.element("NextContinuationToken", in: text).first : nil
        } while token != nil
        return names
    }

    /// Uploads a file in parts read one at a time, so memory holds one part.
    /// A failed upload is aborted, leaving no parts behind.
    func putMultipart(_ name: String, file: String, size: Int, partSize: Int) throws {
        let key = location.key(name)
        let started = try send("POST", url(key, query: [("uploads", "")]), what: "multipart upload of \(key)")
        guard let uploadID = Self.element("UploadId", in: String(decoding: started.body, as: UTF8.self)).first else {
            throw EmbCacheError.backup(
                location: location.description, message: "multipart upload of \(key): no UploadId")
        }
        do {
            let handle = try fileOperation(file) { try FileHandle(forReadingFrom: URL(fileURLWithPath: file)) }
            defer { try? handle.close() }
            var tags: [String] = []
            var offset = 0
            while offset < size {
                let part =
                    try fileOperation(file) { try handle.read(upToCount: min(partSize, size - offset)) }.map {
                        [UInt8]($0)
                    } ?? []
                guard !part.isEmpty else { throw EmbCacheError.output(path: file, errno: EIO) }
                let response = try send(
                    "PUT", url(key, query: [("partNumber", String(tags.count + 1)), ("uploadId", uploadID)]),
                    body: part, what: "part \(tags.count + 1) of \(key)")
                guard let tag = response.headers["etag"] else {
                    throw EmbCacheError.backup(
                        location: location.description, message: "part \(tags.count + 1) of \(key): no ETag")
                }
                tags.append(tag)
                offset += part.count
            }
            var body = "<CompleteMultipartUpload>"
            for (index, tag) in tags.enumerated() {
                body += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(tag)</ETag></Part>"
            }
            body += "</CompleteMultipartUpload>"
            try send(
                "POST", url(key, query: [("uploadId", uploadID)]), body: Array(body.utf8), what: "completion of \(key)")
        } catch {
            _ = try? send(
                "DELETE", url(key, query: [("uploadId", uploadID)]), accepting: [404], what: "abort of \(key)")
            throw error
        }
    }
}
