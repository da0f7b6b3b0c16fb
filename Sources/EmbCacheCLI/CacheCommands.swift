import ArgumentParser
import EmbCacheBackup
import EmbCacheCore
import EmbCacheKit
import EmbCacheProviders
import EmbCacheStore
import Foundation
import Glibc

func writeStdout(_ text: String) throws {
    let sink = ByteSink(fd: STDOUT_FILENO, name: "stdout")
    try sink.write(Array(text.utf8))
    try sink.flush()
}

func note(_ message: String) {
    Reporter.writeStderr("embcache: \(message)\n")
}

struct StatsCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract:
            "Show what the cache holds: per model file, its identity, dimension, vectors and size; then the texts.")

    @OptionGroup var location: CacheLocation
    @Option(help: ArgumentHelp("Only this model's file.", valueName: "name")) var model: String?
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Give sizes in bytes, not in KiB, MiB, GiB.") var bytes = false

    func execute(environment: [String: String]) throws {
        let storage = try location.storage(environment)
        let identity = try model.map { try identityNamed($0, in: storage, environment: environment) }
        let summary = try storage.summarize(model: identity)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try writeStdout(String(decoding: try encoder.encode(summary), as: UTF8.self) + "\n")
        } else {
            try writeStdout(summary.table(exactBytes: bytes))
        }
    }
}

struct ModelsCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models the cache holds, one a line: identity, dimension, vectors (tab-separated).",
        discussion: """
            A file written by the Python embeddingcache records no identity: its file name stands in. With \
            --available, list the named models of the config file instead: name, provider, identity.
            """)

    @OptionGroup var location: CacheLocation
    @Flag(help: "List the named models the config file defines.") var available = false
    @Option(
        help: ArgumentHelp(
            "Config file. Default: $XDG_CONFIG_HOME/embcache/config.toml, ~/.config/embcache/config.toml.",
            valueName: "file"))
    var config: String?

    func execute(environment: [String: String]) throws {
        guard available else {
            let summary = try location.storage(environment).summarize(model: nil)
            try writeStdout(
                summary.models.map {
                    "\($0.model ?? $0.file)\t\($0.dimension.map(String.init) ?? "?")\t\($0.vectors)\n"
                }.joined())
            return
        }
        let catalog = try ModelCatalog.load(
            path: ModelCatalog.path(flag: config, environment: environment), required: config != nil)
        var lines = ""
        var broken = false
        for name in catalog.models.keys.sorted() {
            // What the filter would make of `--model NAME`, offline so no key is needed.
            do {
                let options = try FilterCommand.parse(["--model", name, "--offline"]).options
                let settings = ProviderSettings(flags: options, named: catalog.models[name])
                let (choice, identity) = try settings.resolve(model: name, environment: environment, offline: true)
                lines +=
                    "\(name)\t\(catalog.models[name]?.string(.provider) ?? choice.name ?? "-")\t\(identity.canonical)\n"
            } catch {
                note("\(catalog.path ?? "config"): models.\(name): \(error)")
                broken = true
            }
        }
        try writeStdout(lines)
        if broken { throw ExitCode(78) }
    }
}

extension ProviderChoice {
    /// The provider's name, as `--provider` takes it.
    var name: String? {
        switch self {
        case .hash: "hash"
        case .command: "command"
        case .http(let settings): settings.api.rawValue
        case .builtIn(let factory): factory.providerName
        case .none: nil
        }
    }
}

struct ImportCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load vectors computed elsewhere into a model's cache.",
        discussion: """
            Reads JSON Lines records {"text": ..., "embedding": [...]} (the vector may also be base64 of \
            little-endian float32), or with --from-llm the stored texts of an llm embeddings database. Every \
            vector is checked; a record that can't be imported is reported and skipped (exit status 65 once the \
            rest is imported). Vectors already cached are kept: importing twice changes nothing.
            """)

    @Argument(help: ArgumentHelp("JSON Lines files; - is stdin (the default).", valueName: "file"), completion: .file())
    var files: [String] = []
    @OptionGroup var location: CacheLocation
    @Option(
        help: ArgumentHelp(
            "Model the vectors belong to (with --from-llm, default: the collection's).", valueName: "name"))
    var model: String?
    @Option(help: ArgumentHelp("Refuse vectors of any other dimension.", valueName: "d")) var dimensions: Int?
    @Option(help: ArgumentHelp("Field holding the text (a dotted path).", valueName: "path")) var textField = "text"
    @Option(help: ArgumentHelp("Field holding the vector (a dotted path).", valueName: "path"))
    var embeddingField = "embedding"
    @Option(
        help: ArgumentHelp("Import from this llm embeddings database instead.", valueName: "file"), completion: .file())
    var fromLlm: String?
    @Option(help: ArgumentHelp("The llm collection to import (with --from-llm).", valueName: "name"))
    var collection: String?
    @Flag(name: .shortAndLong, help: "Report nothing but errors.") var quiet = false

    func validate() throws {
        if fromLlm == nil && collection != nil { throw ValidationError("--collection goes with --from-llm") }
        if fromLlm != nil && !files.isEmpty { throw ValidationError("--from-llm takes no input files") }
        if fromLlm == nil && model == nil { throw ValidationError("import needs --model") }
        if let dimensions, dimensions < 1 { throw ValidationError("--dimensions must be at least 1") }
    }

    func execute(environment: [String: String]) throws {
        // The collection is looked up even when --model names the model, so
        // that a misspelt one is an error, not an import of nothing.
        let llm = try fromLlm.map { try Importer.llmCollection(database: $0, named: collection) }
        if let fromLlm, let llm, llm.rows > 0, llm.rowsWithText == 0 {
            note(
                "\(fromLlm): collection \"\(llm.name)\" was embedded without --store: it holds vectors but not "
                    + "their texts, which embcache keys them by; embed it again with llm embed-multi --store, "
                    + "or import JSON Lines of text and embedding")
            throw ExitCode(65)
        }
        guard let name = model ?? llm?.model else { throw ValidationError("import needs --model") }

        let store = try location.storage(environment).openModel(
            ModelIdentity(canonical: name), provider: "import", expectedDimension: dimensions)
        let quiet = quiet
        let warn: (String) -> Void = { message in if !quiet { note(message) } }
        let summary =
            if let fromLlm, let llm {
                try Importer.importLLM(database: fromLlm, collection: llm.name, into: store, warn: warn)
            } else {
                try Importer.importJSONLines(
                    inputs: files.isEmpty ? ["-"] : files, into: store, textField: textField,
                    vectorField: embeddingField, maxLineBytes: 1 << 30, warn: warn)
            }
        if !quiet {
            note(
                "imported \(counted(summary.imported, "vector")) of \(name), \(summary.alreadyCached) already cached, \(summary.skipped) skipped"
            )
        }
        if summary.skipped > 0 {
            throw ExitCode(65)
        }
    }
}

struct ExportCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every vector of a model, as stored, in the order it was cached.",
        discussion: """
            jsonl records are {"hash": "<hex SHA-512>", "embedding": [...]}, or {"text": ..., "embedding": [...]} \
            with --with-text. npy and f32 rows come in the same order as jsonl records.
            """)

    @OptionGroup var location: CacheLocation
    @Option(help: ArgumentHelp("The model to export.", valueName: "name")) var model: String
    @Option(name: .long, help: ArgumentHelp("jsonl, base64, f32 (or raw) or npy.", valueName: "format"))
    var format: OutputFormat = .jsonl
    @Option(help: ArgumentHelp("Element type of f32 and npy output.", valueName: "type")) var dtype: OutputDType =
        .float32
    @Flag(help: "Put each vector's text in jsonl records (texts may be private; the default is the hash).")
    var withText = false
    @Option(
        name: [.short, .customLong("output")], help: ArgumentHelp("Write to this file.", valueName: "file"),
        completion: .file())
    var output: String?

    func validate() throws {
        if dtype == .float64 && !format.isMatrix {
            throw ValidationError("--dtype float64 applies to f32 and npy only")
        }
        if withText && format.isMatrix { throw ValidationError("--with-text applies to jsonl and base64 only") }
        if format == .none { throw ValidationError("--format none would export nothing") }
    }

    func execute(environment: [String: String]) throws {
        let file = try output.map { try OutputFile(path: $0) }
        let sink = file?.sink ?? ByteSink(fd: STDOUT_FILENO, name: "stdout")
        let writer = try format.writer(to: sink, dtype: dtype, normalize: false)
        let summary = try Exporter.export(
            from: location.storage(environment), model: ModelIdentity(canonical: model), writer: writer,
            withText: withText, warn: note)
        try file?.commit()
        if summary.skipped > 0 {
            note("exported \(counted(summary.exported, "vector")), skipped \(counted(summary.skipped, "row"))")
            throw ExitCode(65)
        }
    }
}

struct VerifyCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every row of the cache; print each problem on stdout, exit 65 if any.",
        discussion: """
            Texts: each hash is the SHA-512 of its text. Vectors: 64-byte hashes, 4 x d bytes, finite values, \
            metadata that matches the file. And SQLite's integrity_check. --repair deletes bad rows (they are \
            computed again when next needed); with --model it also rewrites that file's metadata when it names \
            a model the file can't belong to.
            """)

    @OptionGroup var location: CacheLocation
    @Option(help: ArgumentHelp("Check only this model's vectors.", valueName: "name")) var model: String?
    @Flag(help: "Delete bad rows, then check again.") var repair = false

    func execute(environment: [String: String]) throws {
        let storage = try location.storage(environment)
        let identity = model.map { ModelIdentity(canonical: $0) }
        let sink = ByteSink(fd: STDOUT_FILENO, name: "stdout")
        var failure: Error?
        var summary = try storage.verify(model: identity, repair: repair) { line in
            do { try sink.write(Array((line + "\n").utf8)) } catch { failure = failure ?? error }
        }
        try sink.flush()
        if let failure { throw failure }
        if repair {
            note("repaired \(summary.repaired) of \(counted(summary.problems, "problem"))")
            summary = try storage.verify(model: identity, repair: false) { _ in }
        }
        if summary.vectorsWithoutText > 0 {
            note(
                "\(counted(summary.vectorsWithoutText, "vector")) \(summary.vectorsWithoutText == 1 ? "has" : "have") no text in the cache (their hash can't be checked)"
            )
        }
        if summary.vectorsWithoutChecksum > 0 {
            note(
                "\(counted(summary.vectorsWithoutChecksum, "vector")) \(summary.vectorsWithoutChecksum == 1 ? "carries" : "carry") no checksum (stored by the Python package or an earlier version): their bytes can't be checked"
            )
        }
        note(
            "checked \(counted(summary.rowsChecked, "row")): \(summary.problems == 0 ? "ok" : counted(summary.problems, "problem"))"
        )
        if summary.problems > 0 { throw ExitCode(65) }
    }
}

struct GCCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Delete the texts no model uses, then reclaim their space.")

    @OptionGroup var location: CacheLocation

    func execute(environment: [String: String]) throws {
        let result = try location.storage(environment).collectGarbage()
        note(
            "deleted \(counted(result.textsDeleted, "text")) no model uses; texts \(result.bytesBefore) -> \(result.bytesAfter) bytes"
                + result.emptyModelFiles.map { "; removed \($0), which held no vector" }.joined()
        )
    }
}

struct RemoveCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove one model's vectors (its file); asks first unless --yes.",
        discussion: "The texts stay in hashstring.sqlite until embcache gc.")

    @OptionGroup var location: CacheLocation
    @Option(help: ArgumentHelp("The model to remove.", valueName: "name")) var model: String
    @Flag(name: .shortAndLong, help: "Do not ask (for scripts).") var yes = false

    func execute(environment: [String: String]) throws {
        let storage = try location.storage(environment)
        let identity = ModelIdentity(canonical: model)
        if !yes {
            guard isatty(STDIN_FILENO) == 1 else {
                throw EmbCacheError.usage("not removing \(identity.fileName) without --yes (stdin is not a terminal)")
            }
            let found = try storage.summarize(model: identity).models[0]
            Reporter.writeStderr(
                "embcache: remove \(counted(found.vectors, "vector")) of \(model) (\(storage.location): \(found.file))? [y/N] "
            )
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                note("nothing removed")
                return
            }
        }
        let removed = try storage.removeModel(identity)
        note("removed \(counted(removed, "vector")) of \(model)")
    }
}

struct BackupCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the whole cache, consistently, while other processes use it: into a new directory, or to S3.",
        discussion: """
            To s3://bucket/prefix, each file is uploaded from a snapshot, then a manifest of their sizes and \
            SHA-256 digests; credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and \
            AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL).
            """)

    @Argument(help: ArgumentHelp("A new or empty directory, or s3://bucket/prefix.", valueName: "dest"))
    var destination: String
    @OptionGroup var location: CacheLocation
    @Option(help: ArgumentHelp("Upload files larger than this many MiB in parts of this size (S3).", valueName: "mib"))
    var partSize = 16
    @Flag(name: .shortAndLong, help: "Report nothing but errors and warnings.") var quiet = false

    func validate() throws {
        if partSize < 5 || partSize > 5120 { throw ValidationError("--part-size must be 5 to 5120 MiB") }
    }

    func execute(environment: [String: String]) throws {
        guard let storage = try location.storage(environment) as? SQLiteStorage else {
            throw EmbCacheError.configuration(
                "backup copies a cache directory; for PostgreSQL use pg_dump, or embcache copy --to DIR")
        }
        let quiet = quiet
        if S3Location.isURL(destination) {
            let target = try S3Location(destination)
            let manifest = try S3Backup.backup(
                directory: storage.directory, to: target, settings: S3Settings(environment: environment),
                partSize: partSize << 20, report: { if !quiet { note($0) } }, warn: { note($0) })
            if !quiet { note("backed up \(counted(manifest.files.count, "file")) to \(target)") }
            return
        }
        let names = try SQLiteMaintenance.backup(directory: storage.directory, to: destination)
        if !quiet { note("copied \(counted(names.count, "file")) to \(destination)") }
    }
}

struct RestoreCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a cache directory from a backup: a directory backup wrote, or S3.",
        discussion: """
            Every file is copied into a staging folder and checked before any replaces a cache file: from S3, \
            against the manifest (size and SHA-256); from a directory, with SQLite's integrity check. A backup \
            without its manifest (on S3) or its hashstring.sqlite (in a directory), or with a file that does \
            not pass, restores nothing (exit status 65). A directory that holds a cache is replaced only with \
            --force, and no process may use it meanwhile.
            """)

    @Argument(help: ArgumentHelp("The backup: a directory, or s3://bucket/prefix.", valueName: "source"))
    var source: String
    @Option(help: CacheLocation.cacheDirHelp) var cacheDir: String?
    @Flag(help: "Replace the cache the directory holds.") var force = false
    @Flag(name: .shortAndLong, help: "Report nothing but errors.") var quiet = false

    func execute(environment: [String: String]) throws {
        let directory = try CacheDirectory.resolve(flag: cacheDir, environment: environment)
        let quiet = quiet
        guard S3Location.isURL(source) else {
            let names = try DirectoryRestore.restore(from: source, into: directory, force: force)
            if !quiet { note("restored \(counted(names.count, "file")) from \(source) into \(directory)") }
            return
        }
        let from = try S3Location(source)
        let manifest = try S3Backup.restore(
            from: from, into: directory, settings: S3Settings(environment: environment), force: force,
            report: { if !quiet { note($0) } })
        if !quiet { note("restored \(counted(manifest.files.count, "file")) of \(manifest.created) into \(directory)") }
    }
}

struct CopyCommand: EmbCacheSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy vectors and their texts from one cache to another: directories and PostgreSQL URLs.",
        discussion: """
            Every model the source names (or only --model's) is copied; a vector the destination holds already \
            is kept, so copying again after an interruption copies only what is missing. A row that can't be \
            copied (no text, a bad vector) is reported and skipped: exit status 65 once the rest is copied.
            """)

    @Option(help: ArgumentHelp("The cache to copy: a directory or a postgresql:// URL.", valueName: "dir|url"))
    var from: String
    @Option(help: ArgumentHelp("The cache to copy into: a directory or a postgresql:// URL.", valueName: "dir|url"))
    var to: String
    @Option(help: ArgumentHelp("Copy only this model.", valueName: "name")) var model: String?
    @Flag(name: .shortAndLong, help: "Report nothing but errors.") var quiet = false

    func execute(environment: [String: String]) throws {
        let source = try storage(named: from, environment: environment)
        let destination = try storage(named: to, environment: environment)
        func canonical(_ storage: CacheStorage) -> String {
            guard let directory = (storage as? SQLiteStorage)?.directory else { return storage.location }
            return URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        }
        guard canonical(source) != canonical(destination) else {
            throw EmbCacheError.usage("--from and --to name the same cache")
        }
        let quiet = quiet
        let summary = try Copier.copy(
            from: source, to: destination, model: model.map { ModelIdentity(canonical: $0) },
            warn: { message in if !quiet { note(message) } })
        if !quiet {
            note(
                "copied \(counted(summary.copied, "vector")) of \(counted(summary.models, "model")), \(summary.alreadyThere) already there, \(summary.skipped) skipped"
            )
        }
        if summary.skipped > 0 { throw ExitCode(65) }
    }
}
