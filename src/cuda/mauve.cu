/*
 * mauve.cu — the CUDA backend's share of MAUVE (docs/SPEC.md §8, src/mauve.h):
 * the shared kernels of src/kernels/kmeans.cl around cuBLAS (the covariance
 * by Dsyrk, the projection by Dgemm, the assignment's dot products by
 * Sgemm), and of src/kernels/kmeans_seed.cl (the k-means++ start).  One
 * cuBLAS handle and the iteration buffers live for one ie_mauve call
 * (begin/end).  The rows, labels and centres stay on the device: what
 * crosses is what src/opencl/mauve.c lists.  Every CUDA and cuBLAS call is
 * checked and becomes a status naming the call, file and line.
 */
#include <cublas_v2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"
#include "../mauve.h"

#include "../kernels/kmeans.cl"
#include "../kernels/kmeans_seed.cl"

namespace {

ie_status blas_fail(ie_context *ctx, cublasStatus_t e, const char *call, int line)
{
  ie__cu_drain(ctx);
  return ie__error(ctx, e == CUBLAS_STATUS_ALLOC_FAILED ? IE_OUT_OF_MEMORY : IE_BACKEND_FAILURE,
                   "%s failed: %s (%d) (src/cuda/mauve.cu:%d)", call, cublasGetStatusString(e), (int)e,
                   line);
}

#define KM_BLAS(ctx, name, expr)                                        \
  do {                                                                  \
    cublasStatus_t ie_b_ = (expr);                                      \
    if (ie_b_ != CUBLAS_STATUS_SUCCESS)                                 \
      return blas_fail((ctx), ie_b_, name, __LINE__);                   \
  } while (0)

/* What one ie_mauve call keeps between ops: the context's cuBLAS handle
 * and the assignment's buffers, which are workspace slots (kept between
 * calls, so a warm context allocates nothing). */
struct session {
  cublasHandle_t blas;
  float *g;        /* a block of dot products, B × k */
  float *cn;       /* ‖c_j‖² */
  int64_t k, B;    /* the sizes they were taken for */
};

/* Slots IE_MAUVE_SLOT_BACKEND + these. */
enum { S_G, S_CN, S_PERM, S_OFF, S_ERR, S_MOMENTS, S_PROJ, S_V, S_ONE, S_POS, S_HIST,
       S_YN, S_D2, S_BLK, S_BCUM, S_POTB, S_ST };

template <typename T>
ie_status slot(ie_context *ctx, int which, size_t bytes, T **p)
{
  void *b = NULL;
  ie_status st = ie__ws_device(ctx, IE_MAUVE_SLOT_BACKEND + which, bytes ? bytes : 8, &b);
  *p = (T *)b;
  return st;
}

/* Rows a block of the assignment: G (B × k floats) stays below 256 MiB. */
int64_t block_rows(int64_t n, int64_t k)
{
  int64_t b = ((int64_t)1 << 26) / (k > 0 ? k : 1);
  if (b < 16) b = 16;
  return b < n ? b : n;
}

/* The assignment's buffers for n rows and k clusters. */
ie_status buffers(ie_context *ctx, session *s, int64_t n, int64_t k)
{
  const int64_t B = block_rows(n, k);
  if (s->g && s->k == k && s->B == B) return IE_OK;
  ie_status st = slot(ctx, S_G, (size_t)B * (size_t)k * sizeof(float), &s->g);
  if (st == IE_OK) st = slot(ctx, S_CN, (size_t)k * sizeof(float), &s->cn);
  if (st != IE_OK) {
    s->g = NULL;
    return st;
  }
  s->k = k;
  s->B = B;
  return IE_OK;
}

/* Read `bytes` of device memory to the host once the stream is done. */
ie_status read_back(ie_context *ctx, ie_cu_state *st, void *out, const void *dev, size_t bytes)
{
  IE_CU(ctx, cudaMemcpyAsync(out, dev, bytes, cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, bytes);
  return IE_OK;
}

unsigned grid_for(int64_t items, int group)
{
  int64_t g = (items + group - 1) / group;
  return (unsigned)(g < 1 ? 1 : g); /* items < 2^31 · group: n <= INT32_MAX rows (src/mauve.c) */
}

ie_status cu_begin(ie_context *ctx, void **out)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  void *h = NULL;
  ie_status e = ie__cu_blas(ctx, &h);
  if (e != IE_OK) return e;
  session *s = (session *)calloc(1, sizeof *s);
  if (!s) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the CUDA session");
  s->blas = (cublasHandle_t)h;
  *out = s;
  return IE_OK;
}

void cu_end(ie_context *ctx, void *sess)
{
  (void)ctx;
  free(sess); /* the buffers are slots, the handle the context's */
}

ie_status cu_unit_rows(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z, int64_t row0,
                       int64_t *bad)
{
  (void)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  *bad = -1;
  if (x->rows == 0) return IE_OK;
  IE_CU_ENTER(ctx, st);
  int32_t *derr = NULL;
  long long *one = NULL;
  ie_status e = slot(ctx, S_ERR, (size_t)x->rows * sizeof(int32_t), &derr);
  if (e == IE_OK) e = slot(ctx, S_ONE, sizeof(long long), &one);
  if (e != IE_OK) return e;
  const int dt = x->dtype == IE_DT_F32 ? 0 : x->dtype == IE_DT_F16 ? 1 : 2;
  const unsigned groups = (unsigned)(x->rows < 65535 ? x->rows : 65535);
  mauve_unit_rows<<<groups, KM_GROUP, 0, st->stream>>>(
      (const ie_u8 *)x->buf, (long long)x->offset, (long long)x->stride, (long long)x->rows,
      (long long)x->cols, dt, (double *)z->buf, (long long)row0, derr);
  IE_CU_LAUNCHED(ctx, "mauve_unit_rows");
  km_first_flag<<<1, KM_GROUP, 0, st->stream>>>(derr, (long long)x->rows, one);
  IE_CU_LAUNCHED(ctx, "km_first_flag");
  long long first = -1;
  e = read_back(ctx, st, &first, one, sizeof first);
  *bad = first;
  return e;
}

ie_status cu_covariance(ie_context *ctx, void *sess, const ie_mat *z, double *mean, double *cov)
{
  session *s = (session *)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = z->rows, d = z->cols;
  double *mu = NULL; /* then the covariance, after d (+ padding) */
  ie_status e = slot(ctx, S_MOMENTS, ((size_t)d + 32 + (size_t)d * (size_t)d) * sizeof(double), &mu);
  if (e != IE_OK) return e;
  double *zb = (double *)z->buf, *cv = mu + ((d + 31) / 32) * 32;
  mauve_col_mean<<<grid_for(d, 64), 64, 0, st->stream>>>(zb, (long long)n, (long long)d, mu);
  IE_CU_LAUNCHED(ctx, "mauve_col_mean");
  mauve_center<<<grid_for(n * d, KM_GROUP), KM_GROUP, 0, st->stream>>>(zb, (long long)n, (long long)d, mu);
  IE_CU_LAUNCHED(ctx, "mauve_center");
  /* z row-major n × d is column-major d × n: zᵀz = A Aᵀ, the upper triangle
   * of column-major C, i.e. the lower one of row-major cov */
  const double scale = 1.0 / (double)(n - 1), zero = 0;
  KM_BLAS(ctx, "cublasDsyrk",
          cublasDsyrk(s->blas, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, (int)d, (int)n, &scale, zb, (int)d, &zero,
                      cv, (int)d));
  IE_CU(ctx, cudaMemcpyAsync(mean, mu, (size_t)d * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaMemcpyAsync(cov, cv, (size_t)d * (size_t)d * sizeof(double), cudaMemcpyDeviceToHost,
                             st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, (size_t)d * sizeof(double));
  ie__ws_copied(ctx, 0, (size_t)d * (size_t)d * sizeof(double));
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = i + 1; j < d; j++) cov[(size_t)i * (size_t)d + (size_t)j] = cov[(size_t)j * (size_t)d + (size_t)i];
  return IE_OK;
}

ie_status cu_project(ie_context *ctx, void *sess, const ie_mat *z, const double *v, int64_t r,
                     const ie_mat *y)
{
  session *s = (session *)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = z->rows, d = z->cols;
  double *dv = NULL, *dy = NULL;
  ie_status e = slot(ctx, S_V, (size_t)d * (size_t)r * sizeof(double), &dv);
  if (e == IE_OK) e = slot(ctx, S_PROJ, (size_t)n * (size_t)r * sizeof(double), &dy);
  if (e != IE_OK) return e;
  IE_CU(ctx, cudaMemcpyAsync(dv, v, (size_t)d * (size_t)r * sizeof(double), cudaMemcpyHostToDevice,
                             st->stream));
  ie__ws_copied(ctx, 1, (size_t)d * (size_t)r * sizeof(double));
  /* row-major y = z V is column-major yᵀ (r × n) = Vᵀ (r × d) zᵀ (d × n) */
  const double one = 1, zero = 0;
  KM_BLAS(ctx, "cublasDgemm",
          cublasDgemm(s->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)r, (int)n, (int)d, &one, (const double *)dv,
                      (int)r, (const double *)z->buf, (int)d, &zero, dy, (int)r));
  km_to_float<<<grid_for(n * r, KM_GROUP), KM_GROUP, 0, st->stream>>>((const double *)dy,
                                                                       (long long)(n * r), (float *)y->buf);
  IE_CU_LAUNCHED(ctx, "km_to_float");
  IE_CU(ctx, cudaStreamSynchronize(st->stream)); /* v is the caller's */
  return IE_OK;
}

/* The k-means++ start (kmeans_seed.cl): four launches a centre, nothing
 * read back. */
ie_status cu_seed(ie_context *ctx, void *sess, const ie_mat *y, uint64_t seed, int64_t start, int64_t starts,
                  const ie_mat *c)
{
  (void)sess;
  (void)starts;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = y->rows, r = y->cols, k = c->rows;
  const int64_t t = km_candidates(k), nb = (n + KM_SEED_BLOCK - 1) / KM_SEED_BLOCK;
  double *yn = NULL, *d2 = NULL, *blk = NULL, *bcum = NULL, *potb = NULL;
  long long *state = NULL;
  ie_status e = slot(ctx, S_YN, (size_t)n * sizeof(double), &yn);
  if (e == IE_OK) e = slot(ctx, S_D2, (size_t)n * sizeof(double), &d2);
  if (e == IE_OK) e = slot(ctx, S_BLK, (size_t)nb * sizeof(double), &blk);
  if (e == IE_OK) e = slot(ctx, S_BCUM, (size_t)nb * sizeof(double), &bcum);
  if (e == IE_OK) e = slot(ctx, S_POTB, (size_t)(nb * t) * sizeof(double), &potb);
  if (e == IE_OK) e = slot(ctx, S_ST, (size_t)(2 + t) * sizeof(long long), &state);
  if (e != IE_OK) return e;
  const float *yb = (const float *)y->buf;
  float *cb = (float *)c->buf;
  kpp_norms<<<grid_for(n, 64), 64, 0, st->stream>>>(yb, (long long)n, (long long)r, yn);
  IE_CU_LAUNCHED(ctx, "kpp_norms");
  kpp_first<<<1, 1, 0, st->stream>>>(yb, (long long)n, (long long)r, km_stream(seed, start), state, cb);
  IE_CU_LAUNCHED(ctx, "kpp_first");
  kpp_lower<<<grid_for(nb, 64), 64, 0, st->stream>>>(yb, (long long)n, (long long)r, yn, state, 1, d2, blk);
  IE_CU_LAUNCHED(ctx, "kpp_lower");
  for (int64_t j = 1; j < k; j++) {
    if (ie__cancelled(ctx)) return ie__cancel(ctx, "ie_mauve");
    kpp_draw<<<1, 1, 0, st->stream>>>(d2, blk, bcum, (long long)n, (long long)t, state);
    IE_CU_LAUNCHED(ctx, "kpp_draw");
    kpp_potentials<<<grid_for(nb * t, 64), 64, 0, st->stream>>>(yb, (long long)n, (long long)r, yn, d2, state,
                                                                  (long long)t, potb);
    IE_CU_LAUNCHED(ctx, "kpp_potentials");
    kpp_choose<<<1, KPP_LANES, 0, st->stream>>>(yb, (long long)n, (long long)r, yn, d2, potb, (long long)t, state,
                                                (long long)j, cb);
    IE_CU_LAUNCHED(ctx, "kpp_choose");
    kpp_lower<<<grid_for(nb, 64), 64, 0, st->stream>>>(yb, (long long)n, (long long)r, yn, state, 0, d2, blk);
    IE_CU_LAUNCHED(ctx, "kpp_lower");
  }
  return IE_OK;
}

ie_status cu_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, void *labels, const void *prev,
                    int64_t *changed)
{
  session *s = (session *)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  ie_status e = buffers(ctx, s, n, k);
  if (e != IE_OK) return e;
  const float *yb = (const float *)y->buf, *cb = (const float *)c->buf;
  int32_t *lab = (int32_t *)labels;
  km_sqnorm<<<grid_for(k, 64), 64, 0, st->stream>>>(cb, (long long)k, (long long)r, s->cn);
  IE_CU_LAUNCHED(ctx, "km_sqnorm");
  const float one = 1, zero = 0;
  for (int64_t b = 0; b < n; b += s->B) {
    const int64_t m = n - b < s->B ? n - b : s->B;
    /* row-major G = Y Cᵀ (m × k) is column-major Gᵀ (k × m) = C Yᵀ */
    KM_BLAS(ctx, "cublasSgemm",
            cublasSgemm(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)k, (int)m, (int)r, &one, cb, (int)r,
                        yb + (size_t)b * (size_t)r, (int)r, &zero, s->g, (int)k));
    km_argmin<<<grid_for(m, 128), 128, 0, st->stream>>>(s->g, (long long)m, (long long)k, s->cn, (long long)b,
                                                         lab);
    IE_CU_LAUNCHED(ctx, "km_argmin");
  }
  if (!prev) return IE_OK;
  long long *count = NULL;
  e = slot(ctx, S_ONE, sizeof(long long), &count);
  if (e != IE_OK) return e;
  km_changed<<<1, KM_GROUP, 0, st->stream>>>(lab, (const int32_t *)prev, (long long)n, count);
  IE_CU_LAUNCHED(ctx, "km_changed");
  long long moved = 0;
  e = read_back(ctx, st, &moved, count, sizeof moved);
  *changed = moved;
  return e;
}

ie_status cu_update(ie_context *ctx, void *sess, const ie_mat *y, const void *labels, const ie_mat *c)
{
  (void)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  const int64_t chunk = ie__mauve_chunk_rows(n, k), chunks = (n + chunk - 1) / chunk;
  int32_t *pos = NULL, *perm = NULL;
  long long *off = NULL;
  ie_status e = slot(ctx, S_POS, (size_t)(chunks * k) * sizeof(int32_t), &pos);
  if (e == IE_OK) e = slot(ctx, S_PERM, (size_t)n * sizeof(int32_t), &perm);
  if (e == IE_OK) e = slot(ctx, S_OFF, (size_t)(k + 1) * sizeof(long long), &off);
  if (e != IE_OK) return e;
  const int32_t *lab = (const int32_t *)labels;
  km_group_count<<<grid_for(chunks, 64), 64, 0, st->stream>>>(lab, (long long)n, (long long)k, (long long)chunk,
                                                              pos);
  IE_CU_LAUNCHED(ctx, "km_group_count");
  km_group_offsets<<<1, KM_GROUP, 0, st->stream>>>(pos, (long long)chunks, (long long)k, off);
  IE_CU_LAUNCHED(ctx, "km_group_offsets");
  km_group_place<<<grid_for(chunks, 64), 64, 0, st->stream>>>(lab, (long long)n, (long long)k, (long long)chunk,
                                                              pos, perm);
  IE_CU_LAUNCHED(ctx, "km_group_place");
  km_update<<<grid_for(k * r, 128), 128, 0, st->stream>>>((const float *)y->buf, (long long)r, perm, off,
                                                          (long long)k, (float *)c->buf);
  IE_CU_LAUNCHED(ctx, "km_update");
  return IE_OK;
}

ie_status cu_inertia(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, const void *labels,
                     double *inertia)
{
  (void)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  double *sum = NULL;
  ie_status e = slot(ctx, S_ONE, sizeof(double), &sum);
  if (e != IE_OK) return e;
  km_inertia<<<1, KM_GROUP, 0, st->stream>>>((const float *)y->buf, (const float *)c->buf, (const int32_t *)labels,
                                             (long long)y->rows, (long long)y->cols, sum);
  IE_CU_LAUNCHED(ctx, "km_inertia");
  return read_back(ctx, st, inertia, sum, sizeof *inertia);
}

ie_status cu_histogram(ie_context *ctx, void *sess, const void *labels, const int64_t *rows, int64_t sets, int64_t k,
                       double *hist)
{
  (void)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const size_t cells = (size_t)sets * (size_t)k;
  unsigned *dev = NULL;
  ie_status e = slot(ctx, S_HIST, cells * sizeof(unsigned), &dev);
  if (e != IE_OK) return e;
  long long row0 = 0;
  for (int64_t set = 0; set < sets; set++) {
    km_histogram<<<1, KM_GROUP, 0, st->stream>>>((const int32_t *)labels, row0, (long long)rows[set], (long long)k,
                                                 (long long)set, dev);
    IE_CU_LAUNCHED(ctx, "km_histogram");
    row0 += rows[set];
  }
  unsigned *counts = (unsigned *)malloc(cells * sizeof *counts);
  if (!counts) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for %zu histogram bins", cells);
  e = read_back(ctx, st, counts, dev, cells * sizeof *counts);
  for (size_t i = 0; e == IE_OK && i < cells; i++) hist[i] = counts[i];
  free(counts);
  return e;
}

} // namespace

extern "C" const ie_mauve_ops ie__cuda_mauve_ops = {
    /* zdt */ IE_DT_F64,
    /* begin */ cu_begin,
    /* end */ cu_end,
    /* unit_rows */ cu_unit_rows,
    /* covariance */ cu_covariance,
    /* project */ cu_project,
    /* seed */ cu_seed,
    /* assign */ cu_assign,
    /* update */ cu_update,
    /* inertia */ cu_inertia,
    /* histogram */ cu_histogram,
};
