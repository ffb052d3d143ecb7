/*
 * knn.cu — the CUDA backend's device-resident k-nearest neighbours
 * (src/knn_dev.h): launchers of the shared kernels of src/kernels/knn.cl
 * (Euclidean with k ≤ KNN_TL_KMAX: float32 GEMM tiles filter, exact double
 * keys finish; otherwise one thread a query; heaps in device memory; see
 * there).  Every temporary is a workspace slot, so a warm call allocates
 * nothing; the only copies are the 4-byte bad row of a load and the
 * KNN_STATS doubles of a reduction.  Queries run in chunks whose heaps fit
 * in 256 MiB; each chunk's sorted neighbours go straight to the sink.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "cu_internal.h"
#include "../knn_dev.h"
#include "../kernels/knn.cl"

namespace {

constexpr int KNN_NT = 128; /* threads a block */
constexpr size_t KNN_CHUNK_BYTES = (size_t)256 << 20;
constexpr int KNN_CU_NO_ROW = 0x7f7f7f7f; /* knn_load's "no bad row", set by a memset */

int knn_tile_rows(int64_t d)
{
  const int64_t rows = KNN_TILE_FLOATS / d;
  return rows >= 8 ? (int)(rows > 1024 ? 1024 : rows) : 0;
}

unsigned knn_blocks(int64_t items)
{
  int64_t b = (items + 255) / 256;
  if (b < 1)
    b = 1;
  if (b > 4096)
    b = 4096;
  return (unsigned)b;
}

ie_status cu_knn_load(ie_context *ctx, const ie_mat *src, void *dst, int64_t dst_cols, int64_t col0,
                      int64_t *bad_row)
{
  *bad_row = -1;
  const int64_t rows = src->rows, cols = src->cols;
  if (rows == 0 || cols == 0)
    return IE_OK;
  if (rows >= KNN_CU_NO_ROW)
    return ie__error(ctx, IE_BAD_SHAPE, "knn (cuda): %lld samples; at most %d", (long long)rows,
                     KNN_CU_NO_ROW - 1);
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  void *badv = NULL;
  ie_status s = ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 2, sizeof(int), &badv);
  if (s != IE_OK)
    return s;
  int *bad = (int *)badv;
  /* 0x7f bytes: KNN_CU_NO_ROW, above every row number accepted */
  IE_CU(ctx, cudaMemsetAsync(bad, 0x7f, sizeof(int), st->stream));
  knn_load<<<knn_blocks(rows * cols), 256, 0, st->stream>>>(
      (const ie_u8 *)src->buf, (ie_u64)src->offset, (int)src->dtype, src->stride, rows, cols,
      (float *)dst, dst_cols, col0, bad);
  IE_CU_LAUNCHED(ctx, "knn_load");
  int got = 0;
  IE_CU(ctx, cudaMemcpyAsync(&got, bad, sizeof got, cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, sizeof got);
  *bad_row = got == KNN_CU_NO_ROW ? -1 : got;
  return IE_OK;
}

/* The two-stage Euclidean search (knn_filter, knn_exact; src/kernels/knn.cl)
 * for this call: k within the filter's heap, d and n within its int
 * arithmetic; IE_KNN_NO_TILES (tests) keeps every search on knn_search. */
int knn_tiled(ie_knn_metric metric, int64_t n, int64_t d, int64_t k)
{
  const char *off = getenv("IE_KNN_NO_TILES");
  return metric == IE_METRIC_EUCLIDEAN && k <= KNN_TL_KMAX && d >= 1 && d <= 65536 &&
         n < INT32_MAX && !(off && *off && *off != '0');
}

/* Stage 0: the references' mean (slot MEAN), the centred float32 points and
 * their norms (slot CENTRED: references, their norms, then the queries and
 * theirs unless q is r); off: element offsets of the centred queries, their
 * norms, the centred references, theirs. */
ie_status cu_knn_center(ie_context *ctx, ie_cu_state *st, const ie_mat *q, const ie_mat *r,
                        float **cbuf, ie_u64 off[4])
{
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  const int same = q->buf == r->buf && m == n;
  void *mv = NULL, *cv = NULL;
  const size_t floats = (size_t)(n * d + n) + (same ? 0 : (size_t)(m * d + m));
  ie_status s = ie__ws_device(ctx, IE_KNN_SLOT_MEAN, (size_t)d * sizeof(double), &mv);
  if (s == IE_OK)
    s = ie__ws_device(ctx, IE_KNN_SLOT_CENTRED, floats * sizeof(float), &cv);
  if (s != IE_OK)
    return s;
  off[0] = same ? 0 : (ie_u64)(n * d + n);
  off[1] = off[0] + (ie_u64)(same ? n * d : m * d);
  off[2] = 0;
  off[3] = (ie_u64)(n * d);
  double *mean = (double *)mv;
  float *C = (float *)cv;
  knn_colmean<<<(unsigned)(d < 4096 ? d : 4096), KNN_RED_NT, 0, st->stream>>>(
      (const float *)r->buf, n, (int)d, mean);
  IE_CU_LAUNCHED(ctx, "knn_colmean");
  knn_center<<<knn_blocks(n), 256, 0, st->stream>>>((const float *)r->buf, n, (int)d, mean, C,
                                                    off[2], off[3]);
  IE_CU_LAUNCHED(ctx, "knn_center");
  if (!same) {
    knn_center<<<knn_blocks(m), 256, 0, st->stream>>>((const float *)q->buf, m, (int)d, mean, C,
                                                      off[0], off[1]);
    IE_CU_LAUNCHED(ctx, "knn_center");
  }
  *cbuf = C;
  return IE_OK;
}

ie_status cu_knn_search(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                        ie_knn_metric metric, int self, const ie_knn_sink *out)
{
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0 || k == 0)
    return IE_OK;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int two = knn_tiled(metric, n, d, k);
  /* A query's heap is 16 k bytes, its candidates 4 (KNN_TL_CAP + 1). */
  const size_t per = 16 * (size_t)k + (two ? 4 * (KNN_TL_CAP + 1) : 0);
  int64_t chunk = (int64_t)(KNN_CHUNK_BYTES / per);
  if (chunk < 1)
    chunk = 1;
  if (chunk > m)
    chunk = m;
  const size_t hb = (size_t)chunk * (size_t)k;
  void *bdv = NULL, *biv = NULL, *cv = NULL;
  ie_status s = ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 0, hb * sizeof(double), &bdv);
  if (s == IE_OK)
    s = ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 1, hb * sizeof(ie_i64), &biv);
  if (s == IE_OK && two)
    s = ie__ws_device(ctx, IE_KNN_SLOT_CAND, (size_t)chunk * (KNN_TL_CAP + 1) * sizeof(ie_i32), &cv);
  float *C = NULL;
  ie_u64 co[4] = {0, 0, 0, 0};
  if (s == IE_OK && two)
    s = cu_knn_center(ctx, st, q, r, &C, co);
  if (s != IE_OK)
    return s;
  double *bd = (double *)bdv;
  ie_i64 *bi = (ie_i64 *)biv;
  ie_i32 *cand = (ie_i32 *)cv;
  const int tr = knn_tile_rows(d);
  const int has_i = out->idx != NULL, has_d = out->dist != NULL;
  ie_u8 *ib = has_i ? (ie_u8 *)out->idx->buf : NULL, *db = has_d ? (ie_u8 *)out->dist->buf : NULL;
  const ie_u64 ioff = has_i ? out->idx->offset : 0, doff = has_d ? out->dist->offset : 0;
  const int i64 = has_i && out->idx->dtype == IE_DT_I64, f64 = has_d && out->dist->dtype == IE_DT_F64;
  const ie_i64 ist = has_i ? out->idx->stride : 0, dstr = has_d ? out->dist->stride : 0;
  /* The filter's bound (src/kernels/knn.cl): E = tol (‖a‖² + ‖b‖²) + slack. */
  const float tol = (float)((double)(d + 16) * 0x1p-23), slack = (float)((double)(d + 16) * 0x1p-100);
  const ie_u64 nc = (ie_u64)chunk * KNN_TL_CAP;
  for (int64_t q0 = 0; q0 < m; q0 += chunk) {
    if (ie__cancelled(ctx)) { /* leave nothing queued on the slots */
      IE_CU(ctx, cudaStreamSynchronize(st->stream));
      return ie__cancel(ctx, "knn (cuda)");
    }
    const int64_t bq = m - q0 < chunk ? m - q0 : chunk;
    const unsigned blocks = (unsigned)((bq + KNN_NT - 1) / KNN_NT);
    if (two) {
      knn_filter<<<(unsigned)((bq + KNN_TL_Q - 1) / KNN_TL_Q), KNN_TL_WG, 0, st->stream>>>(
          C, co[0], co[1], co[2], co[3], q0, bq, n, (int)d, (int)k, self != 0, tol, slack, cand, nc);
      IE_CU_LAUNCHED(ctx, "knn_filter");
      knn_exact<<<blocks, KNN_NT, 0, st->stream>>>((const float *)q->buf, (const float *)r->buf, q0,
                                                   bq, n, (int)d, k, self != 0, cand, nc, bd, bi);
      IE_CU_LAUNCHED(ctx, "knn_exact");
    } else {
      knn_search<<<blocks, KNN_NT, 0, st->stream>>>((const float *)q->buf, (const float *)r->buf, q0,
                                                    bq, n, (int)d, k, metric == IE_METRIC_CHEBYSHEV,
                                                    self != 0, bd, bi, tr);
      IE_CU_LAUNCHED(ctx, "knn_search");
    }
    knn_emit<<<knn_blocks(bq * (k - out->col0)), 256, 0, st->stream>>>(
        bd, bi, q0, bq, k, out->col0, has_i, ib, ioff, i64, ist, has_d, db, doff, f64, dstr);
    IE_CU_LAUNCHED(ctx, "knn_emit");
  }
  return IE_OK;
}

ie_status cu_knn_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r, void *radius,
                             int self, void *count)
{
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0)
    return IE_OK;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const unsigned blocks = (unsigned)((m + KNN_NT - 1) / KNN_NT);
  knn_range_count<<<blocks, KNN_NT, 0, st->stream>>>((const float *)q->buf, (const float *)r->buf,
                                                     m, n, (int)d, (const double *)radius,
                                                     self != 0, (double *)count, knn_tile_rows(d));
  IE_CU_LAUNCHED(ctx, "knn_range_count");
  return IE_OK;
}

ie_status cu_knn_nnr(ie_context *ctx, void *dx, void *dy, int64_t M, int64_t k, double eta, void *r)
{
  if (M == 0)
    return IE_OK;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  knn_nnr<<<knn_blocks(M), 256, 0, st->stream>>>((const double *)dx, (const double *)dy, M, k, eta,
                                                 (double *)r);
  IE_CU_LAUNCHED(ctx, "knn_nnr");
  return IE_OK;
}

ie_status cu_knn_reduce(ie_context *ctx, const ie_knn_red *a, double *stats)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  void *stv = NULL;
  ie_status s = ie__ws_device(ctx, IE_KNN_SLOT_BACKEND + 3, KNN_STATS * sizeof(double), &stv);
  if (s != IE_OK)
    return s;
  const double *v = (const double *)a->v, *w = a->w ? (const double *)a->w : v;
  knn_reduce<<<1, KNN_RED_NT, 0, st->stream>>>(v, w, a->w != NULL, a->n, a->op, a->kind, a->p[0],
                                               a->p[1], a->p[2], a->p[3], a->p[4], (double *)stv);
  IE_CU_LAUNCHED(ctx, "knn_reduce");
  IE_CU(ctx, cudaMemcpyAsync(stats, stv, KNN_STATS * sizeof(double), cudaMemcpyDeviceToHost,
                             st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, KNN_STATS * sizeof(double));
  return IE_OK;
}

} // namespace

extern "C" const ie_knn_ops ie__cuda_knn_ops = {
    /* load */ cu_knn_load,
    /* search */ cu_knn_search,
    /* range_count */ cu_knn_range_count,
    /* nnr */ cu_knn_nnr,
    /* reduce */ cu_knn_reduce,
};
