// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "embcache",
    // Linux only: the sources import Glibc and use Linux calls (pipe2,
    // sync_file_range, st_mtim). macOS 15 is the least a port would need,
    // for Synchronization's Mutex and Atomic.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "embcache", targets: ["embcache"]),
        .executable(name: "embcache-serve", targets: ["embcache-serve"]),
        .library(
            name: "EmbCacheKit",
            targets: ["EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "EmbCacheBackup", "EmbCacheKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // `embcache serve`: the HTTP server, its metrics and its log. No
        // optional traits: the configuration package is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // C calls Swift's Glibc module leaves out; no library of its own.
        .systemLibrary(name: "CEmbCacheSystem"),
        // The local encoder's elementwise kernels for AVX2 and FMA, chosen
        // at run time (the package is built for baseline x86-64).
        .target(name: "CEmbCacheKernels"),
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
        // The engine, in targets whose imports go one way, along the data:
        // Core (errors, keys, JSON in and out, system plumbing, retries)
        // <- Store (the SQLite cache) and Providers (the provider protocol,
        // the HTTP client and APIs, the config file of named models) <-
        // Backup (S3, over Providers' HTTP client, of Store's files) <-
        // EmbCacheKit (the pipeline, the cache commands, one model served).
        .target(
            name: "EmbCacheCore",
            dependencies: ["CEmbCacheSystem", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "EmbCacheStore",
            dependencies: ["EmbCacheCore", "CSQLite", "CEmbCacheSystem"]
        ),
        .target(
            name: "EmbCacheProviders",
            dependencies: ["EmbCacheCore", "CCurl"]
        ),
        .target(
            name: "EmbCacheBackup",
            dependencies: [
                "EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "EmbCacheKit",
            dependencies: ["EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "EmbCacheBackup"]
        ),
        // The shared cache on PostgreSQL: the same store, another engine.
        .target(
            name: "EmbCachePostgres",
            dependencies: ["EmbCacheCore", "EmbCacheStore", "CLibPQ"]
        ),
        // Models run inside embcache: sentence-transformers BERT on the CPU.
        .target(
            name: "EmbCacheLocal",
            dependencies: [
                "EmbCacheCore", "EmbCacheProviders", "CEmbCacheKernels",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // `embcache serve`: the cache behind an OpenAI-compatible endpoint.
        .target(
            name: "EmbCacheServe",
            dependencies: [
                "EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "EmbCacheKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The commands and their options, for both executables.
        .target(
            name: "EmbCacheCLI",
            dependencies: [
                "EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "EmbCacheBackup", "EmbCacheKit",
                "EmbCachePostgres",
                "EmbCacheLocal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "embcache", dependencies: ["EmbCacheCLI"]),
        // `embcache serve`, apart: the server framework's type records would
        // slow every start of embcache (the argument parser searches them).
        .executableTarget(
            name: "embcache-serve",
            dependencies: [
                "EmbCacheCLI", "EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "EmbCacheKit", "EmbCacheServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The tests' and benchmarks' fake provider: OpenAI's wire format
        // with a latency, holding any number of requests at once.
        .executableTarget(
            name: "fake-embedding-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EmbCacheKitTests",
            dependencies: [
                "EmbCacheCore", "EmbCacheStore", "EmbCacheProviders", "EmbCacheBackup", "EmbCacheKit",
                "EmbCachePostgres", "EmbCacheLocal", "EmbCacheServe", "EmbCacheCLI",
            ]
        ),
        .testTarget(
            name: "EmbCacheLocalTests",
            dependencies: ["EmbCacheLocal", "EmbCacheCore", "EmbCacheProviders"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["embcache", "embcache-serve", "fake-embedding-server"],
            exclude: ["Fixtures"]
        ),
    ]
)
