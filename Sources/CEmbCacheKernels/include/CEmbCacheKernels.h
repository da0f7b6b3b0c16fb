#ifndef CEMBCACHE_KERNELS_H
#define CEMBCACHE_KERNELS_H

#include <stddef.h>

/// Whether this CPU runs the AVX2 and FMA kernels below (x86-64 only;
/// elsewhere 0, and the Swift loops are used).
int embcache_kernels_have_avx2_fma(void);

/// GELU in place, x·Φ(x), with the Swift kernel's formula (Abramowitz and
/// Stegun 7.1.26 for erf, e^x by range reduction and a degree-7
/// polynomial), eight floats at a time with fused multiply-adds. Call only
/// when embcache_kernels_have_avx2_fma() is 1.
void embcache_gelu_avx2_fma(float *x, size_t count);

#endif
