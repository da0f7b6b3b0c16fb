// swift-tools-version:6.0
// The libFuzzer harness over embcache's input decoder, kept out of the
// main package so that `swift test` never builds it. Scripts/fuzz/run
// builds and runs it; see there.
import PackageDescription

let package = Package(
    name: "embcache-fuzz",
    dependencies: [
        // A link to the repository made by Scripts/fuzz/run, so that the
        // dependency's identity does not depend on the clone's folder name.
        .package(path: ".build-fuzz/embcache")
    ],
    targets: [
        .executableTarget(
            name: "DecoderFuzzer",
            dependencies: [.product(name: "EmbCacheKit", package: "embcache")]
        )
    ]
)
