import Testing

@testable import EmbCacheKit

@Suite struct ModelIdentityTests {
    /// File names as python-slugify 8 names them for `embedding_` + model.
    @Test(arguments: [
        ("all-MiniLM-L6-v2", "embedding-all-minilm-l6-v2.sqlite"),
        ("text-embedding-3-small", "embedding-text-embedding-3-small.sqlite"),
        ("BAAI/bge-small-en-v1.5", "embedding-baai-bge-small-en-v1-5.sqlite"),
        ("  --Weird__Name!!  ", "embedding-weird-name.sqlite"),
        ("café-modèle", "embedding-cafe-modele.sqlite"),
        ("1,000 dims", "embedding-1000-dims.sqlite"),
        ("../../etc/passwd", "embedding-etc-passwd.sqlite"),
    ])
    func fileNamesAreThePythonPackagesSlugs(model: String, file: String) {
        #expect(ModelIdentity(name: model).fileName == file)
    }

    @Test func parametersArePartOfTheIdentityInSortedOrder() {
        let identity = ModelIdentity(name: "m", parameters: ["input_type": "query", "dimensions": "256"])
        #expect(identity.canonical == "m?dimensions=256&input_type=query")
        #expect(identity.fileName == "embedding-m-dimensions-256-input-type-query.sqlite")
        #expect(ModelIdentity(name: "m").canonical == "m")
    }
}
