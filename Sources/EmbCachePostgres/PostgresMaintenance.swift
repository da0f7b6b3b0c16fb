import EmbCacheCore
import EmbCacheStore

/// A model table's rows in key order (PostgreSQL keeps no insertion
/// order), through a cursor in one repeatable-read transaction: a
/// consistent snapshot while writers go on.
final class PostgresRowReader: ModelRowReader {
    let name: String
    let dimension: Int?
    let model: String?
    let provider: String?
    private let connection: PostgresConnection
    private let withText: Bool
    private var done = false

    init(storage: PostgresStorage, model identity: ModelIdentity, withText: Bool) throws {
        self.withText = withText
        connection = try storage.connect()
        do {
            try connection.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let (table, metadata) = try storage.existingTable(connection, identity)
            name = table
            model = metadata["model"]
            provider = metadata["provider"]
            dimension = metadata["dimension"].flatMap { Int($0) }
            let source =
                withText
                ? ", h.text FROM \(PostgresStorage.quoted(table)) m LEFT JOIN hashstring h USING (hashid)"
                : " FROM \(PostgresStorage.quoted(table)) m"
            try connection.script(
                "DECLARE embcache_rows NO SCROLL CURSOR FOR SELECT m.hashid, m.embedding\(source) ORDER BY m.hashid")
        } catch let error as PostgresError {
            throw error.storeError
        }
    }

    deinit {
        if !done { try? connection.script("COMMIT") }
    }

    func next(limit: Int) throws -> [StoredRow] {
        guard !done else { return [] }
        let result: PostgresResult
        do {
            result = try connection.run("FETCH FORWARD \(limit) FROM embcache_rows")
            // The snapshot's locks go as soon as the last row is read.
            if result.rows == 0 {
                done = true
                try connection.script("COMMIT")
            }
        } catch let error as PostgresError {
            throw error.storeError
        }
        return (0..<result.rows).map { row in
            let hashid = result.bytes(row, 0)
            return StoredRow(
                key: hashid.flatMap { CacheKey(bytes: $0) }, hashBytes: hashid?.count ?? 0,
                vector: StoredVector.decode(result.bytes(row, 1), dimension: dimension),
                text: withText ? result.text(row, 2) : nil)
        }
    }
}

/// `embcache verify` on PostgreSQL: the same checks as on SQLite, but for
/// the file-level integrity check, which is the server's business.
struct PostgresVerifier {
    let storage: PostgresStorage
    let connection: PostgresConnection

    func verify(model: ModelIdentity?, repair: Bool, report: (String) -> Void) throws -> VerificationSummary {
        do {
            return try check(model: model, repair: repair, report: report)
        } catch let error as PostgresError {
            throw error.storeError
        }
    }

    private func check(model: ModelIdentity?, repair: Bool, report: (String) -> Void) throws -> VerificationSummary {
        var summary = VerificationSummary()
        guard try storage.schemaExists(connection) else {
            throw EmbCacheError.configuration("no cache at \(storage.location)")
        }
        // Texts: the table's constraint keeps every hash true; a hash of
        // the wrong size is all that can be wrong.
        let texts = try connection.run(
            "SELECT count(*), count(*) FILTER (WHERE hashid <> sha512(convert_to(text, 'UTF8'))) FROM hashstring")
        summary.rowsChecked += texts.int(0, 0) ?? 0
        if let bad = texts.int(0, 1), bad > 0 {
            summary.problems += bad
            report("hashstring: \(bad) rows whose hash is not the SHA-512 of their text")
            if repair {
                summary.repaired += try connection.run(
                    "DELETE FROM hashstring WHERE hashid <> sha512(convert_to(text, 'UTF8'))"
                ).changed
            }
        }
        let metadata = try storage.modelTables(connection)
        let tables = try model.map { [try storage.existingTable(connection, $0).0] } ?? metadata.keys.sorted()
        for table in tables {
            try checkVectors(table, metadata: metadata[table] ?? [:], repair: repair, summary: &summary, report: report)
        }
        return summary
    }

    private func checkVectors(
        _ table: String, metadata: [String: String], repair: Bool, summary: inout VerificationSummary,
        report: (String) -> Void
    ) throws {
        let quoted = PostgresStorage.quoted(table)
        if let named = metadata["model"], PostgresStorage.tableName(ModelIdentity(canonical: named)) != table {
            summary.problems += 1
            report(
                "\(table): metadata names model \"\(named)\", whose table is \(PostgresStorage.tableName(ModelIdentity(canonical: named)))"
            )
        }
        // Rows are many and metadata one row: the dimension most rows have.
        let common = try connection.run(
            "SELECT (length(embedding) / 4)::int8 FROM \(quoted) GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).int(0, 0)
        var dimension = metadata["dimension"].flatMap { Int($0) }
        if let common, common != dimension {
            if let recorded = dimension {
                summary.problems += 1
                report("\(table): metadata says dimension \(recorded), most vectors have \(common)")
                if repair {
                    try connection.run(
                        "UPDATE embcache_metadata SET value = $2 WHERE model_table = $1 AND key = 'dimension'",
                        [.text(table), .text(String(common))])
                    summary.repaired += 1
                }
            }
            dimension = common
        }
        try connection.script("BEGIN ISOLATION LEVEL REPEATABLE READ")
        defer { try? connection.script("COMMIT") }
        try connection.script("DECLARE embcache_check NO SCROLL CURSOR FOR SELECT hashid, embedding FROM \(quoted)")
        var bad: [[UInt8]] = []
        while true {
            let rows = try connection.run("FETCH FORWARD 4096 FROM embcache_check")
            if rows.rows == 0 { break }
            for row in 0..<rows.rows {
                summary.rowsChecked += 1
                let hashid = rows.bytes(row, 0).map { Array($0) } ?? []
                guard let key = hashid.withUnsafeBytes({ CacheKey(bytes: $0) }) else {
                    bad.append(hashid)
                    report("\(table): a hash of \(hashid.count) bytes, not 64")
                    continue
                }
                if case .invalid(let why) = StoredVector.decode(rows.bytes(row, 1), dimension: dimension) {
                    bad.append(hashid)
                    report("\(table): hash \(key.hex.prefix(16))…: \(why)")
                }
            }
        }
        try connection.script("CLOSE embcache_check")
        summary.problems += bad.count
        summary.vectorsWithoutText +=
            try connection.run(
                "SELECT count(*) FROM \(quoted) m WHERE NOT EXISTS (SELECT 1 FROM hashstring h WHERE h.hashid = m.hashid)"
            ).int(0, 0) ?? 0
        if repair, !bad.isEmpty {
            summary.repaired += try connection.run(
                "DELETE FROM \(quoted) WHERE hashid = ANY($1)", [.blobs(bad)]
            ).changed
        }
    }
}
