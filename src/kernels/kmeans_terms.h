/*
 * kmeans_terms.h — the pieces of MAUVE's greedy k-means++ start (docs/SPEC.md
 * §8) that every backend computes the same way: the SplitMix64 stream, the
 * squared distance from a float dot product, and the row drawn with
 * probability ∝ D².  The CPU (src/cpu/mauve_seed.c) and the GPU kernels
 * (src/kernels/kmeans_seed.cl) take them from here, so that a start picks
 * the same rows on every backend.
 */
#ifndef IE_KERNELS_KMEANS_TERMS_H
#define IE_KERNELS_KMEANS_TERMS_H

#include "vendor.h"

/* Rows a block of the D² sums a draw walks (blocks, then rows). */
#define KM_SEED_BLOCK 64

/* The candidates drawn for each centre: 2 + ⌊ln k⌋ (scikit-learn's). */
FN_BOTH ie_i64 km_candidates(ie_i64 k) { return 2 + (ie_i64)floor(log((double)k)); }

/* The first state of start `start`'s stream (SPEC §8). */
FN_BOTH ie_u64 km_stream(ie_u64 seed, ie_i64 start) {
  return seed ^ ((ie_u64)0xD1B54A32D192ED03UL * (ie_u64)(start + 1));
}

/* SplitMix64 (Steele, Lea & Flood 2014): the next output of the stream. */
FN_BOTH ie_u64 km_splitmix(ie_u64 *x) {
  ie_u64 z = (*x += (ie_u64)0x9E3779B97F4A7C15UL);
  z = (z ^ (z >> 30)) * (ie_u64)0xBF58476D1CE4E5B9UL;
  z = (z ^ (z >> 27)) * (ie_u64)0x94D049BB133111EBUL;
  return z ^ (z >> 31);
}

/* The next uniform double in [0, 1): (next >> 11)·2⁻⁵³. */
FN_BOTH double km_unit(ie_u64 *x) { return (double)(km_splitmix(x) >> 11) * (1.0 / 9007199254740992.0); }

/* The squared distance of a row (‖y‖² = yn) and a centre (‖x‖² = xn) from
 * their float dot product, clamped at 0.  (2·dot is exact, so an FMA the
 * compiler may form rounds as the two operations do.) */
FN_BOTH double km_dist2(double yn, double xn, float dot) {
  const double v = yn + xn - 2.0 * (double)dot;
  return v > 0 ? v : 0;
}

/* The row drawn for u ∈ [0, 1): the first whose running sum of D² (d2, n
 * rows; blk, the sums of KM_SEED_BLOCK-row blocks; bcum, their running sums
 * to total) exceeds u·total, skipping rows at 0; uniform when total is 0. */
FN_BOTH ie_i64 km_draw(GLOBAL const double *d2, GLOBAL const double *blk, GLOBAL const double *bcum,
                       ie_i64 n, ie_i64 nb, double total, double u) {
  if (!(total > 0)) {
    const ie_i64 i = (ie_i64)(u * (double)n);
    return i < n ? i : n - 1;
  }
  const double target = u * total;
  ie_i64 lo = 0, hi = nb - 1;
  while (lo < hi) {
    const ie_i64 mid = lo + (hi - lo) / 2;
    if (bcum[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  while (lo > 0 && blk[lo] <= 0) lo--; /* rounding left target at the total */
  double acc = lo ? bcum[lo - 1] : 0;
  const ie_i64 e = (lo + 1) * KM_SEED_BLOCK < n ? (lo + 1) * KM_SEED_BLOCK : n;
  ie_i64 last = -1;
  for (ie_i64 i = lo * KM_SEED_BLOCK; i < e; i++) {
    if (d2[i] <= 0) continue;
    last = i;
    acc += d2[i];
    if (acc > target) return i;
  }
  return last >= 0 ? last : lo * KM_SEED_BLOCK;
}

#endif /* IE_KERNELS_KMEANS_TERMS_H */
