/// How input lines become texts.
public enum InputMode: String, Sendable, CaseIterable {
    /// One JSON object per line; the text is a string field.
    case jsonl
    /// One plain text per line.
    case lines
}

/// One input record after decoding: where it came from, its bytes (kept so
/// the output can reproduce it byte for byte), and either its text or what
/// is wrong with it.
public struct Record: Sendable {
    public var location: SourceLocation
    /// The line as read; without its text when `textOffset` is set; empty
    /// with `--input lines`, whose output is made of the text. So a long
    /// line is not held twice, once in bytes and once in its text.
    public var bytes: [UInt8]
    public var content: Result<Content, InputProblem>
    /// Whether the bytes are a JSON object the output can add a field to,
    /// and if so whether it is empty (`{}` takes the field without a
    /// comma). Known even for records whose text is unusable.
    public var object: ObjectShape
    /// Where the text's own bytes were cut out of `bytes` (a long text
    /// without escapes): the line is `bytes` with the text put back there.
    public var textOffset: Int? = nil

    public enum ObjectShape: Sendable {
        case notExtensible
        case empty
        case nonEmpty
    }

    public struct Content: Sendable {
        public var text: String
        public var key: CacheKey
    }
}

/// Turns a line into a record: checks UTF-8 without repairing it, parses
/// JSON, follows the dotted text path and computes the key.
public struct RecordDecoder: Sendable {
    public var mode: InputMode
    /// Path components of the text field (`a.b` → ["a", "b"]).
    public let textPath: [String]
    /// A field the output will add. A record that has it already is
    /// written without it, never with two fields of one name: with a new
    /// vector under `overwrite`, else as a record without a vector.
    public let outputField: String?
    /// Whether a record's own output field is replaced (`--overwrite`)
    /// rather than an error.
    public var overwrite = false
    /// The line size limit, for the message about lines over it.
    public var maxLineBytes: Int
    /// Put before every text before it is keyed and embedded (`--prefix`,
    /// the "query: " that e5 models want): the text cached is what was
    /// embedded.
    public var prefix = ""
    private let pathBytes: [[UInt8]]
    private let outputFieldBytes: [UInt8]?

    public init(mode: InputMode, textField: String, outputField: String?, maxLineBytes: Int) {
        self.mode = mode
        self.maxLineBytes = maxLineBytes
        self.textPath = textField.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        self.outputField = outputField
        self.pathBytes = textPath.map { Array($0.utf8) }
        self.outputFieldBytes = outputField.map { Array($0.utf8) }
    }

    /// Blank lines carry no record and are skipped.
    public func isBlank(_ line: Line) -> Bool {
        if line.tooLong { return false }
        switch mode {
        case .lines: return line.bytes.isEmpty
        case .jsonl: return line.bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        }
    }

    /// Texts at least this long, without escapes, are cut out of their
    /// record's bytes.
    static let cutTextBytes = 64 << 10

    public func decode(_ line: Line) -> Record {
        var shape = Record.ObjectShape.notExtensible
        var verbatim: Range<Int>?
        var cuts: [Range<Int>] = []
        let content = Result { () throws(InputProblem) in
            try decodeContent(line, shape: &shape, verbatim: &verbatim, cuts: &cuts)
        }
        if mode == .lines { return Record(location: line.location, bytes: [], content: content, object: shape) }
        let cutsText = verbatim.map { text in cuts.contains { $0.overlaps(text) } } ?? false
        guard case .success = content, let verbatim, verbatim.count >= Self.cutTextBytes, !cutsText else {
            return Record(
                location: line.location, bytes: cuts.isEmpty ? line.bytes : line.bytes.removing(cuts),
                content: content, object: shape)
        }
        let textCut = cuts.firstIndex { $0.lowerBound > verbatim.lowerBound } ?? cuts.endIndex
        cuts.insert(verbatim, at: textCut)
        let textOffset = verbatim.lowerBound - cuts[..<textCut].reduce(0) { $0 + $1.count }
        return Record(
            location: line.location, bytes: line.bytes.removing(cuts), content: content, object: shape,
            textOffset: textOffset)
    }

    private func decodeContent(
        _ line: Line, shape: inout Record.ObjectShape, verbatim: inout Range<Int>?, cuts: inout [Range<Int>]
    ) throws(InputProblem) -> Record.Content {
        if line.tooLong { throw InputProblem.lineTooLong(limit: maxLineBytes) }
        switch mode {
        case .lines:
            guard let string = String(validating: line.bytes, as: UTF8.self) else {
                throw InputProblem.invalidUTF8(byteOffset: firstInvalidUTF8Offset(line.bytes))
            }
            return content(string)
        case .jsonl:
            // Checked in place: a String of the whole line would be one
            // more copy of it, alive while the text is decoded.
            guard (try? UTF8Span(validating: line.bytes.span)) != nil else {
                throw InputProblem.invalidUTF8(byteOffset: firstInvalidUTF8Offset(line.bytes))
            }
            let scanned: JSONScanner.Result
            do {
                scanned = try line.bytes.withUnsafeBufferPointer { bytes throws(JSONScanner.Failure) in
                    try JSONScanner.scan(bytes, paths: [pathBytes], outputField: outputFieldBytes)
                }
            } catch {
                // Plain text fed to the JSON reader fails on its first line:
                // say how to read it as what it is.
                throw InputProblem.invalidJSON(
                    error.message + (line.location.line == 1 ? "; use --input lines for plain text" : ""))
            }
            guard scanned.isObject else { throw InputProblem.notAnObject }
            // The field is cut from the record whatever follows: a record
            // written with a null vector has it once too.
            cuts = scanned.outputFieldCuts
            shape = scanned.isEmptyObject || scanned.onlyOutputField ? .empty : .nonEmpty
            if scanned.hasOutputField, !overwrite, let outputField {
                throw InputProblem.fieldAlreadyPresent(outputField)
            }
            let path = textPath.joined(separator: ".")
            switch scanned.found[0] {
            case nil: throw InputProblem.missingField(path)
            case .other(let type): throw InputProblem.fieldNotString(path, found: type)
            case .numbers: throw InputProblem.fieldNotString(path, found: "an array")
            case .string(let text):
                if text.isEmpty { throw InputProblem.emptyText }
                // With a prefix, the text is not the record's bytes: keep them.
                if prefix.isEmpty { verbatim = scanned.verbatim[0] }
                return content(text)
            }
        }
    }

    private func content(_ text: String) -> Record.Content {
        let text = prefix.isEmpty ? text : prefix + text
        return Record.Content(text: text, key: CacheKey(text: text))
    }
}

extension Array where Element == UInt8 {
    /// The bytes without those in `ranges`, which are in order and apart.
    package func removing(_ ranges: [Range<Int>]) -> [UInt8] {
        var kept: [UInt8] = []
        kept.reserveCapacity(count - ranges.reduce(0) { $0 + $1.count })
        var start = 0
        for range in ranges {
            kept.append(contentsOf: self[start..<range.lowerBound])
            start = range.upperBound
        }
        kept.append(contentsOf: self[start...])
        return kept
    }
}

/// The byte offset of the first byte that does not start a valid UTF-8
/// sequence.
package func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let encoded): offset += encoded.count
        case .error, .emptyInput: return offset
        }
    }
}
