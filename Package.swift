// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "embcache",
    // Linux only: the sources import Glibc and use Linux calls (pipe2,
    // sync_file_range, st_mtim). macOS 15 is the least a port would need,
    // for Synchronization's Mutex and Atomic.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "embcache", targets: ["embcache"]),
        .library(name: "EmbCacheKit", targets: ["EmbCacheKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // C calls Swift's Glibc module leaves out; no library of its own.
        .systemLibrary(name: "CEmbCacheSystem"),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "EmbCacheKit",
            dependencies: [
                "CSQLite",
                "CCurl",
                "CEmbCacheSystem",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The shared cache on PostgreSQL: the same store, another engine.
        .target(
            name: "EmbCachePostgres",
            dependencies: ["EmbCacheKit", "CLibPQ"]
        ),
        // Models run inside embcache: sentence-transformers BERT on the CPU.
        .target(
            name: "EmbCacheLocal",
            dependencies: ["EmbCacheKit", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "embcache",
            dependencies: [
                "EmbCacheKit",
                "EmbCachePostgres",
                "EmbCacheLocal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "EmbCacheKitTests",
            dependencies: ["EmbCacheKit", "EmbCachePostgres", "EmbCacheLocal"]
        ),
        .testTarget(
            name: "EmbCacheLocalTests",
            dependencies: ["EmbCacheLocal", "EmbCacheKit"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["embcache"],
            exclude: ["Fixtures"]
        ),
    ]
)
