import Foundation
import Testing

@testable import EmbCacheLocal

/// The float32 approximations the encoder uses in place of libm, against
/// double-precision references, over the range activations take and past
/// it.
@Suite struct KernelTests {
    @Test func exponentialIsWithinTwoUlpsOfExp() {
        var worst = 0.0
        var x = -87.0
        while x <= 88 {
            let want = Foundation.exp(Double(Float(x)))
            let got = Double(exponential(Float(x)))
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        #expect(worst < 2.5e-7, "largest relative error \(worst)")
        #expect(exponential(-1000) >= 0 && exponential(-1000) < 1e-37)
        #expect(exponential(0) == 1)
    }

    /// Both kernels: the Swift loop, and the C one for AVX2 and FMA where
    /// this CPU has them.
    static let geluKernels = hasAVX2FMA ? [false, true] : [false]

    @Test(arguments: geluKernels)
    func geluIsWithinAFewMillionthsOfTheExactOne(vectorised: Bool) {
        var values: [Float] = []
        var x: Float = -12
        while x <= 12 {
            values.append(x)
            x += 0.00097
        }
        var output = values
        output.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: $0.count, vectorised: vectorised) }
        var worst = 0.0
        for (x, got) in zip(values, output) {
            let v = Double(x)
            let want = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            worst = max(worst, abs(Double(got) - want) / max(1, abs(v)))
        }
        #expect(worst < 3e-7, "largest error \(worst)")
    }

    /// The C kernel's last few floats (a masked load and store) are
    /// computed like the rest, and nothing past the count is touched.
    @Test(.enabled(if: hasAVX2FMA), arguments: [1, 7, 8, 9, 15, 16, 17, 384 * 3 + 5])
    func theVectorisedGeluEndsWhereTheCountEnds(count: Int) {
        let values = (0..<count + 8).map { Float($0 % 23) * 0.37 - 4 }
        var swift = values
        var c = values
        swift.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: count, vectorised: false) }
        c.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: count, vectorised: true) }
        for i in 0..<count { #expect(abs(c[i] - swift[i]) <= 3e-7 * max(1, abs(values[i])), "at \(i)") }
        #expect(c[count...] == values[count...])
    }

    @Test func softmaxRowsSumToOneAndKeepOrder() {
        var rows: [Float] = [1, 2, 3, -50, 0, 50, 7, 7, 7]
        rows.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: 3, width: 3) }
        for row in 0..<3 {
            let sum = rows[(row * 3)..<(row * 3 + 3)].reduce(0, +)
            #expect(abs(sum - 1) < 1e-6)
        }
        let e = [1.0, exp(1.0), exp(2.0)]
        for i in 0..<3 { #expect(abs(Double(rows[i]) - e[i] / e.reduce(0, +)) < 1e-7) }
        #expect(rows[5] > 0.999_999 && rows[3] < 1e-37)
        #expect(rows[6] == rows[7] && abs(rows[6] - 1.0 / 3) < 1e-7)
    }

    @Test func packsAreContiguousUnderTheBudgetAndCoverEveryText() {
        let lengths = (0..<300).map { 300 - $0 }
        let packs = LocalProvider.packs(lengths, cores: 2)
        #expect(packs.first?.lowerBound == 0 && packs.last?.upperBound == 300)
        for (a, b) in zip(packs, packs.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        #expect(packs.allSatisfy { $0.count == 1 || lengths[$0].reduce(0, +) <= LocalProvider.packTokens })
        #expect(packs.count >= 4)
        #expect(LocalProvider.packs([5000], cores: 2) == [0..<1])
    }
}
