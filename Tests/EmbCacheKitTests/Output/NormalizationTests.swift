import Foundation
import Testing

@testable import EmbCacheKit

/// Output normalisation: the norm is summed in four lanes, so these check
/// it against the plain running sum, and that no element is left out of it.
@Suite struct NormalizationTests {
    /// The norm as one running sum in Double, element by element.
    static func runningNorm(_ vector: [Float]) -> Double {
        var sum: Double = 0
        for value in vector { sum += Double(value) * Double(value) }
        return sum.squareRoot()
    }

    /// Every length around the lanes' width, and a model's: each element
    /// is its value divided by the norm, to within one float step, and the
    /// result has unit length.
    @Test(arguments: Array(1...13) + [383, 384, 1536])
    func agreesWithTheRunningSum(length: Int) {
        var random = SplitMix(seed: UInt64(length))
        for _ in 0..<50 {
            let vector = (0..<length).map { _ in Float(Double(random.next() % 2_000_001) / 1e6 - 1) }
            let norm = Self.runningNorm(vector)
            guard norm > 0 else { continue }
            let scaled = outputVector(vector, normalize: true)
            #expect(scaled.count == vector.count)
            for (value, got) in zip(vector, scaled) {
                let want = Float(Double(value) / norm)
                #expect(abs(got - want) <= want.ulp, "\(got) vs \(want) in a vector of \(length)")
            }
            #expect(abs(Self.runningNorm(scaled) - 1) < 1e-6)
        }
    }

    /// One non-zero element at each place: a lane or the tail that
    /// dropped it would give a zero vector or a wrong length.
    @Test(arguments: Array(1...9))
    func everyPlaceCounts(length: Int) {
        for place in 0..<length {
            var vector = [Float](repeating: 0, count: length)
            vector[place] = -2.5
            var want = [Float](repeating: 0, count: length)
            want[place] = -1
            #expect(outputVector(vector, normalize: true) == want, "place \(place) of \(length)")
        }
    }

    @Test func extremesNeitherOverflowNorVanish() {
        let half = Float(0.5.squareRoot())
        #expect(outputVector([3e38, 3e38], normalize: true) == [half, half])
        let tiny = Float.leastNonzeroMagnitude
        #expect(outputVector([tiny, tiny, 0, 0, 0], normalize: true) == [half, half, 0, 0, 0])
        #expect(outputVector([0, 0, 0, 0, 0], normalize: true) == [0, 0, 0, 0, 0])
        #expect(outputVector([], normalize: true) == [])
        #expect(outputVector([3, 4], normalize: false) == [3, 4])
    }
}

/// SplitMix64, so that a failing case can be run again.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
