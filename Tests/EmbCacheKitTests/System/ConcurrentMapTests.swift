import Testing

@Suite struct ConcurrentMapTests {
    /// Regression: counts just above the threshold made chunk ranges past
    /// the end (lower bound over upper) and trapped.
    @Test(arguments: [0, 1, 2, 3, 5, 7, 255, 256, 257, 1000, 4099])
    func concurrentMapKeepsOrderForAnyCount(count: Int) {
        let items = Array(0..<count)
        #expect(items.concurrentMap(minimumCount: 2) { $0 * 3 } == items.map { $0 * 3 })
        #expect(items.concurrentMap { $0 + 1 } == items.map { $0 + 1 })
    }
}
