import EmbCacheCore
import Foundation

/// A sentence-transformers model directory on disk: reads its files, and
/// words every problem as a configuration error naming the file.
struct ModelDirectory: Sendable {
    let path: String

    init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EmbCacheError.configuration("model directory \(path): no such directory")
        }
        guard isDirectory.boolValue else {
            throw EmbCacheError.configuration("model directory \(path): not a directory")
        }
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    func file(_ relative: String) -> String { path + "/" + relative }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: file(relative)) }

    func error(_ relative: String, _ message: String) -> EmbCacheError {
        .configuration("model directory \(path): \(relative): \(message)")
    }

    func data(_ relative: String) throws -> Data {
        guard exists(relative) else { throw error(relative, "missing (not a sentence-transformers model directory?)") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: file(relative)))
        } catch {
            throw self.error(relative, "cannot be read")
        }
    }

    /// The file's top-level JSON value.
    func json(_ relative: String) throws -> Any {
        let bytes = try data(relative)
        guard let value = try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]) else {
            throw error(relative, "not valid JSON")
        }
        return value
    }

    func object(_ relative: String) throws -> JSONFields {
        guard let object = try json(relative) as? [String: Any] else { throw error(relative, "not a JSON object") }
        return JSONFields(object: object, place: { self.error(relative, $0) })
    }
}

/// A JSON object's fields, read with the type each must have.
struct JSONFields {
    let object: [String: Any]
    let place: (String) -> EmbCacheError

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func integer(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        guard let number = object[key] as? NSNumber, !isBoolean(number),
            number.doubleValue == number.doubleValue.rounded()
        else { throw place("\"\(key)\" is not an integer") }
        return number.intValue
    }

    func requiredInteger(_ key: String, atLeast minimum: Int = 1) throws -> Int {
        guard let value = try integer(key) else { throw place("no \"\(key)\"") }
        guard value >= minimum else { throw place("\"\(key)\" is \(value), less than \(minimum)") }
        return value
    }

    func double(_ key: String) throws -> Double? {
        guard has(key) else { return nil }
        guard let number = object[key] as? NSNumber, !isBoolean(number) else {
            throw place("\"\(key)\" is not a number")
        }
        return number.doubleValue
    }

    func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard let number = object[key] as? NSNumber, isBoolean(number) else {
            throw place("\"\(key)\" is not a boolean")
        }
        return number.boolValue
    }

    func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let text = object[key] as? String else { throw place("\"\(key)\" is not a string") }
        return text
    }

    func nested(_ key: String) throws -> JSONFields? {
        guard has(key) else { return nil }
        guard let inner = object[key] as? [String: Any] else { throw place("\"\(key)\" is not an object") }
        return JSONFields(object: inner, place: { [place] in place("\(key): " + $0) })
    }

    /// swift-corelibs-foundation gives JSON's true and false the type "c".
    private func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
