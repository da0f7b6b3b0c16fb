import Foundation

/// Everything that decides which vectors a text gets: the model's name and
/// every request parameter that changes them. Two identities that differ
/// never share a cache file.
public struct ModelIdentity: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var parameters: [String: String]
    /// An identity named by its stored form, taken as it is.
    private var stored: String?

    public init(name: String, parameters: [String: String] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    /// The identity whose canonical form is `canonical`, as a cache's
    /// metadata records it and `stats` shows it: what `stats --model`,
    /// `export --model` and the like name.
    public init(canonical: String) {
        self.name = canonical
        self.parameters = [:]
        self.stored = canonical
    }

    /// `name`, or `name?key=value&…` with keys sorted: the form stored in
    /// the cache's metadata and slugged into its file name. A model without
    /// parameters keeps the plain name, as the Python package names it.
    /// `%`, `?`, `&` and `=` inside a name, key or value are percent-encoded,
    /// so no two identities share a form (`m?dimensions=3` the name is not
    /// `m` with dimensions 3); names without them read as they always did.
    public var canonical: String {
        if let stored { return stored }
        guard !parameters.isEmpty else { return Self.escaped(name) }
        let query = parameters.keys.sorted().map { "\(Self.escaped($0))=\(Self.escaped(parameters[$0]!))" }
        return "\(Self.escaped(name))?\(query.joined(separator: "&"))"
    }

    private static func escaped(_ part: String) -> String {
        guard part.utf8.contains(where: { "%?&=".utf8.contains($0) }) else { return part }
        var result = ""
        for character in part.unicodeScalars {
            switch character {
            case "%": result += "%25"
            case "?": result += "%3F"
            case "&": result += "%26"
            case "=": result += "%3D"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    public var description: String { canonical }

    public static func == (a: ModelIdentity, b: ModelIdentity) -> Bool { a.canonical == b.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

    /// The model file's name in a cache directory.
    public var fileName: String { slugify("embedding_" + canonical) + ".sqlite" }
}

/// python-slugify's default transformation as `embeddingcache` applies it:
/// accents folded to ASCII, digit-grouping commas dropped, lower case, runs
/// of anything but `[a-z0-9]` folded to one `-`, no `-` at either end. The
/// result can never name another directory.
public func slugify(_ text: String) -> String {
    let folded = text.decomposedStringWithCompatibilityMapping.unicodeScalars.filter {
        $0.properties.generalCategory != .nonspacingMark
    }
    let scalars = Array(folded)
    var slug = ""
    var pendingDash = false
    for (index, scalar) in scalars.enumerated() {
        if scalar == ",", index > 0, index + 1 < scalars.count,
            scalars[index - 1].properties.numericType == .decimal,
            scalars[index + 1].properties.numericType == .decimal,
            scalars[index - 1].isASCII, scalars[index + 1].isASCII
        {
            continue
        }
        let lowered: Unicode.Scalar? =
            scalar.isASCII ? Unicode.Scalar(UInt8(ascii: scalar) | (isASCIIUpper(scalar) ? 0x20 : 0)) : nil
        if let lowered, isSlugCharacter(lowered) {
            if pendingDash && !slug.isEmpty { slug.append("-") }
            pendingDash = false
            slug.unicodeScalars.append(lowered)
        } else {
            pendingDash = true
        }
    }
    return slug
}

private func isASCIIUpper(_ scalar: Unicode.Scalar) -> Bool { ("A"..."Z").contains(scalar) }

private func isSlugCharacter(_ scalar: Unicode.Scalar) -> Bool {
    ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
}
