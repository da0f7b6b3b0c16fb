import Foundation

/// Everything that decides which vectors a text gets: the model's name and
/// every request parameter that changes them. Two identities that differ
/// never share a cache file.
public struct ModelIdentity: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var parameters: [String: String]

    public init(name: String, parameters: [String: String] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    /// `name`, or `name?key=value&…` with keys sorted: the form stored in
    /// the cache's metadata and slugged into its file name. A model without
    /// parameters keeps the plain name, as the Python package names it.
    public var canonical: String {
        guard !parameters.isEmpty else { return name }
        let query = parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: "&")
        return "\(name)?\(query)"
    }

    public var description: String { canonical }

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
