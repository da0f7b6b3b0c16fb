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

    /// The checksum written again in Python from its definition in
    /// embcache(1) matches every row embcache recorded.
    @Test func checksumsFollowTheDocumentedDefinition() throws {
        let work = TemporaryDirectory()
        let cache = work.path + "/cache"
        for model in ["hash-16", "hash-3", "hash-384"] {
            let run = try Embcache.run(["--model", model, "--cache-dir", cache, "-q"], stdin: Self.input)
            try #require(run.status == 0, "\(run.stderrText)")
        }
        let result = try python(
            """
            import glob, sqlite3, struct, sys
            M = 2**64
            def checksum(key, blob):
                data = struct.pack("<Q", len(blob)) + key + blob
                data += bytes(-len(data) % 8)
                lanes = [0x243F6A8885A308D3 + k for k in range(4)]
                for i in range(len(data) // 8):
                    (w,) = struct.unpack_from("<Q", data, 8 * i)
                    lanes[i % 4] = ((lanes[i % 4] ^ w) * 0x9E3779B97F4A7C15) % M
                h = lanes[0]
                for lane in lanes[1:]:
                    h = ((h ^ lane) * 0x9E3779B97F4A7C15) % M
                return h - M if h >= 2**63 else h
            checked = 0
            for path in glob.glob(sys.argv[1] + "/embedding-*.sqlite"):
                db = sqlite3.connect(path)
                recorded = dict(db.execute("SELECT key_prefix, checksum FROM embcache_checksum"))
                for key, blob in db.execute("SELECT hashid, embedding FROM embedding"):
                    (prefix,) = struct.unpack(">q", key[:8])
                    assert recorded[prefix] == checksum(key, blob), path
                    checked += 1
            print(checked)
            """, [cache])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "120")
    }
}
