import Crypto
import Foundation

/// `embcache backup s3://…` and `embcache restore s3://…`: a consistent
/// snapshot of every cache file, uploaded, then a manifest naming each
/// file's size and SHA-256, written last. Without the manifest there is
/// no backup: an upload cut off halfway is never taken for one.
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
        public var created: String
        public var createdBy: String
        public var files: [File]

        enum CodingKeys: String, CodingKey {
            case format, version, created, files
            case createdBy = "created_by"
        }
    }

    /// Snapshots the cache into a temporary folder (SQLite's online backup,
    /// while writers go on), uploads each file, then the manifest. A
    /// manifest already at the location is removed first, so a backup that
    /// fails halfway over an older one leaves none.
    public static func backup(
        directory: String, to location: S3Location, settings: S3Settings, partSize: Int = defaultPartSize,
        report: (String) -> Void
    ) throws -> Manifest {
        let client = S3Client(settings: settings, location: location)
        let snapshot = FileManager.default.temporaryDirectory.appendingPathComponent("embcache-backup-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: snapshot) }
        let names = try Housekeeping.backup(directory: directory, to: snapshot)
        let models = try CacheInventory.summarize(directory: snapshot).models
        try client.delete(manifestName)
        var files: [File] = []
        for name in names {
            let path = snapshot + "/" + name
            let size = CacheInventory.fileSize(path)
            let digest = try sha256(of: path)
            if size > partSize {
                try client.putMultipart(name, file: path, size: size, partSize: partSize)
            } else {
                try client.put(name, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            }
            let model = models.first { $0.file == name }
            files.append(
                File(
                    name: name, bytes: size, sha256: digest, model: model?.model, dimension: model?.dimension,
                    vectors: model?.vectors))
            report("uploaded \(name) (\(size) bytes)")
        }
        let manifest = Manifest(
            created: ISO8601DateFormatter().string(from: Date()), createdBy: "embcache \(EmbCacheVersion.current)",
            files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try client.put(manifestName, Array(try encoder.encode(manifest)))
        return manifest
    }

    /// Downloads every file the manifest names into `directory`, checking
    /// each one's size and SHA-256 before any takes the place of a cache
    /// file. A directory that holds a cache already is refused unless
    /// `force`.
    public static func restore(
        from location: S3Location, into directory: String, settings: S3Settings, force: Bool,
        report: (String) -> Void
    ) throws -> Manifest {
        let client = S3Client(settings: settings, location: location)
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
        for file in manifest.files
        where file.name.contains("/") || file.name.hasPrefix(".") || !file.name.hasSuffix(".sqlite") {
            throw EmbCacheError.corruptBackup(
                location: location.description, message: "\(manifestName) names a file \"\(file.name)\"")
        }
        try CacheDirectory.create(directory)
        let existing = (try? CacheInventory.modelFiles(in: directory)) ?? []
        if !force
            && (!existing.isEmpty || CacheInventory.fileSize(directory + "/" + SQLiteStore.hashstringFileName) > 0)
        {
            throw EmbCacheError.configuration(
                "\(directory) holds a cache: restore into an empty directory, or give --force to replace it")
        }
        // Every file is downloaded and checked beside its place first.
        var downloaded: [(String, String)] = []
        defer { for (partial, _) in downloaded { unlink(partial) } }
        for file in manifest.files {
            let partial = directory + "/.restore-" + file.name
            let target = directory + "/" + file.name
            CacheDirectory.createPrivateFile(partial)
            downloaded.append((partial, target))
            try download(file, to: partial, client: client, location: location)
            report("downloaded \(file.name) (\(file.bytes) bytes)")
        }
        // Then into place, hashstring last: until it is there, no vector
        // is without its text.
        let isTexts = { (file: (String, String)) in file.1.hasSuffix("/" + SQLiteStore.hashstringFileName) }
        for (partial, target) in downloaded.filter({ !isTexts($0) }) + downloaded.filter(isTexts) {
            for suffix in ["-wal", "-shm"] { unlink(target + suffix) }
            guard rename(partial, target) == 0 else { throw EmbCacheError.output(path: target, errno: errno) }
        }
        downloaded.removeAll()
        return manifest
    }

    private static func download(_ file: File, to path: String, client: S3Client, location: S3Location) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw EmbCacheError.output(path: path, errno: errno)
        }
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        var hash = SHA256()
        var offset = 0
        while offset < file.bytes {
            let end = min(file.bytes, offset + defaultPartSize)
            let chunk = try client.get(file.name, range: offset..<end)
            guard chunk.count == end - offset else {
                throw EmbCacheError.corruptBackup(
                    location: location.description,
                    message: "\(file.name) is shorter than the \(file.bytes) bytes \(manifestName) says")
            }
            hash.update(data: chunk)
            try handle.write(contentsOf: chunk)
            offset = end
        }
        let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        guard digest == file.sha256 else {
            throw EmbCacheError.corruptBackup(
                location: location.description,
                message: "\(file.name) does not match its SHA-256 in \(manifestName): nothing restored")
        }
    }

    static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw EmbCacheError.inputFile(path: path, errno: errno)
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
