import Foundation

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
    public var bytes: [UInt8]
    public var content: Result<Content, InputProblem>
    /// Whether the bytes are a JSON object the output can add a field to,
    /// and if so whether it is empty (`{}` takes the field without a
    /// comma). Known even for records whose text is unusable.
    public var object: ObjectShape

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
    public var textPath: [String]
    /// A field the output will add; a record that has it already is refused
    /// rather than left with two fields of one name.
    public var outputField: String?
    /// The line size limit, for the message about lines over it.
    public var maxLineBytes: Int

    public init(mode: InputMode, textField: String, outputField: String?, maxLineBytes: Int) {
        self.mode = mode
        self.maxLineBytes = maxLineBytes
        self.textPath = textField.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        self.outputField = outputField
    }

    /// Blank lines carry no record and are skipped.
    public func isBlank(_ line: Line) -> Bool {
        if line.tooLong { return false }
        switch mode {
        case .lines: return line.bytes.isEmpty
        case .jsonl: return line.bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        }
    }

    public func decode(_ line: Line) -> Record {
        var shape = Record.ObjectShape.notExtensible
        let content = Result { () throws(InputProblem) in try decodeContent(line, shape: &shape) }
        return Record(location: line.location, bytes: line.bytes, content: content, object: shape)
    }

    private func decodeContent(_ line: Line, shape: inout Record.ObjectShape) throws(InputProblem) -> Record.Content {
        if line.tooLong { throw InputProblem.lineTooLong(limit: maxLineBytes) }
        guard let string = String(validating: line.bytes, as: UTF8.self) else {
            throw InputProblem.invalidUTF8(byteOffset: firstInvalidUTF8Offset(line.bytes))
        }
        switch mode {
        case .lines:
            return Record.Content(text: string, key: CacheKey(text: string))
        case .jsonl:
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.bytes), options: [.fragmentsAllowed])
            } catch {
                throw InputProblem.invalidJSON(jsonErrorSummary(error))
            }
            guard let record = object as? [String: Any] else { throw InputProblem.notAnObject }
            if let outputField, record[outputField] != nil { throw InputProblem.fieldAlreadyPresent(outputField) }
            shape = record.isEmpty ? .empty : .nonEmpty
            let text = try extractText(from: record)
            if text.isEmpty { throw InputProblem.emptyText }
            return Record.Content(text: text, key: CacheKey(text: text))
        }
    }

    private func extractText(from record: [String: Any]) throws(InputProblem) -> String {
        let path = textPath.joined(separator: ".")
        var node: Any = record
        for component in textPath {
            guard let object = node as? [String: Any], let child = object[component] else {
                throw InputProblem.missingField(path)
            }
            node = child
        }
        guard let text = node as? String else { throw InputProblem.fieldNotString(path, found: jsonTypeName(node)) }
        return text
    }
}

/// The byte offset of the first byte that does not start a valid UTF-8
/// sequence.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let encoded): offset += encoded.count
        case .error: return offset
        case .emptyInput: return offset
        }
    }
}

private func jsonTypeName(_ value: Any) -> String {
    switch value {
    case is NSNull: "null"
    case is [Any]: "an array"
    case is [String: Any]: "an object"
    case let number as NSNumber:
        String(cString: number.objCType) == "c" ? "a boolean" : "a number"
    default: "not a string"
    }
}

/// Foundation's messages are long and capitalised; keep the part that says
/// what and where.
private func jsonErrorSummary(_ error: Error) -> String {
    let nsError = error as NSError
    let detail = (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    var summary = detail.trimmingCharacters(in: .whitespacesAndNewlines)
    if summary.hasSuffix(".") { summary.removeLast() }
    guard let first = summary.first else { return "unreadable" }
    return first.lowercased() + summary.dropFirst()
}
