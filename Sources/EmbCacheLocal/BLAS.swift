import EmbCacheCore
import Glibc

/// The BLAS library the local provider multiplies with, loaded when the
/// first local model is, not when embcache starts. OpenBLAS starts a thread
/// per core as soon as it is loaded, and those threads spin on
/// `sched_yield` before they sleep: linked in, they cost every run of the
/// filter about 3% of its CPU time on two cores (more on a machine with
/// more), though only `--provider local` ever multiplies a matrix. Loaded
/// here, a machine that never runs a local model needs no OpenBLAS at all.
///
/// `EMBCACHE_BLAS` names another library with the CBLAS interface (a path,
/// or a name the dynamic loader finds); OpenBLAS's thread setting is used
/// when the library has it.
struct BLAS: @unchecked Sendable {
    typealias SGEMM =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
            Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void

    /// CBLAS's own values for these enumerations, the same in every
    /// implementation.
    static let rowMajor: Int32 = 101
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112

    static let defaultLibrary = "libopenblas.so.0"

    let library: String
    let sgemm: SGEMM

    /// The library, loaded once per process; the same error every time when
    /// it cannot be.
    static func shared() throws(EmbCacheError) -> BLAS {
        switch loaded {
        case .success(let blas): return blas
        case .failure(let error): throw error
        }
    }

    private static let loaded: Result<BLAS, EmbCacheError> = {
        let environment = getenv("EMBCACHE_BLAS").map { String(cString: $0) } ?? ""
        let library = environment.isEmpty ? defaultLibrary : environment
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "cannot be loaded"
            let hint =
                environment.isEmpty
                ? "; on Debian or Ubuntu: apt-get install libopenblas0" : " (named by EMBCACHE_BLAS)"
            return .failure(.configuration("the local provider needs a BLAS library: \(reason)\(hint)"))
        }
        guard let sgemm = dlsym(handle, "cblas_sgemm") else {
            return .failure(.configuration("the local provider needs cblas_sgemm, which \(library) does not have"))
        }
        // The provider spreads packs over the cores itself: each product
        // runs on the core that asked for it.
        if let setThreads = dlsym(handle, "openblas_set_num_threads") {
            unsafeBitCast(setThreads, to: (@convention(c) (Int32) -> Void).self)(1)
        }
        return .success(BLAS(library: library, sgemm: unsafeBitCast(sgemm, to: SGEMM.self)))
    }()
}
