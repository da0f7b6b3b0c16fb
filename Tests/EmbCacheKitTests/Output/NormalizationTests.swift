import Foundation
import Testing

@testable import EmbCacheCore

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
        for round in 0..<50 {
            // Values in [-1, 1] with no pattern the lanes could line up with.
            let vector = (0..<length).map { Float(sin(Double(round * 7919 + $0 * 104_729 + length))) }
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
