/// A checksum of each vector row, kept in a table of our own beside
/// `embedding` (`embcache_checksum(hashid, checksum)`), so that bit rot or
/// two swapped blobs are caught while the tables the Python package reads
/// stay as they are. Rows written without one (by the Python package, or by
/// versions before it) are served unchecked.
///
/// The checksum of a row is a 64-bit fold over the little-endian 64-bit
/// words of the blob's byte count, the 64-byte key, then the blob (its
/// last word padded with zero bytes): h = 0x243F6A8885A308D3, then for each
/// word w, h = (h XOR w) × 0x9E3779B97F4A7C15 mod 2^64. Each step is a
/// bijection of h and of w, so any change confined to one word of the blob
/// or key (a flipped bit, a flipped byte) always changes it; a blob stored
/// under another row's key (a swap) changes it unless two 64-bit values
/// collide. A blob rewritten together with its checksum, or a deleted
/// checksum row, is not detected.
enum RowChecksum {
    static let table = "embcache_checksum"
    static let createSQL =
        "CREATE TABLE IF NOT EXISTS main.\(table) (hashid BLOB PRIMARY KEY, checksum INTEGER NOT NULL) WITHOUT ROWID"

    static func of(key: CacheKey, blob: UnsafeRawBufferPointer) -> Int64 {
        var h = fold(0x243F_6A88_85A3_08D3, UInt64(blob.count))
        h = key.withUnsafeBytes { fold(h, words: $0) }
        return Int64(bitPattern: fold(h, words: blob))
    }

    @inline(__always) private static func fold(_ h: UInt64, _ word: UInt64) -> UInt64 {
        (h ^ word) &* 0x9E37_79B9_7F4A_7C15
    }

    private static func fold(_ start: UInt64, words bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = start
        let whole = bytes.count / 8
        for index in 0..<whole {
            h = fold(h, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)))
        }
        if bytes.count % 8 != 0 {
            var last: UInt64 = 0
            for (shift, byte) in bytes[(8 * whole)...].enumerated() { last |= UInt64(byte) << (8 * shift) }
            h = fold(h, last)
        }
        return h
    }

    /// `decoded` unless a recorded checksum disagrees with the row.
    static func checked(
        _ decoded: StoredVector, key: CacheKey, blob: UnsafeRawBufferPointer?, recorded: Int64?
    ) -> StoredVector {
        guard case .hit = decoded, let recorded, let blob else { return decoded }
        guard of(key: key, blob: blob) == recorded else {
            return .invalid("checksum mismatch: the stored vector changed after it was written")
        }
        return decoded
    }

    /// Whether the model file has the table (files of the Python package
    /// and of earlier versions, opened read-only, may not).
    static func exists(in connection: SQLiteConnection) throws -> Bool {
        let exists = try connection.prepare(
            "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = '\(table)'")
        return try exists.step()
    }

    /// The lookup of one key's vector and, where the table exists, its
    /// recorded checksum (column 1, NULL when the row has none). On one
    /// line: errors quote it.
    static func selectSQL(withChecksum: Bool) -> String {
        withChecksum
            ? "SELECT e.embedding, c.checksum FROM main.embedding AS e LEFT JOIN main.\(table) AS c"
                + " ON c.hashid = e.hashid WHERE e.hashid = ?1"
            : "SELECT embedding, NULL FROM main.embedding WHERE hashid = ?1"
    }
}

extension SQLiteStatement {
    /// An integer column, nil for NULL.
    func optionalInt64(at column: Int32) -> Int64? {
        isNull(at: column) ? nil : Int64(int(at: column))
    }
}
