/*
 * kmeans_seed.cl — MAUVE's greedy k-means++ start on the GPU (docs/SPEC.md
 * §8), written once for CUDA (src/cuda/mauve.cu includes this file) and
 * OpenCL.  The rows never leave the device: a start is a few launches a
 * centre, and its stream's state lives on the device too.
 *
 * It picks the rows the CPU picks (src/cpu/mauve_seed.c), to the bit: the
 * same terms (kmeans_terms.h), each dot product one chain of fused
 * multiply-adds in coordinate order (as the CPU's register tiles), each
 * sum in the CPU's order (a block's rows one by one, the blocks' shares in
 * block order).  So a start's centres, and then MAUVE's clusters, are the
 * CPU's on every backend.  The serial sums are short (a block of 64 rows,
 * n / 64 block shares) and a start's cost is its k centres' launches.
 *
 * The state `st` (int64): [0] the stream, [1] the row kept last, [2, 2 + t)
 * this centre's candidates.
 *   kpp_norms       yn_i = ‖y_i‖² in double
 *   kpp_first       the first centre: a row drawn uniformly
 *   kpp_lower       D² ← min(D², d²(·, kept)) a block of rows, and the block's sum
 *   kpp_draw        the t candidates, drawn ∝ D²
 *   kpp_potentials  each block's share of each candidate's potential Σ min(D², d²)
 *   kpp_choose      the candidate of least potential becomes the centre
 */
#include "vendor.h"

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)
#include "kmeans_terms.h"

/* Sums of squares and products rounded as the CPU rounds them: never fused
 * (OpenCL: FP_CONTRACT off in this file, back on at its end; CUDA: the _rn
 * intrinsics, which nvcc never fuses).  The dot products are fused on
 * purpose: fmaf, as the CPU's tiles. */
#ifdef IE_KERNEL_OPENCL
#pragma OPENCL FP_CONTRACT OFF
#define KPP_SQ_ADD(a, v) ((a) + (v) * (v))
#define KPP_FMAF(a, b, c) fma((a), (b), (c))
#else
#define KPP_SQ_ADD(a, v) __dadd_rn((a), __dmul_rn((v), (v)))
#define KPP_FMAF(a, b, c) fmaf((a), (b), (c))
#endif

/* The most candidates a centre: 2 + ⌊ln k⌋ for k < 2³¹; kpp_choose's group. */
#define KPP_LANES 32

FN float kpp_dot(GLOBAL const float *a, GLOBAL const float *b, ie_i64 r) {
  float s = 0.0f;
  for (ie_i64 t = 0; t < r; t++) s = KPP_FMAF(a[t], b[t], s);
  return s;
}

FN ie_i64 kpp_blocks(ie_i64 n) { return (n + KM_SEED_BLOCK - 1) / KM_SEED_BLOCK; }

KERNEL void kpp_norms(GLOBAL const float *y, ie_i64 n, ie_i64 r, GLOBAL double *yn) {
  const ie_i64 i = GLOBAL_ID();
  if (i >= n) return;
  double a = 0;
  for (ie_i64 t = 0; t < r; t++) {
    const double v = y[i * r + t];
    a = KPP_SQ_ADD(a, v);
  }
  yn[i] = a;
}

/* One item: the stream starts at rng0; the first centre c[0] is row
 * ⌊u·n⌋. */
KERNEL void kpp_first(GLOBAL const float *y, ie_i64 n, ie_i64 r, ie_u64 rng0, GLOBAL ie_i64 *st,
                      GLOBAL float *c) {
  if (GLOBAL_ID() != 0) return;
  ie_u64 x = rng0;
  ie_i64 first = (ie_i64)(km_unit(&x) * (double)n);
  if (first >= n) first = n - 1;
  st[0] = (ie_i64)x;
  st[1] = first;
  for (ie_i64 t = 0; t < r; t++) c[t] = y[first * r + t];
}

/* One item a block: D²_i ← min(D²_i, d²(i, x)) for the row x kept last (D²
 * taken as +inf when `first`), x's own at 0, and the block's sum blk[b]. */
KERNEL void kpp_lower(GLOBAL const float *y, ie_i64 n, ie_i64 r, GLOBAL const double *yn,
                      GLOBAL const ie_i64 *st, int first, GLOBAL double *d2, GLOBAL double *blk) {
  const ie_i64 b = GLOBAL_ID();
  if (b >= kpp_blocks(n)) return;
  const ie_i64 x = st[1], i0 = b * KM_SEED_BLOCK;
  const ie_i64 e = i0 + KM_SEED_BLOCK < n ? i0 + KM_SEED_BLOCK : n;
  GLOBAL const float *yx = y + x * r;
  const double xn = yn[x];
  double a = 0;
  for (ie_i64 i = i0; i < e; i++) {
    const double v = km_dist2(yn[i], xn, kpp_dot(y + i * r, yx, r));
    const double old = first ? IE_INFINITY : d2[i];
    const double d = v < old ? v : old;
    d2[i] = d;
    a += d;
  }
  if (x >= i0 && x < e && d2[x] != 0) { /* a centre is at 0 from itself */
    d2[x] = 0;
    a = 0;
    for (ie_i64 i = i0; i < e; i++) a += d2[i];
  }
  blk[b] = a;
}

/* One item: the block sums' running totals (bcum), then t candidates from
 * the stream. */
KERNEL void kpp_draw(GLOBAL const double *d2, GLOBAL const double *blk, GLOBAL double *bcum, ie_i64 n,
                     ie_i64 t, GLOBAL ie_i64 *st) {
  if (GLOBAL_ID() != 0) return;
  const ie_i64 nb = kpp_blocks(n);
  double total = 0;
  for (ie_i64 b = 0; b < nb; b++) bcum[b] = (total += blk[b]);
  ie_u64 x = (ie_u64)st[0];
  for (ie_i64 q = 0; q < t; q++) st[2 + q] = km_draw(d2, blk, bcum, n, nb, total, km_unit(&x));
  st[0] = (ie_i64)x;
}

/* One item a (block, candidate): potb[b·t + q] = Σ over the block's rows of
 * min(D²_i, d²(i, candidate q)). */
KERNEL void kpp_potentials(GLOBAL const float *y, ie_i64 n, ie_i64 r, GLOBAL const double *yn,
                           GLOBAL const double *d2, GLOBAL const ie_i64 *st, ie_i64 t, GLOBAL double *potb) {
  const ie_i64 g = GLOBAL_ID(), b = g / t, q = g % t;
  if (b >= kpp_blocks(n)) return;
  const ie_i64 x = st[2 + q], i0 = b * KM_SEED_BLOCK;
  const ie_i64 e = i0 + KM_SEED_BLOCK < n ? i0 + KM_SEED_BLOCK : n;
  GLOBAL const float *yx = y + x * r;
  const double xn = yn[x];
  double acc = 0;
  for (ie_i64 i = i0; i < e; i++) {
    const double v = km_dist2(yn[i], xn, kpp_dot(y + i * r, yx, r)), di = d2[i];
    acc += v < di ? v : di;
  }
  potb[g] = acc;
}

/* One group of KPP_LANES items: candidate q's potential is its blocks'
 * shares in block order, less its own row's (a candidate is at 0 from
 * itself); the least (the first on a tie) is kept: st[1], and centre j
 * (c[j]) its row. */
KERNEL void kpp_choose(GLOBAL const float *y, ie_i64 n, ie_i64 r, GLOBAL const double *yn,
                       GLOBAL const double *d2, GLOBAL const double *potb, ie_i64 t, GLOBAL ie_i64 *st, ie_i64 j,
                       GLOBAL float *c) {
  LOCAL_ARRAY(double, pot, KPP_LANES);
  const ie_i64 l = LOCAL_ID(), nb = kpp_blocks(n);
  if (l < t) {
    double p = 0;
    for (ie_i64 b = 0; b < nb; b++) p += potb[b * t + l];
    const ie_i64 x = st[2 + l];
    const double v = km_dist2(yn[x], yn[x], kpp_dot(y + x * r, y + x * r, r)), d = d2[x];
    pot[l] = p - (v < d ? v : d);
  }
  BARRIER();
  if (l == 0) {
    ie_i64 best = 0;
    for (ie_i64 q = 1; q < t; q++)
      if (pot[q] < pot[best]) best = q;
    st[1] = st[2 + best];
  }
  BARRIER();
  const ie_i64 x = st[1];
  for (ie_i64 u = l; u < r; u += KPP_LANES) c[j * r + u] = y[x * r + u];
}

#ifdef IE_KERNEL_OPENCL
#pragma OPENCL FP_CONTRACT ON
#endif
#endif /* fp64 */
