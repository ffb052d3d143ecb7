/*
 * mauve.cu — the CUDA backend's share of MAUVE (docs/SPEC.md §8, src/mauve.h):
 * the shared kernels of src/kernels/kmeans.cl around cuBLAS (the covariance
 * by Dsyrk, the projection by Dgemm, the assignment's dot products by
 * Sgemm).  One cuBLAS handle and the iteration buffers live for one ie_mauve
 * call (begin/end).  Every CUDA and cuBLAS call is checked and becomes a
 * status naming the call, file and line.
 */
#include <cublas_v2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"
#include "../mauve.h"

#include "../kernels/kmeans.cl"

namespace {

ie_status blas_fail(ie_context *ctx, cublasStatus_t e, const char *call, int line)
{
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
 * and the iteration buffers, which are workspace slots (kept between calls,
 * so a warm context allocates nothing). */
struct session {
  cublasHandle_t blas;
  float *g;        /* a block of dot products, B × k */
  float *cn;       /* ‖c_j‖² */
  int32_t *lab;    /* labels, n */
  int32_t *perm;   /* rows grouped by cluster, n */
  long long *off;  /* group offsets, k + 1 */
  int64_t n, k, B; /* the sizes they were taken for */
};

/* Slots IE_WS_MAUVE + these (9..11 are src/mauve.c's). */
enum { S_G, S_CN, S_LAB, S_PERM, S_OFF, S_ERR, S_MOMENTS, S_PROJ, S_V };

template <typename T>
ie_status slot(ie_context *ctx, int which, size_t bytes, T **p)
{
  void *b = NULL;
  ie_status st = ie__ws_device(ctx, IE_WS_MAUVE + which, bytes, &b);
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

/* The iteration buffers for n rows and k clusters. */
ie_status buffers(ie_context *ctx, session *s, int64_t n, int64_t k)
{
  if (s->lab && s->n == n && s->k == k) return IE_OK;
  const int64_t B = block_rows(n, k);
  ie_status st = slot(ctx, S_G, (size_t)B * (size_t)k * sizeof(float), &s->g);
  if (st == IE_OK) st = slot(ctx, S_CN, (size_t)k * sizeof(float), &s->cn);
  if (st == IE_OK) st = slot(ctx, S_LAB, (size_t)n * sizeof(int32_t), &s->lab);
  if (st == IE_OK) st = slot(ctx, S_PERM, (size_t)n * sizeof(int32_t), &s->perm);
  if (st == IE_OK) st = slot(ctx, S_OFF, (size_t)(k + 1) * sizeof(long long), &s->off);
  if (st != IE_OK) {
    s->lab = NULL;
    return st;
  }
  s->n = n;
  s->k = k;
  s->B = B;
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
                       ie_rowerr *err)
{
  (void)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  if (x->rows == 0) return IE_OK;
  IE_CU_ENTER(ctx, st);
  int32_t *derr = NULL;
  ie_status e = slot(ctx, S_ERR, (size_t)x->rows * sizeof(int32_t), &derr);
  if (e != IE_OK) return e;
  const int dt = x->dtype == IE_DT_F32 ? 0 : x->dtype == IE_DT_F16 ? 1 : 2;
  const unsigned groups = (unsigned)(x->rows < 65535 ? x->rows : 65535);
  mauve_unit_rows<<<groups, KM_GROUP, 0, st->stream>>>(
      (const ie_u8 *)x->buf, (long long)x->offset, (long long)x->stride, (long long)x->rows,
      (long long)x->cols, dt, (double *)z->buf, (long long)row0, derr);
  IE_CU_LAUNCHED(ctx, "mauve_unit_rows");
  IE_CU(ctx, cudaMemcpyAsync(err, derr, (size_t)x->rows * sizeof(int32_t), cudaMemcpyDeviceToHost,
                             st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, (size_t)x->rows * sizeof(int32_t));
  return IE_OK;
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

ie_status cu_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, int32_t *labels)
{
  session *s = (session *)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  ie_status e = buffers(ctx, s, n, k);
  if (e != IE_OK) return e;
  const float *yb = (const float *)y->buf, *cb = (const float *)c->buf;
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
                                                         s->lab);
    IE_CU_LAUNCHED(ctx, "km_argmin");
  }
  IE_CU(ctx, cudaMemcpyAsync(labels, s->lab, (size_t)n * sizeof(int32_t), cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, (size_t)n * sizeof(int32_t));
  return IE_OK;
}

ie_status cu_update(ie_context *ctx, void *sess, const ie_mat *y, const int32_t *perm, const int64_t *off,
                    const ie_mat *c)
{
  session *s = (session *)sess;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  ie_status e = buffers(ctx, s, n, k);
  if (e != IE_OK) return e;
  IE_CU(ctx, cudaMemcpyAsync(s->perm, perm, (size_t)n * sizeof(int32_t), cudaMemcpyHostToDevice, st->stream));
  IE_CU(ctx, cudaMemcpyAsync(s->off, off, (size_t)(k + 1) * sizeof(long long), cudaMemcpyHostToDevice,
                             st->stream));
  ie__ws_copied(ctx, 1, (size_t)n * sizeof(int32_t));
  ie__ws_copied(ctx, 1, (size_t)(k + 1) * sizeof(long long));
  km_update<<<grid_for(k * r, 128), 128, 0, st->stream>>>((const float *)y->buf, (long long)r, s->perm, s->off,
                                                          (long long)k, (float *)c->buf);
  IE_CU_LAUNCHED(ctx, "km_update");
  IE_CU(ctx, cudaStreamSynchronize(st->stream)); /* perm and off are the caller's */
  return IE_OK;
}

} // namespace

extern "C" const ie_mauve_ops ie__cuda_mauve_ops = {
    /* zdt */ IE_DT_F64,
    /* begin */ cu_begin,
    /* end */ cu_end,
    /* unit_rows */ cu_unit_rows,
    /* covariance */ cu_covariance,
    /* project */ cu_project,
    /* assign */ cu_assign,
    /* update */ cu_update,
};
