import Foundation
import Testing

/// Bit rot inside a model file: a vector's bytes that change after they
/// were written, or two vectors that trade places, keep a valid size and
/// finite values, so only the checksum recorded with each row can tell.
/// Each damage is made with Python's sqlite3, not our code.
@Suite struct IntegrityTests {
    static let model = "hash-16"
    static let input = (0..<40).map { "{\"id\":\($0),\"text\":\"integrity text \($0)\"}\n" }.joined()

    func filter(_ cache: String, _ extra: [String] = []) throws -> ProcessResult {
        try Embcache.run(["--model", Self.model, "--cache-dir", cache, "--no-normalize"] + extra, stdin: Self.input)
    }

    /// Flips one byte of the mantissa of the 5th float of one row, or
    /// swaps the blobs of two rows.
    func damage(_ cache: String, swap: Bool) throws {
        let result = try python(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1] + "/embedding-hash-16.sqlite")
            rows = db.execute("SELECT rowid, embedding FROM embedding ORDER BY rowid LIMIT 2").fetchall()
            if sys.argv[2] == "swap":
                db.execute("UPDATE embedding SET embedding = ? WHERE rowid = ?", (rows[1][1], rows[0][0]))
                db.execute("UPDATE embedding SET embedding = ? WHERE rowid = ?", (rows[0][1], rows[1][0]))
            else:
                blob = bytearray(rows[0][1])
                blob[16] ^= 0x01
                db.execute("UPDATE embedding SET embedding = ? WHERE rowid = ?", (bytes(blob), rows[0][0]))
            db.commit()
            """, [cache, swap ? "swap" : "flip"])
        try #require(result.status == 0, "\(result.stderrText)")
    }

    @Test(arguments: [false, true])
    func aChangedVectorIsNeverServedAndVerifyReportsIt(swap: Bool) throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let first = try filter(cache)
        try #require(first.status == 0, "\(first.stderrText)")
        let clean = try Embcache.run(["verify", "--cache-dir", cache])
        #expect(clean.status == 0, "\(clean.stdoutText) \(clean.stderrText)")
        #expect(!clean.stderrText.contains("checksum"), "\(clean.stderrText)")

        try damage(cache, swap: swap)
        let verify = try Embcache.run(["verify", "--cache-dir", cache])
        #expect(verify.status == 65)
        let reported = verify.stdoutLines.filter { $0.contains("checksum mismatch") }
        #expect(reported.count == (swap ? 2 : 1), "\(verify.stdoutText)")

        // Lookups alone take the row as unusable, never as a hit.
        let offline = try filter(cache, ["--offline", "--on-error", "null", "-q"])
        #expect(offline.status == 0, "\(offline.stderrText)")
        let nulls = offline.stdoutLines.filter { $0.contains("\"embedding\":null") }.count
        #expect(nulls == (swap ? 2 : 1), "\(offline.stdoutText)")
        // A run computes the row again and replaces it: the output is the first run's.
        let again = try filter(cache)
        #expect(again.status == 0, "\(again.stderrText)")
        #expect(again.stdout == first.stdout)
        #expect(again.stderrText.contains("checksum mismatch"), "\(again.stderrText)")
        let mended = try Embcache.run(["verify", "--cache-dir", cache])
        #expect(mended.status == 0, "\(mended.stdoutText)")
    }

    /// `verify --repair` deletes the damaged row with its checksum; the next
    /// run computes it again.
    @Test func repairDeletesTheDamagedRowAndTheNextRunRestoresIt() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        let first = try filter(cache)
        try #require(first.status == 0, "\(first.stderrText)")
        try damage(cache, swap: false)
        let repair = try Embcache.run(["verify", "--repair", "--cache-dir", cache])
        #expect(repair.status == 0, "\(repair.stdoutText) \(repair.stderrText)")
        #expect(repair.stderrText.contains("repaired 1 of 1"), "\(repair.stderrText)")
        let again = try filter(cache, ["-v"])
        #expect(again.stdout == first.stdout)
        #expect(again.stderrText.contains("1 computed"), "\(again.stderrText)")
    }

    /// Rows the Python package wrote carry no checksum: served as they are,
    /// and counted by verify, which is not a problem.
    @Test func rowsWithoutAChecksumAreServedAndCounted() throws {
        let cache = TemporaryDirectory()
        for name in ["hashstring.sqlite", "embedding-all-minilm-l6-v2.sqlite"] {
            try FileManager.default.copyItem(
                at: Embcache.fixtures.appendingPathComponent("seed-cache/" + name), to: cache.file(name))
        }
        let verify = try Embcache.run(["verify", "--cache-dir", cache.path])
        #expect(verify.status == 0, "\(verify.stdoutText)")
        #expect(verify.stderrText.contains("30 vectors carry no checksum"), "\(verify.stderrText)")
    }
}
