/*
 * knn.c — the CPU backend's exact k-nearest-neighbour search and max-norm
 * range counting (SPEC §5), in double, OpenMP across queries.
 *
 * Search.  Every query keeps a bounded max-heap of its k best (key, index)
 * pairs, ordered lexicographically, in its own rows of the outputs; keys
 * are squared Euclidean distances Σ (q_c − r_c)² or max-norm distances
 * max |q_c − r_c|, always from coordinate differences in double.  At the end
 * each heap is sorted: (distance, index) ascending, ties to the smaller index.
 *
 * Euclidean with d ≥ 8 selects candidates through OpenBLAS: per tile of
 * 1024 queries × 2048 references, G = Q̂ R̂ᵀ (dgemm, both centred on the
 * references' mean) gives D̃² = ‖q̂‖² + ‖r̂‖² − 2G.  A reference is skipped only
 * if D̃² − e > the heap's worst exact key, with
 *   e = (4d + 32) ε (‖q̂‖² + ‖r̂‖²)
 * covering the rounding of the centring, the GEMM, the norms and of the
 * exact sum itself, so no true neighbour is ever dropped; every reference
 * that may enter the heap gets its exact key from coordinate differences.
 * Memory beyond inputs and outputs: the centred copies and one 16 MiB tile.
 *
 * Range counting.  References are sorted by their first coordinate; the
 * points with |r_0 − q_0| < radius form one run of that order (rounding is
 * monotone), found by binary search, and only that run is scanned.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "knn.h"

ie_status ie__cpu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist);
ie_status ie__cpu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count);

enum { TQ = 1024, TR = 2048, GEMM_MIN_D = 9, KD_MAX_D = 8 };

/* ---- Brute force ------------------------------------------------------------------- */

static void knn_direct(const double *Q, int64_t m, const double *R, int64_t n, int64_t d,
                       int64_t k, int cheb, int self, int64_t *idx, double *dist) {
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t i = 0; i < m; i++) {
    double *hd = dist + (size_t)i * (size_t)k;
    int64_t *hi = idx + (size_t)i * (size_t)k, cnt = 0;
    const double *qi = Q + (size_t)i * (size_t)d;
    for (int64_t j = 0; j < n; j++) {
      if (self && j == i) continue;
      const double *rj = R + (size_t)j * (size_t)d;
      if (cnt < k) {
        ie__knn_offer(hd, hi, &cnt, k, cheb ? ie__knn_key_cheb(qi, rj, d) : ie__knn_key_euclid(qi, rj, d), j);
        continue;
      }
      /* The same key, abandoned as soon as it exceeds the heap's worst. */
      const double w = hd[0];
      double key = 0;
      int64_t c = 0;
      if (cheb)
        for (; c < d && key <= w; c++) {
          const double t = fabs(qi[c] - rj[c]);
          key = t > key ? t : key;
        }
      else
        for (; c < d && key <= w; c++) {
          const double t = qi[c] - rj[c];
          key += t * t;
        }
      if (key <= w) ie__knn_offer(hd, hi, &cnt, k, key, j);
    }
    ie__knn_finish(hd, hi, cnt, !cheb);
  }
}

/* ---- GEMM candidates, exact keys ------------------------------------------------------- */

static ie_status knn_gemm(ie_context *ctx, const double *Q, int64_t m, const double *R, int64_t n,
                          int64_t d, int64_t k, int self, int64_t *idx, double *dist) {
  const int same = Q == R && m == n;
  double *mu = calloc((size_t)d, sizeof *mu);
  double *Rc = malloc((size_t)n * (size_t)d * sizeof *Rc);
  double *Qc = same ? Rc : malloc((size_t)m * (size_t)d * sizeof *Qc);
  double *rn = malloc((size_t)n * sizeof *rn);
  double *qn = same ? rn : malloc((size_t)m * sizeof *qn);
  double *G = malloc((size_t)TQ * TR * sizeof *G);
  int64_t *cnt = malloc((size_t)TQ * sizeof *cnt);
  ie_status s = IE_OK;
  if (!mu || !Rc || !Qc || !rn || !qn || !G || !cnt) {
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "knn (cpu): no host memory for the GEMM tiles");
    goto done;
  }
  /* Centre on the references' mean: smaller norms, a smaller margin. */
  for (int64_t j = 0; j < n; j++)
    for (int64_t c = 0; c < d; c++) mu[c] += R[(size_t)j * (size_t)d + (size_t)c];
  for (int64_t c = 0; c < d; c++) mu[c] /= (double)n;
  for (int pass = 0; pass < (same ? 1 : 2); pass++) {
    const double *src = pass ? Q : R;
    double *dst = pass ? Qc : Rc, *nrm = pass ? qn : rn;
    const int64_t rows = pass ? m : n;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < rows; j++) {
      double sq = 0;
      for (int64_t c = 0; c < d; c++) {
        const double v = src[(size_t)j * (size_t)d + (size_t)c] - mu[c];
        dst[(size_t)j * (size_t)d + (size_t)c] = v;
        sq += v * v;
      }
      nrm[j] = sq;
    }
  }
  const double tol = (4.0 * (double)d + 32.0) * DBL_EPSILON;
  for (int64_t q0 = 0; q0 < m; q0 += TQ) {
    const int64_t bq = m - q0 < TQ ? m - q0 : TQ;
    for (int64_t i = 0; i < bq; i++) cnt[i] = 0;
    for (int64_t r0 = 0; r0 < n; r0 += TR) {
      const int64_t br = n - r0 < TR ? n - r0 : TR;
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)br, (int)d, 1.0,
                  Qc + (size_t)q0 * (size_t)d, (int)d, Rc + (size_t)r0 * (size_t)d, (int)d, 0.0, G,
                  (int)br);
#pragma omp parallel for schedule(dynamic, 8)
      for (int64_t ii = 0; ii < bq; ii++) {
        const int64_t i = q0 + ii;
        double *hd = dist + (size_t)i * (size_t)k;
        int64_t *hi = idx + (size_t)i * (size_t)k;
        const double *qi = Q + (size_t)i * (size_t)d, *g = G + (size_t)ii * (size_t)br;
        const double qni = qn[i];
        int64_t c = cnt[ii];
        for (int64_t jj = 0; jj < br; jj++) {
          const int64_t j = r0 + jj;
          if (self && j == i) continue;
          if (c >= k) {
            const double s2 = qni + rn[j];
            if (s2 - 2 * g[jj] - tol * s2 > hd[0]) continue; /* cannot enter the heap */
          }
          ie__knn_offer(hd, hi, &c, k, ie__knn_key_euclid(qi, R + (size_t)j * (size_t)d, d), j);
        }
        cnt[ii] = c;
      }
    }
#pragma omp parallel for schedule(static)
    for (int64_t ii = 0; ii < bq; ii++) {
      const int64_t i = q0 + ii;
      ie__knn_finish(dist + (size_t)i * (size_t)k, idx + (size_t)i * (size_t)k, cnt[ii], 1);
    }
  }
done:
  free(mu);
  free(Rc);
  if (!same) free(Qc);
  free(rn);
  if (!same) free(qn);
  free(G);
  free(cnt);
  return s;
}

ie_status ie__cpu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist) {
  if (q->dtype != IE_DT_F64 || r->dtype != IE_DT_F64 || q->stride != q->cols || r->stride != r->cols)
    return ie__error(ctx, IE_INTERNAL, "knn (cpu): expects compact float64 samples");
  const double *Q = (const double *)((const char *)q->buf + q->offset);
  const double *R = (const double *)((const char *)r->buf + r->offset);
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0 || k == 0) return IE_OK;
  if (d <= KD_MAX_D) {
    ie__kdtree *t = ie__kd_build(R, n, d);
    if (!t) return ie__error(ctx, IE_OUT_OF_MEMORY, "knn (cpu): no host memory for the k-d tree");
    ie__kd_knn(t, Q, m, k, metric == IE_METRIC_CHEBYSHEV, self, idx, dist);
    ie__kd_free(t);
    return IE_OK;
  }
  if (metric == IE_METRIC_EUCLIDEAN && d >= GEMM_MIN_D && n <= INT32_MAX && d <= INT32_MAX)
    return knn_gemm(ctx, Q, m, R, n, d, k, self, idx, dist);
  knn_direct(Q, m, R, n, d, k, metric == IE_METRIC_CHEBYSHEV, self, idx, dist);
  return IE_OK;
}

/* ---- Range counting --------------------------------------------------------------------- */

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* First position p of the sorted v[0 .. n) with v[p] − q0 > lim (strict) or
 * ≥ lim: v[p] − q0 is monotone in v[p], so the answers form a run. */
static int64_t first_above(const double *v, int64_t n, double q0, double lim, int strict) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    const double t = v[mid] - q0;
    if (strict ? t > lim : t >= lim) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

ie_status ie__cpu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count) {
  if (q->dtype != IE_DT_F64 || r->dtype != IE_DT_F64 || q->stride != q->cols || r->stride != r->cols)
    return ie__error(ctx, IE_INTERNAL, "range_count (cpu): expects compact float64 samples");
  const double *Q = (const double *)((const char *)q->buf + q->offset);
  const double *R = (const double *)((const char *)r->buf + r->offset);
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (d > 1) {
    ie__kdtree *t = ie__kd_build(R, n, d);
    if (!t) return ie__error(ctx, IE_OUT_OF_MEMORY, "range_count (cpu): no host memory for the k-d tree");
    ie__kd_range_count(t, Q, m, radius, self, count);
    ie__kd_free(t);
    return IE_OK;
  }
  /* One dimension: the points with |r − q| < radius are one run of the
   * sorted values, found by two binary searches; with self, row i itself
   * (at distance 0) is in that run. */
  double *v = ie__malloc((size_t)(n ? n : 1) * sizeof *v);
  if (!v) return ie__error(ctx, IE_OUT_OF_MEMORY, "range_count (cpu): no host memory");
  memcpy(v, R, (size_t)n * sizeof *v);
  qsort(v, (size_t)n, sizeof *v, by_value);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; i++) {
    const double rad = radius[i];
    int64_t c = 0;
    if (rad > 0) {
      const int64_t a = first_above(v, n, Q[i], -rad, 1);
      c = first_above(v, n, Q[i], rad, 0) - a - (self != 0);
    }
    count[i] = c;
  }
  free(v);
  return IE_OK;
}
