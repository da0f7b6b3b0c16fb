import Foundation
import Testing

@testable import EmbCacheBackup

/// Which keys under a prefix a backup takes for its own, and so may delete
/// (issue 23): only `GENERATION/FILE` as it writes them.
@Suite struct S3BackupNamingTests {
    @Test func aNewGenerationIsOneABackupOwns() {
        let generation = S3Backup.newGeneration(at: Date(timeIntervalSince1970: 1_764_093_434))
        #expect(generation.hasPrefix("20251125T175714Z-"))
        #expect(S3Backup.generation(owning: generation + "/hashstring.sqlite") == generation)
        #expect(S3Backup.generation(owning: generation + "/embedding-hash-384.sqlite") == generation)
    }

    @Test(arguments: [
        "manifest.json", "data.csv", "hashstring.sqlite", "team-a/manifest.json",
        "team-a/20261125T175714Z-1a2b3c4d/hashstring.sqlite", "20261125T175714Z-1a2b3c4d/notes.txt",
        "20261125T175714Z-1a2b3c4d/manifest.json", "20261125T175714Z-1a2b3c4d/.hidden.sqlite",
        "20261125T175714Z-1a2b3c4d/sub/hashstring.sqlite", "20261125T175714Z-1a2b3c4d/../../victim.sqlite",
        "../victim-root", "./20261125T175714Z-1a2b3c4d/hashstring.sqlite",
        "20261125T175714Z-1A2B3C4D/hashstring.sqlite",
        "20261125T175714Z-1a2b3c4/hashstring.sqlite", "2026-11-25T17:57:14Z-1a2b3c4d/hashstring.sqlite",
        "20261125T175714Z-1a2b3c4d/", "20261125T175714Z-1a2b3c4d//hashstring.sqlite",
    ])
    func anyOtherKeyIsNotABackups(_ name: String) {
        #expect(S3Backup.generation(owning: name) == nil)
    }
}
