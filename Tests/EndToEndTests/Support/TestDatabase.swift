import Foundation
import Testing

/// The PostgreSQL server Scripts/test starts for the suite
/// (Scripts/postgres-server): an admin login whose password is in its URL,
/// and a script that runs pg_ctl on it.
enum TestDatabase {
    static let adminURL = ProcessInfo.processInfo.environment["EMBCACHE_TEST_POSTGRES"]
    static let pgCtl = ProcessInfo.processInfo.environment["EMBCACHE_TEST_PG_CTL"]
    static var available: Bool { adminURL != nil }

    /// The password of the admin login, which must never be shown.
    static var password: String {
        guard let url = adminURL, let at = url.lastIndex(of: "@"), let colon = url[..<at].lastIndex(of: ":")
        else { return "" }
        return String(url[url.index(after: colon)..<at])
    }

    /// A new, empty database; its URL (with the password).
    static func fresh() throws -> String {
        let admin = try #require(adminURL, "EMBCACHE_TEST_POSTGRES is not set: run Scripts/test")
        let name = "e2e_" + UUID().uuidString.lowercased().replacing("-", with: "")
        try psql(admin, "CREATE DATABASE \(name)")
        return String(admin[..<admin.lastIndex(of: "/")!]) + "/" + name
    }

    /// Runs SQL through psql (not our code) and returns its unaligned rows.
    @discardableResult
    static func psql(_ url: String, _ sql: String) throws -> [String] {
        let result = try runProcess(
            "/usr/bin/env", ["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        try #require(result.status == 0, "psql: \(result.stderrText)")
        return result.stdoutLines
    }

    /// The password appears in no output.
    static func expectNoPassword(_ result: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let secret = Data(password.utf8)
        #expect(!secret.isEmpty)
        #expect(result.stdout.range(of: secret) == nil, "stdout shows the password", sourceLocation: sourceLocation)
        #expect(result.stderr.range(of: secret) == nil, "stderr shows the password", sourceLocation: sourceLocation)
    }
}
