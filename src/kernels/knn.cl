/*
 * knn.cl — exact k-nearest-neighbour search and max-norm range counting
 * (docs/SPEC.md §5) on a GPU: compiled as OpenCL C by the OpenCL backend
 * (src/opencl/knn.c) and as CUDA C++ by the CUDA backend (src/cuda/knn.cu).
 * Names start with knn_ (the OpenCL kernels are one program).
 *
 * Distances are computed in double from coordinate differences of the
 * float32 points, in coordinate order: the arithmetic of the CPU backend and
 * of a float64 NumPy reference, so duplicates are at exactly 0 and every
 * backend keeps the same neighbours.  One work-item a query.  A work-group
 * stages tiles of the references in local memory (when KNN_TILE_FLOATS holds
 * at least 8 rows); each work-item keeps its k best (key, index) pairs in a
 * bounded max-heap (knn_heap.h) in its own rows of the output buffers, and
 * abandons a candidate's key as soon as it exceeds the heap's worst.  The
 * heap is sorted at the end: (distance, index).  OpenCL needs cl_khr_fp64
 * (without it this file defines nothing and the host reports the search as
 * unsupported).
 */
#include "vendor.h"
#include "knn_heap.h"

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)

/* The key of one candidate row rj against query qi, abandoned once above w
 * (then a value > w is returned).  Written for a reference row in local and
 * in global memory (OpenCL's address spaces). */
#define KNN_KEY_FN(name, SPACE)                                                           \
  FN double name(GLOBAL const float *qi, SPACE const float *rj, int d, int cheb, double w) \
  {                                                                                       \
    double key = 0;                                                                       \
    if (cheb) {                                                                           \
      for (int c = 0; c < d && key <= w; c++)                                             \
        key = fmax(key, fabs((double)qi[c] - (double)rj[c]));                             \
    } else {                                                                              \
      for (int c = 0; c < d && key <= w; c++) {                                           \
        const double t = (double)qi[c] - (double)rj[c];                                   \
        key += t * t;                                                                     \
      }                                                                                   \
    }                                                                                     \
    return key;                                                                           \
  }
KNN_KEY_FN(knn_key_local, LOCAL)
KNN_KEY_FN(knn_key_global, GLOBAL)

/* Whether max_c |r_c − q_c| < rad (every coordinate inside). */
#define KNN_INSIDE_FN(name, SPACE)                                                     \
  FN int name(GLOBAL const float *qi, SPACE const float *rj, int d, double rad)         \
  {                                                                                    \
    int in = 1;                                                                        \
    for (int c = 0; c < d && in; c++) in = fabs((double)rj[c] - (double)qi[c]) < rad;  \
    return in;                                                                         \
  }
KNN_INSIDE_FN(knn_inside_local, LOCAL)
KNN_INSIDE_FN(knn_inside_global, GLOBAL)

/* Rows [r0, r0 + br) of R into the tile (all work-items of the group). */
FN void knn_stage(GLOBAL const float *R, ie_i64 r0, int br, int d, LOCAL float *tile)
{
  BARRIER();
  for (ie_i64 t = LOCAL_ID(); t < (ie_i64)br * d; t += LOCAL_SIZE()) tile[t] = R[r0 * d + t];
  BARRIER();
}

/* Queries q0 .. q0 + m − 1 of Q against all n rows of R (both compact, d
 * columns); the sorted neighbours of query q0 + i at rows i of dist / idx
 * (k each).  tile_rows > 0 (at most KNN_TILE_FLOATS / d): stage that many
 * reference rows at a time.  self: query i never gets row i. */
KERNEL void knn_search(GLOBAL const float *Q, GLOBAL const float *R, ie_i64 q0, ie_i64 m, ie_i64 n,
                       int d, ie_i64 k, int cheb, int self, GLOBAL double *dist,
                       GLOBAL ie_i64 *idx, int tile_rows)
{
  LOCAL_ARRAY(float, tile, KNN_TILE_FLOATS);
  const ie_i64 li = GLOBAL_ID(), i = q0 + li;
  const int live = li < m;
  GLOBAL double *hd = dist + (live ? li : 0) * k;
  GLOBAL ie_i64 *hi = idx + (live ? li : 0) * k;
  GLOBAL const float *qi = Q + (live ? i : 0) * d;
  ie_i64 cnt = 0;
  const ie_i64 step = tile_rows > 0 ? tile_rows : n;
  for (ie_i64 r0 = 0; r0 < n; r0 += step) {
    const int br = (int)(n - r0 < step ? n - r0 : step);
    if (tile_rows > 0) knn_stage(R, r0, br, d, tile);
    if (!live) continue;
    for (int jj = 0; jj < br; jj++) {
      const ie_i64 j = r0 + jj;
      if (self && j == i) continue;
      const double w = cnt < k ? IE_INFINITY : hd[0];
      const double key = tile_rows > 0 ? knn_key_local(qi, tile + jj * d, d, cheb, w)
                                       : knn_key_global(qi, R + j * d, d, cheb, w);
      if (key <= w) knn_offer(hd, hi, &cnt, k, key, j);
    }
  }
  if (live) knn_heap_finish(hd, hi, cnt, !cheb);
}

/* count[i] = #{j (≠ i when self) : max_c |R_jc − Q_ic| < radius[i]}. */
KERNEL void knn_range_count(GLOBAL const float *Q, GLOBAL const float *R, ie_i64 m, ie_i64 n,
                            int d, GLOBAL const double *radius, int self,
                            GLOBAL ie_i64 *count, int tile_rows)
{
  LOCAL_ARRAY(float, tile, KNN_TILE_FLOATS);
  const ie_i64 i = GLOBAL_ID();
  const int live = i < m;
  GLOBAL const float *qi = Q + (live ? i : 0) * d;
  const double rad = live ? radius[i] : 0;
  ie_i64 cnt = 0;
  const ie_i64 step = tile_rows > 0 ? tile_rows : n;
  for (ie_i64 r0 = 0; r0 < n; r0 += step) {
    const int br = (int)(n - r0 < step ? n - r0 : step);
    if (tile_rows > 0) knn_stage(R, r0, br, d, tile);
    if (!live || !(rad > 0)) continue;
    for (int jj = 0; jj < br; jj++) {
      const ie_i64 j = r0 + jj;
      if (self && j == i) continue;
      cnt += tile_rows > 0 ? knn_inside_local(qi, tile + jj * d, d, rad)
                           : knn_inside_global(qi, R + j * d, d, rad);
    }
  }
  if (live) count[i] = cnt;
}

#endif /* fp64 */
