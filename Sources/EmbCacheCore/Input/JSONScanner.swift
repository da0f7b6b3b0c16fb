import Glibc

/// A strict JSON (RFC 8259) reader for one input record that validates the
/// whole line but builds nothing except what is asked for: the values at
/// a few paths (the text; the vector, for import), whether the record is an
/// object, empty or not, and where it already has the output field.
/// Numbers are checked against the grammar, never converted, so `1e999999`
/// is as good as `1`.
///
/// The bytes must already be valid UTF-8.
package struct JSONScanner {
    /// What was found at a path.
    package enum Found: Equatable {
        case string(String)
        /// An array whose elements are all numbers, as float32.
        case numbers([Float])
        /// Anything else, named for messages ("a boolean", "an array").
        case other(String)

        package var typeName: String {
            switch self {
            case .string: "a string"
            case .numbers: "an array"
            case .other(let name): name
            }
        }
    }

    package struct Result {
        package var isObject = false
        var isEmptyObject = false
        /// The bytes to cut so that the record no longer has the output
        /// field: each top-level member of that name with one comma next
        /// to it, in order and apart. Whitespace between the members left
        /// stays as it was.
        var outputFieldCuts: [Range<Int>] = []
        /// Whether every member of the object is the output field.
        var onlyOutputField = false
        var hasOutputField: Bool { !outputFieldCuts.isEmpty }
        /// One entry per path asked for.
        package var found: [Found?]
        /// Where each string found stands in the bytes, between its
        /// quotes, when it has no escapes: its text is those very bytes.
        var verbatim: [Range<Int>?]
    }

    package struct Failure: Error, Equatable {
        package var message: String
    }

    package static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private let paths: [[[UInt8]]]
    private let outputField: [UInt8]?
    private var index = 0
    private var depth = 0
    /// Whether the last string read had escapes.
    private var lastStringEscaped = false
    private var result: Result

    private init(bytes: UnsafeBufferPointer<UInt8>, paths: [[[UInt8]]], outputField: [UInt8]?) {
        self.bytes = bytes
        self.paths = paths
        self.outputField = outputField
        self.result = Result(
            found: Array(repeating: nil, count: paths.count), verbatim: Array(repeating: nil, count: paths.count))
    }

    /// Scans a record; each path is a list of keys from the top object.
    package static func scan(_ bytes: UnsafeBufferPointer<UInt8>, paths: [[[UInt8]]], outputField: [UInt8]?)
        throws(Failure)
        -> Result
    {
        var scanner = JSONScanner(bytes: bytes, paths: paths, outputField: outputField)
        scanner.skipWhitespace()
        if scanner.peek == UInt8(ascii: "{") {
            scanner.result.isObject = true
            try scanner.object(level: 0, onPaths: Array(paths.indices), top: true)
        } else {
            try scanner.value(capture: [], level: 0, onPaths: [])
        }
        scanner.skipWhitespace()
        if scanner.index < bytes.count { throw scanner.unexpected() }
        return scanner.result
    }

    // MARK: - Values

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    /// Parses one value and stores it in the result slots of `capture`.
    /// `onPaths` are the paths that go on through this value if it is an
    /// object, `level` keys deep.
    private mutating func value(capture: [Int], level: Int, onPaths: [Int]) throws(Failure) {
        skipWhitespace()
        guard let byte = peek else { throw failure("unexpected end of line") }
        var found: Found
        var verbatim: Range<Int>?
        switch byte {
        case UInt8(ascii: "{"):
            found = .other("an object")
            try object(level: level, onPaths: onPaths, top: false)
        case UInt8(ascii: "["):
            let numbers = try array(collecting: !capture.isEmpty)
            found = numbers.map(Found.numbers) ?? .other("an array")
        case UInt8(ascii: "\""):
            let start = index + 1
            found = .string(try string(decode: !capture.isEmpty) ?? "")
            if !lastStringEscaped { verbatim = start..<(index - 1) }
        case UInt8(ascii: "t"):
            try literal("true")
            found = .other("a boolean")
        case UInt8(ascii: "f"):
            try literal("false")
            found = .other("a boolean")
        case UInt8(ascii: "n"):
            try literal("null")
            found = .other("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try number()
            found = .other("a number")
        default:
            throw unexpected()
        }
        for slot in capture {
            result.found[slot] = found
            result.verbatim[slot] = verbatim
        }
    }

    private mutating func object(level: Int, onPaths: [Int], top: Bool) throws(Failure) {
        try enter()
        index += 1
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            if top { result.isEmptyObject = true }
            depth -= 1
            return
        }
        // The cut of a member of the output field's name takes the comma
        // before it, after the value of a member that stays; a member with
        // none before it waits for the start of the next one and takes the
        // comma after it.
        var keptMember = false
        var previousEnd = 0
        var waitingCut: Range<Int>?
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else {
                throw peek == nil ? failure("unexpected end of line") : unexpected()
            }
            let keyStart = index
            if let cut = waitingCut {
                result.outputFieldCuts.append(cut.lowerBound..<keyStart)
                waitingCut = nil
            }
            let decodedKey = try string(decode: false, keepEscapedBytes: true)
            let key = decodedKey.map { Array($0.utf8) }
            let rawKey = bytes[(keyStart + 1)..<(index - 1)]
            let keyEquals = { (wanted: [UInt8]) -> Bool in key.map { $0 == wanted } ?? rawKey.elementsEqual(wanted) }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else {
                throw peek == nil ? failure("unexpected end of line") : unexpected()
            }
            index += 1
            let isOutputField = top && outputField.map(keyEquals) == true
            var capture: [Int] = []
            var deeper: [Int] = []
            for index in onPaths where keyEquals(paths[index][level]) {
                if level == paths[index].count - 1 {
                    capture.append(index)
                } else {
                    deeper.append(index)
                    // A later duplicate key replaces the earlier value (last
                    // key wins, as in Python and jq): forget what was found
                    // under it, so a non-object here leaves the path missing.
                    result.found[index] = nil
                }
            }
            try value(capture: capture, level: level + 1, onPaths: deeper)
            if isOutputField {
                if keptMember {
                    result.outputFieldCuts.append(previousEnd..<index)
                } else {
                    waitingCut = keyStart..<index
                }
            } else {
                keptMember = true
            }
            previousEnd = index
            if try closes(with: "}") {
                if let waitingCut { result.outputFieldCuts.append(waitingCut) }
                if top { result.onlyOutputField = !keptMember }
                return
            }
        }
    }

    /// Parses an array; with `collecting`, returns its elements as float32
    /// when every one is a number (nil otherwise).
    private mutating func array(collecting: Bool) throws(Failure) -> [Float]? {
        try enter()
        index += 1
        skipWhitespace()
        var numbers: [Float]? = collecting ? [] : nil
        if peek == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return numbers
        }
        while true {
            skipWhitespace()
            if numbers != nil, let byte = peek, byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte) {
                let span = try number()
                // Float's own parser rounds the decimal once, straight to
                // float32: exact for any representation of a float32 value.
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[span]), as: UTF8.self)
                numbers!.append(Float(text) ?? .nan)
            } else {
                numbers = nil
                try value(capture: [], level: 0, onPaths: [])
            }
            if try closes(with: "]") { return numbers }
        }
    }

    /// After a member: a comma (false, another member follows) or the
    /// closing bracket (true, the container ends).
    private mutating func closes(with closer: Unicode.Scalar) throws(Failure) -> Bool {
        skipWhitespace()
        switch peek {
        case UInt8(ascii: ","):
            index += 1
            return false
        case UInt8(ascii: closer):
            index += 1
            depth -= 1
            return true
        case nil: throw failure("unexpected end of line")
        default: throw unexpected()
        }
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        if depth > Self.maxDepth { throw failure("nested deeper than \(Self.maxDepth) levels") }
    }

    /// Reads a string at `index` (its opening quote). Returns its decoded
    /// text when `decode` is set, or when `keepEscapedBytes` is set and it
    /// has escapes (so a key can be compared without decoding the common
    /// case); nil otherwise.
    private mutating func string(decode: Bool, keepEscapedBytes: Bool = false) throws(Failure) -> String? {
        index += 1
        let start = index
        var escaped = false
        while true {
            guard let byte = peek else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                let end = index
                index += 1
                lastStringEscaped = escaped
                if escaped { return decode || keepEscapedBytes ? unescaped(start..<end) : nil }
                return decode ? String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) : nil
            case UInt8(ascii: "\\"):
                escaped = true
                _ = try escape()
            case 0..<0x20:
                throw failure("control character in a string")
            default:
                index += 1
            }
        }
    }

    /// The text of a string's contents, checked already, whose escapes
    /// are decoded straight into the String: an escape is never shorter
    /// than what it stands for, so the contents' size is room enough, and
    /// a long text is not built twice (bytes, then String).
    private func unescaped(_ contents: Range<Int>) -> String {
        var reader = self
        reader.index = contents.lowerBound
        return String(unsafeUninitializedCapacity: contents.count) { out in
            var count = 0
            while reader.index < contents.upperBound {
                let byte = bytes[reader.index]
                guard byte == UInt8(ascii: "\\") else {
                    out[count] = byte
                    count += 1
                    reader.index += 1
                    continue
                }
                let scalar = (try? reader.escape()) ?? "\u{FFFD}"
                UTF8.encode(scalar) { unit in
                    out[count] = unit
                    count += 1
                }
            }
            return count
        }
    }

    /// Reads an escape at `index` (its backslash); returns what it stands
    /// for.
    private mutating func escape() throws(Failure) -> Unicode.Scalar {
        let at = index
        index += 1
        guard let byte = peek else { throw failure("unterminated string") }
        index += 1
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "\""): 0x22
            case UInt8(ascii: "\\"): 0x5C
            case UInt8(ascii: "/"): 0x2F
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple { return Unicode.Scalar(simple) }
        guard byte == UInt8(ascii: "u") else { throw failure("invalid escape", at: at) }
        var scalar = try hex4(at: at)
        if (0xD800...0xDBFF).contains(scalar) {
            guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                throw failure("unpaired surrogate escape", at: at)
            }
            index += 2
            let low = try hex4(at: at)
            guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate escape", at: at) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw failure("unpaired surrogate escape", at: at)
        }
        return Unicode.Scalar(scalar)!
    }

    private mutating func hex4(at escapeStart: Int) throws(Failure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek else { throw failure("unterminated string") }
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 0x41 + 10)
            default: throw failure("invalid escape", at: escapeStart)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Checks a number against the grammar; returns where it stands.
    private mutating func number() throws(Failure) -> Range<Int> {
        let start = index
        if peek == UInt8(ascii: "-") { index += 1 }
        guard let first = peek, (0x30...0x39).contains(first) else {
            throw peek == nil ? failure("unexpected end of line") : unexpected()
        }
        index += 1
        if first != 0x30 { digits() }
        if peek == UInt8(ascii: ".") {
            index += 1
            try requireDigit()
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            try requireDigit()
        }
        return start..<index
    }

    private mutating func digits() {
        while let byte = peek, (0x30...0x39).contains(byte) { index += 1 }
    }

    private mutating func requireDigit() throws(Failure) {
        guard let byte = peek, (0x30...0x39).contains(byte) else {
            throw peek == nil ? failure("unexpected end of line") : unexpected()
        }
        digits()
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        let matches =
            index + count <= bytes.count
            && word.withUTF8Buffer { expected in
                bytes[index..<(index + count)].elementsEqual(expected)
            }
        guard matches else { throw unexpected() }
        index += count
    }

    // MARK: - Errors

    private func failure(_ what: String, at position: Int? = nil) -> Failure {
        Failure(message: "\(what) at column \((position ?? index) + 1)")
    }

    private func unexpected() -> Failure {
        guard let byte = peek else { return failure("unexpected end of line") }
        if byte >= 0x20 && byte < 0x7F {
            return failure("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
        return failure("unexpected byte 0x\(String(byte, radix: 16, uppercase: true))")
    }
}

/// A parsed JSON document, for providers' answers. An array whose elements
/// are all numbers is held as float32, parsed straight from the decimal
/// text, since that is what embeddings are.
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case numbers([Float])
    case array([JSONValue])
    case object([String: JSONValue])

    package subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    package var string: String? { if case .string(let value) = self { value } else { nil } }

    package var integer: Int? {
        if case .number(let value) = self, let exact = Int(exactly: value) { exact } else { nil }
    }

    /// The elements of an array, whichever way it is held.
    package var elements: [JSONValue]? {
        switch self {
        case .array(let values): values
        case .numbers(let floats): floats.map { .number(Double($0)) }
        default: nil
        }
    }

    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .numbers, .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses a whole document (RFC 8259, as strictly as records are read).
    package static func parse(_ bytes: [UInt8]) throws(JSONScanner.Failure) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONScanner.Failure) in
            try JSONScanner.tree(buffer)
        }
    }
}

extension JSONScanner {
    fileprivate static func tree(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var scanner = JSONScanner(bytes: bytes, paths: [], outputField: nil)
        let value = try scanner.treeValue()
        scanner.skipWhitespace()
        if scanner.index < bytes.count { throw scanner.unexpected() }
        return value
    }

    private mutating func treeValue() throws(Failure) -> JSONValue {
        skipWhitespace()
        guard let byte = peek else { throw failure("unexpected end of document") }
        switch byte {
        case UInt8(ascii: "{"):
            try enter()
            index += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw unexpected() }
                let key = try string(decode: true) ?? ""
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw unexpected() }
                index += 1
                members[key] = try treeValue()
                if try closes(with: "}") { return .object(members) }
            }
        case UInt8(ascii: "["):
            try enter()
            index += 1
            // Numbers are kept as spans until the array is known to hold
            // numbers only; each is then parsed once, to float32.
            var spans: [Range<Int>] = []
            var values: [JSONValue]?
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array([])
            }
            while true {
                skipWhitespace()
                if values == nil, let first = peek, first == UInt8(ascii: "-") || (0x30...0x39).contains(first) {
                    spans.append(try number())
                } else {
                    if values == nil { values = spans.map { .number(parseDouble($0)) } }
                    values!.append(try treeValue())
                }
                if try closes(with: "]") { break }
            }
            if let values { return .array(values) }
            return .numbers(spans.map { parseFloat($0) })
        case UInt8(ascii: "\""):
            return .string(try string(decode: true) ?? "")
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(parseDouble(try number()))
        default:
            throw unexpected()
        }
    }

    // A span checked against the JSON grammar, and always followed by a
    // byte that cannot continue a C number, reads the same with strtof
    // and strtod (correctly rounded, no allocation) as with Swift's parser.

    private func parseFloat(_ span: Range<Int>) -> Float {
        guard span.upperBound < bytes.count else { return Float(numberText(span)) ?? .nan }
        return (bytes.baseAddress! + span.lowerBound).withMemoryRebound(to: CChar.self, capacity: span.count) {
            strtof($0, nil)
        }
    }

    private func parseDouble(_ span: Range<Int>) -> Double {
        guard span.upperBound < bytes.count else { return Double(numberText(span)) ?? .nan }
        return (bytes.baseAddress! + span.lowerBound).withMemoryRebound(to: CChar.self, capacity: span.count) {
            strtod($0, nil)
        }
    }

    private func numberText(_ span: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[span]), as: UTF8.self)
    }
}
