/// A value of a TOML document. Dates and times have no case: the reader
/// rejects them rather than guess at a representation.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table([String: TOMLValue])

    /// The type with its article, for messages: "must be an integer, not a string".
    public var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the document where the problem was found.
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// A strict reader of TOML 1.0 (https://toml.io/en/v1.0.0) for
/// configuration files: whatever the specification calls invalid is an
/// error with its line, never a guess.
public enum TOML {
    public static func parse(_ text: String) throws(TOMLError) -> [String: TOMLValue] {
        var parser = TOMLParser(text)
        return try parser.document()
    }
}

/// A table while the document is read. The origin decides what may still
/// be added: a table named only on the way to another (`a` in `[a.b]`) may
/// be defined later by its own header or by dotted keys, once; one defined
/// by a header or by dotted keys may not be defined again. Inline tables
/// and arrays are stored as finished values, which nothing can extend.
private final class TableNode {
    enum Origin { case implicit, header, dotted }
    enum Entry {
        case value(TOMLValue)
        case table(TableNode)
        case arrayOfTables([TableNode])
    }

    var origin: Origin
    var entries: [String: Entry] = [:]

    init(_ origin: Origin) { self.origin = origin }

    var value: [String: TOMLValue] {
        entries.mapValues { entry in
            switch entry {
            case .value(let value): value
            case .table(let table): .table(table.value)
            case .arrayOfTables(let tables): .array(tables.map { .table($0.value) })
            }
        }
    }
}

private struct TOMLParser {
    /// Deepest nesting of arrays and inline tables, and most parts in a key:
    /// far beyond any configuration, well within the stack.
    static let maxDepth = 100

    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private let root = TableNode(.header)
    private var current: TableNode
    private var currentPath: [String] = []

    init(_ text: String) {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        self.scalars = scalars
        self.current = root
    }

    mutating func document() throws(TOMLError) -> [String: TOMLValue] {
        while true {
            skipWhitespace()
            guard let next = peek else { break }
            if next == "[" {
                try header()
                try endOfLine(after: "the table header")
            } else if next == "#" || isNewline {
                try endOfLine(after: "")
            } else {
                try keyValue(in: current, path: currentPath, depth: 0)
                try endOfLine(after: "the value")
            }
        }
        return root.value
    }

    // MARK: - Lines

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private func peek(at offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private var isNewline: Bool { peek == "\n" || (peek == "\r" && peek(at: 1) == "\n") }

    private func error(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

    private mutating func skipWhitespace() {
        while peek == " " || peek == "\t" { index += 1 }
    }

    private mutating func consumeNewline() {
        index += peek == "\r" ? 2 : 1
        line += 1
    }

    private mutating func skipComment() throws(TOMLError) {
        guard peek == "#" else { return }
        index += 1
        while let scalar = peek, !isNewline {
            if isControl(scalar) { throw error("control character \(codePoint(scalar)) in a comment") }
            index += 1
        }
    }

    /// Whitespace, newlines and comments, as allowed between array elements.
    private mutating func skipBlank() throws(TOMLError) {
        while true {
            skipWhitespace()
            try skipComment()
            guard isNewline else { return }
            consumeNewline()
        }
    }

    private mutating func endOfLine(after what: String) throws(TOMLError) {
        skipWhitespace()
        try skipComment()
        if isNewline {
            consumeNewline()
        } else if peek != nil {
            throw error("unexpected \(found)" + (what.isEmpty ? "" : " after \(what)"))
        }
    }

    // MARK: - Keys and tables

    private mutating func header() throws(TOMLError) {
        let isArray = peek(at: 1) == "["
        index += isArray ? 2 : 1
        skipWhitespace()
        let path = try key()
        skipWhitespace()
        for _ in 0..<(isArray ? 2 : 1) {
            guard peek == "]" else {
                throw error("expected \"\(isArray ? "]]" : "]")\" after the table name, found \(found)")
            }
            index += 1
        }
        current = isArray ? try appendTable(path) : try defineTable(path)
        currentPath = path
    }

    /// A dotted key: one or more bare or quoted parts.
    private mutating func key() throws(TOMLError) -> [String] {
        var path: [String] = []
        while true {
            skipWhitespace()
            path.append(try simpleKey())
            skipWhitespace()
            guard peek == "." else { return path }
            index += 1
            if path.count == Self.maxDepth { throw error("key with more than \(Self.maxDepth) parts") }
        }
    }

    private mutating func simpleKey() throws(TOMLError) -> String {
        switch peek {
        case "\"", "'":
            if peek(at: 1) == peek && peek(at: 2) == peek { throw error("a multi-line string cannot be a key") }
            return peek == "\"" ? try basicString() : try literalString()
        case let scalar? where isBare(scalar):
            var key = ""
            while let scalar = peek, isBare(scalar) {
                key.unicodeScalars.append(scalar)
                index += 1
            }
            return key
        case "=":
            throw error("missing key before \"=\"")
        default:
            throw error("expected a key, found \(found)")
        }
    }

    private mutating func keyValue(in table: TableNode, path prefix: [String], depth: Int) throws(TOMLError) {
        let keyLine = line
        let path = try key()
        skipWhitespace()
        guard peek == "=" else {
            throw error("expected \"=\" after the key \(display(prefix + path)), found \(found)")
        }
        index += 1
        skipWhitespace()
        let value = try value(depth: depth)
        try assign(value, to: path, in: table, prefix: prefix, line: keyLine)
    }

    /// Stores a value under a dotted key; the parts before the last create
    /// tables, or add to tables that dotted keys created.
    private func assign(_ value: TOMLValue, to path: [String], in start: TableNode, prefix: [String], line: Int)
        throws(TOMLError)
    {
        var table = start
        for (offset, part) in path.dropLast().enumerated() {
            let name = display(prefix + path[...offset])
            switch table.entries[part] {
            case nil:
                let child = TableNode(.dotted)
                table.entries[part] = .table(child)
                table = child
            case .table(let child) where child.origin != .header:
                child.origin = .dotted
                table = child
            case .table:
                throw TOMLError(line: line, message: "table [\(name)] has a header; dotted keys cannot add to it")
            case .arrayOfTables:
                throw TOMLError(line: line, message: "\(name) is an array of tables; dotted keys cannot add to it")
            case .value(let existing):
                throw TOMLError(line: line, message: notATable(name, existing))
            }
        }
        let last = path[path.count - 1]
        guard table.entries[last] == nil else {
            throw TOMLError(line: line, message: "key \(display(prefix + path)) is defined twice")
        }
        table.entries[last] = .value(value)
    }

    /// Walks to the parent of a header's table, creating implicit tables
    /// and entering the last element of arrays of tables.
    private func parent(of path: [String]) throws(TOMLError) -> TableNode {
        var table = root
        for (offset, part) in path.dropLast().enumerated() {
            switch table.entries[part] {
            case nil:
                let child = TableNode(.implicit)
                table.entries[part] = .table(child)
                table = child
            case .table(let child):
                table = child
            case .arrayOfTables(let tables):
                table = tables[tables.count - 1]
            case .value(let existing):
                throw error(notATable(display(path[...offset]), existing))
            }
        }
        return table
    }

    private func defineTable(_ path: [String]) throws(TOMLError) -> TableNode {
        let parent = try parent(of: path)
        let last = path[path.count - 1]
        switch parent.entries[last] {
        case nil:
            let table = TableNode(.header)
            parent.entries[last] = .table(table)
            return table
        case .table(let table) where table.origin == .implicit:
            table.origin = .header
            return table
        case .table(let table):
            throw error(
                table.origin == .header
                    ? "table [\(display(path))] is defined twice"
                    : "table [\(display(path))] is already defined by dotted keys")
        case .arrayOfTables:
            throw error("[\(display(path))] is an array of tables, not a table")
        case .value(let existing):
            throw error(notATable(display(path), existing))
        }
    }

    private func appendTable(_ path: [String]) throws(TOMLError) -> TableNode {
        let parent = try parent(of: path)
        let last = path[path.count - 1]
        let table = TableNode(.header)
        switch parent.entries[last] {
        case nil:
            parent.entries[last] = .arrayOfTables([table])
        case .arrayOfTables(let tables):
            parent.entries[last] = .arrayOfTables(tables + [table])
        case .table:
            throw error("[[\(display(path))]]: \(display(path)) is already a table, not an array of tables")
        case .value(let existing):
            throw error(
                "[[\(display(path))]]: \(display(path)) is already \(existing.typeName), not an array of tables")
        }
        return table
    }

    // MARK: - Values

    private mutating func value(depth: Int) throws(TOMLError) -> TOMLValue {
        if depth > Self.maxDepth { throw error("values nested more than \(Self.maxDepth) deep") }
        switch peek {
        case nil, "#", "\n", "\r":
            throw error("missing value")
        case "\"":
            return .string(peek(at: 1) == "\"" && peek(at: 2) == "\"" ? try multilineString() : try basicString())
        case "'":
            return .string(peek(at: 1) == "'" && peek(at: 2) == "'" ? try multilineString() : try literalString())
        case "[":
            return try array(depth: depth)
        case "{":
            return try inlineTable(depth: depth)
        default:
            return try scalarValue()
        }
    }

    private mutating func array(depth: Int) throws(TOMLError) -> TOMLValue {
        let startLine = line
        index += 1
        var elements: [TOMLValue] = []
        while true {
            try skipBlank()
            if peek == "]" { break }
            if peek == nil { throw TOMLError(line: startLine, message: "unterminated array") }
            elements.append(try value(depth: depth + 1))
            try skipBlank()
            if peek == "]" { break }
            if peek == nil { throw TOMLError(line: startLine, message: "unterminated array") }
            guard peek == "," else { throw error("expected \",\" or \"]\" in the array, found \(found)") }
            index += 1
        }
        index += 1
        return .array(elements)
    }

    private mutating func inlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        index += 1
        let table = TableNode(.dotted)
        skipWhitespace()
        if peek == "}" {
            index += 1
            return .table([:])
        }
        while true {
            skipWhitespace()
            if peek == "}" { throw error("trailing comma in an inline table") }
            if peek == nil { throw error("unterminated inline table") }
            if isNewline { throw error("newline in an inline table (inline tables take one line)") }
            try keyValue(in: table, path: [], depth: depth + 1)
            skipWhitespace()
            if peek == "}" { break }
            if peek == nil { throw error("unterminated inline table") }
            if isNewline { throw error("newline in an inline table (inline tables take one line)") }
            guard peek == "," else {
                throw error("expected \",\" or \"}\" in the inline table, found \(found)")
            }
            index += 1
        }
        index += 1
        return .table(table.value)
    }

    /// Booleans and numbers: the run of characters they can be made of,
    /// checked as a whole.
    private mutating func scalarValue() throws(TOMLError) -> TOMLValue {
        var digits = 0
        while let scalar = peek(at: digits), isDigit(scalar) { digits += 1 }
        if (digits == 4 && peek(at: 4) == "-") || (digits == 2 && peek(at: 2) == ":") {
            throw error("dates and times are not supported")
        }
        var token = ""
        while let scalar = peek, isBare(scalar) || scalar == "+" || scalar == "." {
            token.unicodeScalars.append(scalar)
            index += 1
        }
        switch token {
        case "": throw error("expected a value, found \(found)")
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan": return .float(.nan)
        case "-nan": return .float(-.nan)
        default: return try number(token)
        }
    }

    private func number(_ token: String) throws(TOMLError) -> TOMLValue {
        let invalid = error("invalid value \(token)")
        var rest = Substring(token)
        let sign = rest.first == "-" ? "-" : ""
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }

        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where rest.hasPrefix(prefix) {
            if token.first == "-" || token.first == "+" {
                throw error("a sign is not allowed before \(prefix) in \(token)")
            }
            guard let digits = Self.digits(rest.dropFirst(2), radix: radix) else { throw invalid }
            guard let value = Int64(digits, radix: radix) else {
                throw error("integer \(token) does not fit in 64 bits")
            }
            return .integer(value)
        }

        let integerPart = rest.prefix { $0.isASCII && ($0.isNumber || $0 == "_") }
        rest = rest.dropFirst(integerPart.count)
        guard let integer = Self.digits(integerPart, radix: 10) else { throw invalid }
        if integer.count > 1 && integer.first == "0" { throw error("leading zeros are not allowed in \(token)") }
        if rest.isEmpty {
            guard let value = Int64(sign + integer) else { throw error("integer \(token) does not fit in 64 bits") }
            return .integer(value)
        }

        var text = sign + integer
        if rest.first == "." {
            let fraction = rest.dropFirst().prefix { $0.isASCII && ($0.isNumber || $0 == "_") }
            guard let digits = Self.digits(fraction, radix: 10) else { throw invalid }
            text += "." + digits
            rest = rest.dropFirst(1 + fraction.count)
        }
        if rest.first == "e" || rest.first == "E" {
            rest = rest.dropFirst()
            var exponentSign = ""
            if rest.first == "-" || rest.first == "+" {
                exponentSign = String(rest.removeFirst())
            }
            guard let digits = Self.digits(rest, radix: 10) else { throw invalid }
            text += "e" + exponentSign + digits
            rest = ""
        }
        guard rest.isEmpty, let value = Double(text) else { throw invalid }
        // `inf` says so; a number too large for a double is a mistake.
        guard value.isFinite else { throw error("float \(token) is out of range") }
        return .float(value)
    }

    /// The digits of a run such as `1_000`, without the underscores; nil
    /// unless every underscore sits between two digits.
    private static func digits(_ run: Substring, radix: Int) -> String? {
        var digits = ""
        var previous: Character = "_"
        for character in run {
            if character == "_" {
                if previous == "_" { return nil }
            } else if character.isASCII, character.hexDigitValue.map({ $0 < radix }) == true {
                digits.append(character)
            } else {
                return nil
            }
            previous = character
        }
        return previous == "_" ? nil : digits
    }

    // MARK: - Strings

    /// `"…"`: one line, with escapes.
    private mutating func basicString() throws(TOMLError) -> String {
        index += 1
        var text = ""
        while true {
            guard let scalar = peek, !isNewline else { throw error("unterminated string") }
            index += 1
            switch scalar {
            case "\"": return text
            case "\\": text.unicodeScalars.append(try escape())
            case _ where isControl(scalar): throw error("control character \(codePoint(scalar)) in a string")
            default: text.unicodeScalars.append(scalar)
            }
        }
    }

    /// `'…'`: one line, taken as written.
    private mutating func literalString() throws(TOMLError) -> String {
        index += 1
        var text = ""
        while true {
            guard let scalar = peek, !isNewline else { throw error("unterminated string") }
            index += 1
            if scalar == "'" { return text }
            if isControl(scalar) { throw error("control character \(codePoint(scalar)) in a string") }
            text.unicodeScalars.append(scalar)
        }
    }

    /// `"""…"""` with escapes or `'''…'''` without. A newline right after
    /// the opening delimiter is dropped; CRLF reads as LF.
    private mutating func multilineString() throws(TOMLError) -> String {
        let quote = scalars[index]
        let startLine = line
        index += 3
        if isNewline { consumeNewline() }
        var text = ""
        while true {
            if isNewline {
                consumeNewline()
                text += "\n"
                continue
            }
            guard let scalar = peek else { throw TOMLError(line: startLine, message: "unterminated multi-line string") }
            if scalar == quote {
                var run = 0
                while peek(at: run) == quote { run += 1 }
                // Up to two quotes just before the closing three are content.
                if run >= 3 {
                    let content = min(run, 5) - 3
                    text.unicodeScalars.append(contentsOf: repeatElement(quote, count: content))
                    index += content + 3
                    return text
                }
                text.unicodeScalars.append(contentsOf: repeatElement(quote, count: run))
                index += run
                continue
            }
            index += 1
            if scalar == "\\" && quote == "\"" {
                if !skipLineEndingBackslash() { text.unicodeScalars.append(try escape()) }
            } else if isControl(scalar) {
                throw error("control character \(codePoint(scalar)) in a string")
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
    }

    /// After a `\` in a multi-line basic string: when only whitespace
    /// follows on its line, skips it and all whitespace and newlines after.
    private mutating func skipLineEndingBackslash() -> Bool {
        var offset = 0
        while peek(at: offset) == " " || peek(at: offset) == "\t" { offset += 1 }
        guard peek(at: offset) == "\n" || (peek(at: offset) == "\r" && peek(at: offset + 1) == "\n") else {
            return false
        }
        index += offset
        while true {
            skipWhitespace()
            guard isNewline else { return true }
            consumeNewline()
        }
    }

    /// The character an escape stands for; the backslash is consumed.
    private mutating func escape() throws(TOMLError) -> Unicode.Scalar {
        guard let scalar = peek, !isNewline else { throw error("unterminated escape at the end of the line") }
        index += 1
        switch scalar {
        case "b": return "\u{08}"
        case "t": return "\t"
        case "n": return "\n"
        case "f": return "\u{0C}"
        case "r": return "\r"
        case "\"": return "\""
        case "\\": return "\\"
        case "u", "U":
            let count = scalar == "u" ? 4 : 8
            var hex = ""
            for _ in 0..<count {
                guard let digit = peek, digit.properties.isASCIIHexDigit else {
                    throw error("invalid escape \\\(scalar): expected \(count) hexadecimal digits")
                }
                hex.unicodeScalars.append(digit)
                index += 1
            }
            guard let value = UInt32(hex, radix: 16).flatMap(Unicode.Scalar.init) else {
                throw error("invalid escape \\\(scalar)\(hex): not a Unicode scalar value")
            }
            return value
        default:
            let shown =
                isControl(scalar) || scalar.properties.isWhitespace ? " followed by \(codePoint(scalar))" : "\(scalar)"
            throw error("invalid escape \\\(shown)")
        }
    }

    // MARK: - Characters

    private func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    private func isBare(_ scalar: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || isDigit(scalar) || scalar == "_"
            || scalar == "-"
    }

    /// Control characters a string or comment may not hold: all but tab.
    private func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F
    }

    private func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The character at the reading position, for messages.
    private var found: String {
        switch peek {
        case nil: "end of file"
        case _ where isNewline: "end of line"
        case let scalar? where isControl(scalar) || scalar.properties.isWhitespace: codePoint(scalar)
        case "\""?: "'\"'"
        case let scalar?: "\"\(scalar)\""
        }
    }

    /// A key as TOML spells it: bare parts as they are, others quoted.
    private func display(_ path: some Collection<String>) -> String {
        path.map { part in
            if !part.isEmpty && part.unicodeScalars.allSatisfy(isBare) { return part }
            var quoted = "\""
            for scalar in part.unicodeScalars {
                switch scalar {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                case _ where isControl(scalar) || scalar == "\t":
                    quoted += "\\u" + codePoint(scalar).dropFirst(2)
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "\""
        }.joined(separator: ".")
    }

    /// Why a key that holds a value cannot be entered as a table. The only
    /// tables stored as values are inline ones.
    private func notATable(_ name: String, _ existing: TOMLValue) -> String {
        if case .table = existing { return "\(name) is an inline table, which cannot be extended" }
        return "\(name) is already \(existing.typeName), not a table"
    }
}
