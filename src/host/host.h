/*
 * host.h — PRIVATE: host code below the dispatcher and every backend.
 *
 * src/host/ is compiled into the core library (dispatcher + CPU backend) and,
 * as its own hidden copy, into each backend module (libinfoest-cuda.so,
 * libinfoest-opencl.so), so that a module never calls up into the core: the
 * error recorder, the dtype helpers and the host numerics that the CPU and
 * OpenCL backends share (the LAPACK eigen step).  Every name here is
 * `ie__`-internal and hidden; a module exports only its entry symbol.
 *
 * The declarations of ie__error, ie__cancelled, ie__cancel, ie__dtype_size
 * and ie__dtype_name are in src/backend.h (the services a backend may use);
 * their definitions are in src/host/error.c and src/host/dtype.c.
 */
#ifndef IE_HOST_H
#define IE_HOST_H

#include <stdlib.h>

#include "../backend.h"

/* ---- Fault injection (test builds only) ------------------------------------
 * With -DIE_FAULT_INJECTION (CMake IE_FAULT_INJECTION=ON, the core library
 * only) every host allocation of the dispatcher and of the host code, and
 * every backend call made through the dispatcher's helpers (src/internal.h),
 * passes ie__fault() (src/fault.c), which fails the n-th one armed by
 * ie_testing_fail_after (include/infoest_testing.h).  In normal builds, and
 * always in the modules, ie__fault() is the constant 0. */
#ifdef IE_FAULT_INJECTION
int ie__fault(void);
#else
#define ie__fault() 0
#endif

static inline void *ie__malloc(size_t n) { return ie__fault() ? NULL : malloc(n); }
static inline void *ie__calloc(size_t n, size_t size) {
  return ie__fault() ? NULL : calloc(n, size);
}

/* Hot host functions are built twice, for x86-64-v3 (AVX2, FMA) and for the
 * baseline, and picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define IE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define IE_CPU_CLONES
#endif

/* Widen one stored element of dtype t to double. */
double ie__load_double(const void *p, ie_dtype t);

/* Eigenvalues of `sets` symmetric m × m row-major matrices at host address
 * `a` (dtype F32 or F64; overwritten) into w (sets·m doubles, ascending per
 * set), for the CPU backend and the OpenCL backend (which, as MAGMA does,
 * solves small dense eigenproblems on the host).  Sets of order <= 64: a
 * Householder reduction to tridiagonal form and LAPACK dsterf (dsyevd's own
 * steps, without a threaded BLAS call for each tiny step), one OpenMP thread
 * a set; larger ones: LAPACKE dsyevd or ssyevd, one after another.  `who`
 * names the backend in messages.  A set on which LAPACK reports failure
 * gives IE_BACKEND_FAILURE naming the routine, the set and LAPACK's info. */
ie_status ie__host_eigvalsh(ie_context *ctx, const char *who, void *a,
                            ie_dtype dt, int64_t sets, int64_t m, double *w);

/* out[i·ldo + j] = Σ_t y[i·ys + t]·ct[t·ldc + j] for i < rows, j < cols (a
 * multiple of 16; ct holds the centres transposed, zero in the padding):
 * each a float chain over t in order (fused where the CPU has FMA), the
 * same for a pair wherever it falls in the block (src/host/dots.c). */
void ie__dots_f32(const float *y, size_t ys, int64_t rows, int64_t r, const float *ct, size_t ldc, int64_t cols,
                  float *out, size_t ldo);
/* The same chains for one row y against strips[0 .. count) of 16 columns
 * each (strip s: columns 16s .. 16s + 15 of ct): out is count × 16. */
void ie__dots_f32_strips(const float *y, int64_t r, const float *ct, size_t ldc, const int32_t *strips,
                         int64_t count, float *out);

#endif
