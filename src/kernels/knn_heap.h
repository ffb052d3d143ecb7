/*
 * knn_heap.h — the bounded max-heap of a query's k best (key, index) pairs,
 * shared by the kNN searches of every backend: the CPU's (brute force, GEMM
 * candidates, k-d tree: host C) and the GPUs' (knn.cl: CUDA C++ and OpenCL C).
 *
 * Order: lexicographic on (key, index), so a tie goes to the smaller index
 * and every backend keeps the same neighbours.  The heap's worst is at [0];
 * knn_heap_finish sorts ascending and takes square roots of Euclidean keys
 * (keys are squared distances while searching).  On OpenCL the heap lives in
 * global memory (each work-item its own rows of the output buffers).
 */
#ifndef IE_KERNELS_KNN_HEAP_H
#define IE_KERNELS_KNN_HEAP_H

#include "vendor.h"

/* Floats of the reference tile a GPU work-group stages in local memory. */
#define KNN_TILE_FLOATS 4096
/* Work-items of the one work-group of knn_reduce. */
#define KNN_RED_NT 256
/* The two-stage Euclidean search of knn.cl (knn_filter, knn_exact): a
 * work-group of KNN_TL_WG work-items takes KNN_TL_Q queries against tiles of
 * KNN_TL_R references, KNN_TL_DC coordinates a step (8 × 8 work-items, each
 * a 4 × 4 register tile of dot products); every query keeps at most
 * KNN_TL_CAP candidates and k ≤ KNN_TL_KMAX upper bounds. */
#define KNN_TL_Q 32
#define KNN_TL_R 32
#define KNN_TL_DC 16
#define KNN_TL_WG 64
#define KNN_TL_CAP 64
#define KNN_TL_KMAX 32
/* Squared norms of the centred points at or above this go to today's path
 * (their query) or are always candidates (a reference): far from float's
 * overflow. */
#define KNN_TL_BIG 0x1p100f
/* knn_load's "no bad row" (the largest int32). */
#define KNN_NO_ROW 2147483647

/* (a, ia) after (b, ib) in the (key, index) order; no branch. */
FN int knn_after(double a, ie_i64 ia, double b, ie_i64 ib)
{
  return (a > b) | ((a == b) & (ia > ib));
}

FN void knn_sift_down(GLOBAL double *hd, GLOBAL ie_i64 *hi, ie_i64 cnt, ie_i64 p)
{
  const double d = hd[p];
  const ie_i64 x = hi[p];
  for (;;) {
    ie_i64 c = 2 * p + 1;
    if (c >= cnt) break;
    if (c + 1 < cnt && knn_after(hd[c + 1], hi[c + 1], hd[c], hi[c])) c++;
    if (!knn_after(hd[c], hi[c], d, x)) break;
    hd[p] = hd[c];
    hi[p] = hi[c];
    p = c;
  }
  hd[p] = d;
  hi[p] = x;
}

/* Offer (d, j) to a max-heap of capacity k holding *cnt entries. */
FN void knn_offer(GLOBAL double *hd, GLOBAL ie_i64 *hi, ie_i64 *cnt, ie_i64 k, double d, ie_i64 j)
{
  if (*cnt < k) {
    ie_i64 p = (*cnt)++;
    while (p > 0) {
      ie_i64 u = (p - 1) / 2;
      if (!knn_after(d, j, hd[u], hi[u])) break;
      hd[p] = hd[u];
      hi[p] = hi[u];
      p = u;
    }
    hd[p] = d;
    hi[p] = j;
  } else if (knn_after(hd[0], hi[0], d, j)) {
    hd[0] = d;
    hi[0] = j;
    knn_sift_down(hd, hi, k, 0);
  }
}

/* Heap to ascending (key, index) order (heapsort); square roots when sq
 * (Euclidean keys). */
FN void knn_heap_finish(GLOBAL double *hd, GLOBAL ie_i64 *hi, ie_i64 cnt, int sq)
{
  for (ie_i64 e = cnt - 1; e > 0; e--) {
    const double td = hd[0];
    const ie_i64 ti = hi[0];
    hd[0] = hd[e];
    hi[0] = hi[e];
    hd[e] = td;
    hi[e] = ti;
    knn_sift_down(hd, hi, e, 0);
  }
  if (sq)
    for (ie_i64 t = 0; t < cnt; t++) hd[t] = sqrt(hd[t]);
}

#endif /* IE_KERNELS_KNN_HEAP_H */
