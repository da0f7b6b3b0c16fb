public enum EmbCacheVersion {
    public static let current = "0.1.0"
}
