import EmbCacheCore
import Glibc

/// A model named in the configuration file: what `--model NAME` stands for.
public struct NamedModel: Sendable, Equatable {
    public var name: String
    /// Values by setting, already checked against the setting's kind.
    public var settings: [ModelSetting: TOMLValue]

    public init(name: String, settings: [ModelSetting: TOMLValue] = [:]) {
        self.name = name
        self.settings = settings
    }

    /// The name the provider knows the model by: `model`, else the name.
    public var providerModel: String { string(.model) ?? name }

    public func string(_ setting: ModelSetting) -> String? { settings[setting]?.settingString }
    public func integer(_ setting: ModelSetting) -> Int? { settings[setting]?.settingInteger }
    public func seconds(_ setting: ModelSetting) -> Double? { settings[setting]?.settingSeconds }
}

/// The named models of embcache's configuration file, each a table under
/// `[models.NAME]`:
///
///     [models.small]
///     provider = "openai"
///     model = "text-embedding-3-small"
///     batch-size = 512
public struct ModelCatalog: Sendable {
    public var models: [String: NamedModel]
    /// The file the models were read from; nil when there was none.
    public var path: String?

    public init(models: [String: NamedModel] = [:], path: String? = nil) {
        self.models = models
        self.path = path
    }

    public func model(named name: String) -> NamedModel? { models[name] }

    /// Larger than any configuration file; stops `--config /dev/zero`.
    static let maxFileBytes = 1 << 20

    // MARK: - Finding and reading the file

    /// The configuration file: `--config` if given, else
    /// `$XDG_CONFIG_HOME/embcache/config.toml`, else
    /// `$HOME/.config/embcache/config.toml`. An empty or relative
    /// XDG_CONFIG_HOME is ignored, as the XDG Base Directory specification
    /// asks; nil when neither variable gives a place.
    public static func path(flag: String?, environment: [String: String]) -> String? {
        if let flag { return flag }
        if let base = environment["XDG_CONFIG_HOME"], base.hasPrefix("/") {
            return directory(base) + "embcache/config.toml"
        }
        if let home = environment["HOME"], !home.isEmpty {
            return directory(home) + ".config/embcache/config.toml"
        }
        return nil
    }

    private static func directory(_ path: String) -> String { path.hasSuffix("/") ? path : path + "/" }

    /// Reads the catalog at `path`. A missing file is an empty catalog
    /// unless `required` (the path came from `--config`).
    public static func load(path: String?, required: Bool) throws(EmbCacheError) -> ModelCatalog {
        guard let path else {
            if required { throw .configuration("no configuration file given") }
            return ModelCatalog()
        }
        guard let text = try text(at: path, required: required) else { return ModelCatalog() }
        let document: [String: TOMLValue]
        do {
            document = try TOML.parse(text)
        } catch {
            throw .configuration("\(path): \(error)")
        }
        return ModelCatalog(models: try models(in: document, source: path), path: path)
    }

    /// The file's text; nil when it does not exist and is not required.
    private static func text(at path: String, required: Bool) throws(EmbCacheError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT && !required { return nil }
            throw .configuration("\(path): \(systemMessage(code))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw .configuration("\(path): \(systemMessage(errno))")
            }
            bytes += chunk[..<count]
            if bytes.count > maxFileBytes {
                throw .configuration("\(path): larger than \(maxFileBytes >> 20) MiB, not a configuration file")
            }
        }
        // Decoding without validation would replace bad bytes silently.
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .configuration("\(path): not valid UTF-8")
        }
        return text
    }

    // MARK: - Checking the document

    /// The models of a parsed file; `source` names the file in messages.
    package static func models(in document: [String: TOMLValue], source: String) throws(EmbCacheError)
        -> [String: NamedModel]
    {
        if let stray = document.keys.sorted().first(where: { $0 != "models" }) {
            let what = if case .table = document[stray]! { "table" } else { "key" }
            throw .configuration("\(source): unknown \(what) \(quoted(stray)); models go under [models.NAME]")
        }
        guard let section = document["models"] else { return [:] }
        guard case .table(let tables) = section else {
            throw .configuration("\(source): \"models\" must be a table, not \(section.typeName)")
        }
        var models: [String: NamedModel] = [:]
        for name in tables.keys.sorted() {
            let place = "\(source): models.\(displayKey(name))"
            guard case .table(let table) = tables[name]! else {
                throw .configuration("\(place) must be a table, not \(tables[name]!.typeName)")
            }
            models[name] = NamedModel(name: name, settings: try settings(table, place: place))
        }
        return models
    }

    private static func settings(_ table: [String: TOMLValue], place: String) throws(EmbCacheError)
        -> [ModelSetting: TOMLValue]
    {
        var settings: [ModelSetting: TOMLValue] = [:]
        var spellings: [ModelSetting: String] = [:]
        for written in table.keys.sorted() {
            guard let setting = ModelSetting(rawValue: String(written.map { $0 == "_" ? "-" : $0 })) else {
                throw .configuration("\(place): unknown key \(quoted(written))")
            }
            if let other = spellings[setting] {
                throw .configuration("\(place): both \(quoted(other)) and \(quoted(written)) given; keep one")
            }
            spellings[setting] = written
            settings[setting] = try checked(table[written]!, setting: setting, place: place)
        }
        return settings
    }

    private static func checked(_ value: TOMLValue, setting: ModelSetting, place: String) throws(EmbCacheError)
        -> TOMLValue
    {
        let kind = setting.kind
        switch kind.accepts(value) {
        case true?: return value
        case false?:
            let number =
                switch value {
                case .integer(let integer): String(integer)
                case .float(let float): String(float)
                default: value.typeName
                }
            throw .configuration("\(place): \(quoted(setting.key)) must be \(kind.range), not \(number)")
        case nil:
            throw .configuration("\(place): \(quoted(setting.key)) must be \(kind.expected), not \(value.typeName)")
        }
    }

    /// A key in double quotes, escaped as TOML would so that a message
    /// stays on one line.
    private static func quoted(_ key: String) -> String {
        var quoted = "\""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "\"", "\\": quoted += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// A model's name as a header spells it: quoted unless it is bare.
    private static func displayKey(_ name: String) -> String {
        let isBare =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "_" || scalar == "-"
            }
        return isBare ? name : quoted(name)
    }
}
