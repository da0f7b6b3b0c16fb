import CEmbCacheSystem
import CSQLite
import EmbCacheCore
import Foundation
import Glibc
import Synchronization

/// The cache directory layout of the Python `embeddingcache` 0.1.0
/// (`SQLiteSchema`): `hashstring.sqlite` maps each SHA-512 digest to its
/// text, and one file per model maps the digest to the vector as
/// little-endian float32. Each model file also holds `embcache_metadata`,
/// which the Python package ignores, naming the model identity so that two
/// identities whose file names collide are never mixed.
public final class SQLiteStore: VectorStore {
    static let metadataTable = SQLiteSchema.metadata
    package static let createdBy = "embcache \(EmbCacheVersion.current)"

    public let directory: String
    public let identity: ModelIdentity
    public let path: String
    /// Lookups and inserts may run on two threads at once.
    public var dimension: Int? {
        get { knownDimension.withLock { $0 } }
        set { knownDimension.withLock { $0 = newValue } }
    }
    private let knownDimension = Mutex<Int?>(nil)

    /// nil while the model file does not exist: a writable store creates
    /// it with its first vectors, so a run that stores none (a 401, a bad
    /// first record) leaves no empty model file behind.
    private var connection: SQLiteConnection?
    /// Held while the file is being opened: the first lookup and the first
    /// insert may come from two threads at once.
    private let opening = Mutex<Void>(())
    /// The page cache a commit needs (expectCommits), once the file is open.
    private var commitCacheKiB = smallestCacheKiB
    private var closed = false
    /// The logs, opened for write-back only.
    private var logDescriptors: [Int32] = []
    /// The writer's automatic checkpoint, where BackgroundCheckpoints can't
    /// run.
    static let autocheckpointPages: Int32 = 16384
    /// Each file's page cache, in KiB, until expectCommits grows it.
    private static let smallestCacheKiB = 8192
    private static let largestCacheKiB = 65536
    /// The page cache of the connection that looks vectors up.
    private static let lookupCacheKiB = 16384
    /// A second connection for lookups, so that they never wait for a
    /// commit in progress on the first (WAL readers see the last commit).
    private var reader: SQLiteConnection?
    /// Copies what commits append to both logs into the files, on a thread
    /// and a connection of its own.
    private var checkpoints: BackgroundCheckpoints?
    /// Set once the file is wholly open (its reader made, its checksums
    /// known): `connection` is set earlier, and a lookup that found no file
    /// must not take the writer for a reader meanwhile.
    private let ready = Atomic<Bool>(false)
    private let provider: String?
    private var metadataWritten: Bool
    /// A lookup-only store of a file no one had claimed: whoever claims it
    /// later may be another identity, so each lookup checks again.
    private var unclaimed = false
    private var selectStatement: SQLiteStatement?
    /// Whether the file records checksums (RowChecksum) to check rows by.
    private var hasChecksums = false

    /// Opens the model file of `identity` in `directory`. `provider` names
    /// what computes the misses; nil makes the store lookup-only: it opens
    /// the file read-only, creates and changes nothing, and a model file
    /// that does not exist answers every key with a miss.
    /// `expectedDimension` is what the provider returns, when known in
    /// advance.
    public init(
        directory: String, identity: ModelIdentity, provider: String?, expectedDimension: Int? = nil
    ) throws {
        self.directory = directory
        self.identity = identity
        self.provider = provider
        let path = directory + "/" + identity.fileName
        self.path = path
        connection = nil
        metadataWritten = false
        knownDimension.withLock { $0 = expectedDimension }
        if access(path, F_OK) != 0 {
            // Nothing to read yet; a writable store checks now that it can
            // make the directory, and makes the file with its first vectors.
            if provider != nil { try CacheDirectory.create(directory) }
            return
        }
        try openFile(expectedDimension: expectedDimension)
    }

    /// Opens the model file, creating it and its tables when the store is
    /// writable, and reads or claims its identity.
    private func openFile(expectedDimension: Int?) throws {
        let writable = provider != nil
        if writable {
            try CacheDirectory.create(directory)
            CacheDirectory.createPrivateFile(path)
            CacheDirectory.createPrivateFile(directory + "/" + SQLiteSchema.hashstringFileName)
        }
        let hashstringPath = directory + "/" + SQLiteSchema.hashstringFileName

        let db = try Self.unusable(path) { () in try SQLiteConnection(path: path, readOnly: !writable) }
        waitWhileBusy(db, throughInterrupts: false)
        if writable {
            // Each file is checked on its own, the model file's schema before
            // the attach (which reads every schema), so that a failure names
            // the file that is broken and the right one gets mended.
            try Self.retryingWhileBusy { () in
                try Self.unusable(path) { () in
                    _ = try db.scalarText("PRAGMA main.journal_mode = WAL")
                    _ = try db.scalarText("SELECT count(*) FROM main.sqlite_master")
                }
            }
            let attach = try db.prepare("ATTACH DATABASE ?1 AS hs")
            try attach.bind(text: hashstringPath, at: 1)
            _ = try Self.unusable(hashstringPath) { () in try attach.step() }
            try Self.retryingWhileBusy { () in
                try Self.unusable(hashstringPath) { () in _ = try db.scalarText("PRAGMA hs.journal_mode = WAL") }
            }
            // Keys are hashes, so every insert lands on a random page of each
            // index: a larger page cache (see expectCommits) and fewer, larger
            // checkpoints write a page once per checkpoint instead of once
            // per window.
            try db.execute(
                """
                PRAGMA main.synchronous = NORMAL; PRAGMA hs.synchronous = NORMAL;
                PRAGMA main.cache_size = -\(Self.smallestCacheKiB); PRAGMA hs.cache_size = -\(Self.smallestCacheKiB);
                PRAGMA main.wal_autocheckpoint = \(Self.autocheckpointPages);
                """)
            // The tables, and the migration of a file of an earlier version,
            // in one write transaction: two runs never migrate one file twice.
            try Self.retryingWhileBusy { () in
                try db.execute("BEGIN IMMEDIATE")
                do {
                    try db.execute(SQLiteSchema.createPackageTables)
                    try SQLiteSchema.migrate(db, path: path)
                    try db.execute("COMMIT")
                } catch {
                    try? db.execute("ROLLBACK")
                    throw error
                }
            }
        }
        self.connection = db
        // Read and claimed in one write transaction: two runs whose
        // identities share this file can't both find it unclaimed.
        let claim = { [self] () throws in
            let metadata = try Self.unusable(path) { () in try SQLiteSchema.readMetadata(db, path: path) }
            if let stored = metadata["model"], stored != identity.canonical {
                throw identityMismatch(stored)
            }
            var dimension = metadata["dimension"].flatMap { Int($0) }
            if dimension == nil {
                dimension = try Self.commonDimension(db)
            }
            if let expectedDimension, let dimension, expectedDimension != dimension {
                throw EmbCacheError.unusableCache(
                    path: path,
                    reason:
                        "holds \(dimension)-dimensional vectors, but model \"\(identity.canonical)\" gives \(expectedDimension)"
                )
            }
            metadataWritten = metadata["model"] != nil && metadata["dimension"] != nil
            unclaimed = !writable && metadata["model"] == nil
            self.dimension = dimension ?? expectedDimension
            if writable && (metadata["model"] == nil || (!metadataWritten && self.dimension != nil)) {
                try writeMetadata(dimension: self.dimension)
                metadataWritten = self.dimension != nil
            }
        }
        if writable {
            try retryingWrite(claim)
            hasChecksums = true
        } else {
            try claim()
            hasChecksums = try Self.unusable(path) { () in try RowChecksum.exists(in: db) }
        }
        if writable {
            // Read-write, though it only reads: whichever connection closes
            // last checkpoints and removes the -wal and -shm files, which a
            // read-only one cannot.
            reader = try Self.unusable(path) { () in try SQLiteConnection(path: path, readOnly: false) }
            waitWhileBusy(reader!, throughInterrupts: false)
            checkpoints = BackgroundCheckpoints(logs: ["main": path, "hs": hashstringPath], writer: db)
        }
        // Each lookup probes the checksums' table too; its pages (about 20
        // bytes a row) must outlive the vectors' pages that stream past.
        try (reader ?? db).execute("PRAGMA main.cache_size = -\(Self.lookupCacheKiB)")
        if writable && commitCacheKiB > Self.smallestCacheKiB {
            try db.execute("PRAGMA main.cache_size = -\(commitCacheKiB); PRAGMA hs.cache_size = -\(commitCacheKiB)")
        }
        ready.store(true, ordering: .releasing)
    }

    /// Opens the model file once it exists, or, `creating`, makes it.
    private func openWhenCreated(creating: Bool) throws {
        try opening.withLock { _ throws(EmbCacheError) in
            guard connection == nil, creating || access(path, F_OK) == 0 else { return }
            do {
                try openFile(expectedDimension: dimension)
            } catch let error as EmbCacheError {
                throw error
            } catch {
                throw EmbCacheError.unusableCache(path: path, reason: "\(error)")
            }
        }
    }

    public func lookup(_ keys: [CacheKey]) throws -> [StoredVector] {
        precondition(!closed, "lookup after close")
        // Another run may have made the file since: its vectors are hits.
        try openWhenCreated(creating: false)
        guard ready.load(ordering: .acquiring), let connection = reader ?? connection else {
            return keys.map { _ in .miss }
        }
        let select = try selectStatement ?? connection.prepare(RowChecksum.selectSQL(withChecksum: hasChecksums))
        selectStatement = select
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        if unclaimed, let stored = try SQLiteSchema.readMetadata(connection, path: path)["model"],
            stored != identity.canonical
        {
            throw identityMismatch(stored)
        }
        // In key order, each index is walked from one end to the other:
        // the pages one probe reads are those the next one needs.
        var results = [StoredVector](repeating: .miss, count: keys.count)
        for position in keys.indices.sorted(by: { keys[$0] < keys[$1] }) {
            let key = keys[position]
            select.reset()
            try key.withUnsafeBytes { bytes in try select.bind(bytes, at: 1) }
            if hasChecksums { try select.bind(RowChecksum.prefix(of: key), at: 2) }
            guard try select.step() else { continue }
            let blob = select.blob(at: 0)
            let found = RowChecksum.checked(
                StoredVector.decode(blob, dimension: dimension), key: key, blob: blob,
                recorded: select.optionalInt64(at: 1))
            if case .hit(let vector) = found { knownDimension.withLock { $0 = $0 ?? vector.count } }
            results[position] = found
        }
        select.reset()
        return results
    }

    public func insert(_ entries: [StoreEntry]) throws {
        precondition(!closed, "insert after close")
        guard !entries.isEmpty else { return }
        // In key order, the index of keys in each file is walked once from
        // one end to the other instead of at a random page for every key.
        let entries = entries.sorted { $0.key < $1.key }
        let width = dimension ?? entries[0].vector.count
        if let bad = entries.first(where: { $0.vector.count != width }) {
            throw EmbCacheError.unusableCache(
                path: path,
                reason: "holds \(width)-dimensional vectors, the provider returned \(bad.vector.count)")
        }
        guard provider != nil else {
            throw EmbCacheError.configuration("cache \(path) was opened for lookups only")
        }
        try openWhenCreated(creating: true)
        guard let connection else { return }
        // Texts first, committed on their own. In WAL mode a transaction
        // over two files is atomic in each file but not across both, so a
        // kill -9 or a full disk between the two commits keeps one without
        // the other: a text without its vector is a miss computed again,
        // while a vector without its text could never be tied to it again.
        try retryingWrite { () in try insertTexts(entries, connection) }
        // Changes only when another connection commits to hashstring.
        let textsVersion = try connection.scalarText("PRAGMA hs.data_version")
        // The vectors' transaction holds hashstring's write lock too (BEGIN
        // IMMEDIATE starts a write on every attached file) to its commit, so
        // a gc can never come between a vector and its text; it writes again
        // the texts a gc took since the first commit. When no other
        // connection has committed to hashstring since, none can be gone and
        // nothing is checked; otherwise each is checked by digest, which is
        // much cheaper than inserting again (that probes the index of whole
        // texts too).
        try retryingWrite { () in
            if try connection.scalarText("PRAGMA hs.data_version") != textsVersion {
                try insertMissingTexts(entries, connection)
            }
            let keep = try connection.prepare(
                "INSERT OR IGNORE INTO main.embedding (hashid, embedding) VALUES (?1, ?2)")
            let replace = try connection.prepare(
                "INSERT OR REPLACE INTO main.embedding (hashid, embedding) VALUES (?1, ?2)")
            // Every commit is made under the identity the file holds.
            if let stored = try storedModel(connection), stored != identity.canonical {
                throw identityMismatch(stored)
            }
            if !metadataWritten { try writeMetadata(dimension: width) }
            let checksum = try connection.prepare(RowChecksum.insertSQL)
            for entry in entries {
                let vector = entry.replacesInvalid ? replace : keep
                vector.reset()
                try entry.key.withUnsafeBytes { bytes in try vector.bind(bytes, at: 1) }
                let sum = try littleEndianBytes(entry.vector) { bytes in
                    try vector.bind(bytes, at: 2)
                    return RowChecksum.of(key: entry.key, blob: bytes)
                }
                try vector.step()
                // A row another writer stored first keeps its own checksum.
                guard connection.changes == 1 else { continue }
                checksum.reset()
                try checksum.bind(RowChecksum.prefix(of: entry.key), at: 1)
                try checksum.bind(Int(sum), at: 2)
                try checksum.step()
            }
        }
        // Only once committed: a rolled-back transaction changed nothing.
        dimension = width
        metadataWritten = true
        startLogWriteback()
    }

    /// Starts what the commits appended to both logs on its way to disk.
    /// With synchronous=NORMAL a commit does not wait for the disk; the
    /// checkpoint does, syncing the log before it copies it, and now finds
    /// it mostly written instead of writing tens of MB right then (and
    /// again at close, when the run waits for it).
    private func startLogWriteback() {
        if logDescriptors.isEmpty {
            let logs = [path, directory + "/" + SQLiteSchema.hashstringFileName].map {
                open($0 + "-wal", O_RDONLY | O_CLOEXEC)
            }
            // Both exist once a commit has written both files; while a
            // connection is open, SQLite never removes them.
            guard logs.allSatisfy({ $0 >= 0 }) else { return closeDescriptors(logs.filter { $0 >= 0 }) }
            logDescriptors = logs
        }
        for fd in logDescriptors { _ = embc_start_writeback(fd) }
    }

    private func insertMissingTexts(_ entries: [StoreEntry], _ connection: SQLiteConnection) throws {
        let exists = try connection.prepare("SELECT 1 FROM hs.hashstring WHERE hashid = ?1")
        var missing: [StoreEntry] = []
        for entry in entries {
            exists.reset()
            try entry.key.withUnsafeBytes { bytes in try exists.bind(bytes, at: 1) }
            if try !exists.step() { missing.append(entry) }
        }
        exists.reset()
        if !missing.isEmpty { try insertTexts(missing, connection) }
    }

    private func insertTexts(_ entries: [StoreEntry], _ connection: SQLiteConnection) throws {
        let text = try connection.prepare("INSERT OR IGNORE INTO hs.hashstring (hashid, text) VALUES (?1, ?2)")
        for entry in entries {
            text.reset()
            try entry.key.withUnsafeBytes { bytes in try text.bind(bytes, at: 1) }
            try text.step(bindingText: entry.text, at: 2)
        }
    }

    /// Grows the page caches to hold the pages a commit of `count` entries
    /// touches: at most two 4 KiB pages per entry in hashstring (its index
    /// of keys and its index of texts), one and a bit in the model file. A
    /// commit of 4096 texts into a cache of 100k texts touched ~6000 pages
    /// of hashstring; with 8 MiB, pages were written out mid-commit and read
    /// back, and pwrite and pread took 29% of the CPU samples of a run with
    /// 8 requests in flight. Windows of 1024 (the hash and local models')
    /// keep the small cache, and so the small memory. Commits that merge
    /// windows waiting may still spill.
    public func expectCommits(of count: Int) throws {
        precondition(!closed, "expectCommits after close")
        let wanted = min(Self.largestCacheKiB, count * 2 * 4)
        guard wanted > Self.smallestCacheKiB, provider != nil else { return }
        commitCacheKiB = wanted
        try connection?.execute("PRAGMA main.cache_size = -\(wanted); PRAGMA hs.cache_size = -\(wanted)")
    }

    /// Copies both logs into their files side by side, then closes. Each
    /// copy waits for the disk twice (the log's fsync and the file's); at
    /// deinit the model file's would wait for hashstring's.
    /// The store is not used after.
    public func close() {
        guard !closed else { return }
        closed = true
        selectStatement = nil
        checkpoints?.stop()
        checkpoints = nil
        closeDescriptors(logDescriptors)
        logDescriptors = []
        let writer = UnsafeSendable(connection)
        let reader = UnsafeSendable(reader)
        concurrently {
            // The only connection to hashstring: its close copies that log
            // and removes it. The model file is left to the reader, which
            // still has it open.
            writer.value?.close()
        } and: {
            _ = try? reader.value?.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
        }
        // Last, so that it alone removes the model file's log (a connection
        // closing while another has the file open leaves the log), with
        // nothing left to copy.
        reader.value?.close()
    }

    deinit {
        checkpoints?.stop()
        closeDescriptors(logDescriptors)
    }

    // MARK: - Metadata

    /// Records the identity (claiming the file against a colliding one)
    /// and, once known, the dimension. Never overwrites: what a file says it
    /// holds stays true.
    private func writeMetadata(dimension: Int?) throws {
        guard let connection else { return }
        let insert = try connection.prepare(
            "INSERT OR IGNORE INTO main.\(Self.metadataTable) (key, value) VALUES (?1, ?2)")
        var values = [
            ("model", identity.canonical), ("dtype", "float32"), ("created_by", Self.createdBy),
        ]
        if let provider { values.append(("provider", provider)) }
        if let dimension { values.append(("dimension", String(dimension))) }
        for (key, value) in values {
            insert.reset()
            try insert.bind(text: key, at: 1)
            try insert.bind(text: value, at: 2)
            try insert.step()
        }
    }

    private func storedModel(_ connection: SQLiteConnection) throws -> String? {
        let select = try connection.prepare("SELECT value FROM main.\(Self.metadataTable) WHERE key = 'model'")
        return try select.step() ? select.text(at: 0) : nil
    }

    private func identityMismatch(_ stored: String) -> EmbCacheError {
        .unusableCache(path: path, reason: "holds vectors of model \"\(stored)\", not \"\(identity.canonical)\"")
    }

    /// Caches written by the Python package carry no metadata: the length
    /// most of their first thousand vectors have says what dimension they
    /// hold (one odd row must not make every other row look bad).
    static func commonDimension(_ connection: SQLiteConnection) throws -> Int? {
        guard try SQLiteSchema.tableExists(connection, SQLiteSchema.vectors) else { return nil }
        let common = try connection.prepare(
            """
            SELECT n FROM (SELECT length(embedding) AS n FROM main.embedding WHERE length(embedding) > 0 LIMIT 1000)
            GROUP BY n ORDER BY count(*) DESC LIMIT 1
            """)
        guard try common.step() else { return nil }
        let bytes = common.int(at: 0)
        return bytes % 4 == 0 ? bytes / 4 : nil
    }

    // MARK: - Transactions

    /// One write transaction, retried with backoff while another process
    /// holds the write lock past the busy timeout. A signal does not end
    /// its waits: an interrupted run commits what it computed before it
    /// exits, and a second signal ends it at once.
    private func retryingWrite(_ body: () throws -> Void) throws {
        guard let connection else { return }
        waitWhileBusy(connection, throughInterrupts: true)
        try Self.retryingWhileBusy(Self.busyRetries.waitingThroughInterrupts) { () in
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try body()
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// 8 attempts in all, each after SQLite's own busy wait; before retry
    /// n, a random wait up to 0.05 s × 2^(n − 1): 6.35 s at most in all.
    static let busyRetries = RetryPolicy(attempts: 8, base: .milliseconds(50), cap: .milliseconds(3200))

    /// Runs `body` again while it fails with SQLITE_BUSY or SQLITE_LOCKED.
    /// A signal ends the waits, unless `policy` waits through it.
    static func retryingWhileBusy(_ policy: RetryPolicy = busyRetries, _ body: () throws -> Void) throws {
        try policy.run(retryingOn: { error in
            guard case EmbCacheError.store(_, let code, _, _) = error else { return false }
            return isBusy(code)
        }) {
            try body()
        }
    }

    /// Turns SQLite's failures while opening into a cache that can't be
    /// used: not a database, unreadable, or locked read-only.
    private static func unusable<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch EmbCacheError.store(_, let code, let message, _) where !isBusy(code) {
            throw EmbCacheError.unusableCache(path: path, reason: "cannot be opened as a cache: \(message)")
        }
    }
}

private func isBusy(_ code: Int32) -> Bool {
    code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED
}

/// SQLite's own wait for another connection's lock, as
/// `sqlite3_busy_timeout(10_000)` makes it, but one that a signal ends at
/// once unless `throughInterrupts`: a run waiting to begin or to look up
/// stops, one waiting to commit what it computed waits on.
private func waitWhileBusy(_ connection: SQLiteConnection, throughInterrupts: Bool) {
    if throughInterrupts {
        sqlite3_busy_handler(connection.handle, { _, count in busyWait(count, endingOnInterrupt: false) }, nil)
    } else {
        sqlite3_busy_handler(connection.handle, { _, count in busyWait(count, endingOnInterrupt: true) }, nil)
    }
}

/// The delays of SQLite's default busy handler, in milliseconds, the last
/// repeated, up to ten seconds in all. `count` is how many came before.
private func busyWait(_ count: Int32, endingOnInterrupt: Bool) -> Int32 {
    let delays = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]
    let calls = Int(count)
    let waited = delays.prefix(calls).reduce(0, +) + max(0, calls - delays.count) * 100
    let delay = min(delays[min(calls, delays.count - 1)], 10_000 - waited)
    if delay <= 0 || (endingOnInterrupt && Interrupt.isRequested) { return 0 }
    usleep(UInt32(delay) * 1000)
    return 1
}

/// `close(2)`, which inside SQLiteStore its own `close()` hides.
private func closeDescriptors(_ descriptors: [Int32]) {
    for fd in descriptors { close(fd) }
}

/// Checkpoints both logs of a writable store while it runs, each on a
/// connection and a thread of its own, in place of the writer's automatic
/// checkpoint: that one ran inside a commit, which waited for its copy and
/// fsyncs (seconds, once 64 MiB of log were reached near the end of a run)
/// and held back the commits and output behind it. A log is checkpointed
/// once a commit leaves it at `threshold` pages or more, one checkpoint at
/// a time; PASSIVE, so it never waits for a writer or a reader, copies what
/// it can, and leaves the rest to the next. The store's close copies what
/// remains.
final class BackgroundCheckpoints: @unchecked Sendable {
    /// 4 MiB of 4 KiB pages: what a few commits write to each log, so
    /// that the copy left for the store's close (which the run waits for)
    /// stays small. 16 MiB left runs 0.04 s longer at the end.
    static let threshold: Int32 = 1024

    private let logs: [String: LogCheckpointer]
    private let writer: SQLiteConnection

    /// `logs` maps the writer's schema names to their files. nil when a
    /// connection can't be made: the writer keeps its own automatic
    /// checkpoints.
    init?(logs files: [String: String], writer: SQLiteConnection) {
        var logs: [String: LogCheckpointer] = [:]
        for (schema, path) in files {
            guard let log = LogCheckpointer(path: path) else {
                for started in logs.values { started.stop() }
                return nil
            }
            logs[schema] = log
        }
        self.logs = logs
        self.writer = writer
        // Replaces the writer's automatic checkpoint (itself a WAL hook).
        sqlite3_wal_hook(
            writer.handle,
            { context, _, schema, pages in
                if pages >= BackgroundCheckpoints.threshold, let context, let schema {
                    let checkpoints = Unmanaged<BackgroundCheckpoints>.fromOpaque(context).takeUnretainedValue()
                    checkpoints.logs[String(cString: schema)]?.nudge()
                }
                return SQLITE_OK
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Lets the checkpoints under way finish and ends the threads; the
    /// writer gets its automatic checkpoint back.
    func stop() {
        sqlite3_wal_autocheckpoint(writer.handle, SQLiteStore.autocheckpointPages)
        for log in logs.values { log.stop() }
    }
}

/// One file's background checkpoints (BackgroundCheckpoints).
private final class LogCheckpointer: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = false
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init?(path: String) {
        guard let connection = try? SQLiteConnection(path: path, readOnly: false) else { return nil }
        let owned = UnsafeSendable(connection)
        Thread.detachNewThread { [self] in
            ThreadPriority.lowerForBackgroundWork()
            while waitForLog() { _ = try? owned.value.execute("PRAGMA main.wal_checkpoint(PASSIVE)") }
            // Not the last connection to the file: closing it copies
            // nothing and removes no log.
            owned.value.close()
            done.signal()
        }
    }

    /// The log has grown: checkpoint once the one under way is done.
    func nudge() {
        condition.lock()
        pending = true
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
        done.wait()
    }

    private func waitForLog() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !pending && !stopped { condition.wait() }
        pending = false
        return !stopped
    }
}
