/*
 * spectral.cu — the CUDA backend's spectral measures (docs/SPEC.md §6): similarity
 * matrices with cuBLAS (a strided-batched GEMM: X Xᵀ, or X̂ᵀX̂ on the dual
 * path) around two kernels of ours (row norms / normalisation, and the rbf
 * map exp(−γ‖x − y‖²)); eigenvalues with cuSOLVER: ?syevd a set, or
 * ?syevjBatched for many sets of order <= 32.  T = double (default) or float
 * (single_precision).  Every CUDA, cuBLAS and cuSOLVER call is checked and
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
  return ie__error(ctx, e == CUBLAS_STATUS_ALLOC_FAILED ? IE_OUT_OF_MEMORY : IE_BACKEND_FAILURE,
                   "%s failed: %s (%d) (%s:%d)", call, cublasGetStatusString(e), (int)e,
                   short_file(file), line);
}

ie_status solver_fail(ie_context *ctx, cusolverStatus_t e, const char *call, const char *file,
                      int line)
{
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

/* Device memory and library handles of one call, freed on every return. */
struct scope {
  void *p[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  int np = 0;
  cublasHandle_t blas = NULL;
  cusolverDnHandle_t solver = NULL;
  syevjInfo_t syevj = NULL;
  ~scope()
  {
    for (int i = 0; i < np; i++)
      if (p[i]) (void)cudaFree(p[i]);
    if (syevj) (void)cusolverDnDestroySyevjInfo(syevj);
    if (solver) (void)cusolverDnDestroy(solver);
    if (blas) (void)cublasDestroy(blas);
    (void)cudaGetLastError();
  }
};

ie_status grab(ie_context *ctx, scope &sc, size_t bytes, void **out)
{
  *out = NULL;
  IE_CU(ctx, cudaMalloc(out, bytes ? bytes : 1));
  sc.p[sc.np++] = *out;
  return IE_OK;
}

/* ---- kernels -------------------------------------------------------------------------- */

__device__ __forceinline__ double load(const char *base, int64_t i, int dt)
{
  switch (dt) {
  case IE_DT_F16: return (double)__half2float(((const __half *)base)[i]);
  case IE_DT_BF16: return (double)__bfloat162float(((const __nv_bfloat16 *)base)[i]);
  case IE_DT_F64: return ((const double *)base)[i];
  default: return (double)((const float *)base)[i];
  }
}

/* One warp a sample row r: ‖x_r‖² (in double), a finiteness check, and the
 * row copied to xw (compact rows × d, in T), under cosine as x̂ = x/‖x‖.
 * err[r]: IE_ROW_NONFINITE, or IE_ROW_EMPTY for a zero row under cosine. */
template <typename T>
__global__ void k_rows(const char *x, int64_t stride, int dt, int64_t rows, int64_t d,
                       int cosine, T *xw, T *sq, int32_t *err)
{
  const int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (r >= rows) return; /* whole warps leave together: r is uniform in a warp */
  double q = 0;
  int finite = 1;
  for (int64_t k = lane; k < d; k += 32) {
    double v = load(x, r * stride + k, dt);
    finite &= isfinite(v) ? 1 : 0;
    q += v * v;
  }
  for (int o = 16; o > 0; o >>= 1) {
    q += __shfl_xor_sync(0xffffffffu, q, o);
    finite &= __shfl_xor_sync(0xffffffffu, finite, o);
  }
  const int e = !finite ? IE_ROW_NONFINITE : (cosine && !(q > 0)) ? IE_ROW_EMPTY : 0;
  const double inv = cosine && !e ? 1.0 / sqrt(q) : 1.0;
  for (int64_t k = lane; k < d; k += 32) xw[r * d + k] = (T)(load(x, r * stride + k, dt) * inv);
  if (lane == 0) {
    err[r] = e;
    sq[r] = (T)q;
  }
}

/* One thread an entry (s, a, b): the Gram entry G mapped to the kernel
 * value (rbf: exp(−γ max(0, ‖x_a‖² + ‖x_b‖² − 2G)), primal diagonal exactly
 * 1), then out = scale·v, or out ∘= scale·v. */
template <typename T>
__global__ void k_finish(const T *g, const T *sq, int64_t sets, int64_t n, int64_t m, int rbf,
                         int dual, T gamma, T scale, int mul, T *out)
{
  const int64_t total = sets * m * m;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t s = i / (m * m), ab = i - s * m * m, a = ab / m, b = ab - a * m;
    T v = g[i];
    if (rbf) {
      const T d2 = sq[s * n + a] + sq[s * n + b] - 2 * v;
      v = a == b ? (T)1 : exp(-gamma * (d2 > 0 ? d2 : (T)0));
    } else if (!dual && a == b) {
      v = (T)1;
    }
    out[i] = mul ? out[i] * (scale * v) : scale * v;
  }
}

/* One thread a row a of a given K: out = scale·½(K + Kᵀ) (or ∘=), dev[a] =
 * max_b max(|K_ab − K_ba|, |K_aa − 1|), err[a] for NaN or ±inf. */
template <typename T>
__global__ void k_given(const char *x, int64_t stride, int dt, int64_t n, int64_t sets, T scale,
                        int mul, T *out, int32_t *err, double *dev)
{
  const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= n * sets) return;
  const int64_t s = r / n, a = r - s * n, base = s * n;
  double dv = fabs(load(x, r * stride + a, dt) - 1.0);
  int finite = 1;
  for (int64_t b = 0; b < n; b++) {
    const double kab = load(x, r * stride + b, dt), kba = load(x, (base + b) * stride + a, dt);
    finite &= isfinite(kab) ? 1 : 0;
    dv = fmax(dv, fabs(kab - kba));
    T *o = out + (s * n + a) * n + b;
    const T v = (T)(scale * (T)(0.5 * (kab + kba)));
    *o = mul ? *o * v : v;
  }
  err[r] = finite ? 0 : IE_ROW_NONFINITE;
  dev[r] = finite ? dv : 0.0;
}

template <typename T>
__global__ void k_widen(const T *w, int64_t n, double *out)
{
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = (double)w[i];
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

template <typename T>
ie_status gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel, double gamma, int dual,
               double scale, int mul, void *out, ie_rowerr *err, double *dev)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  scope sc;
  const int64_t rows = x->rows, n = rows / sets, d = x->cols, m = dual ? d : n;
  const char *xb = (const char *)x->buf + x->offset;
  int32_t *derr = NULL;
  void *p = NULL;
  static_assert(sizeof(ie_rowerr) == sizeof(int32_t), "ie_rowerr is int32_t");
  {
    ie_status s = grab(ctx, sc, (size_t)rows * sizeof(int32_t), &p);
    if (s != IE_OK) return s;
    derr = (int32_t *)p;
  }
  if (kernel == IE_KERNEL_PRECOMPUTED) {
    ie_status s = grab(ctx, sc, (size_t)rows * sizeof(double), &p);
    if (s != IE_OK) return s;
    double *ddev = (double *)p;
    k_given<T><<<grid_for(rows), 256, 0, st->stream>>>(xb, x->stride, (int)x->dtype, n, sets, (T)scale, mul,
                                                        (T *)out, derr, ddev);
    IE_CU_LAUNCHED(ctx, "k_given");
    IE_CU(ctx, cudaMemcpyAsync(err, derr, (size_t)rows * sizeof(int32_t), cudaMemcpyDeviceToHost, st->stream));
    IE_CU(ctx, cudaMemcpyAsync(dev, ddev, (size_t)rows * sizeof(double), cudaMemcpyDeviceToHost, st->stream));
    IE_CU(ctx, cudaStreamSynchronize(st->stream));
    return IE_OK;
  }
  if (n > INT_MAX || d > INT_MAX || sets > INT_MAX)
    return ie__error(ctx, IE_BAD_SHAPE, "cuda: %lld sets of %lld x %lld are beyond cuBLAS's int sizes",
                     (long long)sets, (long long)n, (long long)d);
  T *xw, *sq, *g;
  ie_status s = grab(ctx, sc, (size_t)rows * (size_t)d * sizeof(T), &p);
  if (s != IE_OK) return s;
  xw = (T *)p;
  if ((s = grab(ctx, sc, (size_t)rows * sizeof(T), &p)) != IE_OK) return s;
  sq = (T *)p;
  if ((s = grab(ctx, sc, (size_t)sets * (size_t)m * (size_t)m * sizeof(T), &p)) != IE_OK) return s;
  g = (T *)p;
  const int cosine = kernel == IE_KERNEL_COSINE;
  k_rows<T><<<grid_for(rows * 32), 256, 0, st->stream>>>(xb, x->stride, (int)x->dtype, rows, d, cosine, xw, sq,
                                                          derr);
  IE_CU_LAUNCHED(ctx, "k_rows");
  IE_CU(ctx, cudaMemcpyAsync(err, derr, (size_t)rows * sizeof(int32_t), cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  for (int64_t r = 0; r < rows; r++)
    if (err[r]) return IE_OK; /* src reports the row */

  SP_BLAS(ctx, "cublasCreate", cublasCreate(&sc.blas));
  SP_BLAS(ctx, "cublasSetStream", cublasSetStream(sc.blas, st->stream));
  /* Row-major X (n × d) is column-major Xᵀ (d × n, ld d).  Primal: G = X Xᵀ
   * = (Xᵀ)ᵀ(Xᵀ), n × n; dual: G = X̂ᵀX̂ = (Xᵀ)(Xᵀ)ᵀ, d × d.  G is symmetric,
   * so its storage order does not matter. */
  if (dual)
    SP_BLAS(ctx, "cublas?gemmStridedBatched",
            gemm_sb(sc.blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)d, (int)d, (int)n, xw, (int)d, (long long)(n * d), xw,
                    (int)d, (long long)(n * d), g, (int)d, (long long)(d * d), (int)sets));
  else
    SP_BLAS(ctx, "cublas?gemmStridedBatched",
            gemm_sb(sc.blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)n, (int)d, xw, (int)d, (long long)(n * d), xw,
                    (int)d, (long long)(n * d), g, (int)n, (long long)(n * n), (int)sets));
  k_finish<T><<<grid_for(sets * m * m), 256, 0, st->stream>>>(g, sq, sets, n, m, kernel == IE_KERNEL_RBF, dual,
                                                               (T)gamma, (T)scale, mul, (T *)out);
  IE_CU_LAUNCHED(ctx, "k_finish");
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

template <typename T>
ie_status eig(ie_context *ctx, T *a, int64_t sets, int64_t m, double *w)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  scope sc;
  if (m > INT_MAX / 2)
    return ie__error(ctx, IE_BAD_SHAPE, "cuda: a %lld x %lld eigenproblem is too large for cuSOLVER",
                     (long long)m, (long long)m);
  void *p = NULL;
  ie_status s = grab(ctx, sc, (size_t)sets * (size_t)m * sizeof(T), &p);
  if (s != IE_OK) return s;
  T *dw = (T *)p;
  if ((s = grab(ctx, sc, (size_t)sets * sizeof(int), &p)) != IE_OK) return s;
  int *dinfo = (int *)p;
  if ((s = grab(ctx, sc, (size_t)sets * (size_t)m * sizeof(double), &p)) != IE_OK) return s;
  double *dw64 = (double *)p;
  SP_SOLVER(ctx, "cusolverDnCreate", cusolverDnCreate(&sc.solver));
  SP_SOLVER(ctx, "cusolverDnSetStream", cusolverDnSetStream(sc.solver, st->stream));
  const int im = (int)m;
  const size_t mm = (size_t)m * (size_t)m;
  const char *routine;
  if (sets > 1 && m <= 32) {
    /* Many small sets: batched Jacobi, in chunks that bound its workspace. */
    routine = sizeof(T) == 8 ? "cusolverDnDsyevjBatched" : "cusolverDnSsyevjBatched";
    SP_SOLVER(ctx, "cusolverDnCreateSyevjInfo", cusolverDnCreateSyevjInfo(&sc.syevj));
    const int64_t chunk = sets < 65536 ? sets : 65536;
    int lw = 0;
    SP_SOLVER(ctx, routine, syevj_size(sc.solver, im, a, dw, &lw, sc.syevj, (int)chunk));
    if ((s = grab(ctx, sc, (size_t)(lw > 0 ? lw : 1) * sizeof(T), &p)) != IE_OK) return s;
    for (int64_t s0 = 0; s0 < sets; s0 += chunk) {
      if (ie__cancelled(ctx)) return ie__cancel(ctx, "cuda"); /* scope's cudaFree waits for the queue */
      const int b = (int)(sets - s0 < chunk ? sets - s0 : chunk);
      SP_SOLVER(ctx, routine, syevj(sc.solver, im, a + (size_t)s0 * mm, dw + (size_t)s0 * (size_t)m, (T *)p, lw,
                                    dinfo + s0, sc.syevj, b));
    }
  } else {
    routine = sizeof(T) == 8 ? "cusolverDnDsyevd" : "cusolverDnSsyevd";
    int lw = 0;
    SP_SOLVER(ctx, routine, syevd_size(sc.solver, im, a, dw, &lw));
    if ((s = grab(ctx, sc, (size_t)(lw > 0 ? lw : 1) * sizeof(T), &p)) != IE_OK) return s;
    for (int64_t k = 0; k < sets; k++) {
      if (ie__cancelled(ctx)) return ie__cancel(ctx, "cuda"); /* scope's cudaFree waits for the queue */
      SP_SOLVER(ctx, routine, syevd(sc.solver, im, a + (size_t)k * mm, dw + (size_t)k * (size_t)m, (T *)p, lw,
                                    dinfo + k));
    }
  }
  k_widen<T><<<grid_for(sets * m), 256, 0, st->stream>>>(dw, sets * m, dw64);
  IE_CU_LAUNCHED(ctx, "k_widen");
  int *info = (int *)malloc((size_t)sets * sizeof(int));
  if (!info) return ie__error(ctx, IE_OUT_OF_MEMORY, "cuda: no host memory for %lld solver reports", (long long)sets);
  cudaError_t e1 = cudaMemcpyAsync(info, dinfo, (size_t)sets * sizeof(int), cudaMemcpyDeviceToHost, st->stream);
  cudaError_t e2 = e1 == cudaSuccess ? cudaMemcpyAsync(w, dw64, (size_t)sets * (size_t)m * sizeof(double),
                                                       cudaMemcpyDeviceToHost, st->stream)
                                     : e1;
  cudaError_t e3 = e2 == cudaSuccess ? cudaStreamSynchronize(st->stream) : e2;
  if (e3 != cudaSuccess) {
    free(info);
    return ie__cu_fail(ctx, e3, "cudaMemcpyAsync(", __FILE__, __LINE__);
  }
  for (int64_t k = 0; k < sets; k++)
    if (info[k] != 0) {
      const int v = info[k];
      free(info);
      return ie__error(ctx, v < 0 ? IE_INTERNAL : IE_BACKEND_FAILURE,
                       "cuda: %s failed on set %lld (%lld x %lld): info %d%s (%s:%d)", routine, (long long)k,
                       (long long)m, (long long)m, v, v > 0 ? " (did not converge)" : " (bad argument)",
                       short_file(__FILE__), __LINE__);
    }
  free(info);
  return IE_OK;
}

} /* namespace */

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
