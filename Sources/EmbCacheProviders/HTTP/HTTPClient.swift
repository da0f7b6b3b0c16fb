import CCurl
import EmbCacheCore
import Foundation
import Synchronization

/// One request to send: a POST of JSON unless told otherwise.
package struct HTTPRequest: Sendable {
    package var url: String
    /// `Name: value` lines; the key's header among them, so a request is
    /// never printed.
    package var headers: [String]
    package var body: [UInt8]
    package var method = "POST"
    package var contentType: String? = "application/json"
    /// Signs the request with AWS Signature V4 (libcurl's own signing).
    package var signing: AWSSigning?
    /// Sends the URL's path as given: libcurl otherwise resolves `.` and
    /// `..` segments, in the request and in what it signs, which turns an S3
    /// key such as `a/../b` into another object's.
    package var pathAsIs = false

    package init(
        url: String, headers: [String], body: [UInt8], method: String = "POST",
        contentType: String? = "application/json"
    ) {
        self.url = url
        self.headers = headers
        self.body = body
        self.method = method
        self.contentType = contentType
    }
}

/// What libcurl needs to sign a request for AWS: `aws:amz:REGION:SERVICE`
/// and the key pair.
package struct AWSSigning: Sendable {
    package var scope: String
    package var accessKey: String
    package var secretKey: String

    package init(scope: String, accessKey: String, secretKey: String) {
        self.scope = scope
        self.accessKey = accessKey
        self.secretKey = secretKey
    }
}

/// What the server answered.
package struct HTTPResponse: Sendable {
    package var status: Int
    /// Header names in lower case; a repeated header keeps its last value.
    package var headers: [String: String]
    package var body: [UInt8]
}

/// A request that got no HTTP answer.
package enum TransportFailure: Error, Sendable, CustomStringConvertible {
    case timedOut
    /// No connection: refused, unreachable, name not resolved, TLS failed.
    case unreachable(String)
    /// The host name does not resolve: no retry can fix a misspelt URL or
    /// a machine without a network, so it is said at once.
    case unresolved(String)
    /// The connection broke before the whole answer arrived.
    case dropped(String)
    /// Anything else libcurl reports: a bad URL, an unsupported scheme.
    case failed(String)

    /// Worth another attempt: the next one may well get through.
    package var isTransient: Bool {
        switch self {
        case .timedOut, .unreachable, .dropped: true
        case .failed, .unresolved: false
        }
    }

    package var description: String {
        switch self {
        case .timedOut: "no answer within the timeout (see --timeout)"
        case .unreachable(let why): "cannot connect: \(why)"
        case .unresolved(let why): "\(why): check the URL (--base-url) and the network; not retried"
        case .dropped(let why): "connection dropped: \(why)"
        case .failed(let why): why
        }
    }
}

/// HTTP over libcurl. Each call blocks its thread; calls run on several
/// threads at once, each on a handle of its own that keeps its connection
/// open for the next request. libcurl reads `https_proxy`, `HTTPS_PROXY`,
/// `http_proxy` and `NO_PROXY` from the environment itself.
package final class HTTPClient: Sendable {
    /// The most an answer may hold; a larger one is a broken server.
    package static let maxBodyBytes = 512 << 20

    private let timeout: Duration
    private let idle = Mutex<[UnsafeSendable<UnsafeMutableRawPointer>]>([])

    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    package init(timeout: Duration) {
        _ = Self.initialized
        self.timeout = timeout
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.value) }
    }

    package func send(_ request: HTTPRequest) throws(TransportFailure) -> HTTPResponse {
        guard let handle = idle.withLock({ $0.popLast()?.value }) ?? curl_easy_init() else {
            throw .failed("libcurl cannot start a transfer")
        }
        var reusable = true
        defer {
            if reusable {
                idle.withLock { $0.append(UnsafeSendable(handle)) }
            } else {
                curl_easy_cleanup(handle)
            }
        }
        let received = Received()
        let context = Unmanaged.passUnretained(received).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        // No "Expect: 100-continue" wait; but libcurl 7.88 signs even a
        // removed header, so a signed request keeps what libcurl chooses.
        let expect = request.signing == nil ? ["Expect:"] : []
        for header in request.headers + (request.contentType.map { ["Content-Type: \($0)"] } ?? []) + expect {
            headerList = curl_slist_append(headerList, header)
        }
        defer { curl_slist_free_all(headerList) }

        let milliseconds = Int((timeout.seconds * 1000).rounded())
        let code: CURLcode = request.url.withCString { url in
            request.body.withUnsafeBufferPointer { body in
                curl_easy_reset(handle)
                embc_setopt_pointer(handle, CURLOPT_URL, url)
                if request.pathAsIs { embc_setopt_long(handle, CURLOPT_PATH_AS_IS, 1) }
                switch request.method {
                case "GET": embc_setopt_long(handle, CURLOPT_HTTPGET, 1)
                case "HEAD": embc_setopt_long(handle, CURLOPT_NOBODY, 1)
                default:
                    embc_setopt_long(handle, CURLOPT_POST, 1)
                    // A pointer even for an empty body: never read from stdin.
                    embc_setopt_pointer(handle, CURLOPT_POSTFIELDS, body.baseAddress ?? UnsafePointer(bitPattern: 1))
                    embc_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
                    if request.method != "POST" { embc_setopt_pointer(handle, CURLOPT_CUSTOMREQUEST, request.method) }
                }
                if let signing = request.signing {
                    embc_setopt_pointer(handle, CURLOPT_AWS_SIGV4, signing.scope)
                    embc_setopt_pointer(handle, CURLOPT_USERNAME, signing.accessKey)
                    embc_setopt_pointer(handle, CURLOPT_PASSWORD, signing.secretKey)
                }
                embc_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList)
                embc_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, milliseconds))
                embc_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, min(milliseconds, 30_000)))
                // Threads and signals: libcurl must not use SIGALRM for its
                // own timeouts in a threaded program.
                embc_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                embc_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, "http,https")
                embc_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
                embc_setopt_pointer(handle, CURLOPT_ACCEPT_ENCODING, "")
                embc_setopt_pointer(handle, CURLOPT_USERAGENT, "embcache/\(EmbCacheVersion.current)")
                embc_setopt_callback(handle, CURLOPT_WRITEFUNCTION, Received.bodyCallback)
                embc_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
                embc_setopt_callback(handle, CURLOPT_HEADERFUNCTION, Received.headerCallback)
                embc_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
                return curl_easy_perform(handle)
            }
        }
        guard code == CURLE_OK else {
            reusable = false
            throw Self.failure(code, overflowed: received.overflowed)
        }
        var status = 0
        embc_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: received.headers, body: received.body)
    }

    static func failure(_ code: CURLcode, overflowed: Bool = false) -> TransportFailure {
        let message = String(cString: curl_easy_strerror(code)).lowercased()
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .unresolved(message)
        case CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR:
            return .unreachable(message)
        case CURLE_WRITE_ERROR where overflowed:
            return .failed("the answer is larger than \(maxBodyBytes >> 20) MiB")
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            return .dropped(message)
        default:
            return .failed(message)
        }
    }
}

/// The answer as libcurl hands it over, piece by piece.
private final class Received {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var overflowed = false

    static let bodyCallback: embc_data_callback = { data, size, count, context in
        let received = Unmanaged<Received>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        guard received.body.count + length <= HTTPClient.maxBodyBytes else {
            received.overflowed = true
            return 0
        }
        data!.withMemoryRebound(to: UInt8.self, capacity: length) {
            received.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return length
    }

    static let headerCallback: embc_data_callback = { data, size, count, context in
        let received = Unmanaged<Received>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        let line = data!.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        // A new status line (after a 100 Continue or a redirect) starts a
        // new set of headers.
        if line.hasPrefix("HTTP/") {
            received.headers = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            received.headers[name] = value
        }
        return length
    }
}
