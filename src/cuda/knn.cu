/*
 * knn.cu — exact k-nearest-neighbour search and max-norm range counting
 * (docs/SPEC.md §5) for the CUDA backend.
 *
 * Distances are computed in double from coordinate differences of the
 * float32 points: the same arithmetic as the CPU and OpenCL backends and a
 * float64 NumPy reference, so kept neighbours need no recomputation and
 * duplicates are at exactly 0.  One thread a query; a block stages tiles of
 * the references in shared memory; each thread keeps a bounded max-heap of
 * its k best (key, index) pairs (lexicographic order) in its own rows of a
 * device buffer, and abandons a candidate's key as soon as it exceeds the
 * heap's worst.  Any k works; queries run in chunks whose heaps fit in
 * 256 MiB, so device memory stays bounded whatever m·k.  Each chunk is
 * sorted on the device (heapsort: distance, then index) and copied to the
 * host arrays of the backend contract.
 */
#include <math.h>
#include <stdint.h>
#include "cu_internal.h"

extern "C" ie_status ie__cu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                                ie_knn_metric metric, int self, int64_t *idx, double *dist);
extern "C" ie_status ie__cu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                                        const double *radius, int self, int64_t *count);

namespace {

constexpr int KNN_NT = 128;                   /* threads a block */
constexpr size_t KNN_TILE_BYTES = 32768;      /* shared tile of references */
constexpr size_t KNN_CHUNK_BYTES = (size_t)256 << 20;

/* (a, ia) after (b, ib) in the (key, index) order. */
__device__ __forceinline__ bool knn_after(double a, int64_t ia, double b, int64_t ib)
{
  return a > b || (a == b && ia > ib);
}

__device__ void knn_sift_down(double *hd, int64_t *hi, int64_t cnt, int64_t p)
{
  const double d = hd[p];
  const int64_t x = hi[p];
  for (;;) {
    int64_t c = 2 * p + 1;
    if (c >= cnt)
      break;
    if (c + 1 < cnt && knn_after(hd[c + 1], hi[c + 1], hd[c], hi[c]))
      c++;
    if (!knn_after(hd[c], hi[c], d, x))
      break;
    hd[p] = hd[c];
    hi[p] = hi[c];
    p = c;
  }
  hd[p] = d;
  hi[p] = x;
}

__device__ void knn_offer(double *hd, int64_t *hi, int64_t *cnt, int64_t k, double d, int64_t j)
{
  if (*cnt < k) {
    int64_t p = (*cnt)++;
    while (p > 0) {
      int64_t u = (p - 1) / 2;
      if (!knn_after(d, j, hd[u], hi[u]))
        break;
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

/* The key of one candidate, abandoned once above w (then > w is returned). */
__device__ __forceinline__ double knn_key(const float *qi, const float *rj, int d, bool cheb,
                                          double w)
{
  double key = 0;
  if (cheb) {
    for (int c = 0; c < d && key <= w; c++)
      key = fmax(key, fabs((double)qi[c] - (double)rj[c]));
  } else {
    for (int c = 0; c < d && key <= w; c++) {
      const double t = (double)qi[c] - (double)rj[c];
      key += t * t;
    }
  }
  return key;
}

/* Queries q0 .. q0 + m − 1 against all n references; heaps at rows 0 .. m − 1
 * of dist / idx.  tile_rows > 0: stage that many references at a time. */
__global__ void knn_search_kernel(const float *Q, const float *R, int64_t q0, int64_t m,
                                  int64_t n, int d, int64_t k, int cheb, int self, double *dist,
                                  int64_t *idx, int tile_rows)
{
  extern __shared__ float knn_tile[];
  const int64_t li = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, i = q0 + li;
  const bool live = li < m;
  double *hd = dist + (live ? li : 0) * k;
  int64_t *hi = idx + (live ? li : 0) * k;
  const float *qi = Q + (live ? i : 0) * d;
  int64_t cnt = 0;
  const int64_t step = tile_rows > 0 ? tile_rows : n;
  for (int64_t r0 = 0; r0 < n; r0 += step) {
    const int br = (int)(n - r0 < step ? n - r0 : step);
    if (tile_rows > 0) {
      __syncthreads();
      for (int t = threadIdx.x; t < br * d; t += blockDim.x)
        knn_tile[t] = R[r0 * d + t];
      __syncthreads();
    }
    if (!live)
      continue;
    for (int jj = 0; jj < br; jj++) {
      const int64_t j = r0 + jj;
      if (self && j == i)
        continue;
      const double w = cnt < k ? INFINITY : hd[0];
      const float *rj = tile_rows > 0 ? knn_tile + (size_t)jj * d : R + j * d;
      const double key = knn_key(qi, rj, d, cheb != 0, w);
      if (key <= w)
        knn_offer(hd, hi, &cnt, k, key, j);
    }
  }
  if (!live)
    return;
  for (int64_t e = cnt - 1; e > 0; e--) { /* heapsort: ascending (key, index) */
    const double td = hd[0];
    const int64_t ti = hi[0];
    hd[0] = hd[e];
    hi[0] = hi[e];
    hd[e] = td;
    hi[e] = ti;
    knn_sift_down(hd, hi, e, 0);
  }
  if (!cheb)
    for (int64_t t = 0; t < cnt; t++)
      hd[t] = sqrt(hd[t]);
}

/* count[i] = #{j (≠ i when self) : max_c |R_jc − Q_ic| < radius[i]}. */
__global__ void knn_range_kernel(const float *Q, const float *R, int64_t m, int64_t n, int d,
                                 const double *radius, int self, int64_t *count, int tile_rows)
{
  extern __shared__ float knn_tile[];
  const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const bool live = i < m;
  const float *qi = Q + (live ? i : 0) * d;
  const double rad = live ? radius[i] : 0;
  int64_t cnt = 0;
  const int64_t step = tile_rows > 0 ? tile_rows : n;
  for (int64_t r0 = 0; r0 < n; r0 += step) {
    const int br = (int)(n - r0 < step ? n - r0 : step);
    if (tile_rows > 0) {
      __syncthreads();
      for (int t = threadIdx.x; t < br * d; t += blockDim.x)
        knn_tile[t] = R[r0 * d + t];
      __syncthreads();
    }
    if (!live || !(rad > 0))
      continue;
    for (int jj = 0; jj < br; jj++) {
      const int64_t j = r0 + jj;
      if (self && j == i)
        continue;
      const float *rj = tile_rows > 0 ? knn_tile + (size_t)jj * d : R + j * d;
      bool in = true;
      for (int c = 0; c < d && in; c++)
        in = fabs((double)rj[c] - (double)qi[c]) < rad;
      cnt += in;
    }
  }
  if (live)
    count[i] = cnt;
}

int knn_tile_rows(int64_t d)
{
  const int64_t rows = (int64_t)(KNN_TILE_BYTES / (sizeof(float) * (size_t)d));
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
  const size_t shmem = tr > 0 ? (size_t)tr * (size_t)d * sizeof(float) : 0;
  for (int64_t q0 = 0; q0 < m && s == IE_OK; q0 += chunk) {
    if (ie__cancelled(ctx)) { /* each chunk is synchronised: nothing is left queued */
      s = ie__cancel(ctx, "knn (cuda)");
      break;
    }
    const int64_t bq = m - q0 < chunk ? m - q0 : chunk;
    const unsigned blocks = (unsigned)((bq + KNN_NT - 1) / KNN_NT);
    knn_search_kernel<<<blocks, KNN_NT, shmem, st->stream>>>(
        knn_ptr(q), knn_ptr(r), q0, bq, n, (int)d, k, metric == IE_METRIC_CHEBYSHEV, self != 0,
        bd, bi, tr);
    e = cudaGetLastError();
    if (e != cudaSuccess) {
      s = ie__cu_fail(ctx, e, "launch of knn_search_kernel(", __FILE__, __LINE__);
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
  const size_t shmem = tr > 0 ? (size_t)tr * (size_t)d * sizeof(float) : 0;
  const unsigned blocks = (unsigned)((m + KNN_NT - 1) / KNN_NT);
  knn_range_kernel<<<blocks, KNN_NT, shmem, st->stream>>>(knn_ptr(q), knn_ptr(r), m, n, (int)d,
                                                          brad, self != 0, bc, tr);
  e = cudaGetLastError();
  if (e != cudaSuccess) {
    s = ie__cu_fail(ctx, e, "launch of knn_range_kernel(", __FILE__, __LINE__);
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
