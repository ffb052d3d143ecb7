/*
 * spectral.cu — the CUDA backend's spectral measures (docs/SPEC.md §6): similarity
 * matrices with cuBLAS (a strided-batched GEMM: X Xᵀ, or X̂ᵀX̂ on the dual
 * path) between the shared kernels of src/kernels/spectral.cl (spec_rows:
 * row norms / normalisation; spec_finish: the kernel values; spec_given: a
 * precomputed K); eigenvalues with cuSOLVER: ?syevd a set, or
 * ?syevjBatched for many sets of order <= 32.  T = double (default) or float
 * (single_precision).  Every temporary is a workspace slot
 * (IE_WS_SPECTRAL), the library handles are the context's (made once), and
 * the rows' checks are reduced on the device (spec_flags): after warm-up a
 * call allocates nothing and reads back the flags and the eigenvalues.  Every CUDA, cuBLAS and cuSOLVER call is checked and
 * becomes a status with the call, file and line; nothing aborts.
 */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cusolverDn.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"
#include "../kernels/spectral.cl"

static_assert(SPEC_ROW_NONFINITE == IE_ROW_NONFINITE && SPEC_ROW_EMPTY == IE_ROW_EMPTY &&
                  SPEC_COSINE == IE_KERNEL_COSINE && SPEC_RBF == IE_KERNEL_RBF,
              "src/kernels/spectral_terms.h agrees with the codes of the library");

extern "C" ie_status ie__cu_gram(ie_context *ctx, const ie_mat *x, int64_t sets,
                                 ie_kernel kernel, double gamma, int dual, double scale,
                                 int mul, ie_dtype dt, void *out, ie_rowerr *err,
                                 double *dev);
extern "C" ie_status ie__cu_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets,
                                     int64_t m, double *w);

namespace {

/* ---- errors ---------------------------------------------------------------------- */

const char *short_file(const char *file)
{
  const char *p = strstr(file, "src/cuda/");
  return p ? p : file;
}

ie_status blas_fail(ie_context *ctx, cublasStatus_t e, const char *call, const char *file,
                    int line)
{
  ie__cu_drain(ctx);
  return ie__error(ctx, e == CUBLAS_STATUS_ALLOC_FAILED ? IE_OUT_OF_MEMORY : IE_BACKEND_FAILURE,
                   "%s failed: %s (%d) (%s:%d)", call, cublasGetStatusString(e), (int)e,
                   short_file(file), line);
}

ie_status solver_fail(ie_context *ctx, cusolverStatus_t e, const char *call, const char *file,
                      int line)
{
  ie__cu_drain(ctx);
  return ie__error(ctx, e == CUSOLVER_STATUS_ALLOC_FAILED ? IE_OUT_OF_MEMORY : IE_BACKEND_FAILURE,
                   "%s failed: cusolverStatus_t %d (%s:%d)", call, (int)e, short_file(file), line);
}

#define SP_BLAS(ctx, name, expr)                                              \
  do {                                                                        \
    cublasStatus_t ie_b_ = (expr);                                            \
    if (ie_b_ != CUBLAS_STATUS_SUCCESS)                                       \
      return blas_fail((ctx), ie_b_, name, __FILE__, __LINE__);               \
  } while (0)

#define SP_SOLVER(ctx, name, expr)                                            \
  do {                                                                        \
    cusolverStatus_t ie_s_ = (expr);                                          \
    if (ie_s_ != CUSOLVER_STATUS_SUCCESS)                                     \
      return solver_fail((ctx), ie_s_, name, __FILE__, __LINE__);             \
  } while (0)

/* The temporaries of a call: slots IE_WS_SPECTRAL + these (slot 0 is the
 * dispatcher's matrices).  gram: row codes, flags, deviations or squared
 * norms, the rows in T, the Gram; eig (after the call's grams): the
 * eigenvalues with the solver's infos after them, the solver's work. */
enum { SL_ERR = 1, SL_FLAG = 2, SL_DEV = 3, SL_SQ = 3, SL_XW = 4, SL_G = 5, SL_W = 6, SL_WORK = 7 };

ie_status slot(ie_context *ctx, int which, size_t bytes, void **out)
{
  return ie__ws_device(ctx, IE_WS_SPECTRAL + which, bytes, out);
}

/* The context's handles, made once (making one allocates). */
ie_status handles(ie_context *ctx, ie_cu_state *st, cublasHandle_t *blas, cusolverDnHandle_t *solver)
{
  if (blas) {
    if (!st->blas) {
      cublasHandle_t h = NULL;
      SP_BLAS(ctx, "cublasCreate", cublasCreate(&h));
      st->blas = h;
    }
    *blas = (cublasHandle_t)st->blas;
    SP_BLAS(ctx, "cublasSetStream", cublasSetStream(*blas, st->stream));
  }
  if (solver) {
    if (!st->solver) {
      cusolverDnHandle_t h = NULL;
      SP_SOLVER(ctx, "cusolverDnCreate", cusolverDnCreate(&h));
      st->solver = h;
    }
    if (!st->syevj) {
      syevjInfo_t p = NULL;
      SP_SOLVER(ctx, "cusolverDnCreateSyevjInfo", cusolverDnCreateSyevjInfo(&p));
      st->syevj = p;
    }
    *solver = (cusolverDnHandle_t)st->solver;
    SP_SOLVER(ctx, "cusolverDnSetStream", cusolverDnSetStream(*solver, st->stream));
  }
  return IE_OK;
}

/* ---- kernels (src/kernels/spectral.cl) ------------------------------------------------- */

/* Launches of spec_rows, spec_finish and spec_given in T (float or double);
 * the caller checks cudaGetLastError. */
void launch_rows(unsigned grid, cudaStream_t str, const char *x, int64_t off, int64_t stride, int dt,
                 int64_t rows, int64_t d, int cosine, float *xw, float *sq, int32_t *err)
{
  spec_rows_f32<<<grid, SPEC_NT, 0, str>>>((const ie_u8 *)x, (ie_u64)off, stride, dt, rows, d, cosine, xw, sq,
                                           err);
}
void launch_rows(unsigned grid, cudaStream_t str, const char *x, int64_t off, int64_t stride, int dt,
                 int64_t rows, int64_t d, int cosine, double *xw, double *sq, int32_t *err)
{
  spec_rows_f64<<<grid, SPEC_NT, 0, str>>>((const ie_u8 *)x, (ie_u64)off, stride, dt, rows, d, cosine, xw, sq,
                                           err);
}
void launch_finish(unsigned grid, cudaStream_t str, const float *g, const float *sq, int64_t sets, int64_t n,
                   int64_t m, int rbf, int dual, double gamma, double scale, int mul, float *out)
{
  spec_finish_f32<<<grid, 256, 0, str>>>(g, sq, sets, n, m, rbf, dual, gamma, scale, mul, out);
}
void launch_finish(unsigned grid, cudaStream_t str, const double *g, const double *sq, int64_t sets, int64_t n,
                   int64_t m, int rbf, int dual, double gamma, double scale, int mul, double *out)
{
  spec_finish_f64<<<grid, 256, 0, str>>>(g, sq, sets, n, m, rbf, dual, gamma, scale, mul, out);
}
void launch_given(unsigned grid, cudaStream_t str, const char *x, int64_t off, int64_t stride, int dt, int64_t n,
                  int64_t sets, double scale, int mul, float *out, int32_t *err, double *dev)
{
  spec_given_f32<<<grid, 256, 0, str>>>((const ie_u8 *)x, (ie_u64)off, stride, dt, n, sets, scale, mul, out, err,
                                        dev);
}
void launch_given(unsigned grid, cudaStream_t str, const char *x, int64_t off, int64_t stride, int dt, int64_t n,
                  int64_t sets, double scale, int mul, double *out, int32_t *err, double *dev)
{
  spec_given_f64<<<grid, 256, 0, str>>>((const ie_u8 *)x, (ie_u64)off, stride, dt, n, sets, scale, mul, out, err,
                                        dev);
}

unsigned grid_for(int64_t threads)
{
  int64_t b = (threads + 255) / 256;
  return (unsigned)(b < 1 ? 1 : b > 65535 * 8 ? 65535 * 8 : b);
}

/* ---- typed library calls -------------------------------------------------------------------- */

cublasStatus_t gemm_sb(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                       int k, const double *A, int lda, long long sa, const double *B, int ldb,
                       long long sb, double *C, int ldc, long long scn, int batch)
{
  const double one = 1, zero = 0;
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, &one, A, lda, sa, B, ldb, sb, &zero, C, ldc,
                                   scn, batch);
}
cublasStatus_t gemm_sb(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                       int k, const float *A, int lda, long long sa, const float *B, int ldb,
                       long long sb, float *C, int ldc, long long scn, int batch)
{
  const float one = 1, zero = 0;
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, &one, A, lda, sa, B, ldb, sb, &zero, C, ldc,
                                   scn, batch);
}

cusolverStatus_t syevd_size(cusolverDnHandle_t h, int m, const double *A, const double *W, int *lw)
{
  return cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m, W, lw);
}
cusolverStatus_t syevd_size(cusolverDnHandle_t h, int m, const float *A, const float *W, int *lw)
{
  return cusolverDnSsyevd_bufferSize(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m, W, lw);
}
cusolverStatus_t syevd(cusolverDnHandle_t h, int m, double *A, double *W, double *work, int lw, int *info)
{
  return cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m, W, work, lw, info);
}
cusolverStatus_t syevd(cusolverDnHandle_t h, int m, float *A, float *W, float *work, int lw, int *info)
{
  return cusolverDnSsyevd(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m, W, work, lw, info);
}
cusolverStatus_t syevj_size(cusolverDnHandle_t h, int m, const double *A, const double *W, int *lw,
                            syevjInfo_t p, int batch)
{
  return cusolverDnDsyevjBatched_bufferSize(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m,
                                            W, lw, p, batch);
}
cusolverStatus_t syevj_size(cusolverDnHandle_t h, int m, const float *A, const float *W, int *lw,
                            syevjInfo_t p, int batch)
{
  return cusolverDnSsyevjBatched_bufferSize(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m,
                                            W, lw, p, batch);
}
cusolverStatus_t syevj(cusolverDnHandle_t h, int m, double *A, double *W, double *work, int lw, int *info,
                       syevjInfo_t p, int batch)
{
  return cusolverDnDsyevjBatched(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m, W, work, lw,
                                 info, p, batch);
}
cusolverStatus_t syevj(cusolverDnHandle_t h, int m, float *A, float *W, float *work, int lw, int *info,
                       syevjInfo_t p, int batch)
{
  return cusolverDnSsyevjBatched(h, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, m, A, m, W, work, lw,
                                 info, p, batch);
}

/* ---- the ops ------------------------------------------------------------------------------ */

/* Only the first flagged rows cross (spec_flags): 24 bytes, a few more on a
 * failure. */
ie_status flags(ie_context *ctx, ie_cu_state *st, const int32_t *derr, const double *ddev, int64_t rows,
                double tol, ie_rowerr *err, double *dev)
{
  void *p = NULL;
  ie_status s = slot(ctx, SL_FLAG, 3 * sizeof(long long), &p);
  if (s != IE_OK) return s;
  spec_flags<<<1, SPEC_NT, 0, st->stream>>>(derr, ddev ? ddev : (const double *)derr, rows, ddev != NULL, tol,
                                           (ie_i64 *)p);
  IE_CU_LAUNCHED(ctx, "spec_flags");
  long long f[3];
  IE_CU(ctx, cudaMemcpyAsync(f, p, sizeof f, cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, sizeof f);
  if (f[0] >= 0) err[f[0]] = (ie_rowerr)f[1];
  if (ddev && f[2] >= 0) {
    IE_CU(ctx, cudaMemcpyAsync(&dev[f[2]], ddev + f[2], sizeof(double), cudaMemcpyDeviceToHost, st->stream));
    IE_CU(ctx, cudaStreamSynchronize(st->stream));
    ie__ws_copied(ctx, 0, sizeof(double));
  }
  return IE_OK;
}

template <typename T>
ie_status gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel, double gamma, int dual,
               double scale, int mul, void *out, ie_rowerr *err, double *dev)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  const int64_t rows = x->rows, n = rows / sets, d = x->cols, m = dual ? d : n;
  const char *xb = (const char *)x->buf + x->offset;
  static_assert(sizeof(ie_rowerr) == sizeof(int32_t), "ie_rowerr is int32_t");
  void *p = NULL;
  ie_status s = slot(ctx, SL_ERR, (size_t)rows * sizeof(int32_t), &p);
  if (s != IE_OK) return s;
  int32_t *derr = (int32_t *)p;
  if (kernel == IE_KERNEL_PRECOMPUTED) {
    if ((s = slot(ctx, SL_DEV, (size_t)rows * sizeof(double), &p)) != IE_OK) return s;
    double *ddev = (double *)p;
    launch_given(grid_for(rows), st->stream, xb, 0, x->stride, (int)x->dtype, n, sets, scale,
                 mul, (T *)out, derr, ddev);
    IE_CU_LAUNCHED(ctx, "spec_given");
    return flags(ctx, st, derr, ddev, rows, IE_GIVEN_ULPS * ie__dtype_eps(x->dtype), err, dev);
  }
  if (n > INT_MAX || d > INT_MAX || sets > INT_MAX)
    return ie__error(ctx, IE_BAD_SHAPE, "cuda: %lld sets of %lld x %lld are beyond cuBLAS's int sizes",
                     (long long)sets, (long long)n, (long long)d);
  T *xw, *sq, *g;
  if ((s = slot(ctx, SL_XW, (size_t)rows * (size_t)d * sizeof(T), &p)) != IE_OK) return s;
  xw = (T *)p;
  if ((s = slot(ctx, SL_SQ, (size_t)rows * sizeof(T), &p)) != IE_OK) return s;
  sq = (T *)p;
  if ((s = slot(ctx, SL_G, (size_t)sets * (size_t)m * (size_t)m * sizeof(T), &p)) != IE_OK) return s;
  g = (T *)p;
  const int cosine = kernel == IE_KERNEL_COSINE;
  /* one block a row (the kernel loops past the grid's blocks) */
  launch_rows((unsigned)(rows < 65535 * 8 ? rows : 65535 * 8), st->stream, xb, 0, x->stride,
              (int)x->dtype, rows, d, cosine, xw, sq, derr);
  IE_CU_LAUNCHED(ctx, "spec_rows");
  if ((s = flags(ctx, st, derr, NULL, rows, 0, err, NULL)) != IE_OK) return s;
  for (int64_t r = 0; r < rows; r++)
    if (err[r]) return IE_OK; /* src reports the row */

  cublasHandle_t blas = NULL;
  if ((s = handles(ctx, st, &blas, NULL)) != IE_OK) return s;
  /* Row-major X (n × d) is column-major Xᵀ (d × n, ld d).  Primal: G = X Xᵀ
   * = (Xᵀ)ᵀ(Xᵀ), n × n; dual: G = X̂ᵀX̂ = (Xᵀ)(Xᵀ)ᵀ, d × d.  G is symmetric,
   * so its storage order does not matter. */
  if (dual)
    SP_BLAS(ctx, "cublas?gemmStridedBatched",
            gemm_sb(blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)d, (int)d, (int)n, xw, (int)d, (long long)(n * d), xw,
                    (int)d, (long long)(n * d), g, (int)d, (long long)(d * d), (int)sets));
  else
    SP_BLAS(ctx, "cublas?gemmStridedBatched",
            gemm_sb(blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)n, (int)d, xw, (int)d, (long long)(n * d), xw,
                    (int)d, (long long)(n * d), g, (int)n, (long long)(n * n), (int)sets));
  launch_finish(grid_for(sets * m * m), st->stream, g, sq, sets, n, m, kernel == IE_KERNEL_RBF, dual, gamma, scale,
                mul, (T *)out);
  IE_CU_LAUNCHED(ctx, "spec_finish");
  return IE_OK;
}

size_t round_up(size_t b) { return (b + 255) / 256 * 256; }

template <typename T>
ie_status eig(ie_context *ctx, T *a, int64_t sets, int64_t m, double *w)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  if (m > INT_MAX / 2)
    return ie__error(ctx, IE_BAD_SHAPE, "cuda: a %lld x %lld eigenproblem is too large for cuSOLVER",
                     (long long)m, (long long)m);
  const size_t wbytes = round_up((size_t)sets * (size_t)m * sizeof(T));
  void *p = NULL;
  ie_status s = slot(ctx, SL_W, wbytes + (size_t)sets * sizeof(int), &p);
  if (s != IE_OK) return s;
  T *dw = (T *)p;
  int *dinfo = (int *)((char *)p + wbytes);
  cusolverDnHandle_t solver = NULL;
  if ((s = handles(ctx, st, NULL, &solver)) != IE_OK) return s;
  syevjInfo_t syevj_params = (syevjInfo_t)st->syevj;
  const int im = (int)m;
  const size_t mm = (size_t)m * (size_t)m;
  const char *routine;
  if (sets > 1 && m <= 32) {
    /* Many small sets: batched Jacobi, in chunks that bound its workspace. */
    routine = sizeof(T) == 8 ? "cusolverDnDsyevjBatched" : "cusolverDnSsyevjBatched";
    const int64_t chunk = sets < 65536 ? sets : 65536;
    int lw = 0;
    SP_SOLVER(ctx, routine, syevj_size(solver, im, a, dw, &lw, syevj_params, (int)chunk));
    if ((s = slot(ctx, SL_WORK, (size_t)(lw > 0 ? lw : 1) * sizeof(T), &p)) != IE_OK) return s;
    for (int64_t s0 = 0; s0 < sets; s0 += chunk) {
      if (ie__cancelled(ctx)) {
        ie__cu_drain(ctx); /* the slots are reused by the next call */
        return ie__cancel(ctx, "cuda");
      }
      const int b = (int)(sets - s0 < chunk ? sets - s0 : chunk);
      SP_SOLVER(ctx, routine, syevj(solver, im, a + (size_t)s0 * mm, dw + (size_t)s0 * (size_t)m, (T *)p, lw,
                                    dinfo + s0, syevj_params, b));
    }
  } else {
    routine = sizeof(T) == 8 ? "cusolverDnDsyevd" : "cusolverDnSsyevd";
    int lw = 0;
    SP_SOLVER(ctx, routine, syevd_size(solver, im, a, dw, &lw));
    if ((s = slot(ctx, SL_WORK, (size_t)(lw > 0 ? lw : 1) * sizeof(T), &p)) != IE_OK) return s;
    for (int64_t k = 0; k < sets; k++) {
      if (ie__cancelled(ctx)) {
        ie__cu_drain(ctx); /* the slots are reused by the next call */
        return ie__cancel(ctx, "cuda");
      }
      SP_SOLVER(ctx, routine, syevd(solver, im, a + (size_t)k * mm, dw + (size_t)k * (size_t)m, (T *)p, lw,
                                    dinfo + k));
    }
  }
  /* The infos (host slot IE_WSH_SPECTRAL + 3) and the eigenvalues in T,
   * widened in place (from the end: element i of T sits at or below
   * element i of double). */
  void *hp = NULL;
  if ((s = ie__ws_host(ctx, IE_WSH_SPECTRAL + 3, (size_t)sets * sizeof(int), &hp)) != IE_OK) return s;
  int *info = (int *)hp;
  const size_t nw = (size_t)sets * (size_t)m;
  IE_CU(ctx, cudaMemcpyAsync(info, dinfo, (size_t)sets * sizeof(int), cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaMemcpyAsync(w, dw, nw * sizeof(T), cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, (size_t)sets * sizeof(int));
  ie__ws_copied(ctx, 0, nw * sizeof(T));
  if (sizeof(T) != sizeof(double))
    for (size_t i = nw; i-- > 0;) w[i] = (double)((const T *)w)[i];
  for (int64_t k = 0; k < sets; k++)
    if (info[k] != 0) {
      const int v = info[k];
      return ie__error(ctx, v < 0 ? IE_INTERNAL : IE_BACKEND_FAILURE,
                       "cuda: %s failed on set %lld (%lld x %lld): info %d%s (%s:%d)", routine, (long long)k,
                       (long long)m, (long long)m, v, v > 0 ? " (did not converge)" : " (bad argument)",
                       short_file(__FILE__), __LINE__);
    }
  return IE_OK;
}

} /* namespace */

ie_status ie__cu_blas(ie_context *ctx, void **handle)
{
  cublasHandle_t h = NULL;
  ie_status s = handles(ctx, (ie_cu_state *)ctx->state, &h, NULL);
  *handle = h;
  return s;
}

void ie__cu_handles_close(ie_cu_state *st)
{
  if (st->syevj) (void)cusolverDnDestroySyevjInfo((syevjInfo_t)st->syevj);
  if (st->solver) (void)cusolverDnDestroy((cusolverDnHandle_t)st->solver);
  if (st->blas) (void)cublasDestroy((cublasHandle_t)st->blas);
  st->syevj = st->solver = st->blas = NULL;
}

extern "C" ie_status ie__cu_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                                 double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                                 ie_rowerr *err, double *dev)
{
  if (sets <= 0) return IE_OK;
  return dt == IE_DT_F64 ? gram<double>(ctx, x, sets, kernel, gamma, dual, scale, mul, out, err, dev)
                         : gram<float>(ctx, x, sets, kernel, gamma, dual, scale, mul, out, err, dev);
}

extern "C" ie_status ie__cu_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                                     double *w)
{
  if (sets <= 0 || m <= 0) return IE_OK;
  return dt == IE_DT_F64 ? eig<double>(ctx, (double *)a, sets, m, w) : eig<float>(ctx, (float *)a, sets, m, w);
}
