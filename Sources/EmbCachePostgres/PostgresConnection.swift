import CLibPQ
import EmbCacheCore
import Glibc

/// A `postgresql://` URL as the user gave it, and the same without its
/// password for every message. libpq reads the URL, and with it sslmode,
/// the PG* variables and ~/.pgpass, exactly as psql does.
public struct PostgresAddress: Sendable, CustomStringConvertible {
    public let url: String
    public let redacted: String
    /// What must never appear in a message: the URL's password (as written
    /// and decoded) and $PGPASSWORD.
    private let secrets: [String]

    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    public init(url: String, environment: [String: String]) {
        self.url = url
        var secrets: [String] = []
        var redacted = url
        // Where the host begins in `redacted`, as a UTF-8 offset.
        var hostOffset = 0
        // As libpq reads it: user information runs to the first "@" before
        // the first "/", and a password follows its first ":".
        if let schemeEnd = url.range(of: "://") {
            let afterScheme = url[schemeEnd.upperBound...]
            let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            if let at = afterScheme[..<slash].firstIndex(of: "@") {
                hostOffset = url.utf8.distance(from: url.startIndex, to: at)
                if let colon = afterScheme[..<at].firstIndex(of: ":"), url.index(after: colon) < at {
                    secrets.append(String(url[url.index(after: colon)..<at]))
                    let head = String(url[...colon]) + "***"
                    hostOffset = head.utf8.count
                    redacted = head + url[at...]
                }
            }
        }
        // Parameters whose name holds "password" (password, sslpassword).
        var cleaned = redacted
        let host = redacted.utf8.index(redacted.startIndex, offsetBy: hostOffset)
        if let question = redacted[host...].firstIndex(of: "?") {
            let parameters = redacted[redacted.index(after: question)...].split(
                separator: "&", omittingEmptySubsequences: false
            ).map { parameter -> String in
                guard let equals = parameter.firstIndex(of: "="),
                    parameter[..<equals].lowercased().contains("password"),
                    parameter.index(after: equals) < parameter.endIndex
                else { return String(parameter) }
                secrets.append(String(parameter[parameter.index(after: equals)...]))
                return String(parameter[...equals]) + "***"
            }
            cleaned = String(redacted[...question]) + parameters.joined(separator: "&")
        }
        self.redacted = cleaned
        if let password = environment["PGPASSWORD"], !password.isEmpty { secrets.append(password) }
        self.secrets = secrets.flatMap { [$0, $0.removingPercentEncoding ?? $0] }.filter { !$0.isEmpty }
    }

    public var description: String { redacted }

    /// `message` with every secret replaced.
    func scrub(_ message: String) -> String {
        secrets.reduce(message) { $0.replacing($1, with: "***") }
    }
}

extension String {
    fileprivate var removingPercentEncoding: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// One parameter, always sent in PostgreSQL's binary format.
struct PostgresParameter {
    var type: Oid
    var bytes: [UInt8]

    static func text(_ value: String) -> Self { Self(type: 25, bytes: Array(value.utf8)) }

    /// A one-dimensional array without nulls of `elementType`.
    private static func array(_ elementType: Oid, arrayType: Oid, count: Int, _ append: (inout [UInt8]) -> Void) -> Self
    {
        var bytes: [UInt8] = []
        appendBigEndian(Int32(1), to: &bytes)  // dimensions
        appendBigEndian(Int32(0), to: &bytes)  // has nulls
        appendBigEndian(Int32(bitPattern: elementType), to: &bytes)
        appendBigEndian(Int32(count), to: &bytes)
        appendBigEndian(Int32(1), to: &bytes)  // lower bound
        append(&bytes)
        return Self(type: arrayType, bytes: bytes)
    }

    static func blobs(_ blobs: [[UInt8]]) -> Self {
        array(17, arrayType: 1001, count: blobs.count) { bytes in
            for blob in blobs {
                appendBigEndian(Int32(blob.count), to: &bytes)
                bytes.append(contentsOf: blob)
            }
        }
    }

    static func keys(_ keys: [CacheKey]) -> Self {
        array(17, arrayType: 1001, count: keys.count) { bytes in
            for key in keys {
                appendBigEndian(Int32(CacheKey.byteCount), to: &bytes)
                key.withUnsafeBytes { bytes.append(contentsOf: $0) }
            }
        }
    }

    static func texts(_ texts: [String]) -> Self {
        array(25, arrayType: 1009, count: texts.count) { bytes in
            for text in texts {
                appendBigEndian(Int32(text.utf8.count), to: &bytes)
                bytes.append(contentsOf: text.utf8)
            }
        }
    }

    /// Vectors as little-endian float32 blobs, as SQLite stores them.
    static func vectors(_ vectors: [[Float]]) -> Self {
        array(17, arrayType: 1001, count: vectors.count) { bytes in
            for vector in vectors {
                appendBigEndian(Int32(4 * vector.count), to: &bytes)
                littleEndianBytes(vector) { bytes.append(contentsOf: $0) }
            }
        }
    }
}

private func appendBigEndian(_ value: Int32, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
}

/// A result, read in binary format.
final class PostgresResult {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    var rows: Int { Int(PQntuples(handle)) }

    func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
        guard PQgetisnull(handle, Int32(row), Int32(column)) == 0,
            let value = PQgetvalue(handle, Int32(row), Int32(column))
        else { return nil }
        return UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(handle, Int32(row), Int32(column))))
    }

    func text(_ row: Int, _ column: Int) -> String? {
        bytes(row, column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The rows an INSERT, UPDATE or DELETE changed.
    var changed: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// A bigint (int8) column.
    func int(_ row: Int, _ column: Int) -> Int? {
        guard let bytes = bytes(row, column), bytes.count == 8 else { return nil }
        return Int(Int64(bigEndian: bytes.loadUnaligned(as: Int64.self)))
    }
}

/// One libpq connection. Errors name the database by its redacted URL and
/// carry the SQLSTATE, never a bound value (texts may be private) nor the
/// password.
final class PostgresConnection {
    let address: PostgresAddress
    private let handle: OpaquePointer

    init(_ address: PostgresAddress) throws {
        self.address = address
        // The URL is expanded as dbname; the encoding is ours to choose, the
        // application name the user's if they set one.
        let keywords = ["dbname", "client_encoding", "fallback_application_name"]
        let values = [address.url, "UTF8", "embcache"]
        let connection = withCStrings(keywords) { keywords in
            withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection else { throw PostgresError.unreachable(address, "out of memory") }
        handle = connection
        guard PQstatus(handle) == CONNECTION_OK else {
            // deinit finishes the handle.
            let message = Self.message(PQerrorMessage(handle))
            throw PostgresError.unreachable(address, address.scrub(message))
        }
        // Notices (a table that exists already) are not the user's business.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// What the server reported at the start; no round trip.
    var serverEncoding: String? { PQparameterStatus(handle, "server_encoding").map { String(cString: $0) } }

    /// Tries to connect again; true once connected.
    func reconnect() -> Bool {
        PQreset(handle)
        if isBroken { return false }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return true
    }

    /// Runs one statement, its result in binary format.
    @discardableResult
    func run(_ sql: String, _ parameters: [PostgresParameter] = []) throws -> PostgresResult {
        try check(sendParameters(sql, parameters), sql: sql)
    }

    /// Runs statements separated by `;`, without parameters, as one
    /// implicit transaction unless they say otherwise.
    func script(_ sql: String) throws {
        _ = try check(PQexec(handle, sql), sql: sql)
    }

    private func check(_ result: OpaquePointer?, sql: String) throws -> PostgresResult {
        guard let result else { throw failure(nil, sql: sql) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            defer { PQclear(result) }
            throw failure(result, sql: sql)
        }
        return PostgresResult(result)
    }

    /// Runs `body` in one transaction; rolls back if it throws.
    func transaction<T>(_ begin: String = "BEGIN", _ body: () throws -> T) throws -> T {
        try script(begin)
        do {
            let value = try body()
            try script("COMMIT")
            return value
        } catch {
            if !isBroken { try? script("ROLLBACK") }
            throw error
        }
    }

    private func sendParameters(_ sql: String, _ parameters: [PostgresParameter]) -> OpaquePointer? {
        let types = parameters.map(\.type)
        let lengths = parameters.map { Int32($0.bytes.count) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        // Every parameter in one buffer, so that one pointer stays valid for
        // the call.
        var offsets: [Int] = []
        var buffer: [UInt8] = []
        buffer.reserveCapacity(parameters.reduce(0) { $0 + $1.bytes.count } + 1)
        for parameter in parameters {
            offsets.append(buffer.count)
            buffer.append(contentsOf: parameter.bytes)
        }
        buffer.append(0)
        return buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let values: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base + $0) }
            return PQexecParams(handle, sql, Int32(parameters.count), types, values, lengths, formats, 1)
        }
    }

    private func failure(_ result: OpaquePointer?, sql: String) -> PostgresError {
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        // The primary message only: the detail may quote a row, and so a
        // user's text.
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }
        let text = primary.map { Self.message($0) } ?? Self.message(PQerrorMessage(handle))
        let message = address.scrub(text)
        if isBroken { return .lost(address, message) }
        return .failed(address, state: state ?? "", message: message, sql: sql)
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        // libpq's lines, indented by tabs, as one line.
        return String(cString: text).split(whereSeparator: \.isNewline)
            .map { line in String(line.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }
}

/// What can go wrong talking to PostgreSQL, before it becomes an
/// `EmbCacheError` (status 74).
enum PostgresError: Error {
    /// No connection could be made.
    case unreachable(PostgresAddress, String)
    /// The connection broke.
    case lost(PostgresAddress, String)
    case failed(PostgresAddress, state: String, message: String, sql: String?)

    /// Worth trying again on a new connection: the server went away, is
    /// starting or shutting down, or picked this transaction to abort.
    var isTransient: Bool {
        switch self {
        case .lost: true
        case .unreachable(_, let message):
            // Not a wrong password or database name: those stay wrong.
            [
                "Connection refused", "starting up", "shutting down", "timeout expired", "closed the connection",
                "No such file or directory", "Connection reset",
            ].contains { message.contains($0) }
        case .failed(_, let state, _, _):
            state.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "40P01"].contains(state)
        }
    }

    var storeError: EmbCacheError {
        switch self {
        case .unreachable(let address, let message), .lost(let address, let message):
            .database(location: address.redacted, message: message)
        case .failed(let address, let state, let message, _):
            .database(location: address.redacted, message: state.isEmpty ? message : "\(message) (SQLSTATE \(state))")
        }
    }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) } + [nil])
}
