/*
 * knn.c — host side of the OpenCL device-resident k-nearest neighbours
 * (src/knn_dev.h) over the shared kernels of src/kernels/knn.cl.  Every
 * temporary is a workspace slot and every kernel is made once per context,
 * so a warm call creates no buffer; the only reads are the 4-byte bad row of
 * a load and the KNN_STATS doubles of a reduction.  Queries run in chunks
 * whose heaps (k doubles and k longs each) fit in 256 MiB, so device memory
 * stays bounded whatever m·k; each chunk's sorted neighbours go straight to
 * the sink (knn_emit).  Euclidean searches with k ≤ KNN_TL_KMAX centre the
 * points once a call (knn_colmean, knn_center), then filter and finish each
 * chunk (knn_filter, knn_exact); the rest run knn_search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../knn_dev.h"
#include "../kernels/knn_heap.h"
#include "../kernels/knn_terms.h"

enum { KNN_WG = 64, K_SEARCH, K_RANGE, K_LOAD, K_EMIT, K_NNR, K_REDUCE, K_COLMEAN, K_CENTER,
       K_FILTER, K_EXACT };
#define KNN_CHUNK_BYTES ((size_t)256 << 20)

/* Kernel `which` (K_*), made on first use and kept in the context. */
static ie_status knn_kernel(ie_context *ctx, int which, cl_kernel *out) {
  static const char *const names[] = {"knn_search", "knn_range_count", "knn_load",
                                      "knn_emit",   "knn_nnr",         "knn_reduce",
                                      "knn_colmean", "knn_center",     "knn_filter",
                                      "knn_exact"};
  ie_ocl *s = ctx->state;
  const int i = which - K_SEARCH;
  *out = NULL;
  if (!s->fp64)
    return ie__error(ctx, IE_UNSUPPORTED,
                     "%s: this OpenCL device has no cl_khr_fp64; the k-nearest-neighbour "
                     "distances are computed in double",
                     names[i]);
  if (!s->knn_k[i]) {
    ie_status st = ie__ocl_build(ctx, s);
    if (st != IE_OK) return st;
    cl_int e = CL_SUCCESS;
    cl_kernel k = clCreateKernel(s->program, names[i], &e);
    if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clCreateKernel", e);
    s->knn_k[i] = k;
  }
  *out = s->knn_k[i];
  return IE_OK;
}

#define TRY(call, expr) IE_CL_TRY(ctx, call, expr)
#define ARG(k, i, v) TRY("clSetKernelArg", clSetKernelArg((k), (i), sizeof(v), &(v)))
#define CK(expr)                \
  do {                          \
    ie_status s_ = (expr);      \
    if (s_ != IE_OK) return s_; \
  } while (0)

static cl_mem mem_of(const ie_mat *m) { return (cl_mem)m->buf; }

/* Rows of the reference tile in local memory (0: read global memory). */
static int tile_rows(int64_t d) {
  const int64_t rows = KNN_TILE_FLOATS / d;
  return rows >= 8 ? (int)(rows > 1024 ? 1024 : rows) : 0;
}

/* An element-wise kernel over `items`: groups of 256, at most 4096 of them
 * (the kernels loop). */
static ie_status run_items(ie_context *ctx, cl_kernel k, int64_t items, const char *name) {
  int64_t groups = (items + 255) / 256;
  if (groups < 1) groups = 1;
  if (groups > 4096) groups = 4096;
  const size_t l = 256, g = (size_t)groups * 256;
  cl_int e = clEnqueueNDRangeKernel(((ie_ocl *)ctx->state)->queue, k, 1, NULL, &g, &l, 0, NULL, NULL);
  if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, name, e);
  return IE_OK;
}

static ie_status ocl_knn_load(ie_context *ctx, const ie_mat *src, void *dst, int64_t dst_cols,
                              int64_t col0, int64_t *bad_row) {
  *bad_row = -1;
  const int64_t rows = src->rows, cols = src->cols;
  if (rows == 0 || cols == 0) return IE_OK;
  if (rows >= KNN_NO_ROW)
    return ie__error(ctx, IE_BAD_SHAPE, "knn (opencl): %lld samples; at most %d", (long long)rows, KNN_NO_ROW - 1);
  ie_ocl *s = ctx->state;
  cl_kernel k;
  CK(knn_kernel(ctx, K_LOAD, &k));
  void *badv;
  CK(ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 2, sizeof(cl_int), &badv));
  cl_mem bad = badv, S = mem_of(src), D = dst;
  const cl_int none = KNN_NO_ROW, dt = (cl_int)src->dtype;
  TRY("clEnqueueFillBuffer", clEnqueueFillBuffer(s->queue, bad, &none, sizeof none, 0, sizeof none, 0, NULL, NULL));
  cl_ulong off = src->offset;
  cl_long stride = src->stride, cr = rows, cc = cols, dc = dst_cols, c0 = col0;
  ARG(k, 0, S);
  ARG(k, 1, off);
  ARG(k, 2, dt);
  ARG(k, 3, stride);
  ARG(k, 4, cr);
  ARG(k, 5, cc);
  ARG(k, 6, D);
  ARG(k, 7, dc);
  ARG(k, 8, c0);
  ARG(k, 9, bad);
  CK(run_items(ctx, k, rows * cols, "clEnqueueNDRangeKernel(knn_load)"));
  cl_int got = none;
  TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, bad, CL_TRUE, 0, sizeof got, &got, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, sizeof got);
  *bad_row = got == none ? -1 : got;
  return IE_OK;
}

/* The two-stage Euclidean search (knn_filter, knn_exact) for this call:
 * k within the filter's heap, d and n within its int arithmetic; the
 * variable IE_KNN_NO_TILES (tests) keeps every search on knn_search. */
static int tiled(ie_knn_metric metric, int64_t n, int64_t d, int64_t k) {
  const char *off = getenv("IE_KNN_NO_TILES");
  return metric == IE_METRIC_EUCLIDEAN && k <= KNN_TL_KMAX && d >= 1 && d <= 65536 &&
         n < INT32_MAX && !(off && *off && *off != '0');
}

/* Stage 0 of the two-stage search: the references' mean (slot MEAN), then
 * the centred float32 points and their norms in slot CENTRED: references
 * [0, n·d), their norms [.., + n), and, when q is not r, the queries and
 * theirs after them.  off: the element offsets of the centred queries,
 * their norms, the centred references, theirs. */
static ie_status ocl_knn_center(ie_context *ctx, const ie_mat *q, const ie_mat *r, cl_mem *cbuf,
                                cl_ulong off[4]) {
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  const int same = q->buf == r->buf && m == n;
  ie_ocl *s = ctx->state;
  cl_kernel km, kc;
  CK(knn_kernel(ctx, K_COLMEAN, &km));
  CK(knn_kernel(ctx, K_CENTER, &kc));
  void *mv, *cv;
  const size_t floats = (size_t)(n * d + n) + (same ? 0 : (size_t)(m * d + m));
  CK(ie__ws_device(ctx, IE_KNN_SLOT_MEAN, (size_t)d * sizeof(double), &mv));
  CK(ie__ws_device(ctx, IE_KNN_SLOT_CENTRED, floats * sizeof(float), &cv));
  cl_mem mean = mv, C = cv, R = mem_of(r), Q = mem_of(q);
  off[0] = same ? 0 : (cl_ulong)(n * d + n); /* queries */
  off[1] = off[0] + (cl_ulong)(same ? n * d : m * d);
  off[2] = 0;
  off[3] = (cl_ulong)(n * d);
  const cl_long cn = n;
  const cl_int cd = (cl_int)d;
  ARG(km, 0, R);
  ARG(km, 1, cn);
  ARG(km, 2, cd);
  ARG(km, 3, mean);
  {
    const size_t l = KNN_RED_NT, g = (size_t)(d < 4096 ? d : 4096) * KNN_RED_NT;
    TRY("clEnqueueNDRangeKernel(knn_colmean)",
        clEnqueueNDRangeKernel(s->queue, km, 1, NULL, &g, &l, 0, NULL, NULL));
  }
  /* knn_center writes rows × d floats and rows norms into C, at offsets. */
  for (int side = 0; side < (same ? 1 : 2); side++) {
    const ie_mat *x = side == 0 ? r : q;
    const cl_mem X = side == 0 ? R : Q;
    const cl_long rows = x->rows;
    const cl_ulong xo = side == 0 ? off[2] : off[0], no = side == 0 ? off[3] : off[1];
    ARG(kc, 0, X);
    ARG(kc, 1, rows);
    ARG(kc, 2, cd);
    ARG(kc, 3, mean);
    ARG(kc, 4, C);
    ARG(kc, 5, xo);
    ARG(kc, 6, no);
    CK(run_items(ctx, kc, rows, "clEnqueueNDRangeKernel(knn_center)"));
  }
  *cbuf = C;
  return IE_OK;
}

static ie_status ocl_knn_search(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                                ie_knn_metric metric, int self, const ie_knn_sink *out) {
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0 || k == 0) return IE_OK;
  ie_ocl *s = ctx->state;
  const int two = tiled(metric, n, d, k);
  cl_kernel ks, ke, kf = NULL;
  CK(knn_kernel(ctx, two ? K_EXACT : K_SEARCH, &ks));
  CK(knn_kernel(ctx, K_EMIT, &ke));
  if (two) CK(knn_kernel(ctx, K_FILTER, &kf));
  /* A query's heap is 16 k bytes, its candidates 4 (KNN_TL_CAP + 1). */
  const size_t per = 16 * (size_t)k + (two ? 4 * (KNN_TL_CAP + 1) : 0);
  int64_t chunk = (int64_t)(KNN_CHUNK_BYTES / per);
  if (chunk < 1) chunk = 1;
  if (chunk > m) chunk = m;
  chunk = (chunk + KNN_WG - 1) / KNN_WG * KNN_WG;
  const size_t hb = (size_t)chunk * (size_t)k;
  void *bdv, *biv, *cv = NULL;
  CK(ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 0, hb * sizeof(double), &bdv));
  CK(ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 1, hb * sizeof(cl_long), &biv));
  cl_mem C = NULL;
  cl_ulong co[4] = {0, 0, 0, 0};
  if (two) {
    CK(ie__ws_device(ctx, IE_KNN_SLOT_CAND, (size_t)chunk * (KNN_TL_CAP + 1) * sizeof(cl_int), &cv));
    CK(ocl_knn_center(ctx, q, r, &C, co));
  }
  cl_mem bd = bdv, bi = biv, Q = mem_of(q), R = mem_of(r), cand = cv;
  const cl_int tr = tile_rows(d), cd = (cl_int)d, cheb = metric == IE_METRIC_CHEBYSHEV, cself = self != 0;
  const cl_long cn = n, ck = k, c0 = out->col0;
  const cl_int has_i = out->idx != NULL, has_d = out->dist != NULL;
  const cl_mem ib = has_i ? mem_of(out->idx) : bd, db = has_d ? mem_of(out->dist) : bd;
  const cl_ulong ioff = has_i ? out->idx->offset : 0, doff = has_d ? out->dist->offset : 0;
  const cl_int i64 = has_i && out->idx->dtype == IE_DT_I64, f64 = has_d && out->dist->dtype == IE_DT_F64;
  const cl_long ist = has_i ? out->idx->stride : 0, dst = has_d ? out->dist->stride : 0;
  /* The filter's bound (src/kernels/knn.cl): E = tol (‖a‖² + ‖b‖²) + slack. */
  const cl_float tol = (cl_float)((double)(d + 16) * 0x1p-23), slack = (cl_float)((double)(d + 16) * 0x1p-100);
  const cl_int ck32 = (cl_int)k;
  const cl_ulong nc = (cl_ulong)chunk * KNN_TL_CAP;
  for (int64_t q0 = 0; q0 < m; q0 += chunk) {
    if (ie__cancelled(ctx)) { /* leave nothing queued on the slots */
      TRY("clFinish", clFinish(s->queue));
      return ie__cancel(ctx, "knn (opencl)");
    }
    const cl_long cq0 = q0, bq = m - q0 < chunk ? m - q0 : chunk;
    const size_t lws = KNN_WG, gws = (size_t)(bq + KNN_WG - 1) / KNN_WG * KNN_WG;
    if (two) {
      ARG(kf, 0, C);
      ARG(kf, 1, co[0]);
      ARG(kf, 2, co[1]);
      ARG(kf, 3, co[2]);
      ARG(kf, 4, co[3]);
      ARG(kf, 5, cq0);
      ARG(kf, 6, bq);
      ARG(kf, 7, cn);
      ARG(kf, 8, cd);
      ARG(kf, 9, ck32);
      ARG(kf, 10, cself);
      ARG(kf, 11, tol);
      ARG(kf, 12, slack);
      ARG(kf, 13, cand);
      ARG(kf, 14, nc);
      const size_t fl = KNN_TL_WG, fg = (size_t)((bq + KNN_TL_Q - 1) / KNN_TL_Q) * KNN_TL_WG;
      TRY("clEnqueueNDRangeKernel(knn_filter)",
          clEnqueueNDRangeKernel(s->queue, kf, 1, NULL, &fg, &fl, 0, NULL, NULL));
      ARG(ks, 0, Q);
      ARG(ks, 1, R);
      ARG(ks, 2, cq0);
      ARG(ks, 3, bq);
      ARG(ks, 4, cn);
      ARG(ks, 5, cd);
      ARG(ks, 6, ck);
      ARG(ks, 7, cself);
      ARG(ks, 8, cand);
      ARG(ks, 9, nc);
      ARG(ks, 10, bd);
      ARG(ks, 11, bi);
      TRY("clEnqueueNDRangeKernel(knn_exact)",
          clEnqueueNDRangeKernel(s->queue, ks, 1, NULL, &gws, &lws, 0, NULL, NULL));
    } else {
      ARG(ks, 0, Q);
      ARG(ks, 1, R);
      ARG(ks, 2, cq0);
      ARG(ks, 3, bq);
      ARG(ks, 4, cn);
      ARG(ks, 5, cd);
      ARG(ks, 6, ck);
      ARG(ks, 7, cheb);
      ARG(ks, 8, cself);
      ARG(ks, 9, bd);
      ARG(ks, 10, bi);
      ARG(ks, 11, tr);
      TRY("clEnqueueNDRangeKernel(knn_search)",
          clEnqueueNDRangeKernel(s->queue, ks, 1, NULL, &gws, &lws, 0, NULL, NULL));
    }
    ARG(ke, 0, bd);
    ARG(ke, 1, bi);
    ARG(ke, 2, cq0);
    ARG(ke, 3, bq);
    ARG(ke, 4, ck);
    ARG(ke, 5, c0);
    ARG(ke, 6, has_i);
    ARG(ke, 7, ib);
    ARG(ke, 8, ioff);
    ARG(ke, 9, i64);
    ARG(ke, 10, ist);
    ARG(ke, 11, has_d);
    ARG(ke, 12, db);
    ARG(ke, 13, doff);
    ARG(ke, 14, f64);
    ARG(ke, 15, dst);
    CK(run_items(ctx, ke, bq * (k - out->col0), "clEnqueueNDRangeKernel(knn_emit)"));
  }
  return IE_OK;
}

static ie_status ocl_knn_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r, void *radius,
                                     int self, void *count) {
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0) return IE_OK;
  ie_ocl *s = ctx->state;
  cl_kernel kr;
  CK(knn_kernel(ctx, K_RANGE, &kr));
  cl_mem Q = mem_of(q), R = mem_of(r), brad = radius, bc = count;
  const cl_long cm = m, cn = n;
  const cl_int cd = (cl_int)d, cself = self != 0, ctr = tile_rows(d);
  ARG(kr, 0, Q);
  ARG(kr, 1, R);
  ARG(kr, 2, cm);
  ARG(kr, 3, cn);
  ARG(kr, 4, cd);
  ARG(kr, 5, brad);
  ARG(kr, 6, cself);
  ARG(kr, 7, bc);
  ARG(kr, 8, ctr);
  const size_t lws = KNN_WG, gws = (size_t)(m + KNN_WG - 1) / KNN_WG * KNN_WG;
  TRY("clEnqueueNDRangeKernel(knn_range_count)",
      clEnqueueNDRangeKernel(s->queue, kr, 1, NULL, &gws, &lws, 0, NULL, NULL));
  return IE_OK;
}

static ie_status ocl_knn_nnr(ie_context *ctx, void *dx, void *dy, int64_t M, int64_t k, double eta,
                             void *r) {
  if (M == 0) return IE_OK;
  cl_kernel kn;
  CK(knn_kernel(ctx, K_NNR, &kn));
  cl_mem X = dx, Y = dy, Rr = r;
  const cl_long cm = M, ck = k;
  const cl_double ce = eta;
  ARG(kn, 0, X);
  ARG(kn, 1, Y);
  ARG(kn, 2, cm);
  ARG(kn, 3, ck);
  ARG(kn, 4, ce);
  ARG(kn, 5, Rr);
  return run_items(ctx, kn, M, "clEnqueueNDRangeKernel(knn_nnr)");
}

static ie_status ocl_knn_reduce(ie_context *ctx, const ie_knn_red *a, double *stats) {
  ie_ocl *s = ctx->state;
  cl_kernel kr;
  CK(knn_kernel(ctx, K_REDUCE, &kr));
  void *stv;
  CK(ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 3, KNN_STATS * sizeof(double), &stv));
  cl_mem V = a->v, W = a->w ? (cl_mem)a->w : (cl_mem)a->v, S = stv;
  const cl_int has_w = a->w != NULL, op = a->op, kind = a->kind;
  const cl_long n = a->n;
  ARG(kr, 0, V);
  ARG(kr, 1, W);
  ARG(kr, 2, has_w);
  ARG(kr, 3, n);
  ARG(kr, 4, op);
  ARG(kr, 5, kind);
  for (int i = 0; i < 5; i++) {
    const cl_double p = a->p[i];
    ARG(kr, (cl_uint)(6 + i), p);
  }
  ARG(kr, 11, S);
  const size_t l = KNN_RED_NT, g = KNN_RED_NT;
  TRY("clEnqueueNDRangeKernel(knn_reduce)", clEnqueueNDRangeKernel(s->queue, kr, 1, NULL, &g, &l, 0, NULL, NULL));
  TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, S, CL_TRUE, 0, KNN_STATS * sizeof(double), stats,
                                                 0, NULL, NULL));
  ie__ws_copied(ctx, 0, KNN_STATS * sizeof(double));
  return IE_OK;
}

const ie_knn_ops ie__opencl_knn_ops = {
    .load = ocl_knn_load,
    .search = ocl_knn_search,
    .range_count = ocl_knn_range_count,
    .nnr = ocl_knn_nnr,
    .reduce = ocl_knn_reduce,
};
