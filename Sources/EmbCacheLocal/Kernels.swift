import COpenBLAS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The encoder's arithmetic: matrix products through BLAS, everything else
// in plain float32 loops over raw pointers, which the optimiser vectorises.

/// y[rows, outputs] = x[rows, inputs] · Wᵀ + b, with W in PyTorch's
/// [outputs, inputs] layout.
func linear(
    _ x: UnsafePointer<Float>, rows: Int, inputs: Int, weight: FloatBuffer, bias: FloatBuffer, outputs: Int,
    into y: UnsafeMutablePointer<Float>
) {
    for row in 0..<rows { (y + row * outputs).update(from: bias.pointer, count: outputs) }
    cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1, x, Int32(inputs),
        weight.pointer, Int32(inputs), 1, y, Int32(outputs))
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
        var sum: Float = 0
        for i in 0..<width { sum += v[i] }
        let mean = sum / Float(width)
        var squares: Float = 0
        for i in 0..<width {
            let d = v[i] - mean
            squares += d * d
        }
        let scale = 1 / (squares / Float(width) + epsilon).squareRoot()
        for i in 0..<width { v[i] = (v[i] - mean) * scale * gamma[i] + beta[i] }
    }
}

/// The exact GELU, x·Φ(x), as PyTorch's default.
func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + erff(v * 0.707_106_77))
    }
}

/// Each row of a [rows, width] matrix becomes softmax of itself.
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    for row in 0..<rows {
        let v = x + row * width
        var largest = -Float.infinity
        for i in 0..<width { largest = max(largest, v[i]) }
        var sum: Float = 0
        for i in 0..<width {
            let e = expf(v[i] - largest)
            v[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<width { v[i] *= inverse }
    }
}

/// BLAS runs single-threaded: the provider spreads batches over the cores
/// itself, so every core also does the work between the products.
func useOneBLASThread() {
    openblas_set_num_threads(1)
}
