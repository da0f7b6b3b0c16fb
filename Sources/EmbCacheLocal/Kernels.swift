import CEmbCacheKernels
import Glibc

// The encoder's arithmetic: matrix products through BLAS, everything else
// in plain float32 loops over raw pointers, which the optimiser vectorises.

extension BLAS {
    /// y[rows, outputs] = x[rows, inputs] · Wᵀ + b, with W in PyTorch's
    /// [outputs, inputs] layout.
    func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs: Int, weight: FloatBuffer, bias: FloatBuffer, outputs: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        for row in 0..<rows { (y + row * outputs).update(from: bias.pointer, count: outputs) }
        sgemm(
            Self.rowMajor, Self.noTranspose, Self.transpose, Int32(rows), Int32(outputs), Int32(inputs), 1, x,
            Int32(inputs), weight.pointer, Int32(inputs), 1, y, Int32(outputs))
    }
}

/// x = LayerNorm(x + residual) row by row, over `width` columns, with the
/// biased variance, as PyTorch.
func addAndNormalize(
    _ x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, width: Int, weight: FloatBuffer,
    bias: FloatBuffer, epsilon: Float
) {
    let gamma = weight.pointer
    let beta = bias.pointer
    for row in 0..<rows {
        let v = x + row * width
        if let residual {
            let r = residual + row * width
            for i in 0..<width { v[i] += r[i] }
        }
        let mean = sum(v, count: width) / Float(width)
        for i in 0..<width { v[i] -= mean }
        let scale = 1 / (sumOfSquares(v, count: width) / Float(width) + epsilon).squareRoot()
        for i in 0..<width { v[i] = v[i] * scale * gamma[i] + beta[i] }
    }
}

/// Sums in eight lanes: a single accumulator would keep the loop scalar,
/// since float addition may not be reordered by the optimiser.
func sum(_ v: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    let raw = UnsafeRawPointer(v)
    var i = 0
    while i + 8 <= count {
        lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        total += v[i]
        i += 1
    }
    return total
}

func sumOfSquares(_ v: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    let raw = UnsafeRawPointer(v)
    var i = 0
    while i + 8 <= count {
        let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        lanes += x * x
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        total += v[i] * v[i]
        i += 1
    }
    return total
}

/// e^x in float32 without a library call, so loops over it vectorise:
/// x = k·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts, so r is exact),
/// e^r by its Taylor polynomial to r⁷ (relative error under 1e-8), 2^k
/// built in the exponent bits. Inputs are clamped to where e^x is a
/// normal float.
@inline(__always)
func exponential(_ x: Float) -> Float {
    let clamped = x < -87 ? -87 : (x > 88 ? 88 : x)
    // Adding 1.5·2²³ rounds to the nearest integer, which lands in the
    // low bits of the sum.
    let shifted = clamped * 1.442_695_04 + 12_582_912
    let k = shifted - 12_582_912
    let r = clamped - k * 0.693_145_751_953_125 - k * 1.428_606_765_330_187e-6
    var p: Float = 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let exponent = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    return p * Float(bitPattern: UInt32(bitPattern: (exponent &+ 127) &<< 23))
}

/// Whether this CPU runs the C kernels built for AVX2 and FMA.
let hasAVX2FMA = embcache_kernels_have_avx2_fma() != 0

/// GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), as PyTorch's default (not the tanh
/// form). erf by Abramowitz and Stegun 7.1.26 (absolute error under
/// 1.5e-7), with 1 + erf taken directly for negative x, where subtracting
/// would cancel. The same formula runs in C, eight floats at a time, where
/// the CPU has AVX2 and FMA.
func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, vectorised: Bool = hasAVX2FMA) {
    if vectorised {
        embcache_gelu_avx2_fma(x, count)
        return
    }
    for i in 0..<count {
        let v = x[i]
        let z = v * 0.707_106_77
        let a = z.magnitude
        let t = 1 / (1 + 0.327_591_1 * a)
        var p: Float = 1.061_405_429
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        let tail = p * t * exponential(-a * a)  // 1 - erf(|z|)
        let onePlusErf = z < 0 ? tail : 2 - tail
        x[i] = 0.5 * v * onePlusErf
    }
}

/// Each row of a [rows, width] matrix becomes softmax of itself.
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    for row in 0..<rows {
        let v = x + row * width
        var largest = -Float.infinity
        for i in 0..<width { largest = v[i] > largest ? v[i] : largest }
        for i in 0..<width { v[i] = exponential(v[i] - largest) }
        let inverse = 1 / sum(v, count: width)
        for i in 0..<width { v[i] *= inverse }
    }
}
