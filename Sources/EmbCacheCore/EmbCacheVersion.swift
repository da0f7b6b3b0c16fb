import CEmbCacheSystem

public enum EmbCacheVersion {
    /// The version of a development build, and of a release made where no
    /// git tag names one: Scripts/release reads it here.
    static let source = "0.1.0"

    /// The version: the one Scripts/release linked in (from the git tag),
    /// or the source's.
    public static let current: String = embc_linked_release_version().map { String(cString: $0) } ?? source

    /// What `embcache --version` prints: the version, the commit and the
    /// build date of a release, or that this is a development build.
    public static let line: String = {
        let build = embc_linked_release_build().map { String(cString: $0) } ?? "development build"
        return "embcache \(current) (\(build))"
    }()
}
