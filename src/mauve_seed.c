/*
 * mauve_seed.c — the k-means++ start of MAUVE's k-means (docs/SPEC.md §8),
 * on the host copy of the projected rows, for every backend.
 *
 * Greedy k-means++ (Arthur & Vassilvitskii 2007; the variant of
 * scikit-learn's _kmeans_plusplus): each new centre is the best, by the
 * potential Σ min(D², d²), of 2 + ⌊ln k⌋ rows sampled with probability
 * ∝ D².  The starts of one clustering run side by side: a centre of each
 * costs one float GEMM (every row against every start's candidates, so the
 * rows are read once, not once a start) and two passes over the rows: the
 * candidates' potentials, one lane a candidate, and the update of each
 * start's D² with the block sums its next draw uses.  Each start draws from
 * its own stream, so the centres are those of running them one by one.
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

int ie__mauve_seed_init(ie__mauve_seed *s, const float *y, int64_t n, int64_t r, int64_t k, int64_t starts) {
  memset(s, 0, sizeof *s);
  s->y = y;
  s->n = n;
  s->r = r;
  s->k = k;
  s->starts = starts;
  s->t = 2 + (int64_t)floor(log((double)k));
  s->tp = (s->t + SEED_LANES - 1) / SEED_LANES * SEED_LANES;
  s->nb = (n + SEED_BLOCK - 1) / SEED_BLOCK;
  const size_t S = (size_t)starts, L = S * (size_t)s->tp;
  s->yn = ie__malloc((size_t)n * sizeof *s->yn);
  s->d2 = ie__malloc(S * (size_t)n * sizeof *s->d2);
  s->blk = ie__malloc(S * (size_t)s->nb * sizeof *s->blk);
  s->bcum = ie__malloc((size_t)s->nb * sizeof *s->bcum);
  s->dots = ie__malloc((size_t)n * L * sizeof *s->dots);
  s->cc = ie__malloc(L * (size_t)r * sizeof *s->cc);
  s->cand = ie__malloc(L * sizeof *s->cand);
  s->pot = ie__malloc(L * sizeof *s->pot);
  s->cn = ie__malloc(L * sizeof *s->cn);
  if (!s->yn || !s->d2 || !s->blk || !s->bcum || !s->dots || !s->cc || !s->cand || !s->pot || !s->cn) {
    ie__mauve_seed_free(s);
    return -1;
  }
  memset(s->cc, 0, L * (size_t)r * sizeof *s->cc);    /* the pad candidates: zero rows, */
  for (size_t m = 0; m < L; m++) s->cn[m] = INFINITY; /* infinitely far */
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

/* A row drawn with probability ∝ D² (d2, its block sums blk and their
 * running sums bcum): the first whose running sum (blocks, then rows, in
 * row order) exceeds u·total. */
static int64_t draw(const ie__mauve_seed *s, const double *d2, const double *blk, double total, double u) {
  const int64_t n = s->n, nb = s->nb;
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
  while (lo > 0 && blk[lo] <= 0) lo--; /* rounding left target at the total */
  double acc = lo ? s->bcum[lo - 1] : 0;
  const int64_t e = (lo + 1) * SEED_BLOCK < n ? (lo + 1) * SEED_BLOCK : n;
  int64_t last = -1;
  for (int64_t i = lo * SEED_BLOCK; i < e; i++) {
    if (d2[i] <= 0) continue;
    last = i;
    acc += d2[i];
    if (acc > target) return i;
  }
  return last >= 0 ? last : lo * SEED_BLOCK;
}

/* Start st's D² ← min(D², d²(·, x)) with column col of the dots (x = row
 * `self`, ‖x‖² = xn), and its block sums. */
static void lower(ie__mauve_seed *s, int64_t st, int64_t col, int64_t self, double xn) {
  const int64_t n = s->n;
  const size_t L = (size_t)s->live * (size_t)s->tp;
  double *d2 = s->d2 + (size_t)st * (size_t)n, *blk = s->blk + (size_t)st * (size_t)s->nb;
  for (int64_t b = 0; b < s->nb; b++) {
    const int64_t e = (b + 1) * SEED_BLOCK < n ? (b + 1) * SEED_BLOCK : n;
    double a = 0;
    for (int64_t i = b * SEED_BLOCK; i < e; i++) {
      double v = s->yn[i] + xn - 2.0 * (double)s->dots[(size_t)i * L + (size_t)col];
      v = v > 0 ? v : 0;
      const double d = v < d2[i] ? v : d2[i];
      d2[i] = d;
      a += d;
    }
    blk[b] = a;
  }
  if (d2[self] != 0) { /* a candidate is at 0 from itself */
    const int64_t b = self / SEED_BLOCK, e = (b + 1) * SEED_BLOCK < n ? (b + 1) * SEED_BLOCK : n;
    d2[self] = 0;
    double a = 0;
    for (int64_t i = b * SEED_BLOCK; i < e; i++) a += d2[i];
    blk[b] = a;
  }
}

/* dots (n × L) = y · ccᵀ, every start's candidates at once */
static void dots(ie__mauve_seed *s) {
  const int L = (int)(s->live * s->tp);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->n, L, (int)s->r, 1.0f, s->y, (int)s->r, s->cc,
              (int)s->r, 0.0f, s->dots, L);
}

void ie__mauve_seed_run(ie__mauve_seed *s, int64_t count, uint64_t *const *rng, float *const *c) {
  s->live = count < s->starts ? count : s->starts;
  const int64_t n = s->n, r = s->r, k = s->k, t = s->t, tp = s->tp, S = s->live;
  const size_t L = (size_t)S * (size_t)tp;
  /* the first centres: a row each, drawn uniformly */
  for (int64_t st = 0; st < S; st++) {
    int64_t first = (int64_t)(ie__mauve_unit(rng[st]) * (double)n);
    if (first >= n) first = n - 1;
    s->cand[st * tp] = first;
    memcpy(c[st], s->y + (size_t)first * (size_t)r, (size_t)r * sizeof *c[st]);
    memcpy(s->cc + (size_t)(st * tp) * (size_t)r, c[st], (size_t)r * sizeof *s->cc);
  }
  dots(s);
  for (size_t i = 0; i < (size_t)S * (size_t)n; i++) s->d2[i] = INFINITY;
  for (int64_t st = 0; st < S; st++) lower(s, st, st * tp, s->cand[st * tp], s->yn[s->cand[st * tp]]);
  for (int64_t j = 1; j < k; j++) {
    /* each start's candidates, from its own stream */
    for (int64_t st = 0; st < S; st++) {
      const double *d2 = s->d2 + (size_t)st * (size_t)n, *blk = s->blk + (size_t)st * (size_t)s->nb;
      double total = 0;
      for (int64_t b = 0; b < s->nb; b++) s->bcum[b] = (total += blk[b]);
      for (int64_t m = st * tp; m < st * tp + t; m++) {
        const int64_t x = draw(s, d2, blk, total, ie__mauve_unit(rng[st]));
        s->cand[m] = x;
        s->cn[m] = s->yn[x];
        memcpy(s->cc + (size_t)m * (size_t)r, s->y + (size_t)x * (size_t)r, (size_t)r * sizeof *s->cc);
      }
    }
    for (size_t m = 0; m < L; m++) s->pot[m] = 0;
    dots(s);
    /* the potentials, one lane a candidate */
    double *pot = s->pot;
    const double *cn = s->cn;
    for (int64_t i = 0; i < n; i++) {
      const double yi = s->yn[i];
      const float *dt = s->dots + (size_t)i * L;
      for (int64_t st = 0; st < S; st++) {
        const double di = s->d2[(size_t)st * (size_t)n + (size_t)i];
        for (int64_t m0 = st * tp; m0 < (st + 1) * tp; m0 += SEED_LANES)
          for (int64_t m = m0; m < m0 + SEED_LANES; m++) {
            double v = yi + cn[m] - 2.0 * (double)dt[m];
            v = v > 0 ? v : 0;
            pot[m] += v < di ? v : di;
          }
      }
    }
    for (int64_t st = 0; st < S; st++) {
      const double *d2 = s->d2 + (size_t)st * (size_t)n;
      int64_t best = st * tp;
      for (int64_t m = st * tp; m < st * tp + t; m++) {
        /* a candidate is at 0 from itself: its own row adds nothing */
        const int64_t x = s->cand[m];
        double v = s->yn[x] + cn[m] - 2.0 * (double)s->dots[(size_t)x * L + (size_t)m];
        v = v > 0 ? v : 0;
        pot[m] -= v < d2[x] ? v : d2[x];
        if (pot[m] < pot[best]) best = m;
      }
      memcpy(c[st] + (size_t)j * (size_t)r, s->cc + (size_t)best * (size_t)r, (size_t)r * sizeof *c[st]);
      lower(s, st, best, s->cand[best], cn[best]);
    }
  }
}
