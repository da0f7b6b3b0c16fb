import EmbCacheCore
import EmbCacheProviders
import EmbCacheStore
import Glibc

/// The model names a person may have meant: the built-in hash embedder,
/// the config file's names and the identities the cache holds. Used to
/// answer a misspelt name with the closest ones.
struct KnownModels {
    var configNames: [String] = []
    /// Read only when a name is to be answered: it opens every model file.
    var storage: CacheStorage?

    init(catalog: ModelCatalog?, storage: CacheStorage?) {
        configNames = catalog.map { Array($0.models.keys) } ?? []
        self.storage = storage
    }

    var cached: [String] { ((try? storage?.summarize(model: nil))?.models ?? []).compactMap(\.model) }

    /// Whether the cache has vectors of `identity`, where that is cheap to
    /// tell (a cache directory); true when it cannot be told.
    func mayHold(_ identity: ModelIdentity) -> Bool {
        guard let directory = (storage as? SQLiteStorage)?.directory else { return true }
        return access(directory + "/" + identity.fileName, F_OK) == 0
    }

    /// " (closest known: a, b)", or "" when nothing is close.
    func closest(to name: String) -> String {
        var candidates = configNames + cached
        // hash256, hash_256, Hash-256: the built-in.
        let digits = name.filter(\.isNumber)
        if name.lowercased().hasPrefix("hash"), !digits.isEmpty { candidates.append("hash-" + digits) }
        let limit = max(2, name.count / 3)
        let close = Set(candidates).map { ($0, editDistance(name, $0)) }.filter { $0.1 <= limit && $0.0 != name }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(3).map { "\"\($0.0)\"" }
        return close.isEmpty ? "" : " (closest known: \(close.joined(separator: ", ")))"
    }
}

/// The identity a command's `--model` names: an identity as `models`
/// prints it, else a name of the config file resolved as the filter and
/// `get` resolve it; else an error that names the closest known names.
func identityNamed(_ name: String, in storage: CacheStorage, environment: [String: String]) throws -> ModelIdentity {
    let given = ModelIdentity(canonical: name)
    do {
        _ = try storage.summarize(model: given)
        return given
    } catch let error as EmbCacheError {
        let catalog = try? ModelCatalog.load(
            path: ModelCatalog.path(flag: nil, environment: environment), required: false)
        guard let named = catalog?.model(named: name) else {
            let known = KnownModels(catalog: catalog, storage: storage)
            throw EmbCacheError.configuration("\(error.description)\(known.closest(to: name))")
        }
        let options = try FilterCommand.parse(["--model", name, "--offline"]).options
        let (_, identity) = try ProviderSettings(flags: options, named: named).resolve(
            model: name, environment: environment, offline: true)
        return identity
    }
}
