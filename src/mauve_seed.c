/*
 * mauve_seed.c — the k-means++ start of MAUVE's k-means (docs/SPEC.md §8),
 * on the host copy of the projected rows, for every backend.
 *
 * Greedy k-means++ (Arthur & Vassilvitskii 2007; the variant of
 * scikit-learn's _kmeans_plusplus): each new centre is the best, by the
 * potential Σ min(D², d²), of 2 + ⌊ln k⌋ rows sampled with probability
 * ∝ D².  A centre costs one float GEMM (every row against the candidates)
 * and two passes over the rows: the candidates' potentials, one lane a
 * candidate, and the update of D² with the block sums the next draw uses.
 * Squared distances are ‖y‖² + ‖x‖² − 2 y·x in double from the float dot
 * products, clamped at 0 (a candidate is at 0 from itself).  (Pruning by
 * the triangle inequality, Elkan 2003, was measured and dropped: in 32
 * PCA dimensions it skipped 4% of the groups.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "internal.h"
#include "mauve.h"

/* Rows a block of the D² sums used to draw candidates. */
#define SEED_BLOCK 64
/* The candidates' lanes in the potentials' loop: t rounded up to this. */
#define SEED_LANES 8

static uint64_t sm_next(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double ie__mauve_unit(uint64_t *state) { return (double)(sm_next(state) >> 11) * 0x1p-53; }

int ie__mauve_seed_init(ie__mauve_seed *s, const float *y, int64_t n, int64_t r, int64_t k) {
  memset(s, 0, sizeof *s);
  s->y = y;
  s->n = n;
  s->r = r;
  s->k = k;
  s->t = 2 + (int64_t)floor(log((double)k));
  s->tp = (s->t + SEED_LANES - 1) / SEED_LANES * SEED_LANES;
  const int64_t nb = (n + SEED_BLOCK - 1) / SEED_BLOCK, t = s->tp;
  s->yn = ie__malloc((size_t)n * sizeof *s->yn);
  s->d2 = ie__malloc((size_t)n * sizeof *s->d2);
  s->blk = ie__malloc((size_t)nb * sizeof *s->blk);
  s->bcum = ie__malloc((size_t)nb * sizeof *s->bcum);
  s->dots = ie__malloc((size_t)n * (size_t)t * sizeof *s->dots);
  s->cc = ie__malloc((size_t)t * (size_t)r * sizeof *s->cc);
  s->cand = ie__malloc((size_t)t * sizeof *s->cand);
  s->pot = ie__malloc((size_t)t * sizeof *s->pot);
  s->cn = ie__malloc((size_t)t * sizeof *s->cn);
  if (!s->yn || !s->d2 || !s->blk || !s->bcum || !s->dots || !s->cc || !s->cand || !s->pot || !s->cn) {
    ie__mauve_seed_free(s);
    return -1;
  }
  memset(s->dots, 0, (size_t)n * (size_t)t * sizeof *s->dots); /* the pad lanes are read, never written */
  for (int64_t m = 0; m < t; m++) s->cn[m] = INFINITY;        /* so their potentials are Σ D² */
  for (int64_t i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * (size_t)r;
    double a = 0;
    for (int64_t j = 0; j < r; j++) a += (double)yi[j] * (double)yi[j];
    s->yn[i] = a;
  }
  return 0;
}

void ie__mauve_seed_free(ie__mauve_seed *s) {
  void *p[] = {s->yn, s->d2, s->blk, s->bcum, s->dots, s->cc, s->cand, s->pot, s->cn};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
  memset(s, 0, sizeof *s);
}

/* A row drawn with probability ∝ D²: the first whose running sum (blocks,
 * then rows, in row order) exceeds u·total. */
static int64_t draw(const ie__mauve_seed *s, int64_t nb, double total, double u) {
  const int64_t n = s->n;
  if (!(total > 0)) {
    const int64_t i = (int64_t)(u * (double)n);
    return i < n ? i : n - 1;
  }
  const double target = u * total;
  int64_t lo = 0, hi = nb - 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (s->bcum[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  while (lo > 0 && s->blk[lo] <= 0) lo--; /* rounding left target at the total */
  double acc = lo ? s->bcum[lo - 1] : 0;
  const int64_t e = (lo + 1) * SEED_BLOCK < n ? (lo + 1) * SEED_BLOCK : n;
  int64_t last = -1;
  for (int64_t i = lo * SEED_BLOCK; i < e; i++) {
    if (s->d2[i] <= 0) continue;
    last = i;
    acc += s->d2[i];
    if (acc > target) return i;
  }
  return last >= 0 ? last : lo * SEED_BLOCK;
}

/* D² ← min(D², d²(·, x)) with column m of the dots (x = row `self`), and
 * the block sums. */
static void lower(ie__mauve_seed *s, int64_t m, int64_t self, double xn) {
  const int64_t n = s->n, t = s->tp;
  for (int64_t b = 0; b * SEED_BLOCK < n; b++) {
    const int64_t e = (b + 1) * SEED_BLOCK < n ? (b + 1) * SEED_BLOCK : n;
    double a = 0;
    for (int64_t i = b * SEED_BLOCK; i < e; i++) {
      double v = s->yn[i] + xn - 2.0 * (double)s->dots[(size_t)i * (size_t)t + (size_t)m];
      v = v > 0 ? v : 0;
      const double d = v < s->d2[i] ? v : s->d2[i];
      s->d2[i] = d;
      a += d;
    }
    s->blk[b] = a;
  }
  if (s->d2[self] != 0) { /* a candidate is at 0 from itself */
    const int64_t b = self / SEED_BLOCK, e = (b + 1) * SEED_BLOCK < n ? (b + 1) * SEED_BLOCK : n;
    s->d2[self] = 0;
    double a = 0;
    for (int64_t i = b * SEED_BLOCK; i < e; i++) a += s->d2[i];
    s->blk[b] = a;
  }
}

/* dots (n × m, leading dimension t) = y · cc[0 .. m)ᵀ */
static void dots(ie__mauve_seed *s, int64_t m) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->n, (int)m, (int)s->r, 1.0f, s->y, (int)s->r,
              s->cc, (int)s->r, 0.0f, s->dots, (int)s->tp);
}

void ie__mauve_seed_run(ie__mauve_seed *s, uint64_t *rng, float *c) {
  const int64_t n = s->n, r = s->r, k = s->k, t = s->t, tp = s->tp;
  const int64_t nb = (n + SEED_BLOCK - 1) / SEED_BLOCK;
  int64_t first = (int64_t)(ie__mauve_unit(rng) * (double)n);
  if (first >= n) first = n - 1;
  memcpy(c, s->y + (size_t)first * (size_t)r, (size_t)r * sizeof *c);
  memcpy(s->cc, c, (size_t)r * sizeof *c);
  dots(s, 1);
  for (int64_t i = 0; i < n; i++) s->d2[i] = INFINITY;
  lower(s, 0, first, s->yn[first]);
  for (int64_t j = 1; j < k; j++) {
    double total = 0;
    for (int64_t b = 0; b < nb; b++) s->bcum[b] = (total += s->blk[b]);
    for (int64_t m = 0; m < t; m++) {
      const int64_t x = draw(s, nb, total, ie__mauve_unit(rng));
      s->cand[m] = x;
      s->cn[m] = s->yn[x];
      memcpy(s->cc + (size_t)m * (size_t)r, s->y + (size_t)x * (size_t)r, (size_t)r * sizeof *s->cc);
    }
    for (int64_t m = 0; m < tp; m++) s->pot[m] = 0;
    dots(s, t);
    /* the potentials, one lane a candidate */
    double *pot = s->pot;
    const double *cn = s->cn;
    for (int64_t i = 0; i < n; i++) {
      const double yi = s->yn[i], di = s->d2[i];
      const float *dt = s->dots + (size_t)i * (size_t)tp;
      for (int64_t m0 = 0; m0 < tp; m0 += SEED_LANES)
        for (int64_t m = m0; m < m0 + SEED_LANES; m++) {
          double v = yi + cn[m] - 2.0 * (double)dt[m];
          v = v > 0 ? v : 0;
          pot[m] += v < di ? v : di;
        }
    }
    int64_t best = 0;
    for (int64_t m = 0; m < t; m++) {
      /* a candidate is at 0 from itself: its own row adds nothing */
      const int64_t x = s->cand[m];
      double v = s->yn[x] + cn[m] - 2.0 * (double)s->dots[(size_t)x * (size_t)tp + (size_t)m];
      v = v > 0 ? v : 0;
      pot[m] -= v < s->d2[x] ? v : s->d2[x];
      if (pot[m] < pot[best]) best = m;
    }
    memcpy(c + (size_t)j * (size_t)r, s->cc + (size_t)best * (size_t)r, (size_t)r * sizeof *c);
    lower(s, best, s->cand[best], cn[best]);
  }
}
