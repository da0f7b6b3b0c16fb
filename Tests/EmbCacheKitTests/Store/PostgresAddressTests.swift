import Testing

@testable import EmbCachePostgres

/// A database URL as messages show it: its password replaced wherever
/// libpq would read one.
@Suite struct PostgresAddressTests {
    @Test(arguments: [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db", ["secret"]),
        ("postgresql://u:pa?ss@h:5432/db", "postgresql://u:***@h:5432/db", ["pa?ss"]),
        ("postgres://u:p#w@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require", ["p#w"]),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db", ["p%40ss", "p@ss"]),
        (
            "postgresql://h/db?user=u&password=x1&sslpassword=y2&sslmode=disable",
            "postgresql://h/db?user=u&password=***&sslpassword=***&sslmode=disable", ["x1", "y2"]
        ),
        ("postgresql://u@h/db?application_name=a:b@c", "postgresql://u@h/db?application_name=a:b@c", []),
        ("postgresql:///db", "postgresql:///db", []),
    ])
    func thePasswordIsRedacted(url: String, shown: String, secrets: [String]) {
        let address = PostgresAddress(url: url, environment: ["PGPASSWORD": "from-environment"])
        #expect(address.redacted == shown)
        for secret in secrets + ["from-environment"] {
            #expect(!address.scrub("failed for \(secret) here").contains(secret))
        }
    }
}
