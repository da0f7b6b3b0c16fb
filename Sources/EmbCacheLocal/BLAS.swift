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
///
/// OpenBLAS picks its kernels for the CPU when it is loaded, unless
/// `OPENBLAS_CORETYPE` names others. Machines set that variable to protect
/// older OpenBLAS builds (numpy's wheels, say) from their bugs, and
/// Debian's OpenBLAS then runs the encoder on kernels of an older CPU: on
/// a Zen 3 a run took 1.2× as long with Sandybridge's and 3.5× with
/// Prescott's, and 1.7 to 2.4× on a machine with AVX-512 whose variables
/// named Haswell's. The default library is therefore loaded
/// with the variable out of its sight; a library named by `EMBCACHE_BLAS`
/// sees the environment as it is.
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
    /// OpenBLAS's name for the kernels it runs ("Zen", "SkylakeX"), nil
    /// for a library that does not say.
    let kernels: String?

    /// The library and its kernels, as `--verbose` prints them.
    var description: String {
        library + (kernels.map { ", \($0) kernels" } ?? "")
    }

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
        let opened =
            environment.isEmpty
            ? withoutCoreType { dlopen(library, RTLD_NOW | RTLD_LOCAL) } : dlopen(library, RTLD_NOW | RTLD_LOCAL)
        guard let handle = opened else {
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
        let kernels = dlsym(handle, "openblas_get_corename").flatMap {
            unsafeBitCast($0, to: (@convention(c) () -> UnsafePointer<CChar>?).self)().map { String(cString: $0) }
        }
        return .success(BLAS(library: library, sgemm: unsafeBitCast(sgemm, to: SGEMM.self), kernels: kernels))
    }()

    /// Runs `body` with OPENBLAS_CORETYPE out of getenv's sight: its slot
    /// in `environ` points at a string that names no variable, and is put
    /// back after. One aligned pointer store each way, so a thread reading
    /// the environment meanwhile sees every other variable where it was
    /// (unsetenv and setenv would move or reallocate the array under it).
    /// Only the load in `body` misses the variable; the environment that
    /// child processes get afterwards is unchanged. embcache itself never
    /// calls setenv, which could reallocate the array meanwhile; the one
    /// load happens once per process.
    private static func withoutCoreType<T>(_ body: () -> T) -> T {
        let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard let entries = table else { return body() }
        var moved: [(Int, UnsafeMutablePointer<CChar>)] = []
        var index = 0
        while let entry = entries[index] {
            if strncmp(entry, "OPENBLAS_CORETYPE=", 18) == 0 {
                moved.append((index, entry))
                entries[index] = hidden
            }
            index += 1
        }
        defer { for (index, entry) in moved { entries[index] = entry } }
        return body()
    }

    /// No "=": getenv matches no name with it. Written once, never freed.
    nonisolated(unsafe) private static let hidden = strdup("EMBCACHE_HIDDEN_OPENBLAS_CORETYPE")
}
