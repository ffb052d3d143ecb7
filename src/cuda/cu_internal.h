/*
 * cu_internal.h — PRIVATE to src/cuda: the CUDA context state, error
 * checking and the entry points the table in context.cu points at.
 */
#ifndef IE_CU_INTERNAL_H
#define IE_CU_INTERNAL_H

#include <cuda_runtime.h>
#include "backend.h"

/* What a CUDA context owns.  `stream` is where all work goes: the legacy
 * default stream (0) unless the caller set one with ie_cuda_set_stream().
 * The legacy stream orders our work after whatever the caller queued on it
 * (or on any blocking stream), which is the safe default for callers that
 * never think about streams. */
typedef struct {
  int device;
  int nsm;               /* multiprocessors, for the launch policy */
  cudaStream_t stream;
  char name[320];
  /* The context's cuBLAS and cuSOLVER handles (cublasHandle_t,
   * cusolverDnHandle_t, syevjInfo_t), made by the first call that needs
   * one and kept, since making one allocates (src/cuda/spectral.cu). */
  void *blas, *solver, *syevj;
} ie_cu_state;

/* The context's cuBLAS handle, made if needed, on the context's stream. */
ie_status ie__cu_blas(ie_context *ctx, void **handle);
/* Destroy the context's handles (at close). */
void ie__cu_handles_close(ie_cu_state *st);

/* Record a failed CUDA call on ctx (clearing a non-sticky error) and return
 * its status: IE_OUT_OF_MEMORY for allocation failures, else
 * IE_BACKEND_FAILURE.  `call` is the text of the call; only its name is
 * kept. */
ie_status ie__cu_fail(ie_context *ctx, cudaError_t e, const char *call,
                      const char *file, int line);
/* A failing call waits for the work it enqueued before it returns (quietly:
 * its own failure is the one reported), so that no later call, on this
 * stream or on the next the caller sets, meets it still running in the
 * workspace.  (ie__cu_fail and the cuBLAS / cuSOLVER failures call it.) */
void ie__cu_drain(ie_context *ctx);

#define IE_CU(ctx, call)                                              \
  do {                                                                \
    cudaError_t ie_e_ = (call);                                       \
    if (ie_e_ != cudaSuccess)                                         \
      return ie__cu_fail((ctx), ie_e_, #call, __FILE__, __LINE__);    \
  } while (0)

/* After a <<<>>> launch. */
#define IE_CU_LAUNCHED(ctx, kname)                                    \
  do {                                                                \
    cudaError_t ie_e_ = cudaGetLastError();                           \
    if (ie_e_ != cudaSuccess)                                         \
      return ie__cu_fail((ctx), ie_e_, "launch of " kname "(",        \
                         __FILE__, __LINE__);                         \
  } while (0)

/* Makes the context's device current for the life of the object and puts
 * the caller's device back afterwards. */
struct ie_cu_devguard {
  int prev;
  bool changed;
  cudaError_t err;
  explicit ie_cu_devguard(int dev) : prev(-1), changed(false), err(cudaSuccess)
  {
    err = cudaGetDevice(&prev);
    if (err == cudaSuccess && prev != dev) {
      err = cudaSetDevice(dev);
      changed = err == cudaSuccess;
    }
  }
  ~ie_cu_devguard()
  {
    if (changed && cudaSetDevice(prev) != cudaSuccess)
      (void)cudaGetLastError(); /* (not left for the caller's thread) */
  }
};

/* An error that earlier work left unread on the calling thread (the
 * caller's own, non-sticky) is not this call's: it is cleared on entry, so
 * that IE_CU_LAUNCHED's cudaGetLastError reports only this call's launches. */
#define IE_CU_ENTER(ctx, st)                                          \
  ie_cu_devguard ie_guard_((st)->device);                             \
  if (ie_guard_.err != cudaSuccess)                                   \
    return ie__cu_fail((ctx), ie_guard_.err, "cudaSetDevice(",        \
                       __FILE__, __LINE__);                           \
  (void)cudaGetLastError()

/* Device scratch of at least `bytes` (contents undefined). */
ie_status ie__cu_scratch(ie_context *ctx, size_t bytes, void **p);

ie_status ie__cu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                         int log_out, double inv_temp, ie_rowerr *err);
ie_status ie__cu_rows(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                      const ie_mat *y, const ie_vec *labels, double *val,
                      ie_rowerr *err);
ie_status ie__cu_rows_device(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                             const ie_mat *y, const ie_vec *labels,
                             const ie_rows_sink *sink);
ie_status ie__cu_softmax_device(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                                int log_out, double inv_temp,
                                const ie_rows_sink *sink);

#endif
