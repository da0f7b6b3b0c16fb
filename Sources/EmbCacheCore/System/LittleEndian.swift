/// Calls `body` with the vector as little-endian float32 bytes: the byte
/// order of every vector stored (as the Python package stores them) and
/// written, on any machine.
public func littleEndianBytes<R>(_ vector: [Float], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    #if _endian(big)
        let swapped = vector.map { Float(bitPattern: $0.bitPattern.littleEndian) }
        return try swapped.withUnsafeBytes(body)
    #else
        return try vector.withUnsafeBytes(body)
    #endif
}
