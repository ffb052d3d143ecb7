/*
 * knn.cl — exact k-nearest-neighbour search and max-norm range counting
 * (docs/SPEC.md §5) on a GPU: compiled as OpenCL C by the OpenCL backend
 * (src/opencl/knn.c) and as CUDA C++ by the CUDA backend (src/cuda/knn.cu).
 * Names start with knn_ (the OpenCL kernels are one program).
 *
 * Distances are computed in double from coordinate differences of the
 * float32 points, in coordinate order: the arithmetic of the CPU backend and
 * of a float64 NumPy reference, so duplicates are at exactly 0 and every
 * backend keeps the same neighbours.  Euclidean searches with k ≤
 * KNN_TL_KMAX take two stages (knn_filter, knn_exact below: float32 GEMM
 * tiles choose the candidates with a rigorous error bound, their keys are
 * computed as here); the rest, knn_search: one work-item a query.  A work-group
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

/* key + t², rounded twice and never fused into an FMA: the keys of the CPU
 * backend and of NumPy, to the bit (OpenCL: FP_CONTRACT off in this file,
 * back on at its end; CUDA: the _rn intrinsics, which nvcc never fuses). */
#ifdef IE_KERNEL_OPENCL
#pragma OPENCL FP_CONTRACT OFF
#define KNN_SQ_ADD(key, t) ((key) + (t) * (t))
#else
#define KNN_SQ_ADD(key, t) __dadd_rn((key), __dmul_rn((t), (t)))
#endif

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
        key = KNN_SQ_ADD(key, t);                                                         \
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

/* ---- Euclidean: float32 GEMM filter, exact keys ------------------------------------ *
 *
 * Stage 0 (knn_colmean, knn_center): the points are centred on the mean μ of
 * the references (a shift changes no distance, and points far from the
 * origin — ‖x‖ ≫ their spread, the GEMM form's worst case — become small),
 * rounded to float32: a = fl(x − μ), with squared norms ‖a‖² (float; +inf at
 * or above KNN_TL_BIG).
 *
 * Stage 1 (knn_filter): F = ‖a‖² + ‖b‖² − 2⟨a, b⟩ in float32 for every query
 * a against every reference b (register tiles; the m × n products never
 * reach memory), with a bound E ≥ |F − K| on its distance from the exact key
 * K (knn_key_global: Σ (x_c − y_c)² in double).  With u = 2^-24,
 * S = ‖a‖² + ‖b‖², v = u/(1 − u):
 *   - centring: x − μ = a + α with |α_c| ≤ v|a_c| (one double and one float
 *     rounding), so ‖x − y‖ = ‖a − b‖ ± v(‖a‖ + ‖b‖) and ‖x − y‖² is within
 *     (4v + 2v²) S of ‖a − b‖²;
 *   - the float GEMM form: the dot product (d terms, any order, with or
 *     without FMA) is within γ_d ‖a‖‖b‖ ≤ γ_d S/2 of ⟨a, b⟩ (Higham, Accuracy
 *     and Stability, Lemma 3.4 / §3.1), γ_d = du/(1 − du); the norms' own
 *     rounding and the two float additions add ≤ 4u S: F is within
 *     (d + 4)u S (to first order) of ‖a − b‖²;
 *   - the double key: within γ_{d+2} (2^-53) of ‖x − y‖², below 2^-26 u S;
 *   - forming F ± E in float: ≤ 2u S more.
 * In all (d + 10)u S plus terms of order d²u² S; E = (d + 16) 2u S covers
 * them with a factor two to spare (the CPU backend's margin, src/cpu/knn.c),
 * plus (d + 16) 2^-100 for products that underflow.
 *
 * With L = F − E ≤ K ≤ U = F + E for every reference, let T be the k-th
 * smallest U of a query: at least k references have K ≤ T, so every one of
 * the k nearest has K ≤ T and hence L ≤ T.  The references with L ≤ T are
 * the candidates: a query keeps them in local memory (at most KNN_TL_CAP;
 * those above the running T, which only falls, are dropped as it falls) and
 * its k smallest U in a max-heap that gives T.  A query whose candidates
 * overflow (duplicates, ties, points at one distance), or whose norm is
 * KNN_TL_BIG or more, is marked (−1).
 *
 * Stage 2 (knn_exact): one work-item a query offers every candidate's exact
 * key to the heap of knn_heap.h, the keys and order of knn_search; a marked
 * query scans every reference as knn_search does.  Since the candidates hold
 * the k best (key, index) pairs, the result is knn_search's, bit for bit. */

/* mean[c] = (1/n) Σ_j R_jc in double: one work-group (KNN_RED_NT) a column,
 * each work-item every KNN_RED_NT-th row, then a tree in a fixed order. */
KERNEL void knn_colmean(GLOBAL const float *R, ie_i64 n, int d, GLOBAL double *mean)
{
  LOCAL_ARRAY(double, sh, KNN_RED_NT);
  const ie_i64 lid = LOCAL_ID();
  for (ie_i64 c = GROUP_ID(); c < d; c += NUM_GROUPS()) {
    double s = 0;
    for (ie_i64 j = lid; j < n; j += KNN_RED_NT) s += (double)R[j * d + c];
    BARRIER();
    sh[lid] = s;
    BARRIER();
    for (int h = KNN_RED_NT / 2; h > 0; h >>= 1) {
      if (lid < h) sh[lid] += sh[lid + h];
      BARRIER();
    }
    if (lid == 0) mean[c] = n > 0 ? sh[0] / (double)n : 0;
  }
}

/* Xc = fl32(X − mean) (rows × d, at element xo of C) and norm[r] = ‖Xc_r‖²
 * (at element no of C; computed in double, stored as float; +inf at or
 * above KNN_TL_BIG). */
KERNEL void knn_center(GLOBAL const float *X, ie_i64 rows, int d, GLOBAL const double *mean,
                       GLOBAL float *C, ie_u64 xo, ie_u64 no)
{
  GLOBAL float *Xc = C + xo, *norm = C + no;
  for (ie_i64 r = GLOBAL_ID(); r < rows; r += GLOBAL_SIZE()) {
    double sq = 0;
    for (int c = 0; c < d; c++) {
      const float v = (float)((double)X[r * d + c] - mean[c]);
      Xc[r * d + c] = v;
      sq += (double)v * v;
    }
    norm[r] = sq < (double)KNN_TL_BIG ? (float)sq : IE_INFINITY_F;
  }
}

/* Query `own`'s k smallest upper bounds: a max-heap h of *hc ≤ k floats;
 * returns the new threshold T (the k-th smallest, +inf until k are seen). */
FN float knn_tl_bound(LOCAL float *h, int *hc, int k, float U)
{
  if (*hc < k) {
    int p = (*hc)++;
    while (p > 0) {
      const int up = (p - 1) / 2;
      if (!(h[up] < U)) break;
      h[p] = h[up];
      p = up;
    }
    h[p] = U;
  } else if (U < h[0]) {
    int p = 0;
    for (;;) {
      int c = 2 * p + 1;
      if (c >= k) break;
      if (c + 1 < k && h[c + 1] > h[c]) c++;
      if (!(h[c] > U)) break;
      h[p] = h[c];
      p = c;
    }
    h[p] = U;
  }
  return *hc < k ? IE_INFINITY_F : h[0];
}

/* Keep the candidates (j, L) of a list with L ≤ T; returns their count. */
FN int knn_tl_prune(LOCAL ie_i32 *cj, LOCAL float *cl, int cnt, float T)
{
  int w = 0;
  for (int t = 0; t < cnt; t++)
    if (cl[t] <= T) {
      cj[w] = cj[t];
      cl[w] = cl[t];
      w++;
    }
  return w;
}

/* Stage 1 for queries q0 .. q0 + m − 1 (rows of the centred Qc, norms qn)
 * against the n centred references Rc (norms rn), all in C at element
 * offsets o[0..3] = Qc, qn, Rc, rn: query q0 + i's candidates at
 * cand[i·KNN_TL_CAP ..], their count at ncand[i] = cand[nc + i] (−1: search
 * it all).  tol = (d + 16)·2^-23, slack = (d + 16)·2^-100 (the bound above).
 * Groups of KNN_TL_WG work-items, KNN_TL_Q queries each; k ≤ KNN_TL_KMAX. */
KERNEL void knn_filter(GLOBAL const float *C, ie_u64 qco, ie_u64 qno, ie_u64 rco, ie_u64 rno,
                       ie_i64 q0, ie_i64 m, ie_i64 n, int d, int k, int self, float tol,
                       float slack, GLOBAL ie_i32 *cand, ie_u64 nc)
{
  GLOBAL const float *Qc = C + qco, *qn = C + qno, *Rc = C + rco, *rn = C + rno;
  GLOBAL ie_i32 *ncand = cand + nc;
  LOCAL_ARRAY(float, qs, KNN_TL_DC * KNN_TL_Q);
  LOCAL_ARRAY(float, rs, KNN_TL_DC * KNN_TL_R);
  LOCAL_ARRAY(float, lo, KNN_TL_Q * (KNN_TL_R + 1));
  LOCAL_ARRAY(float, hi, KNN_TL_Q * (KNN_TL_R + 1));
  LOCAL_ARRAY(ie_i32, lj, KNN_TL_Q * KNN_TL_CAP);
  LOCAL_ARRAY(float, ll, KNN_TL_Q * KNN_TL_CAP);
  LOCAL_ARRAY(float, uh, KNN_TL_Q * KNN_TL_KMAX);
  const int lid = (int)LOCAL_ID(), tq = lid / 8, tr = lid % 8;
  const ie_i64 g0 = GROUP_ID() * KNN_TL_Q; /* the group's first query, in the chunk */
  /* Work-item lid < KNN_TL_Q owns query g0 + lid: its list, heap and T. */
  const int own = lid < KNN_TL_Q && g0 + lid < m;
  const ie_i64 me = q0 + g0 + lid;
  LOCAL ie_i32 *cj = lj + lid * KNN_TL_CAP;
  LOCAL float *cl = ll + lid * KNN_TL_CAP;
  LOCAL float *uk = uh + lid * KNN_TL_KMAX;
  float T = IE_INFINITY_F;
  int cnt = 0, hc = 0, over = own ? !(qn[me] < KNN_TL_BIG) : 1;
  float na[4];
  for (int a = 0; a < 4; a++) {
    const ie_i64 qi = g0 + tq + 8 * a;
    na[a] = qi < m ? qn[q0 + qi] : 0;
  }
  for (ie_i64 r0 = 0; r0 < n; r0 += KNN_TL_R) {
    float acc[4][4];
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 4; b++) acc[a][b] = 0;
    for (int c0 = 0; c0 < d; c0 += KNN_TL_DC) {
      BARRIER(); /* the previous step's (and tile's) reads are done */
      for (int e = lid; e < KNN_TL_DC * KNN_TL_Q; e += KNN_TL_WG) {
        const int row = e / KNN_TL_DC, c = e - row * KNN_TL_DC;
        const ie_i64 qi = g0 + row, rj = r0 + row;
        qs[c * KNN_TL_Q + row] = qi < m && c0 + c < d ? Qc[(q0 + qi) * d + c0 + c] : 0;
        rs[c * KNN_TL_R + row] = rj < n && c0 + c < d ? Rc[rj * d + c0 + c] : 0;
      }
      BARRIER();
      for (int c = 0; c < KNN_TL_DC; c++) {
        float x[4], y[4];
        for (int a = 0; a < 4; a++) x[a] = qs[c * KNN_TL_Q + tq + 8 * a];
        for (int b = 0; b < 4; b++) y[b] = rs[c * KNN_TL_R + tr + 8 * b];
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 4; b++) acc[a][b] += x[a] * y[b];
      }
    }
    /* L and U of the tile's pairs (the lists are read after the barrier) */
    for (int b = 0; b < 4; b++) {
      const ie_i64 rj = r0 + tr + 8 * b;
      const float nb = rj < n ? rn[rj] : 0;
      for (int a = 0; a < 4; a++) {
        const float s = na[a] + nb, f = s - 2 * acc[a][b], e = tol * s + slack;
        const int at = (tq + 8 * a) * (KNN_TL_R + 1) + tr + 8 * b;
        const int wild = !(nb < KNN_TL_BIG);
        lo[at] = wild ? -IE_INFINITY_F : f - e;
        hi[at] = wild ? IE_INFINITY_F : f + e;
      }
    }
    BARRIER();
    if (over) continue;
    for (int t = 0; t < KNN_TL_R; t++) {
      const ie_i64 j = r0 + t;
      const float L = lo[lid * (KNN_TL_R + 1) + t];
      if (j >= n) break;
      if (!(L <= T) || (self && j == me)) continue;
      T = knn_tl_bound(uk, &hc, k, hi[lid * (KNN_TL_R + 1) + t]);
      if (cnt == KNN_TL_CAP) cnt = knn_tl_prune(cj, cl, cnt, T);
      if (cnt == KNN_TL_CAP) {
        over = 1;
        break;
      }
      cj[cnt] = (ie_i32)j;
      cl[cnt] = L;
      cnt++;
    }
  }
  if (!own) return;
  GLOBAL ie_i32 *out = cand + (g0 + lid) * KNN_TL_CAP;
  if (!over) {
    cnt = knn_tl_prune(cj, cl, cnt, T);
    for (int t = 0; t < cnt; t++) out[t] = cj[t];
  }
  ncand[g0 + lid] = over ? -1 : cnt;
}

/* Stage 2: the sorted k nearest of queries q0 .. q0 + m − 1 of Q (the
 * caller's float32 points) at rows i of dist / idx, from their candidates
 * (knn_filter's cand, counts at cand + nc), or from every reference
 * (count −1). */
KERNEL void knn_exact(GLOBAL const float *Q, GLOBAL const float *R, ie_i64 q0, ie_i64 m, ie_i64 n,
                      int d, ie_i64 k, int self, GLOBAL const ie_i32 *cand, ie_u64 nc,
                      GLOBAL double *dist, GLOBAL ie_i64 *idx)
{
  GLOBAL const ie_i32 *ncand = cand + nc;
  const ie_i64 li = GLOBAL_ID(), i = q0 + li;
  if (li >= m) return;
  GLOBAL double *hd = dist + li * k;
  GLOBAL ie_i64 *hi = idx + li * k;
  GLOBAL const float *qi = Q + i * d;
  const ie_i32 got = ncand[li];
  const ie_i64 total = got < 0 ? n : got;
  ie_i64 cnt = 0;
  for (ie_i64 t = 0; t < total; t++) {
    const ie_i64 j = got < 0 ? t : (ie_i64)cand[li * KNN_TL_CAP + t];
    if (self && j == i) continue;
    const double w = cnt < k ? IE_INFINITY : hd[0];
    const double key = knn_key_global(qi, R + j * d, d, 0, w);
    if (key <= w) knn_offer(hd, hi, &cnt, k, key, j);
  }
  knn_heap_finish(hd, hi, cnt, 1);
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

#ifdef IE_KERNEL_OPENCL
#pragma OPENCL FP_CONTRACT ON
#endif
#endif /* fp64 */
