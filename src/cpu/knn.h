/*
 * knn.h — pieces shared by the CPU backend's exact nearest-neighbour
 * searches (knn.c: brute force and GEMM candidates; kdtree.c: the k-d tree
 * for low dimension).
 *
 * Keys are squared Euclidean distances Σ (q_c − r_c)² or max-norm distances
 * max |q_c − r_c|, from coordinate differences in double, always summed in
 * coordinate order: a bound built from per-coordinate gaps no larger than
 * these differences is then no larger than the key (rounding is monotone),
 * which is what makes the tree's pruning exact.
 *
 * A query keeps its k best (key, index) pairs in a bounded max-heap ordered
 * lexicographically, so that ties go to the smaller index: the heap of
 * src/kernels/knn_heap.h, which the GPU backends' searches share.
 */
#ifndef IE_CPU_KNN_H
#define IE_CPU_KNN_H

#include <math.h>
#include <stdint.h>

#include "../host/host.h"
#include "../kernels/knn_heap.h"

/* Each step rounded twice, never fused into an FMA (GNU C contracts a·b + c
 * by default, and the GEMM search calls this from its AVX2 / AVX-512
 * clones): the keys of NumPy and of the GPU kernels (src/kernels/knn.cl), to
 * the bit.  GCC compiles the function once, outside the clones. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off"), noinline))
#endif
static double ie__knn_key_euclid(const double *a, const double *b, int64_t d) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  double s = 0;
  for (int64_t c = 0; c < d; c++) {
    const double t = a[c] - b[c];
    s += t * t;
  }
  return s;
}

static inline double ie__knn_key_cheb(const double *a, const double *b, int64_t d) {
  double s = 0;
  for (int64_t c = 0; c < d; c++) {
    const double t = fabs(a[c] - b[c]);
    s = t > s ? t : s;
  }
  return s;
}

/* ---- k-d tree (kdtree.c) ----------------------------------------------------------- */

/* The tree owns a copy of the points in tree order. */
typedef struct ie__kdtree ie__kdtree;

/* Build over the n × d compact rows of R; NULL when out of memory. */
ie__kdtree *ie__kd_build(const double *R, int64_t n, int64_t d, int threads);
void ie__kd_free(ie__kdtree *t);

/* k nearest neighbours of the m rows of Q (rows of R themselves when
 * self: then query i never gets row i), sorted by (distance, index).
 * Returns 1 when ctx's cancel flag stopped it (results incomplete), else 0. */
int ie__kd_knn(const ie_context *ctx, const ie__kdtree *t, const double *Q, int64_t m, int64_t k,
               int cheb, int self, int64_t *idx, double *dist);

/* count[i] = #{j (≠ i with self) : ‖r_j − q_i‖∞ < radius[i]}.  Returns 1
 * when cancelled, as ie__kd_knn. */
int ie__kd_range_count(const ie_context *ctx, const ie__kdtree *t, const double *Q, int64_t m,
                       const double *radius, int self, int64_t *count);

#endif
