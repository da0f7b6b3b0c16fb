import EmbCacheProviders
import Foundation
import Testing

/// The manual's table of HTTP providers against `HTTPAPI.all`: the page is
/// written by hand, so this is what keeps it saying what the code does.
@Suite struct APITableTests {
    static let pagePath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("man/embcache.1").path

    /// The cells of the `.Bl -column` table whose head names "Key
    /// variable", row by row, without the head.
    static func tableRows() throws -> [[String]] {
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        var rows: [[String]] = []
        var inside = false
        for line in page.split(separator: "\n") {
            if line.hasPrefix(".It Em Provider Ta Em Key variable") {
                inside = true
            } else if inside && line.hasPrefix(".El") {
                break
            } else if inside && line.hasPrefix(".It ") {
                rows.append(
                    line.dropFirst(4).components(separatedBy: " Ta ").map { cell in
                        // `Cm openai`, `Ev OPENAI_API_KEY`: the word, not its macro.
                        cell.replacingOccurrences(of: #"^(Cm|Ev) "#, with: "", options: .regularExpression)
                    })
            }
        }
        return rows
    }

    /// A number of the table: digits, or `\(em` for none.
    static func cell(_ value: Int?) -> String { value.map(String.init) ?? #"\(em"# }

    @Test func theTableListsExactlyTheRegistrysAPIs() throws {
        let rows = try Self.tableRows()
        #expect(rows.map { $0.first ?? "" } == HTTPAPI.all.map(\.rawValue))
    }

    @Test func eachRowHasTheAPIsKeyVariableAndLimits() throws {
        let rows = Dictionary(try Self.tableRows().map { ($0[0], $0) }, uniquingKeysWith: { first, _ in first })
        for api in HTTPAPI.all {
            let limits = api.limits
            let expected = [
                api.rawValue, api.defaultKeyVariable, Self.cell(limits.inputs), limits.size ?? #"\(em"#,
                "\(limits.batch.texts)", "\(limits.batch.bytes)",
            ]
            #expect(rows[api.rawValue] == expected, "the manual's row for \(api.rawValue)")
        }
    }

    /// embcache's default never asks for more inputs than the API takes.
    @Test func theDefaultBatchFitsTheDocumentedLimit() {
        for api in HTTPAPI.all {
            if let inputs = api.limits.inputs {
                #expect(api.limits.batch.texts <= inputs, "\(api.rawValue)")
            }
        }
    }
}
