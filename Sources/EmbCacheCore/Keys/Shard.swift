/// One of N parts of a corpus, chosen by key (`--shard K/N`): N workers,
/// each given its own K, split one job with no coordinator. The part is a
/// function of the text's key alone, so every copy of a text falls in one
/// part, and a part is the same set of texts on every run and machine.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1 through `count`, as `split -n K/N` numbers its parts.
    public let index: Int
    public let count: Int

    public init?(index: Int, count: Int) {
        guard count >= 1, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// "K/N" with 1 <= K <= N; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            let index = Int(parts[0]), let count = Int(parts[1])
        else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// The part a key falls in: its first eight bytes read as a big-endian
    /// unsigned integer, modulo N, plus one. The digest's bytes are uniform,
    /// so the parts are even to within sampling noise.
    public static func part(of key: CacheKey, count: Int) -> Int {
        let head = key.withUnsafeBytes { bytes in bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        return Int(head % UInt64(count)) + 1
    }

    public func contains(_ key: CacheKey) -> Bool {
        Self.part(of: key, count: count) == index
    }
}
