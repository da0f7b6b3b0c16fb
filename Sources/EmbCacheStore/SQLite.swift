import CSQLite
import EmbCacheCore
import Foundation
import Glibc

/// SQLite's way of saying "copy this buffer now"; the C macro does not
/// import.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Errors keep the result code and the SQL, never
/// the bound values (texts may be private).
package final class SQLiteConnection {
    package let path: String
    package let handle: OpaquePointer

    /// A read-only connection never leaves a file behind in a directory it
    /// only reads: a reader of a WAL database creates the -wal and -shm
    /// files, and only a connection that may write removes them at close.
    package init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let db: OpaquePointer
        if !readOnly {
            db = try Self.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX)
        } else if access(path + "-wal", F_OK) == 0 {
            // A writer may be at work: read beside it, through its log.
            db = try Self.open(path, flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX)
        } else if access(path, W_OK) == 0 && access(Self.directory(of: path), W_OK) == 0 {
            // Writable, so whichever connection closes last (this one or a
            // writer's) removes the -wal and -shm files. Only reads are
            // made on it (temporary tables aside, which query_only would
            // refuse).
            db = try Self.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX)
        } else {
            // No log, and neither the file nor its directory writable by
            // us: no writer of ours can change it, and a WAL database could
            // not get the -shm file a reader needs ("attempt to write a
            // readonly database"). Read it as the immutable file it is.
            db = try Self.open(
                "file:" + Self.uriEscaped(path) + "?immutable=1",
                flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func open(_ name: String, flags: Int32) throws -> OpaquePointer {
        var db: OpaquePointer?
        let code = sqlite3_open_v2(name, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw EmbCacheError.store(path: name, code: code, message: message, sql: nil)
        }
        return db
    }

    /// A path as the path of a `file:` URI: `%`, `?` and `#` escaped.
    private static func uriEscaped(_ path: String) -> String {
        var escaped = ""
        for byte in path.utf8 {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") {
                escaped += String(format: "%%%02X", byte)
            } else {
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return escaped
    }

    private var closed = false

    /// Closes now instead of when released; the connection is not used
    /// after. The last connection to a WAL file copies the log into it and
    /// removes it, which takes as long as the disk needs.
    package func close() {
        guard !closed else { return }
        closed = true
        sqlite3_close_v2(handle)
    }

    deinit {
        close()
    }

    package func error(_ code: Int32, sql: String?) -> EmbCacheError {
        .store(path: path, code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs statements that bind nothing and return no rows we need.
    package func execute(_ sql: String) throws {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        if code != SQLITE_OK { throw error(code, sql: sql) }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    /// The first column of the first row, as text.
    package func scalarText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(at: 0)
    }

    package var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement, reset and reused; finalized when released.
final class SQLiteStatement {
    private let connection: SQLiteConnection
    private let handle: OpaquePointer
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws {
        self.connection = connection
        self.sql = sql
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw connection.error(code, sql: sql) }
        handle = statement
    }

    deinit {
        sqlite3_finalize(handle)
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        let code = sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), transientDestructor)
        if code != SQLITE_OK { throw connection.error(code, sql: sql) }
    }

    func bind(text: String, at index: Int32) throws {
        var text = text
        let code = text.withUTF8 {
            sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), transientDestructor)
        }
        if code != SQLITE_OK { throw connection.error(code, sql: sql) }
    }

    /// Binds a text without copying it, steps, and resets: SQLite reads
    /// the text in place, where a bound copy would be one more of a text
    /// of hundreds of megabytes in memory.
    func step(bindingText text: String, at index: Int32) throws {
        var text = text
        try text.withUTF8 { bytes in
            defer { reset() }
            let code = sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), nil)
            if code != SQLITE_OK { throw connection.error(code, sql: sql) }
            try step()
        }
    }

    func bind(_ value: Int, at index: Int32) throws {
        let code = sqlite3_bind_int64(handle, index, sqlite3_int64(value))
        if code != SQLITE_OK { throw connection.error(code, sql: sql) }
    }

    /// Advances; true when a row is ready to read.
    @discardableResult
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(code, sql: sql)
        }
    }

    /// A blob column's bytes, valid until the next step or reset; nil for
    /// NULL.
    func blob(at column: Int32) -> UnsafeRawBufferPointer? {
        let type = sqlite3_column_type(handle, column)
        if type == SQLITE_NULL { return nil }
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return UnsafeRawBufferPointer(start: pointer, count: count)
    }

    func text(at column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int(at column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }
}
