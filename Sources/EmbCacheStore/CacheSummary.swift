import EmbCacheCore
import Foundation

/// One model file of a cache directory, as `stats` and `models` show it.
public struct ModelFileSummary: Sendable, Codable, Equatable {
    public var file: String
    /// The model identity from the file's metadata; nil for a file the
    /// Python package wrote, which records none.
    public var model: String?
    public var dimension: Int?
    public var dtype: String?
    public var provider: String?
    public var vectors: Int
    /// Bytes on disk, write-ahead log included.
    public var bytes: Int

    public init(
        file: String, model: String?, dimension: Int?, dtype: String?, provider: String?, vectors: Int, bytes: Int
    ) {
        self.file = file
        self.model = model
        self.dimension = dimension
        self.dtype = dtype
        self.provider = provider
        self.vectors = vectors
        self.bytes = bytes
    }
}

public struct CacheSummary: Sendable, Codable, Equatable {
    /// The cache directory, or the database's URL without its password.
    public var directory: String
    /// Where the texts are: hashstring.sqlite, or table hashstring.
    public var textStore: String
    public var models: [ModelFileSummary]
    /// How many texts there are, their size, and how many no model uses.
    public var texts: Int
    public var textBytes: Int
    public var unusedTexts: Int

    public init(
        directory: String, textStore: String, models: [ModelFileSummary], texts: Int, textBytes: Int,
        unusedTexts: Int
    ) {
        self.directory = directory
        self.textStore = textStore
        self.models = models
        self.texts = texts
        self.textBytes = textBytes
        self.unusedTexts = unusedTexts
    }
}

extension CacheSummary {
    /// A table for people: where the cache is, one row per model file, then
    /// the texts. Sizes are in binary units unless `exactBytes`.
    public func table(exactBytes: Bool = false) -> String {
        let size = { (bytes: Int) in exactBytes ? String(bytes) : humanSize(bytes) }
        var rows = [["model", "dimension", "dtype", "vectors", exactBytes ? "bytes" : "size", "file"]]
        for model in models {
            rows.append([
                model.model ?? "?", model.dimension.map(String.init) ?? "?", model.dtype ?? "?",
                String(model.vectors), size(model.bytes), model.file,
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
        var text = "cache: \(directory)\n"
        for row in rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            text += cells.joined(separator: "  ") + "\n"
        }
        text +=
            "texts: \(texts) in \(textStore) (\(exactBytes ? counted(textBytes, "byte") : humanSize(textBytes))), "
            + "\(unusedTexts) used by no model\n"
        return text
    }
}

/// A size for people: bytes below 1 KiB, else one decimal of the largest
/// binary unit (`1.4 GiB`).
public func humanSize(_ bytes: Int) -> String {
    guard bytes >= 1024 else { return counted(bytes, "byte") }
    var value = Double(bytes)
    var unit = 0
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return String(format: "%.1f", value) + " " + units[unit]
}
