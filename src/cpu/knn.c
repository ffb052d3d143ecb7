/*
 * knn.c — the CPU backend's exact k-nearest-neighbour search and max-norm
 * range counting (docs/SPEC.md §5), in double, OpenMP across queries.
 *
 * Search.  Every query keeps a bounded max-heap of its k best (key, index)
 * pairs, ordered lexicographically, in its own rows of the outputs; keys
 * are squared Euclidean distances Σ (q_c − r_c)² or max-norm distances
 * max |q_c − r_c|, always from coordinate differences in double.  At the end
 * each heap is sorted: (distance, index) ascending, ties to the smaller index.
 *
 * Three searches, by dimension and metric:
 *  - d ≤ 8, either metric: the k-d tree of kdtree.c;
 *  - Euclidean, d > 8: candidates from float32 dot products of points
 *    centred on the references' mean, in a register-blocked kernel of ours
 *    fused with the test (knn_gemm below: the rounding margin there never
 *    drops a true neighbour); every reference that may enter the heap gets
 *    its exact key from coordinate differences.  Memory beyond inputs and
 *    outputs: float copies of the points and a few values a row.
 *  - Chebyshev, d > 8: brute force, each key abandoned once above the worst.
 *
 * Range counting.  d = 1: the points strictly inside form one run of the
 * sorted values (rounding is monotone), bounded by two binary searches a
 * query, galloping out from the query's own place when it is a reference;
 * d ≥ 2: the k-d tree.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"
#include "../threads.h"
#include "vmath.h"

ie_status ie__cpu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist);
ie_status ie__cpu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count);

enum { GEMM_MIN_D = 9, KD_MAX_D = 8 };

/* ---- Brute force ------------------------------------------------------------------- */

/* In a parallel loop: 1 (and *stop set) once the caller cancels. */
static inline int knn_cancelled(const ie_context *ctx, int *stop) {
  if (!ie__cancelled(ctx)) return 0;
#pragma omp atomic write
  *stop = 1;
  return 1;
}

/* Returns 1 when cancelled (results incomplete). */
static int knn_direct(const ie_context *ctx, const double *Q, int64_t m, const double *R, int64_t n,
                      int64_t d, int64_t k, int cheb, int self, int64_t *idx, double *dist) {
  int stop = 0;
#pragma omp parallel for schedule(dynamic, 8) num_threads(ie__threads(ctx))
  for (int64_t i = 0; i < m; i++) {
    if (knn_cancelled(ctx, &stop)) continue;
    double *hd = dist + (size_t)i * (size_t)k;
    int64_t *hi = idx + (size_t)i * (size_t)k, cnt = 0;
    const double *qi = Q + (size_t)i * (size_t)d;
    for (int64_t j = 0; j < n; j++) {
      if (self && j == i) continue;
      const double *rj = R + (size_t)j * (size_t)d;
      if (cnt < k) {
        knn_offer(hd, hi, &cnt, k, cheb ? ie__knn_key_cheb(qi, rj, d) : ie__knn_key_euclid(qi, rj, d), j);
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
      if (key <= w) knn_offer(hd, hi, &cnt, k, key, j);
    }
    knn_heap_finish(hd, hi, cnt, !cheb);
  }
  return stop;
}

/* ---- Float32 candidates, exact keys ---------------------------------------------------- */

/* The candidate pass is a register-blocked float32 GEMM of our own (MR
 * queries × NR references per step, the references packed d × NR) fused
 * with the test of the bound, so that the m × n products never reach
 * memory; a step whose MR·NR bounds all exceed their queries' thresholds
 * costs one vector comparison per row. */
enum { MR = 6, NR = 16, RCH = 1024, QB = 384 };

typedef float v8f __attribute__((vector_size(32)));
typedef float v8f_u __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32)));

typedef struct {
  const double *Q, *R;
  const float *Qf, *Rp, *rc; /* float queries (m × d), packed references, (1 − tol)‖b‖² */
  const double *qn;
  int64_t m, n, d, k;
  int self;
  double tol1, slack;
  float *thr; /* per query */
  int64_t *cnt, *idx;
  double *dist;
} fused;

/* Query i's threshold: worst key − (1 − tol)‖a‖² + slack, rounded up to
 * float; +inf while its heap is not full. */
static inline float threshold(const fused *f, int64_t i) {
  if (f->cnt[i] < f->k) return INFINITY;
  const double t = f->dist[(size_t)i * (size_t)f->k] - f->tol1 * f->qn[i] + f->slack;
  float h = (float)t;
  if ((double)h < t) h = nextafterf(h, INFINITY); /* round up: skip less */
  return h;
}

/* Queries [i0, i1) against all references. */
IE_CPU_CLONES static void fused_block(const fused *f, int64_t i0, int64_t i1) {
  const int64_t d = f->d, n = f->n, k = f->k;
  float qa[MR * 128];
  for (int64_t j0 = 0; j0 < n; j0 += RCH) {
    const int64_t j1 = n - j0 < RCH ? n : j0 + RCH;
    for (int64_t g = i0; g < i1; g += MR) {
      const int64_t mr = i1 - g < MR ? i1 - g : MR;
      const float *a = f->Qf + (size_t)g * (size_t)d;
      if (mr < MR || d > 128) {
        /* A short group: pad with zero rows (never read back). */
        if (d <= 128) {
          memset(qa, 0, sizeof qa);
          memcpy(qa, a, (size_t)mr * (size_t)d * sizeof *qa);
          a = qa;
        }
      }
      float thr[MR];
      for (int r = 0; r < MR; r++) thr[r] = r < mr ? f->thr[g + r] : -INFINITY;
      for (int64_t p0 = j0; p0 < j1; p0 += NR) {
        const float *pp = f->Rp + (size_t)(p0 / NR) * (size_t)d * NR;
        v8f acc[MR][2];
        for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = (v8f){0};
        if (a == qa || mr == MR) {
          for (int64_t c = 0; c < d; c++) {
            const v8f b0 = *(const v8f_u *)(pp + c * NR), b1 = *(const v8f_u *)(pp + c * NR + 8);
            for (int r = 0; r < MR; r++) {
              const float ar = a[(size_t)r * (size_t)d + (size_t)c];
              acc[r][0] += ar * b0;
              acc[r][1] += ar * b1;
            }
          }
        } else { /* d > 128 with a short group: rows < mr only */
          for (int64_t c = 0; c < d; c++) {
            const v8f b0 = *(const v8f_u *)(pp + c * NR), b1 = *(const v8f_u *)(pp + c * NR + 8);
            for (int r = 0; r < mr; r++) {
              const float ar = a[(size_t)r * (size_t)d + (size_t)c];
              acc[r][0] += ar * b0;
              acc[r][1] += ar * b1;
            }
          }
        }
        const v8f rc0 = *(const v8f_u *)(f->rc + p0), rc1 = *(const v8f_u *)(f->rc + p0 + 8);
        v8i any = {0};
        for (int r = 0; r < MR; r++) {
          any |= (rc0 - 2 * acc[r][0] <= thr[r]) | (rc1 - 2 * acc[r][1] <= thr[r]);
        }
        int hit = 0;
        for (int t = 0; t < 8; t++) hit |= any[t];
        if (!hit) continue;
        for (int r = 0; r < mr; r++) {
          const int64_t i = g + r;
          const double *qi = f->Q + (size_t)i * (size_t)d;
          double *hd = f->dist + (size_t)i * (size_t)k;
          int64_t *hi = f->idx + (size_t)i * (size_t)k;
          for (int t = 0; t < NR; t++) {
            const int64_t j = p0 + t;
            const float v = f->rc[j] - 2 * acc[r][t >> 3][t & 7];
            if (!(v <= thr[r]) || j >= n || (f->self && j == i)) continue;
            const double key = ie__knn_key_euclid(qi, f->R + (size_t)j * (size_t)d, d);
            if (f->cnt[i] >= k && !(key <= hd[0])) continue;
            knn_offer(hd, hi, &f->cnt[i], k, key, j);
            thr[r] = threshold(f, i);
          }
        }
      }
      for (int r = 0; r < mr; r++) f->thr[g + r] = thr[r];
    }
  }
}

static ie_status knn_gemm(ie_context *ctx, const double *Q, int64_t m, const double *R, int64_t n,
                          int64_t d, int64_t k, int self, int64_t *idx, double *dist) {
  const int64_t np = (n + NR - 1) / NR * NR; /* references padded to whole panels */
  double *mu = calloc((size_t)d, sizeof *mu);
  float *Qf = ie__malloc((size_t)m * (size_t)d * sizeof *Qf);
  float *Rp = ie__malloc((size_t)np * (size_t)d * sizeof *Rp);
  double *rn = ie__malloc((size_t)n * sizeof *rn);
  double *qn = ie__malloc((size_t)m * sizeof *qn);
  float *rc = ie__malloc((size_t)np * sizeof *rc);
  float *thr = ie__malloc((size_t)m * sizeof *thr);
  int64_t *cnt = ie__malloc((size_t)m * sizeof *cnt);
  ie_status s = IE_OK;
  if (!mu || !Qf || !Rp || !rn || !qn || !rc || !thr || !cnt) {
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "knn (cpu): no host memory for the float32 copies");
    goto done;
  }
  /* Centre on the references' mean and round to float32 (queries row-major,
   * references packed by panels of NR); norms of the floats in double. */
  for (int64_t j = 0; j < n; j++)
    for (int64_t c = 0; c < d; c++) mu[c] += R[(size_t)j * (size_t)d + (size_t)c];
  for (int64_t c = 0; c < d; c++) mu[c] /= (double)n;
#pragma omp parallel for schedule(static) num_threads(ie__threads(ctx))
  for (int64_t j = 0; j < np; j++) {
    double sq = 0;
    float *dst = Rp + (size_t)(j / NR) * (size_t)d * NR + (size_t)(j % NR);
    for (int64_t c = 0; c < d; c++) {
      const float v = j < n ? (float)(R[(size_t)j * (size_t)d + (size_t)c] - mu[c]) : 0;
      dst[(size_t)c * NR] = v;
      sq += (double)v * v;
    }
    if (j < n) rn[j] = sq;
  }
#pragma omp parallel for schedule(static) num_threads(ie__threads(ctx))
  for (int64_t i = 0; i < m; i++) {
    double sq = 0;
    for (int64_t c = 0; c < d; c++) {
      const float v = (float)(Q[(size_t)i * (size_t)d + (size_t)c] - mu[c]);
      Qf[(size_t)i * (size_t)d + (size_t)c] = v;
      sq += (double)v * v;
    }
    qn[i] = sq;
    thr[i] = INFINITY;
    cnt[i] = 0;
  }
  /* With a, b the float vectors, u = 2^-24: the float dot product is within
   * d u (‖a‖² + ‖b‖²) of 2⟨a, b⟩ (any order, with or without FMA), the
   * rounding of the centred points to float moves ‖a − b‖² by at most
   * ~4u (‖a‖² + ‖b‖²), and the float bound rc − 2⟨a, b⟩ and rc's own
   * rounding add ~3u (‖a‖² + ‖b‖²): a margin of (d + 16) 2u (‖a‖² + ‖b‖²)
   * covers all, double roundings included.  Reference j is skipped when
   * ‖a‖² + ‖b‖² − 2⟨a, b⟩ − tol (‖a‖² + ‖b‖²) > worst key, that is
   * (1 − tol) ‖b‖² − 2⟨a, b⟩ > worst − (1 − tol) ‖a‖². */
  const double tol = (double)(d + 16) * 0x1p-23, tol1 = 1 - tol;
  /* Underflow: float's absolute errors below 2^-126 are covered by a
   * slack; norms near float's range go to the direct search instead. */
  const double slack = (double)(d + 16) * 0x1p-100;
  double big = 0;
  for (int64_t j = 0; j < n; j++) big = rn[j] > big ? rn[j] : big;
  for (int64_t i = 0; i < m; i++) big = qn[i] > big ? qn[i] : big;
  if (!(big < 0x1p100)) {
    s = IE_UNSUPPORTED; /* not an error: the caller searches directly */
    goto done;
  }
  for (int64_t j = 0; j < np; j++) rc[j] = j < n ? (float)(tol1 * rn[j]) : INFINITY;
  const fused f = {Q, R, Qf, Rp, rc, qn, m, n, d, k, self, tol1, slack, thr, cnt, idx, dist};
  int stop = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ie__threads(ctx))
  for (int64_t i0 = 0; i0 < m; i0 += QB) {
    if (knn_cancelled(ctx, &stop)) continue;
    const int64_t i1 = m - i0 < QB ? m : i0 + QB;
    fused_block(&f, i0, i1);
    for (int64_t i = i0; i < i1; i++)
      knn_heap_finish(dist + (size_t)i * (size_t)k, idx + (size_t)i * (size_t)k, cnt[i], 1);
  }
  if (stop) s = ie__cancel(ctx, "knn (cpu)");
done:
  free(mu);
  free(Qf);
  free(Rp);
  free(rn);
  free(qn);
  free(rc);
  free(thr);
  free(cnt);
  return s;
}

ie_status ie__cpu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist) {
  /* q and r: compact float64 (src/knn.c makes them so; src/backend.h). */
  const double *Q = (const double *)((const char *)q->buf + q->offset);
  const double *R = (const double *)((const char *)r->buf + r->offset);
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0 || k == 0) return IE_OK;
  if (d >= 1 && d <= KD_MAX_D) { /* (d = 0, every distance 0, goes to the direct search) */
    ie__kdtree *t = ie__kd_build(R, n, d, ie__threads(ctx));
    if (!t) return ie__error(ctx, IE_OUT_OF_MEMORY, "knn (cpu): no host memory for the k-d tree");
    const int stop = ie__kd_knn(ctx, t, Q, m, k, metric == IE_METRIC_CHEBYSHEV, self, idx, dist);
    ie__kd_free(t);
    return stop ? ie__cancel(ctx, "knn (cpu)") : IE_OK;
  }
  if (metric == IE_METRIC_EUCLIDEAN && d >= GEMM_MIN_D && n <= INT32_MAX && d <= INT32_MAX) {
    const ie_status s = knn_gemm(ctx, Q, m, R, n, d, k, self, idx, dist);
    if (s != IE_UNSUPPORTED) return s;
  }
  if (knn_direct(ctx, Q, m, R, n, d, k, metric == IE_METRIC_CHEBYSHEV, self, idx, dist))
    return ie__cancel(ctx, "knn (cpu)");
  return IE_OK;
}

/* ---- Range counting --------------------------------------------------------------------- */

/* Rows sorted by value: LSD radix sort on the doubles' bit patterns mapped
 * to unsigned integers of the same order, six passes of 11 bits; a pass
 * where every key has the same digit is skipped.  Each thread keeps one
 * share of the positions: it counts its share's digits, then scatters the
 * share after all rows of smaller digits and the same digit's rows of the
 * shares before it, which keeps the passes stable.  The sorted values go to
 * v, their rows to ord; key, k2 and o2 (n each) are scratch, and so is at,
 * a row a thread (nt, the team's most). */
enum { RADIX_BITS = 11, RADIX = 1 << RADIX_BITS, RADIX_PASSES = (64 + RADIX_BITS - 1) / RADIX_BITS };
static void sort_rows(const double *R, int64_t n, double *v, int64_t *ord, uint64_t *key,
                      uint64_t *k2, int64_t *o2, int64_t (*at)[RADIX], int nt) {
#pragma omp parallel if (n > 32768) num_threads(nt)
  {
    const int64_t nt = omp_get_num_threads(), me = omp_get_thread_num();
    const int64_t j0 = n * me / nt, j1 = n * (me + 1) / nt;
    uint64_t *ka = key, *kb = k2;
    int64_t *oa = ord, *ob = o2, *c = at[me], off[RADIX];
    for (int64_t j = j0; j < j1; j++) {
      uint64_t u;
      memcpy(&u, R + j, sizeof u);
      ka[j] = u >> 63 ? ~u : u | UINT64_C(0x8000000000000000);
      oa[j] = j;
    }
    for (int ps = 0; ps < RADIX_PASSES; ps++) {
      const int sh = ps * RADIX_BITS;
      memset(c, 0, sizeof at[0]);
      for (int64_t j = j0; j < j1; j++) c[(ka[j] >> sh) & (RADIX - 1)]++;
#pragma omp barrier
      int64_t base = 0, same = 0;
      for (int64_t b = 0; b < RADIX; b++) {
        off[b] = base;
        for (int64_t t = 0; t < nt; t++) {
          off[b] += t < me ? at[t][b] : 0;
          base += at[t][b];
        }
      }
      for (int64_t t = 0; t < nt; t++) same += at[t][(ka[0] >> sh) & (RADIX - 1)];
#pragma omp barrier
      if (same == n) continue; /* one digit: nothing moves */
      for (int64_t j = j0; j < j1; j++) {
        const int64_t p = off[(ka[j] >> sh) & (RADIX - 1)]++;
        kb[p] = ka[j];
        ob[p] = oa[j];
      }
      uint64_t *tk = ka;
      ka = kb, kb = tk;
      int64_t *to = oa;
      oa = ob, ob = to;
#pragma omp barrier
    }
    for (int64_t j = j0; j < j1; j++) {
      const uint64_t u = ka[j] >> 63 ? ka[j] & ~UINT64_C(0x8000000000000000) : ~ka[j];
      memcpy(v + j, &u, sizeof u);
    }
    if (oa != ord) memcpy(ord + j0, oa + j0, (size_t)(j1 - j0) * sizeof *ord);
  }
}

/* v[p] − q0 > lim (strict) or ≥ lim: monotone in v[p] for sorted v. */
#define ABOVE(x) (strict ? (x) - q0 > lim : (x) - q0 >= lim)

/* The first position in [lo, hi) of the sorted v where ABOVE holds, else
 * hi.  Branch-free halving (a conditional move a step): the answer stays in
 * [base, base + len]. */
static inline int64_t first_above(const double *v, int64_t lo, int64_t hi, double q0, double lim,
                                  int strict) {
  int64_t base = lo, len = hi - lo;
  if (len <= 0) return lo;
  while (len > 1) {
    const int64_t half = len / 2;
    base = ABOVE(v[base + half]) ? base : base + half;
    len -= half;
  }
  return base + !ABOVE(v[base]);
}

#undef ABOVE

/* #{j ≠ p : |v[j] − q0| < rad} for the sorted v, whose v[p] is q0 and
 * v[n] +inf, rad > 0: the run around p.  Both ends at once, in two
 * independent chains: one loop doubles the steps out from p on each side
 * until each side's probe is outside the run (or past an end), one
 * branch-free halving loop narrows both brackets.  O(log of the run),
 * near p in memory. */
static inline int64_t run_around(const double *v, int64_t n, int64_t p, double q0, double rad) {
  int64_t a = 1, b = 1; /* probes at p + a, p − b */
  for (;;) {
    const int up = p + a < n && v[p + a] - q0 < rad, down = p - b >= 0 && v[p - b] - q0 > -rad;
    if (!(up | down)) break;
    a = up ? 2 * a : a;
    b = down ? 2 * b : b;
  }
  /* The run ends before a position in [hb, hb + hl] and begins at one in
   * [lb, lb + ll]; a base moves only by a positive half, so reads stay at
   * most at v[n]. */
  int64_t hb = p + a / 2 + 1, hl = (p + a < n ? p + a : n) - hb;
  int64_t lb = p - b + 1 > 0 ? p - b + 1 : 0, ll = p - b / 2 - lb;
  while (hl > 1 || ll > 1) {
    const int64_t h2 = hl / 2, l2 = ll / 2;
    hb = v[hb + h2] - q0 >= rad ? hb : hb + h2;
    lb = v[lb + l2] - q0 > -rad ? lb : lb + l2;
    hl -= h2;
    ll -= l2;
  }
  hb += hl > 0 && v[hb] - q0 < rad;
  lb += ll > 0 && !(v[lb] - q0 > -rad);
  return hb - lb - 1;
}

ie_status ie__cpu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count) {
  /* q and r: compact float64 (src/knn.c makes them so; src/backend.h). */
  const double *Q = (const double *)((const char *)q->buf + q->offset);
  const double *R = (const double *)((const char *)r->buf + r->offset);
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (d > 1) {
    ie__kdtree *t = ie__kd_build(R, n, d, ie__threads(ctx));
    if (!t) return ie__error(ctx, IE_OUT_OF_MEMORY, "range_count (cpu): no host memory for the k-d tree");
    const int stop = ie__kd_range_count(ctx, t, Q, m, radius, self, count);
    ie__kd_free(t);
    return stop ? ie__cancel(ctx, "range_count (cpu)") : IE_OK;
  }
  /* One dimension: the points with |r − q| < radius are one run of the
   * sorted values, and with self row i itself (at distance 0) is in it.
   * Self queries go in sorted order, each searching out from its place. */
  const size_t nn = (size_t)(n ? n : 1), nt = (size_t)ie__threads(ctx);
  double *v = ie__malloc((nn + 1) * sizeof *v);
  uint64_t *key = ie__malloc(2 * nn * sizeof *key);
  int64_t *ord = ie__malloc((2 * nn + nt * RADIX) * sizeof *ord);
  if (!v || !key || !ord) {
    free(v);
    free(key);
    free(ord);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "range_count (cpu): no host memory");
  }
  if (n > 0) sort_rows(R, n, v, ord, key, key + n, ord + n, (int64_t(*)[RADIX])(ord + 2 * nn), (int)nt);
  v[n] = INFINITY;
  const int own = self && Q == R && m == n;
#pragma omp parallel for schedule(static) num_threads(ie__threads(ctx))
  for (int64_t u = 0; u < m; u++) {
    const int64_t i = own ? ord[u] : u;
    const double rad = radius[i], q0 = Q[i];
    int64_t c = 0;
    if (rad > 0 && own) c = run_around(v, n, u, q0, rad);
    else if (rad > 0)
      c = first_above(v, 0, n, q0, rad, 0) - first_above(v, 0, n, q0, -rad, 1) - (self != 0);
    count[i] = c;
  }
  free(v);
  free(key);
  free(ord);
  return IE_OK;
}
