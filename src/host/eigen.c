/*
 * eigen.c — the host eigen step of the spectral measures (docs/SPEC.md §6),
 * shared by the CPU backend and the OpenCL backend: small sets by a
 * Householder reduction and LAPACK dsterf, larger ones by LAPACKE ?syevd.
 */
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "host.h"
#include "../threads.h"

/* Order up to which a set is reduced here and finished by LAPACK dsterf. */
#define IE__SMALL_EIG 64

/* Eigenvalues of one small symmetric m × m matrix (full storage, double,
 * overwritten) into w, ascending: the Householder reduction to tridiagonal
 * form that ?sytrd performs (A ← H A H, H = I − β v vᵀ, β = 2/vᵀv, as the
 * rank-2 update A − v uᵀ − u vᵀ with p = β A v, u = p − ½ β (pᵀv) v), then
 * LAPACK dsterf (Pal–Walker–Kahan QL/QR): what dsyevd does with jobz = 'N',
 * without a threaded BLAS call for each tiny Level-2 step.  e is m scratch. */
IE_CPU_CLONES static lapack_int small_eigvalsh(double *A, int64_t m, double *w, double *e,
                                              double *v, double *u) {
  for (int64_t k = 0; k + 2 < m; k++) {
    const int64_t t = m - k - 1; /* the trailing block is rows/cols k+1 .. m-1 */
    double xn = 0;
    for (int64_t i = 0; i < t; i++) {
      v[i] = A[(k + 1 + i) * m + k];
      xn += v[i] * v[i];
    }
    xn = sqrt(xn);
    w[k] = A[k * m + k];
    if (xn == 0) {
      e[k] = 0;
      continue;
    }
    const double alpha = v[0] > 0 ? -xn : xn;
    v[0] -= alpha;
    double vv = 0;
    for (int64_t i = 0; i < t; i++) vv += v[i] * v[i];
    e[k] = alpha;
    if (vv == 0) continue;
    const double beta = 2.0 / vv;
    double pv = 0;
    for (int64_t i = 0; i < t; i++) {
      const double *Ai = A + (k + 1 + i) * m + (k + 1);
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < t; j++) acc += Ai[j] * v[j];
      u[i] = beta * acc;
      pv += u[i] * v[i];
    }
    for (int64_t i = 0; i < t; i++) u[i] -= 0.5 * beta * pv * v[i];
    for (int64_t i = 0; i < t; i++) {
      double *Ai = A + (k + 1 + i) * m + (k + 1);
      const double vi = v[i], ui = u[i];
#pragma omp simd
      for (int64_t j = 0; j < t; j++) Ai[j] -= vi * u[j] + ui * v[j];
    }
  }
  if (m >= 2) {
    w[m - 2] = A[(m - 2) * m + (m - 2)];
    e[m - 2] = A[(m - 1) * m + (m - 2)];
  }
  w[m - 1] = A[(m - 1) * m + (m - 1)];
  return LAPACKE_dsterf_work((lapack_int)m, w, e); /* _work: no NaN scan of a finite input */
}

ie_status ie__host_eigvalsh(ie_context *ctx, const char *who, void *a,
                            ie_dtype dt, int64_t sets, int64_t m, double *w) {
  if (sets <= 0 || m <= 0) return IE_OK;
  if (m > INT32_MAX / 2)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: a %lld x %lld eigenproblem is too large for LAPACK",
                     who, (long long)m, (long long)m);
  const int f64 = dt == IE_DT_F64, small = m <= IE__SMALL_EIG;
  const size_t mm = (size_t)m * (size_t)m;
  lapack_int bad_info = 0;
  int64_t bad_set = -1;
  int oom = 0, stop = 0;
  /* Workspace of ?syevd with jobz = 'N': at least 2m + 1 (liwork = 1), but
   * the size its query returns, since with the minimum ?sytrd falls back to
   * its unblocked Level-2 reduction (2.5x slower than NumPy at m = 8000). */
  lapack_int lw = 2 * (lapack_int)m + 1;
  if (!small) {
    double q = 0;
    float qf = 0;
    lapack_int qi = 0;
    lapack_int info = f64 ? LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m, NULL,
                                                (lapack_int)m, NULL, &q, -1, &qi, -1)
                          : LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m, NULL,
                                                (lapack_int)m, NULL, &qf, -1, &qi, -1);
    const double opt = f64 ? q : qf;
    if (info == 0 && opt > lw && opt < (double)INT32_MAX) lw = (lapack_int)opt;
  }
  /* Small sets: one thread a set, no BLAS.  Large ones: one after another,
   * ?syevd with OpenBLAS's own threads. */
#pragma omp parallel if (sets > 1 && small) num_threads(ie__threads(ctx))
  {
    /* The small path's workspace: the matrix in double and three vectors. */
    lapack_int liw = 1, iw = 0;
    size_t words = small ? mm + 3 * (size_t)m : (size_t)lw + (f64 ? 0 : (size_t)m);
    double *work = ie__malloc(words * sizeof(double));
    if (!work) {
#pragma omp atomic write
      oom = 1;
    }
#pragma omp for schedule(dynamic, 16)
    for (int64_t s = 0; s < sets; s++) {
      if (!work || stop) continue;
      if (ie__cancelled(ctx)) {
#pragma omp atomic write
        stop = 1;
        continue;
      }
      lapack_int info;
      double *ws = w + (size_t)s * (size_t)m;
      if (small) {
        double *A = work + 3 * (size_t)m;
        if (f64) memcpy(A, (double *)a + (size_t)s * mm, mm * sizeof *A);
        else
          for (size_t i = 0; i < mm; i++) A[i] = ((float *)a)[(size_t)s * mm + i];
        info = small_eigvalsh(A, m, ws, work, work + m, work + 2 * (size_t)m);
      } else if (f64) {
        /* Both triangles are stored: column-major 'L' reads it in place. */
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m,
                                   (double *)a + (size_t)s * mm, (lapack_int)m, ws, work, lw,
                                   &iw, liw);
      } else {
        float *wf = (float *)(work + lw);
        info = LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m,
                                   (float *)a + (size_t)s * mm, (lapack_int)m, wf,
                                   (float *)work, lw, &iw, liw);
        for (int64_t i = 0; i < m; i++) ws[i] = wf[i];
      }
      if (info != 0) {
#pragma omp critical(ie_spectral_fail)
        if (bad_set < 0 || s < bad_set) {
          bad_set = s;
          bad_info = info;
        }
      }
    }
    free(work);
  }
  if (oom)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the eigensolver workspace", who);
  if (stop) return ie__cancel(ctx, who);
  if (bad_set >= 0)
    return ie__error(ctx, bad_info < 0 ? IE_INTERNAL : IE_BACKEND_FAILURE,
                     "%s: LAPACKE_%s failed on set %lld (%lld x %lld): info %d%s", who,
                     small ? "dsterf" : f64 ? "dsyevd" : "ssyevd", (long long)bad_set, (long long)m,
                     (long long)m, (int)bad_info,
                     bad_info > 0 ? " (did not converge)" : " (bad argument)");
  return IE_OK;
}
