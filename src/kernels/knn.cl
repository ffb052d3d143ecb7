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
#include "knn_terms.h"
#include "widen.h"

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

/* count[i] = #{j (≠ i when self) : max_c |R_jc − Q_ic| < radius[i]} (as a
 * double: the estimators' vectors are doubles; exact below 2^53). */
KERNEL void knn_range_count(GLOBAL const float *Q, GLOBAL const float *R, ie_i64 m, ie_i64 n,
                            int d, GLOBAL const double *radius, int self,
                            GLOBAL double *count, int tile_rows)
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
  if (live) count[i] = (double)cnt;
}

/* The caller's samples on the device, validated: rows × cols elements of a
 * matrix of dtype dt (WIDEN_F32/F16/BF16; exact in float) at byte offset
 * `off` of src with row stride `stride` (elements) into columns
 * [col0, col0 + cols) of the compact float32 dst (dst_cols columns: the
 * joint space of KSG takes two loads).  *bad becomes the smallest row
 * holding a NaN or ±inf (the host sets it to KNN_NO_ROW first): the
 * non-finite check is fused into the one pass over the input. */
KERNEL void knn_load(GLOBAL const ie_u8 *src, ie_u64 off, int dt, ie_i64 stride, ie_i64 rows,
                     ie_i64 cols, GLOBAL float *dst, ie_i64 dst_cols, ie_i64 col0,
                     GLOBAL ie_i32 *bad)
{
  GLOBAL const ie_u8 *base = src + off;
  const ie_i64 total = rows * cols;
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {
    const ie_i64 r = e / cols, c = e - r * cols;
    const float v = widen_load_f(base, r * stride + c, dt);
    dst[r * dst_cols + col0 + c] = v;
    if (isnan(v) || isinf(v)) ATOMIC_MIN_I32(bad, (ie_i32)r);
  }
}

/* Columns [col0, k) of the sorted neighbours of the bq queries of a chunk
 * (heaps hd, hi: k each, query q0 + i at row i) into the outputs: element
 * (q0 + i, c − col0) of ib (int64 when i64, else int32) and db (double when
 * f64, else float), each at a byte offset with a row stride in elements;
 * has_i / has_d say which are wanted.  ie_knn's outputs written in place,
 * or the k-th distances (col0 = k − 1) of the estimators. */
KERNEL void knn_emit(GLOBAL const double *hd, GLOBAL const ie_i64 *hi, ie_i64 q0, ie_i64 bq,
                     ie_i64 k, ie_i64 col0, int has_i, GLOBAL ie_u8 *ib, ie_u64 ioff, int i64,
                     ie_i64 istride, int has_d, GLOBAL ie_u8 *db, ie_u64 doff, int f64,
                     ie_i64 dstride)
{
  const ie_i64 w = k - col0, total = bq * w;
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {
    const ie_i64 r = e / w, c = e - r * w, src = r * k + col0 + c, row = q0 + r;
    if (has_i) {
      if (i64) ((GLOBAL ie_i64 *)(ib + ioff))[row * istride + c] = hi[src];
      else ((GLOBAL ie_i32 *)(ib + ioff))[row * istride + c] = (ie_i32)hi[src];
    }
    if (has_d) {
      if (f64) ((GLOBAL double *)(db + doff))[row * dstride + c] = hd[src];
      else ((GLOBAL float *)(db + doff))[row * dstride + c] = (float)hd[src];
    }
  }
}

/* NNR's density ratios r_i of the M queries from their sorted k distances
 * in x (dx) and in y (dy), M × k each (knn_terms.h). */
KERNEL void knn_nnr(GLOBAL const double *dx, GLOBAL const double *dy, ie_i64 M, ie_i64 k,
                    double eta, GLOBAL double *r)
{
  for (ie_i64 i = GLOBAL_ID(); i < M; i += GLOBAL_SIZE())
    r[i] = knn_nnr_ratio(dx + i * k, dy + i * k, k, eta);
}

/* The statistics of knn_terms.h over n points (one work-group of
 * KNN_RED_NT work-items; each takes every KNN_RED_NT-th point, then a tree
 * in a fixed order): stats[KNN_STATS], the only bytes read back. */
KERNEL void knn_reduce(GLOBAL const double *v, GLOBAL const double *w, int has_w, ie_i64 n,
                       int op, int kind, double p0, double p1, double p2, double p3, double p4,
                       GLOBAL double *stats)
{
  LOCAL_ARRAY(knn_acc, sh, KNN_RED_NT);
  const ie_i64 lid = LOCAL_ID();
  knn_acc a;
  knn_acc_init(&a);
  for (ie_i64 i = lid; i < n; i += KNN_RED_NT) {
    const double vi = v[i], wi = has_w ? w[i] : 0;
    knn_acc_add(&a, i, knn_term(op, kind, has_w, vi, wi, p0, p1, p2, p3, p4), vi, wi, has_w);
  }
  sh[lid] = a;
  BARRIER();
  for (int s = KNN_RED_NT / 2; s > 0; s >>= 1) {
    if (lid < s) {
      knn_acc x = sh[lid], y = sh[lid + s];
      knn_acc_merge(&x, &y);
      sh[lid] = x;
    }
    BARRIER();
  }
  if (lid == 0) {
    knn_acc x = sh[0];
    knn_acc_out(&x, stats);
  }
}

#endif /* fp64 */
