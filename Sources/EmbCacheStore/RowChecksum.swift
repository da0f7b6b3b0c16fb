import EmbCacheCore

/// A checksum of each vector row, kept in a table of our own beside
/// `embedding` (`embcache_checksum(key_prefix, checksum)`), so that bit rot
/// or two swapped blobs are caught while the tables the Python package
/// reads stay as they are. Rows written without one (by the Python package,
/// or by versions before it) are served unchecked.
///
/// Rows are keyed by the first 8 bytes of the key as a signed
/// big-endian integer (so that keys in order probe it in order), not by
/// the 64-byte key: an integer-keyed table is
/// a quarter of the size, and its probe at each lookup cost a warm run 25%
/// when keyed by the whole key. Two keys sharing a prefix (one pair in
/// about 10^19/n^2 caches of n rows) share a checksum row: one of them then
/// fails its check and is computed again, never served wrong.
///
/// The checksum of a row folds the little-endian 64-bit words of the
/// blob's byte count, the 64-byte key, then the blob (its last word padded
/// with zero bytes) into four lanes, word i into lane i mod 4: each lane
/// starts at 0x243F6A8885A308D3 + lane and takes a word w as
/// h = (h XOR w) × 0x9E3779B97F4A7C15 mod 2^64; the lanes are then folded
/// in order into lane 0's value the same way. Four lanes run four times as
/// fast as one chain. Each step is a bijection of h and of w, so any change
/// confined to one word of the blob or key (a flipped bit, a flipped byte)
/// always changes the result; a blob stored under another row's key (a
/// swap) changes it unless two 64-bit values collide. A blob rewritten
/// together with its checksum, or a deleted checksum row, is not detected.
enum RowChecksum {
    static let table = SQLiteSchema.checksums
    static let insertSQL = "INSERT OR REPLACE INTO main.\(table) (key_prefix, checksum) VALUES (?1, ?2)"
    static let selectOneSQL = "SELECT checksum FROM main.\(table) WHERE key_prefix = ?1"

    static func prefix(of key: CacheKey) -> Int {
        key.withUnsafeBytes { Int(Int64(bigEndian: $0.loadUnaligned(as: Int64.self))) }
    }

    static func of(key: CacheKey, blob: UnsafeRawBufferPointer) -> Int64 {
        var lanes = Lanes()
        lanes.take(UInt64(blob.count))
        key.withUnsafeBytes { lanes.take(words: $0) }
        lanes.take(words: blob)
        return Int64(bitPattern: lanes.result)
    }

    @inline(__always) private static func fold(_ h: UInt64, _ word: UInt64) -> UInt64 {
        (h ^ word) &* 0x9E37_79B9_7F4A_7C15
    }

    private struct Lanes {
        var h: (UInt64, UInt64, UInt64, UInt64) = (
            0x243F_6A88_85A3_08D3, 0x243F_6A88_85A3_08D4, 0x243F_6A88_85A3_08D5, 0x243F_6A88_85A3_08D6
        )
        /// Words taken so far: the next goes to lane `count % 4`.
        var count = 0

        mutating func take(_ word: UInt64) {
            switch count & 3 {
            case 0: h.0 = fold(h.0, word)
            case 1: h.1 = fold(h.1, word)
            case 2: h.2 = fold(h.2, word)
            default: h.3 = fold(h.3, word)
            }
            count += 1
        }

        mutating func take(words bytes: UnsafeRawBufferPointer) {
            var offset = 0
            // Four words at a time while the lanes are aligned with them.
            while count & 3 != 0 && offset + 8 <= bytes.count {
                take(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                offset += 8
            }
            while offset + 32 <= bytes.count {
                h.0 = fold(h.0, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                h.1 = fold(h.1, bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian)
                h.2 = fold(h.2, bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian)
                h.3 = fold(h.3, bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self).littleEndian)
                offset += 32
                count += 4
            }
            while offset + 8 <= bytes.count {
                take(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                offset += 8
            }
            if offset < bytes.count {
                var last: UInt64 = 0
                for (shift, byte) in bytes[offset...].enumerated() { last |= UInt64(byte) << (8 * shift) }
                take(last)
            }
        }

        var result: UInt64 { fold(fold(fold(h.0, h.1), h.2), h.3) }
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

    /// Whether the model file has the table, keyed as it is now (files of
    /// the Python package and of earlier versions, opened read-only, may
    /// have none, or one an earlier fold filled: see `SQLiteSchema`).
    static func exists(in connection: SQLiteConnection) throws -> Bool {
        try SQLiteSchema.hasColumn(connection, table, "key_prefix")
    }

    /// The lookup of one key's vector (?1 the key) and, where the table
    /// exists, its recorded checksum (?2 the key's prefix; column 1, NULL
    /// when the row has none). On one line: errors quote it.
    static func selectSQL(withChecksum: Bool) -> String {
        withChecksum
            ? "SELECT e.embedding, c.checksum FROM main.embedding AS e LEFT JOIN main.\(table) AS c"
                + " ON c.key_prefix = ?2 WHERE e.hashid = ?1"
            : "SELECT embedding, NULL FROM main.embedding WHERE hashid = ?1"
    }

    /// The recorded checksums of a file, one key at a time, for the scans
    /// of export, copy and verify; nil for a file without the table.
    final class Reader {
        private let select: SQLiteStatement

        init?(_ connection: SQLiteConnection) throws {
            guard try RowChecksum.exists(in: connection) else { return nil }
            select = try connection.prepare(RowChecksum.selectOneSQL)
        }

        func recorded(for key: CacheKey) throws -> Int64? {
            select.reset()
            defer { select.reset() }
            try select.bind(RowChecksum.prefix(of: key), at: 1)
            return try select.step() ? select.optionalInt64(at: 0) : nil
        }
    }
}

extension SQLiteStatement {
    /// An integer column, nil for NULL.
    func optionalInt64(at column: Int32) -> Int64? {
        isNull(at: column) ? nil : Int64(int(at: column))
    }
}
