/*
 * mauve_seed.c — the k-means++ start of MAUVE's k-means (docs/SPEC.md §8) on
 * the CPU.  The GPUs run the same start on the device
 * (src/kernels/kmeans_seed.cl) and pick the same rows: the terms are
 * shared (src/kernels/kmeans_terms.h) and the sums run in the same order.
 *
 * Greedy k-means++ (Arthur & Vassilvitskii 2007; the variant of
 * scikit-learn's _kmeans_plusplus): each new centre is the best, by the
 * potential Σ min(D², d²), of 2 + ⌊ln k⌋ rows sampled with probability
 * ∝ D².  The starts of one clustering run side by side: a centre of each
 * costs two passes over blocks of rows, the blocks spread over OpenMP
 * threads.  The first takes the block's dot products with every start's
 * candidates (ie__dots_f32: the rows are read once, not once a start),
 * keeps them, and adds up the block's share of each candidate's
 * potential; the second, once each start has kept its best, lowers the
 * start's D² from the kept products, with the block sums its next draw
 * uses.  The shares are added in block order and a dot product
 * is the same chain wherever its column falls, so the centres depend on
 * neither the threads nor the starts beside them: each start draws from
 * its own stream, and gets the centres of running alone.  Squared
 * distances are ‖y‖² + ‖x‖² − 2 y·x in double from the float dot products,
 * clamped at 0 (a candidate is at 0 from itself).  (Pruning by the triangle
 * inequality, Elkan 2003, was measured and dropped: in 32 PCA dimensions it
 * skipped 4% of the groups.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../host/host.h"
#include "../kernels/kmeans_terms.h"
#include "mauve_seed.h"

#define SEED_BLOCK KM_SEED_BLOCK
/* The candidates' lanes in the potentials' loop: t rounded up to this. */
#define SEED_LANES 8

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

int ie__mauve_seed_init(ie__mauve_seed *s, const float *y, int64_t n, int64_t r, int64_t k, int64_t starts,
                        int threads) {
  memset(s, 0, sizeof *s);
  s->y = y;
  s->n = n;
  s->r = r;
  s->k = k;
  s->starts = starts;
  s->threads = threads > 0 ? threads : 1;
  s->t = km_candidates(k);
  s->tp = (s->t + SEED_LANES - 1) / SEED_LANES * SEED_LANES;
  s->nb = (n + SEED_BLOCK - 1) / SEED_BLOCK;
  s->lc = round16(starts * s->tp);
  const size_t S = (size_t)starts, L = (size_t)s->lc;
  s->yn = ie__malloc((size_t)n * sizeof *s->yn);
  s->d2 = ie__malloc(S * (size_t)n * sizeof *s->d2);
  s->blk = ie__malloc(S * (size_t)s->nb * sizeof *s->blk);
  s->bcum = ie__malloc((size_t)s->nb * sizeof *s->bcum);
  s->potb = ie__malloc((size_t)s->nb * L * sizeof *s->potb);
  s->ct = ie__calloc(L * (size_t)r, sizeof *s->ct); /* pads: zero rows (+inf norms, set by a run) */
  s->dots = ie__malloc((size_t)n * L * sizeof *s->dots);
  s->cand = ie__malloc(L * sizeof *s->cand);
  s->kept = ie__malloc(S * sizeof *s->kept);
  s->pot = ie__malloc(L * sizeof *s->pot);
  s->cn = ie__malloc(L * sizeof *s->cn);
  if (!s->yn || !s->d2 || !s->blk || !s->bcum || !s->potb || !s->ct || !s->dots || !s->cand || !s->kept ||
      !s->pot || !s->cn) {
    ie__mauve_seed_free(s);
    return -1;
  }
  for (int64_t i = 0; i < n; i++) {
    const float *yi = y + (size_t)i * (size_t)r;
    double a = 0;
    for (int64_t j = 0; j < r; j++) a += (double)yi[j] * (double)yi[j];
    s->yn[i] = a;
  }
  return 0;
}

void ie__mauve_seed_free(ie__mauve_seed *s) {
  void *p[] = {s->yn, s->d2, s->blk, s->bcum, s->potb, s->ct, s->dots, s->cand, s->kept, s->pot, s->cn};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
  memset(s, 0, sizeof *s);
}

/* The dot products of block b's rows with every candidate (SEED_BLOCK ×
 * lc floats a block, in s->dots), and, when `pot`, the block's share of
 * each candidate's potential Σ_i min(D²_i, d²(i, x)).  Built for AVX-512
 * and AVX2 too (IE_CPU_CLONES): the lanes are independent sums, each in
 * row order, and km_dist2 rounds alike with or without an FMA. */
IE_CPU_CLONES static void block_candidates(ie__mauve_seed *s, int64_t b, int pot) {
  const int64_t n = s->n, tp = s->tp, lc = s->lc, L = s->live * tp;
  const double *cn = s->cn;
  const int64_t i0 = b * SEED_BLOCK, m = n - i0 < SEED_BLOCK ? n - i0 : SEED_BLOCK;
  float *tile = s->dots + (size_t)i0 * (size_t)lc;
  ie__dots_f32(s->y + (size_t)i0 * (size_t)s->r, (size_t)s->r, m, s->r, s->ct, (size_t)lc, lc, tile, (size_t)lc);
  if (!pot) return;
  double *pb = s->potb + (size_t)b * (size_t)lc;
  /* eight lanes of one start at a time, summed over the rows in registers */
  for (int64_t q0 = 0; q0 < L; q0 += SEED_LANES) {
    const double *d2 = s->d2 + (size_t)(q0 / tp) * (size_t)n + (size_t)i0;
    double acc[SEED_LANES] = {0};
    for (int64_t i = 0; i < m; i++) {
      const double yi = s->yn[i0 + i], di = d2[i];
      const float *dt = tile + (size_t)i * (size_t)lc + (size_t)q0;
#pragma omp simd
      for (int l = 0; l < SEED_LANES; l++) {
        const double v = km_dist2(yi, cn[q0 + l], dt[l]);
        acc[l] += v < di ? v : di;
      }
    }
    for (int l = 0; l < SEED_LANES; l++) pb[q0 + l] = acc[l];
  }
}

static void candidates(ie__mauve_seed *s, int pot) {
  const int64_t n = s->n, tp = s->tp, lc = s->lc, L = s->live * tp;
  const double *cn = s->cn;
#pragma omp parallel for schedule(static) num_threads(s->threads) if (s->nb > 1)
  for (int64_t b = 0; b < s->nb; b++) block_candidates(s, b, pot);
  if (!pot) return;
  for (int64_t q = 0; q < L; q++) s->pot[q] = 0;
  for (int64_t b = 0; b < s->nb; b++) /* block order: the same sums on any team */
    for (int64_t q = 0; q < L; q++) s->pot[q] += s->potb[(size_t)b * (size_t)lc + (size_t)q];
  for (int64_t q = 0; q < L; q++) { /* a candidate is at 0 from itself: its own row adds nothing */
    if (isinf(cn[q])) continue;     /* a pad lane */
    const int64_t x = s->cand[q];
    const double v = km_dist2(s->yn[x], cn[q], s->dots[(size_t)x * (size_t)lc + (size_t)q]);
    const double d = s->d2[(size_t)(q / tp) * (size_t)n + (size_t)x];
    s->pot[q] -= v < d ? v : d;
  }
}

/* Block b's part of lower(): each start's D² lowered (a vector loop: the
 * products are a column of the dots, lc apart), then summed in row order. */
IE_CPU_CLONES static void block_lower(ie__mauve_seed *s, int64_t b) {
  const int64_t n = s->n, S = s->live, lc = s->lc;
  const int64_t i0 = b * SEED_BLOCK, m = n - i0 < SEED_BLOCK ? n - i0 : SEED_BLOCK;
  const double *yn = s->yn + i0;
  for (int64_t st = 0; st < S; st++) {
    const int64_t q = s->kept[st];
    const float *dt = s->dots + (size_t)i0 * (size_t)lc + (size_t)q;
    double *d2 = s->d2 + (size_t)st * (size_t)n + (size_t)i0;
    const double xn = s->cn[q];
#pragma omp simd
    for (int64_t i = 0; i < m; i++) {
      const double v = km_dist2(yn[i], xn, dt[(size_t)i * (size_t)lc]);
      d2[i] = v < d2[i] ? v : d2[i];
    }
    double a = 0;
    for (int64_t i = 0; i < m; i++) a += d2[i];
    s->blk[(size_t)st * (size_t)s->nb + (size_t)b] = a;
  }
}

/* Each start's D² ← min(D², d²(·, x)) for the candidate x it keeps (column
 * kept[st] of the dots), and its block sums. */
static void lower(ie__mauve_seed *s) {
  const int64_t n = s->n, S = s->live;
#pragma omp parallel for schedule(static) num_threads(s->threads) if (s->nb > 1)
  for (int64_t b = 0; b < s->nb; b++) block_lower(s, b);
  for (int64_t st = 0; st < S; st++) { /* a centre is at 0 from itself */
    const int64_t self = s->cand[s->kept[st]], b = self / SEED_BLOCK;
    double *d2 = s->d2 + (size_t)st * (size_t)n;
    if (d2[self] == 0) continue;
    const int64_t e = (b + 1) * SEED_BLOCK < n ? (b + 1) * SEED_BLOCK : n;
    d2[self] = 0;
    double a = 0;
    for (int64_t i = b * SEED_BLOCK; i < e; i++) a += d2[i];
    s->blk[(size_t)st * (size_t)s->nb + (size_t)b] = a;
  }
}

/* Candidate q becomes row x. */
static void candidate(ie__mauve_seed *s, int64_t q, int64_t x) {
  const float *yx = s->y + (size_t)x * (size_t)s->r;
  s->cand[q] = x;
  s->cn[q] = s->yn[x];
  for (int64_t u = 0; u < s->r; u++) s->ct[(size_t)u * (size_t)s->lc + (size_t)q] = yx[u];
}

void ie__mauve_seed_run(ie__mauve_seed *s, int64_t count, uint64_t *const *rng, float *const *c) {
  s->live = count < s->starts ? count : s->starts;
  const int64_t n = s->n, r = s->r, k = s->k, t = s->t, tp = s->tp, S = s->live;
  /* the first centres: a row each, drawn uniformly, as each start's first candidate */
  for (int64_t q = 0; q < s->lc; q++) s->cn[q] = INFINITY;
  for (int64_t st = 0; st < S; st++) {
    int64_t first = (int64_t)(km_unit(rng[st]) * (double)n);
    if (first >= n) first = n - 1;
    candidate(s, st * tp, first);
    s->kept[st] = st * tp;
    memcpy(c[st], s->y + (size_t)first * (size_t)r, (size_t)r * sizeof *c[st]);
  }
  candidates(s, 0);
  for (size_t i = 0; i < (size_t)S * (size_t)n; i++) s->d2[i] = INFINITY;
  lower(s);
  for (int64_t j = 1; j < k; j++) {
    /* each start's candidates, from its own stream */
    for (int64_t st = 0; st < S; st++) {
      const double *d2 = s->d2 + (size_t)st * (size_t)n, *blk = s->blk + (size_t)st * (size_t)s->nb;
      double total = 0;
      for (int64_t b = 0; b < s->nb; b++) s->bcum[b] = (total += blk[b]);
      for (int64_t q = st * tp; q < st * tp + t; q++)
        candidate(s, q, km_draw(d2, blk, s->bcum, n, s->nb, total, km_unit(rng[st])));
    }
    candidates(s, 1);
    for (int64_t st = 0; st < S; st++) {
      int64_t best = st * tp;
      for (int64_t q = st * tp; q < st * tp + t; q++)
        if (s->pot[q] < s->pot[best]) best = q;
      s->kept[st] = best;
      memcpy(c[st] + (size_t)j * (size_t)r, s->y + (size_t)s->cand[best] * (size_t)r, (size_t)r * sizeof *c[st]);
    }
    lower(s);
  }
}
