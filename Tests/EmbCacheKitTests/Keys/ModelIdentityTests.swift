import Testing

@testable import EmbCacheCore
@testable import EmbCacheStore

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

    /// Regression: `--model 'm?dimensions=3'` and `--model m --dimensions 3`
    /// once had one identity and one file, though the provider was sent
    /// different requests.
    @Test func theCanonicalFormIsInjective() {
        let identities = [
            ModelIdentity(name: "m?dimensions=3"),
            ModelIdentity(name: "m", parameters: ["dimensions": "3"]),
            ModelIdentity(name: "m", parameters: ["dimensions": "3&input_type=query"]),
            ModelIdentity(name: "m", parameters: ["dimensions": "3", "input_type": "query"]),
            ModelIdentity(name: "m%3Fdimensions%3D3"),
            ModelIdentity(name: "m", parameters: ["a=b": "c"]),
            ModelIdentity(name: "m", parameters: ["a": "b=c"]),
        ]
        let forms = identities.map(\.canonical)
        #expect(Set(forms).count == forms.count, "\(forms)")
        #expect(Set(identities.map(\.fileName)).count == identities.count)
        #expect(identities[0].canonical == "m%3Fdimensions%3D3")
    }

    /// Files written by earlier versions keep their names and identities.
    @Test func namesWithoutReservedCharactersKeepTheirForm() {
        #expect(ModelIdentity(name: "BAAI/bge-m3").canonical == "BAAI/bge-m3")
        #expect(
            ModelIdentity(name: "text-embedding-3-small", parameters: ["dimensions": "256"]).canonical
                == "text-embedding-3-small?dimensions=256")
        #expect(
            ModelIdentity(canonical: "text-embedding-3-small?dimensions=256")
                == ModelIdentity(name: "text-embedding-3-small", parameters: ["dimensions": "256"]))
    }
}
