import Crypto
import Foundation

/// The cache key of a text: the SHA-512 digest of its exact UTF-8 bytes, the
/// 64 bytes that both embcache and the Python `embeddingcache` store as
/// `hashid`. Keys sort as their bytes do, which is how SQLite and
/// PostgreSQL order them in an index.
public struct CacheKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 64

    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    public init(text: String) {
        var text = text
        let digest = text.withUTF8 { SHA512.hash(data: UnsafeRawBufferPointer($0)) }
        words = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { target in
            digest.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }

    /// A key read back from a store; nil unless exactly 64 bytes.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        words = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    public var hex: String { withUnsafeBytes { $0.hexDigits } }

    public var description: String { hex }

    public static func == (a: CacheKey, b: CacheKey) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
            && a.words.4 == b.words.4 && a.words.5 == b.words.5 && a.words.6 == b.words.6 && a.words.7 == b.words.7
    }

    public static func < (a: CacheKey, b: CacheKey) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, byteCount) < 0 } }
    }

    /// The digest's bytes are already uniform: two of its words are as good
    /// a hash input as all eight, for a quarter of the work.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}

extension Sequence<UInt8> {
    /// Two lower-case hex digits per byte: how digests are written.
    public var hexDigits: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
