/*
 * spectral.c — the CPU backend's similarity matrices for the spectral
 * measures (docs/SPEC.md §6), in float64: OpenBLAS dsyrk for the Gram of a large set,
 * plain loops with OpenMP across sets for batches of small ones.  The eigen
 * step is the shared host LAPACK one (src/spectral.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "../backend.h"
#include "../host/host.h"
#include "../kernels/spectral_terms.h"
#include "../threads.h"
#include "convert.h"
#include "vmath.h"

ie_status ie__cpu_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                       double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                       ie_rowerr *err, double *dev);
ie_status ie__cpu_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w);

/* Row r of x, widened to double. */
static void load_row(const ie_mat *x, int64_t r, double *dst) {
  const char *p = (const char *)x->buf + x->offset;
  const int64_t c = x->cols;
  switch (x->dtype) {
  case IE_DT_F64: memcpy(dst, (const double *)p + r * x->stride, (size_t)c * sizeof *dst); break;
  case IE_DT_F32: {
    const float *s = (const float *)p + r * x->stride;
    for (int64_t i = 0; i < c; i++) dst[i] = s[i];
  } break;
  case IE_DT_F16: {
    const uint16_t *s = (const uint16_t *)p + r * x->stride;
    for (int64_t i = 0; i < c; i++) dst[i] = ie__half_to_float(s[i]);
  } break;
  case IE_DT_BF16: {
    const uint16_t *s = (const uint16_t *)p + r * x->stride;
    for (int64_t i = 0; i < c; i++) dst[i] = ie__bf16_to_float(s[i]);
  } break;
  default:
    for (int64_t i = 0; i < c; i++) dst[i] = NAN;
  }
}

/* out[i, j] (= or ∘=) v, in the working dtype. */
static inline void put(void *out, ie_dtype dt, size_t at, double v, int mul) {
  if (dt == IE_DT_F64) {
    double *o = (double *)out + at;
    *o = mul ? *o * v : v;
  } else {
    float *o = (float *)out + at;
    *o = mul ? (float)((double)*o * v) : (float)v;
  }
}

typedef struct {
  const ie_mat *x;
  ie_kernel kernel;
  double gamma, scale;
  int dual, mul, blas;
  ie_dtype dt;
  int64_t n, d, m;
  void *out;
  ie_rowerr *err;
  double *dev;
} gram_job;

/* G (m × m, full) = X Xᵀ (primal, X n × d) or Xᵀ X (dual). */
IE_INLINE void gram_product(const gram_job *j, const double *X, double *G) {
  const int64_t n = j->n, d = j->d, m = j->m;
  if (j->blas) {
    if (j->dual)
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)n, 1.0, X, (int)d, 0.0, G, (int)m);
    else
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)d, 1.0, X, (int)d, 0.0, G, (int)m);
  } else if (j->dual) {
    memset(G, 0, (size_t)(m * m) * sizeof *G);
    for (int64_t r = 0; r < n; r++)
      for (int64_t a = 0; a < d; a++) {
        const double xa = X[r * d + a];
        for (int64_t b = 0; b <= a; b++) G[a * m + b] += xa * X[r * d + b];
      }
  } else {
    for (int64_t a = 0; a < n; a++)
      for (int64_t b = 0; b <= a; b++) {
        const double *xa = X + a * d, *xb = X + b * d;
        double s = 0;
        /* vectorised (lanes summed at the end): a strict left-to-right sum
         * would leave this loop one FMA latency an element */
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < d; k++) s += xa[k] * xb[k];
        G[a * m + b] = s;
      }
  }
  for (int64_t a = 0; a < m; a++) /* the upper triangle from the lower */
    for (int64_t b = a + 1; b < m; b++) G[a * m + b] = G[b * m + a];
}

/* One set: X holds n × d (or the n × n given K), G m × m scratch.  Built
 * for AVX2 too (IE_CPU_CLONES): small sets spend their time in its loops. */
IE_CPU_CLONES static void gram_set(const gram_job *j, int64_t s, double *X, double *G, double *sq) {
  const int64_t n = j->n, d = j->d, m = j->m, r0 = s * n;
  const size_t base = (size_t)s * (size_t)m * (size_t)m;
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    double *row = X + i * d, q = 0;
    load_row(j->x, r0 + i, row);
    int nonfinite = 0;
#pragma omp simd reduction(+ : q) reduction(| : nonfinite)
    for (int64_t k = 0; k < d; k++) {
      nonfinite |= !(row[k] - row[k] == 0); /* NaN or ±inf */
      q += row[k] * row[k];
    }
    if (nonfinite) j->err[r0 + i] = IE_ROW_NONFINITE;
    else if (j->kernel == IE_KERNEL_COSINE && !(q > 0)) j->err[r0 + i] = IE_ROW_EMPTY;
    bad |= j->err[r0 + i] != 0;
    sq[i] = q;
  }
  if (bad) return;

  if (j->kernel == IE_KERNEL_PRECOMPUTED) {
    /* Symmetric part ½(K + Kᵀ), scaled; each row's distance from symmetry
     * and from a unit diagonal. */
    for (int64_t a = 0; a < n; a++) {
      double dv = fabs(X[a * n + a] - 1);
      for (int64_t b = 0; b < n; b++) {
        double kab = X[a * n + b], kba = X[b * n + a];
        dv = fmax(dv, fabs(kab - kba));
        put(j->out, j->dt, base + (size_t)(a * m + b), spec_given_value(j->scale, kab, kba), j->mul);
      }
      j->dev[r0 + a] = dv;
    }
    return;
  }
  if (j->kernel == IE_KERNEL_COSINE) /* x̂ = x / ‖x‖ */
    for (int64_t i = 0; i < n; i++) {
      const double inv = 1.0 / sqrt(sq[i]);
      for (int64_t k = 0; k < d; k++) X[i * d + k] *= inv;
    }
  gram_product(j, X, G);
  const int rbf = j->kernel == IE_KERNEL_RBF;
  for (int64_t a = 0; a < m; a++)
    for (int64_t b = 0; b < m; b++) {
      const double v = spec_kernel_value(rbf, j->dual, a == b, G[a * m + b], rbf ? sq[a] : 0,
                                         rbf ? sq[b] : 0, j->gamma);
      put(j->out, j->dt, base + (size_t)(a * m + b), j->scale * v, j->mul);
    }
}

ie_status ie__cpu_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                       double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                       ie_rowerr *err, double *dev) {
  if (sets <= 0) return IE_OK;
  gram_job j = {x, kernel, gamma, scale, dual, mul, 0, dt, x->rows / sets, x->cols, 0, out, err, dev};
  j.m = dual ? j.d : j.n;
  const int64_t inner = dual ? j.n : j.d;
  /* A large set goes to BLAS (its own threads), one set after another;
   * small sets run one a thread. */
  j.blas = (double)j.m * (double)j.m * (double)inner > 1e6 && kernel != IE_KERNEL_PRECOMPUTED &&
           j.n < INT32_MAX && j.d < INT32_MAX;
  const size_t nx = (size_t)(j.n * j.d), ng = (size_t)(j.m * j.m), nsq = (size_t)j.n;
  int oom = 0, stop = 0;
#pragma omp parallel if (sets > 1 && !j.blas) num_threads(ie__threads(ctx))
  {
    double *X = malloc((nx + ng + nsq) * sizeof *X);
    if (!X) {
#pragma omp atomic write
      oom = 1;
    }
#pragma omp for schedule(dynamic, 8)
    for (int64_t s = 0; s < sets; s++) {
      if (!X) continue;
      if (ie__cancelled(ctx)) { /* a set at a time */
#pragma omp atomic write
        stop = 1;
        continue;
      }
      gram_set(&j, s, X, X + nx, X + nx + ng);
    }
    free(X);
  }
  if (oom)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "cpu: no host memory for a %lld x %lld similarity matrix",
                     (long long)j.m, (long long)j.m);
  if (stop) return ie__cancel(ctx, "cpu");
  return IE_OK;
}

ie_status ie__cpu_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w) {
  return ie__host_eigvalsh(ctx, "cpu", a, dt, sets, m, w);
}
