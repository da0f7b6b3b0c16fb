import Crypto
import EmbCacheCore
import EmbCacheStore
import Foundation

/// `embcache backup s3://…` and `embcache restore s3://…`: a consistent
/// snapshot of every cache file, uploaded under a generation of its own
/// (`PREFIX/GENERATION/NAME`), then `PREFIX/manifest.json` naming that
/// generation and each file's size and SHA-256, written last. Until the
/// new manifest is written the old one stands, so a backup cut off halfway
/// is never taken for one and never costs the previous backup; the files
/// of older generations are deleted once the new manifest is in place, and
/// nothing else: the prefix may hold other data, or backups below it.
public enum S3Backup {
    public static let manifestName = "manifest.json"
    /// Files larger than one part go up in parts (S3's least part is 5 MiB).
    public static let defaultPartSize = 16 << 20

    /// One file of a backup, as the manifest records it.
    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var sha256: String
        /// The model identity a model file holds; nil for hashstring and
        /// for files of the Python package.
        public var model: String?
        public var dimension: Int?
        public var vectors: Int?
    }

    public struct Manifest: Codable, Sendable, Equatable {
        public var format = "embcache-backup"
        public var version = 1
        /// The folder under the prefix that holds this backup's files.
        public var generation: String
        public var created: String
        public var createdBy: String
        public var files: [File]

        enum CodingKeys: String, CodingKey {
            case format, version, generation, created, files
            case createdBy = "created_by"
        }
    }

    /// Snapshots the cache into a temporary folder (SQLite's online backup,
    /// while writers go on), uploads each file into a new generation, then
    /// the manifest, then removes older generations. `warn` is told of the
    /// objects under the prefix that are not a backup's.
    public static func backup(
        directory: String, to location: S3Location, settings: S3Settings, partSize: Int = defaultPartSize,
        report: (String) -> Void, warn: (String) -> Void
    ) throws -> Manifest {
        let client = S3Client(settings: settings, location: location)
        let snapshot = FileManager.default.temporaryDirectory.appendingPathComponent("embcache-backup-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: snapshot) }
        let names = try SQLiteMaintenance.backup(directory: directory, to: snapshot)
        let models = try SQLiteInventory.summarize(directory: snapshot).models
        let now = Date()
        let generation = newGeneration(at: now)
        var files: [File] = []
        for name in names {
            let path = snapshot + "/" + name
            let size = SQLiteInventory.fileSize(path)
            let digest = try sha256(of: path)
            if size > partSize {
                try client.putMultipart(generation + "/" + name, file: path, size: size, partSize: partSize)
            } else {
                try client.put(generation + "/" + name, try fileOperation(path) { try readAll(path) })
            }
            let model = models.first { $0.file == name }
            files.append(
                File(
                    name: name, bytes: size, sha256: digest, model: model?.model, dimension: model?.dimension,
                    vectors: model?.vectors))
            report("uploaded \(name) (\(size) bytes)")
        }
        let manifest = Manifest(
            generation: generation, created: ISO8601DateFormatter().string(from: now),
            createdBy: "embcache \(EmbCacheVersion.current)", files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try client.put(manifestName, Array(try encoder.encode(manifest)))
        // Only now are older generations (and what cut-off backups left)
        // garbage; any other object may be someone's data.
        var others: [String] = []
        for name in try client.list() where name != manifestName {
            guard let owner = Self.generation(owning: name) else {
                others.append(name)
                continue
            }
            if owner != generation { try client.delete(name) }
        }
        if let example = others.first {
            // Quoted with control characters escaped: a key is anyone's text.
            warn(
                "\(location) holds \(others.count) objects that are not this backup's: left as they are "
                    + "(such as \(example.debugDescription))")
        }
        return manifest
    }

    /// A new generation's name: the time, then 8 random hex digits, such as
    /// `20261125T175714Z-1a2b3c4d`.
    static func newGeneration(at date: Date) -> String {
        let stamp = ISO8601DateFormatter().string(from: date).replacing("-", with: "").replacing(":", with: "")
        return stamp + "-" + UUID().uuidString.prefix(8).lowercased()
    }

    /// The generation an object under the prefix belongs to, when it is one
    /// a backup writes, `GENERATION/FILE`: a generation's name as
    /// `newGeneration` makes them, then a cache file's name. nil for any
    /// other key, which a backup never deletes.
    static func generation(owning name: String) -> String? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].wholeMatch(of: /[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}/) != nil,
            isFileName(parts[1])
        else { return nil }
        return String(parts[0])
    }

    /// A name a backup may give a file: one path component, not hidden, of
    /// an SQLite database.
    static func isFileName(_ name: Substring) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.hasPrefix(".") && name.hasSuffix(".sqlite")
    }

    /// Downloads every file the manifest names into a staging folder inside
    /// `directory`, checking each one's size and SHA-256; only when all are
    /// good do they take the place of the cache. A directory that holds a
    /// cache already is refused unless `force`; then the files the backup
    /// replaces are moved aside first and put back if the swap fails, so
    /// they end up as in the backup, or as they were. Files the backup does
    /// not hold, such as another model's, are left as they are.
    public static func restore(
        from location: S3Location, into directory: String, settings: S3Settings, force: Bool,
        report: (String) -> Void
    ) throws -> Manifest {
        let client = S3Client(settings: settings, location: location)
        let manifest = try readManifest(client, location)
        _ = try RestoreSwap.existingCache(in: directory, force: force)
        let staging = directory + "/.restore-\(UUID())"
        try CacheDirectory.create(staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        for file in manifest.files {
            try download(
                file, key: manifest.generation + "/" + file.name, to: staging + "/" + file.name, client: client,
                location: location)
            report("downloaded \(file.name) (\(file.bytes) bytes)")
        }
        // Only the files the backup replaces go aside: another model's
        // file stays as it is.
        let names = manifest.files.map(\.name)
        try RestoreSwap.swap(
            staging: staging, names: names, into: directory, replacing: RestoreSwap.logged(names, in: directory))
        return manifest
    }

    private static func readManifest(_ client: S3Client, _ location: S3Location) throws -> Manifest {
        guard let body = try client.get(manifestName) else {
            let found = try client.list()
            throw EmbCacheError.corruptBackup(
                location: location.description,
                message: found.isEmpty
                    ? "no backup here"
                    : "no \(manifestName) beside \(found.count) files: a backup that did not finish")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(body))
        } catch {
            throw EmbCacheError.corruptBackup(location: location.description, message: "\(manifestName) is unreadable")
        }
        guard manifest.format == "embcache-backup", manifest.version == 1 else {
            throw EmbCacheError.corruptBackup(
                location: location.description,
                message:
                    "\(manifestName) is \(manifest.format) version \(manifest.version), not one this embcache reads")
        }
        let safe = { (name: String) in !name.isEmpty && !name.contains("/") && !name.hasPrefix(".") }
        for file in manifest.files where !isFileName(file.name[...]) {
            throw EmbCacheError.corruptBackup(
                location: location.description, message: "\(manifestName) names a file \"\(file.name)\"")
        }
        guard safe(manifest.generation) else {
            throw EmbCacheError.corruptBackup(
                location: location.description, message: "\(manifestName) names a generation \"\(manifest.generation)\""
            )
        }
        return manifest
    }

    private static func download(
        _ file: File, key: String, to path: String, client: S3Client, location: S3Location
    ) throws {
        CacheDirectory.createPrivateFile(path)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw EmbCacheError.output(path: path, errno: errno)
        }
        defer { try? handle.close() }
        var hash = SHA256()
        var offset = 0
        while offset < file.bytes {
            let end = min(file.bytes, offset + defaultPartSize)
            let chunk = try client.get(key, range: offset..<end)
            guard chunk.count == end - offset else {
                throw EmbCacheError.corruptBackup(
                    location: location.description,
                    message: "\(file.name) is shorter than the \(file.bytes) bytes \(manifestName) says")
            }
            hash.update(data: chunk)
            try fileOperation(path) { try handle.write(contentsOf: chunk) }
            offset = end
        }
        let digest = hash.finalize().hexDigits
        guard digest == file.sha256 else {
            throw EmbCacheError.corruptBackup(
                location: location.description,
                message: "\(file.name) does not match its SHA-256 in \(manifestName): nothing restored")
        }
    }

    package static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw EmbCacheError.inputFile(path: path, errno: errno)
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try fileOperation(path, { try handle.read(upToCount: 1 << 20) }), !chunk.isEmpty {
            hash.update(data: chunk)
        }
        return hash.finalize().hexDigits
    }
}

/// Runs a Foundation file operation, its failure one of ours (status 74).
func fileOperation<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as EmbCacheError {
        throw error
    } catch {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        throw EmbCacheError.output(
            path: path, errno: Int32(underlying?.domain == NSPOSIXErrorDomain ? underlying!.code : Int(EIO)))
    }
}

/// A whole (small) file.
func readAll(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}
