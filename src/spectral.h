/*
 * spectral.h — PRIVATE: the host LAPACK eigen step of the spectral measures
 * (docs/SPEC.md §6), shared by the CPU backend and the OpenCL backend (which, as
 * MAGMA does, solves small dense eigenproblems on the host).
 */
#ifndef IE_SPECTRAL_H
#define IE_SPECTRAL_H

#include "backend.h"

/* Eigenvalues of `sets` symmetric m × m row-major matrices at host address
 * `a` (dtype F32 or F64; overwritten) into w (sets·m doubles, ascending per
 * set).  Sets of order <= 64: a Householder reduction to tridiagonal form
 * and LAPACK dsterf (dsyevd's own steps, without a threaded BLAS call for
 * each tiny step), one OpenMP thread a set; larger ones: LAPACKE dsyevd or
 * ssyevd, one after another.  `who` names the backend in messages.  A set on which LAPACK reports failure gives
 * IE_BACKEND_FAILURE naming the routine, the set and LAPACK's info. */
ie_status ie__host_eigvalsh(ie_context *ctx, const char *who, void *a,
                            ie_dtype dt, int64_t sets, int64_t m, double *w);

#endif
