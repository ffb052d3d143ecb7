/*
 * knn.cu — the CUDA backend's exact k-nearest-neighbour search and max-norm
 * range counting (docs/SPEC.md §5): launchers of the shared kernels of
 * src/kernels/knn.cl (one thread a query, heaps in device memory, distances
 * in double; see there).  Any k works; queries run in chunks whose heaps fit
 * in 256 MiB, so device memory stays bounded whatever m·k.  Each chunk's
 * sorted neighbours are copied to the host arrays of the backend contract.
 */
#include <math.h>
#include <stdint.h>
#include "cu_internal.h"
#include "../kernels/knn.cl"

extern "C" ie_status ie__cu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                                ie_knn_metric metric, int self, int64_t *idx, double *dist);
extern "C" ie_status ie__cu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                                        const double *radius, int self, int64_t *count);

namespace {

constexpr int KNN_NT = 128;                   /* threads a block */
constexpr size_t KNN_CHUNK_BYTES = (size_t)256 << 20;

int knn_tile_rows(int64_t d)
{
  const int64_t rows = KNN_TILE_FLOATS / d;
  return rows >= 8 ? (int)(rows > 1024 ? 1024 : rows) : 0;
}

ie_status knn_check(ie_context *ctx, const char *fn, const ie_mat *q, const ie_mat *r)
{
  if (q->dtype != IE_DT_F32 || r->dtype != IE_DT_F32 || q->stride != q->cols ||
      r->stride != r->cols)
    return ie__error(ctx, IE_INTERNAL, "%s (cuda): expects compact float32 samples", fn);
  return IE_OK;
}

const float *knn_ptr(const ie_mat *m)
{
  return (const float *)((const char *)m->buf + m->offset);
}

} // namespace

extern "C" ie_status ie__cu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                                ie_knn_metric metric, int self, int64_t *idx, double *dist)
{
  ie_status s = knn_check(ctx, "knn", q, r);
  if (s != IE_OK)
    return s;
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0 || k == 0)
    return IE_OK;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  int64_t chunk = (int64_t)(KNN_CHUNK_BYTES / (16 * (size_t)k));
  if (chunk < 1)
    chunk = 1;
  if (chunk > m)
    chunk = m;
  const size_t hb = (size_t)chunk * (size_t)k;
  double *bd = NULL;
  int64_t *bi = NULL;
  cudaError_t e = cudaMalloc((void **)&bd, hb * sizeof *bd);
  if (e == cudaSuccess)
    e = cudaMalloc((void **)&bi, hb * sizeof *bi);
  if (e != cudaSuccess) {
    (void)cudaFree(bd);
    return ie__cu_fail(ctx, e, "cudaMalloc(", __FILE__, __LINE__);
  }
  const int tr = knn_tile_rows(d);
  for (int64_t q0 = 0; q0 < m && s == IE_OK; q0 += chunk) {
    if (ie__cancelled(ctx)) { /* each chunk is synchronised: nothing is left queued */
      s = ie__cancel(ctx, "knn (cuda)");
      break;
    }
    const int64_t bq = m - q0 < chunk ? m - q0 : chunk;
    const unsigned blocks = (unsigned)((bq + KNN_NT - 1) / KNN_NT);
    knn_search<<<blocks, KNN_NT, 0, st->stream>>>(knn_ptr(q), knn_ptr(r), q0, bq, n, (int)d, k,
                                                  metric == IE_METRIC_CHEBYSHEV, self != 0, bd,
                                                  (ie_i64 *)bi, tr);
    e = cudaGetLastError();
    if (e != cudaSuccess) {
      s = ie__cu_fail(ctx, e, "launch of knn_search(", __FILE__, __LINE__);
      break;
    }
    const size_t cnt = (size_t)bq * (size_t)k;
    e = cudaMemcpyAsync(dist + (size_t)q0 * (size_t)k, bd, cnt * sizeof *bd,
                        cudaMemcpyDeviceToHost, st->stream);
    if (e == cudaSuccess)
      e = cudaMemcpyAsync(idx + (size_t)q0 * (size_t)k, bi, cnt * sizeof *bi,
                          cudaMemcpyDeviceToHost, st->stream);
    if (e == cudaSuccess)
      e = cudaStreamSynchronize(st->stream);
    if (e != cudaSuccess)
      s = ie__cu_fail(ctx, e, "cudaMemcpyAsync(", __FILE__, __LINE__);
  }
  (void)cudaFree(bd);
  (void)cudaFree(bi);
  return s;
}

extern "C" ie_status ie__cu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                                        const double *radius, int self, int64_t *count)
{
  ie_status s = knn_check(ctx, "range_count", q, r);
  if (s != IE_OK)
    return s;
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0)
    return IE_OK;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  double *brad = NULL;
  int64_t *bc = NULL;
  cudaError_t e = cudaMalloc((void **)&brad, (size_t)m * sizeof *brad);
  if (e == cudaSuccess)
    e = cudaMalloc((void **)&bc, (size_t)m * sizeof *bc);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(brad, radius, (size_t)m * sizeof *brad, cudaMemcpyHostToDevice,
                        st->stream);
  if (e != cudaSuccess) {
    (void)cudaFree(brad);
    (void)cudaFree(bc);
    return ie__cu_fail(ctx, e, "cudaMalloc(", __FILE__, __LINE__);
  }
  const int tr = knn_tile_rows(d);
  const unsigned blocks = (unsigned)((m + KNN_NT - 1) / KNN_NT);
  knn_range_count<<<blocks, KNN_NT, 0, st->stream>>>(knn_ptr(q), knn_ptr(r), m, n, (int)d, brad,
                                                     self != 0, (ie_i64 *)bc, tr);
  e = cudaGetLastError();
  if (e != cudaSuccess) {
    s = ie__cu_fail(ctx, e, "launch of knn_range_count(", __FILE__, __LINE__);
  } else {
    e = cudaMemcpyAsync(count, bc, (size_t)m * sizeof *bc, cudaMemcpyDeviceToHost, st->stream);
    if (e == cudaSuccess)
      e = cudaStreamSynchronize(st->stream);
    if (e != cudaSuccess)
      s = ie__cu_fail(ctx, e, "cudaMemcpyAsync(", __FILE__, __LINE__);
  }
  (void)cudaFree(brad);
  (void)cudaFree(bc);
  return s;
}
