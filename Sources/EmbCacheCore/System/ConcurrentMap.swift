import Foundation

/// Runs `first` on another thread while `second` runs on this one, and
/// returns once both are done: what waits for the disk twice then waits
/// for the slower only.
package func concurrently(_ first: @escaping @Sendable () -> Void, and second: () throws -> Void) rethrows {
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group, execute: first)
    defer { group.wait() }
    try second()
}

extension Array where Element: Sendable {
    /// `map` spread over the cores in contiguous chunks, results in order.
    /// Small arrays are not worth a thread.
    package func concurrentMap<T: Sendable>(minimumCount: Int = 256, _ transform: @Sendable (Element) -> T) -> [T] {
        guard count >= minimumCount else { return map(transform) }
        let chunkCount = Swift.min(ProcessInfo.processInfo.activeProcessorCount * 2, count)
        let chunkSize = (count + chunkCount - 1) / chunkCount
        var chunks = [[T]](repeating: [], count: chunkCount)
        chunks.withUnsafeMutableBufferPointer { output in
            let output = UnsafeSendable(output)
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                let range = Swift.min(count, chunk * chunkSize)..<Swift.min(count, (chunk + 1) * chunkSize)
                guard !range.isEmpty else { return }
                output.value[chunk] = self[range].map(transform)
            }
        }
        return chunks.flatMap { $0 }
    }
}
