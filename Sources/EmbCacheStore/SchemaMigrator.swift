import EmbCacheCore

/// The versions of a storage engine's own tables, as registered steps, in
/// the manner of GRDB's `DatabaseMigrator` and of the `sqlite-migrate`
/// steps `llm` registers for its embeddings database: each step has a
/// number and a name and is written once, never edited after a release;
/// opening a cache runs, in order, the steps after the version it records,
/// then records the last. The caller holds the transaction (and any lock)
/// around `migrate`, so two processes never run a step twice at once, and
/// a step that fails leaves the version as it was.
///
/// Unlike GRDB's, which records each step's identifier in a table of its
/// own, the version is one number: the tables the Python package reads
/// are never touched by a step, and the number is what a later release
/// compares with to refuse a cache it does not know (status 78). Steps are
/// written to be idempotent (`IF NOT EXISTS`), since caches written before
/// a step was registered may already have part of what it makes.
public struct SchemaMigrator<Database>: Sendable {
    public struct Step: Sendable {
        public let version: Int
        public let name: String
        let apply: @Sendable (Database) throws -> Void
    }

    public private(set) var steps: [Step] = []

    public init() {}

    /// Adds the step that brings the tables from `version - 1` to `version`;
    /// steps are registered in order, one version at a time.
    public mutating func register(
        _ version: Int, _ name: String, _ apply: @escaping @Sendable (Database) throws -> Void
    ) {
        precondition(version == latest + 1, "migration \(version) (\(name)) registered after \(latest)")
        steps.append(Step(version: version, name: name, apply: apply))
    }

    /// The version the last step reaches: what this embcache writes.
    public var latest: Int { steps.last?.version ?? 0 }

    /// The steps a cache of `version` still needs, in order.
    public func pending(from version: Int) -> ArraySlice<Step> {
        steps[(steps.firstIndex { $0.version > version } ?? steps.endIndex)...]
    }

    /// Refuses a cache of a later version than this embcache knows: its
    /// tables may mean what this one cannot tell.
    public func check(_ version: Int, at location: String) throws {
        if version > latest {
            throw EmbCacheError.unusableCache(
                path: location,
                reason: "has schema version \(version); this embcache knows version \(latest) (upgrade it)")
        }
    }

    /// Runs the steps after `version` on `database`, then `record`s the
    /// version reached (nothing when none was pending); returns it.
    @discardableResult
    public func migrate(
        _ database: Database, from version: Int, at location: String, record: (Database, Int) throws -> Void
    ) throws -> Int {
        try check(version, at: location)
        let steps = pending(from: version)
        guard let last = steps.last else { return version }
        for step in steps { try step.apply(database) }
        try record(database, last.version)
        return last.version
    }
}
