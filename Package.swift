// swift-tools-version: 6.1
import PackageDescription

import class Foundation.ProcessInfo

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// A system library reached through pkg-config, with a module map and a header of shims.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
]

var targets: [Target] = [
    // Linux syscalls the Swift importer cannot see as functions (epoll, eventfd, signalfd helpers).
    .target(name: "CLinux"),
    systemLibrary("CCurl", pkgConfig: "libcurl", apt: "libcurl4-openssl-dev"),
    systemLibrary("CSystemd", pkgConfig: "libsystemd", apt: "libsystemd-dev"),
    systemLibrary("COpenSSL", pkgConfig: "openssl", apt: "libssl-dev"),
    systemLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),
    systemLibrary("CSQLite", pkgConfig: "sqlite3", apt: "libsqlite3-dev"),

    .target(name: "Reactor", dependencies: ["CLinux", "CCurl"], swiftSettings: swiftSettings),
    .target(name: "WSCodec", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
    .target(
        name: "AuraWell",
        dependencies: [
            "Reactor", "WSCodec", "CLinux", "CCurl", "CSystemd", "CSQLite", "CZlib", "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "Main",
        dependencies: [
            "AuraWell", "Reactor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings
    ),

    // A DeepSeek-compatible streaming upstream (SSE) with fault injection, for tests and benchmarks.
    .executableTarget(
        name: "UpstreamSimulator",
        dependencies: [
            "Reactor", "WSCodec",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        path: "Benchmarks/UpstreamSimulator",
        exclude: ["README.md"],
        swiftSettings: swiftSettings
    ),

    // The load tester: many WebSocket clients on one reactor per process; latency histograms.
    .executableTarget(
        name: "LoadTester",
        dependencies: [
            "Reactor", "WSCodec",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ],
        path: "Benchmarks/LoadTester",
        swiftSettings: swiftSettings
    ),

    .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CLinux"], swiftSettings: swiftSettings),
    .testTarget(name: "WSCodecTests", dependencies: ["WSCodec"], swiftSettings: swiftSettings),
    .testTarget(
        name: "AuraWellTests",
        dependencies: ["AuraWell", "Main", "UpstreamSimulator", "LoadTester", "WSCodec", "Reactor", "CLinux"],
        exclude: ["Interop", "Browser"],
        swiftSettings: swiftSettings
    ),
]

// The micro-benchmarks pull in ordo-one/package-benchmark and its dependencies; they are added only
// when asked for (AURAWELL_BENCHMARKS=1, see Benchmarks/README.md) so that CI's test build stays fast.
if ProcessInfo.processInfo.environment["AURAWELL_BENCHMARKS"] != nil {
    dependencies.append(
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"])
    )
    targets.append(
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: ["WSCodec", .product(name: "Benchmark", package: "package-benchmark")],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        )
    )
    targets.append(
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: ["AuraWell", "Reactor", .product(name: "Benchmark", package: "package-benchmark")],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        )
    )
}

let package = Package(
    name: "AuraWell",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aurawell", targets: ["Main"]),
        .executable(name: "aurawell-upstream-sim", targets: ["UpstreamSimulator"]),
        .executable(name: "aurawell-load", targets: ["LoadTester"]),
    ],
    dependencies: dependencies,
    targets: targets
)
