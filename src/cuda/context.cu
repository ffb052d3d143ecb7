/*
 * context.cu — the CUDA backend's table: device, stream, memory, errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cu_internal.h"
#include "sinkhorn.h"
#include "discrete.h"

void ie__cu_drain(ie_context *ctx)
{
  const ie_cu_state *st = ctx ? (const ie_cu_state *)ctx->state : NULL;
  if (st && cudaStreamSynchronize(st->stream) != cudaSuccess)
    (void)cudaGetLastError();
}

ie_status ie__cu_fail(ie_context *ctx, cudaError_t e, const char *call,
                      const char *file, int line)
{
  const char *p = strstr(file, "src/cuda/");
  int n = (int)strcspn(call, "(");
  (void)cudaGetLastError(); /* clear a non-sticky error */
  ie__cu_drain(ctx);
  if (!p) {
    p = strrchr(file, '/');
    p = p ? p + 1 : file;
  }
  return ie__error(ctx,
                   e == cudaErrorMemoryAllocation ? IE_OUT_OF_MEMORY
                                                  : IE_BACKEND_FAILURE,
                   "%.*s failed: %s (%s:%d)", n, call, cudaGetErrorString(e),
                   p, line);
}

static ie_status cu_open(ie_context *ctx, int device, void **state)
{
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  *state = NULL;
  if (e != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    /* The runtime's own words ("CUDA driver version is insufficient ...")
     * mislead on a machine with no driver at all: say what is missing. */
    int drv = 0, rt = 0;
    (void)cudaDriverGetVersion(&drv);
    (void)cudaRuntimeGetVersion(&rt);
    (void)cudaGetLastError();
    if (e == cudaErrorInsufficientDriver && drv == 0)
      return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                       "no NVIDIA GPU or driver: this machine has no NVIDIA driver "
                       "(libcuda) [cudaErrorInsufficientDriver]");
    if (e == cudaErrorInsufficientDriver)
      return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                       "the NVIDIA driver supports CUDA %d.%d, older than this build's "
                       "CUDA runtime %d.%d: update the driver [cudaErrorInsufficientDriver]",
                       drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
      return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                       "no NVIDIA GPU: the NVIDIA driver finds no CUDA device%s",
                       e == cudaErrorNoDevice ? " [cudaErrorNoDevice]" : "");
    return ie__error(ctx, IE_BACKEND_UNAVAILABLE, "no usable NVIDIA GPU: %s [%s]",
                     cudaGetErrorString(e), cudaGetErrorName(e));
  }
  if (device < 0 || device >= n)
    return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                     "no CUDA device %d (this machine has %d)", device, n);
  cudaDeviceProp prop;
  IE_CU(ctx, cudaGetDeviceProperties(&prop, device));
  ie_cu_state *st = (ie_cu_state *)calloc(1, sizeof *st);
  if (!st)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "out of memory for the CUDA context");
  st->device = device;
  st->nsm = prop.multiProcessorCount;
  st->stream = 0;
  snprintf(st->name, sizeof st->name, "%s (CUDA device %d, sm_%d%d, %d SMs)",
           prop.name, device, prop.major, prop.minor, prop.multiProcessorCount);
  {
    /* Create the primary context now, so a broken device fails here. */
    ie_cu_devguard g(device);
    cudaError_t e2 = g.err != cudaSuccess ? g.err : cudaFree(0);
    if (e2 != cudaSuccess) {
      free(st);
      (void)cudaGetLastError();
      return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                       "CUDA device %d cannot be used: %s", device,
                       cudaGetErrorString(e2));
    }
  }
  *state = st;
  return IE_OK;
}

static void cu_close(void *state)
{
  ie_cu_state *st = (ie_cu_state *)state;
  if (!st)
    return;
  {
    /* No wait on the stream here: ie_context_destroy waited where calls
     * were pending, and a caller's stream need not outlive its last use. */
    ie_cu_devguard g(st->device);
    if (g.err == cudaSuccess)
      ie__cu_handles_close(st);
    (void)cudaGetLastError();
  }
  free(st);
}

static const char *cu_device_name(void *state)
{
  return state ? ((ie_cu_state *)state)->name : "cuda";
}

static ie_status cu_alloc(ie_context *ctx, size_t bytes, void **buf)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  *buf = NULL;
  if (bytes == 0)
    return IE_OK;
  IE_CU_ENTER(ctx, st);
  IE_CU(ctx, cudaMalloc(buf, bytes));
  return IE_OK;
}

static void cu_free(ie_context *ctx, void *buf)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  if (!buf)
    return;
  ie_cu_devguard g(st->device);
  (void)cudaFree(buf);
  (void)cudaGetLastError();
}

static ie_status cu_upload(ie_context *ctx, void *dst, size_t dst_offset,
                           const void *src, size_t bytes)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  if (bytes == 0)
    return IE_OK;
  IE_CU_ENTER(ctx, st);
  ie__ws_copied(ctx, 1, bytes);
  IE_CU(ctx, cudaMemcpyAsync((char *)dst + dst_offset, src, bytes,
                             cudaMemcpyHostToDevice, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

static ie_status cu_download(ie_context *ctx, void *dst, const void *src,
                             size_t src_offset, size_t bytes)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  if (bytes == 0)
    return IE_OK;
  IE_CU_ENTER(ctx, st);
  ie__ws_copied(ctx, 0, bytes);
  IE_CU(ctx, cudaMemcpyAsync(dst, (const char *)src + src_offset, bytes,
                             cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

/* All-ones bytes are NaN in f16, bf16, f32 and f64. */
static ie_status cu_fill_nan(ie_context *ctx, const ie_mat *m)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  const size_t esz = ie__dtype_size(m->dtype);
  if (m->rows <= 0 || m->cols <= 0)
    return IE_OK;
  IE_CU_ENTER(ctx, st);
  char *p = (char *)m->buf + m->offset;
  IE_CU(ctx, cudaMemset2DAsync(p, (size_t)m->stride * esz, 0xff,
                               (size_t)m->cols * esz, (size_t)m->rows,
                               st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

/* The launchers' shared scratch: slot IE_WS_ROWS of the context's workspace
 * (src/host/workspace.c), grown on demand and kept. */
ie_status ie__cu_scratch(ie_context *ctx, size_t bytes, void **p)
{
  return ie__ws_device(ctx, IE_WS_ROWS, bytes, p);
}

/* The workspace carves its arena by pointer arithmetic; nothing to free. */
static ie_status cu_sub(ie_context *ctx, void *base, size_t offset, size_t bytes, void **view)
{
  (void)ctx;
  (void)bytes;
  *view = (char *)base + offset;
  return IE_OK;
}

static void cu_sub_free(ie_context *ctx, void *view)
{
  (void)ctx;
  (void)view;
}

static ie_status cu_synchronize(ie_context *ctx)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

static int cu_is_gpu(void *state)
{
  (void)state;
  return 1;
}

/* Page-locked host memory (ie_host_alloc): staging copies from it are one
 * DMA.  Any device of the process can use it; it is taken with the
 * context's device current (not the caller thread's, which may have none
 * yet: the runtime would start device 0's context for it). */
static ie_status cu_host_alloc(ie_context *ctx, size_t bytes, void **ptr)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  *ptr = NULL;
  IE_CU_ENTER(ctx, st);
  cudaError_t e = cudaMallocHost(ptr, bytes ? bytes : 1);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    *ptr = NULL;
    return ie__error(ctx, IE_OUT_OF_MEMORY, "cudaMallocHost of %zu bytes failed: %s (%s:%d)",
                     bytes, cudaGetErrorString(e), __FILE__, __LINE__);
  }
  return IE_OK;
}

static void cu_host_free(ie_context *ctx, void *ptr)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  if (!ptr)
    return;
  ie_cu_devguard g(st->device);
  (void)cudaFreeHost(ptr);
  (void)cudaGetLastError();
}

/* src/cuda/spectral.cu */
extern "C" ie_status ie__cu_gram(ie_context *, const ie_mat *, int64_t, ie_kernel, double, int,
                                 double, int, ie_dtype, void *, ie_rowerr *, double *);
extern "C" ie_status ie__cu_eigvalsh(ie_context *, void *, ie_dtype, int64_t, int64_t, double *);

/* src/cuda/knn.cu */
extern "C" const struct ie_knn_ops ie__cuda_knn_ops;

extern "C" const struct ie_mauve_ops ie__cuda_mauve_ops;
/* src/cuda/discrete.cu */
extern "C" const ie_disc_ops ie__cuda_disc_ops;

/* In the order of struct ie_backend_ops (src/backend.h); entries from other
 * files name them. */
extern "C" const ie_backend_ops ie__cuda_ops = {
    /* name */ "cuda",
    /* kind */ IE_BACKEND_CUDA,
    /* open */ cu_open,
    /* close */ cu_close,
    /* device_name */ cu_device_name,
    /* is_gpu */ cu_is_gpu,
    /* alloc */ cu_alloc,
    /* free */ cu_free,
    /* upload */ cu_upload,
    /* download */ cu_download,
    /* fill_nan */ cu_fill_nan,
    /* softmax */ ie__cu_softmax,
    /* rows */ ie__cu_rows,
    /* gram (src/cuda/spectral.cu) */ ie__cu_gram,
    /* eigvalsh */ ie__cu_eigvalsh,
    /* sinkhorn (src/cuda/sinkhorn.cu) */ &ie__cuda_sk_ops,
    /* knn: device-resident, knn_dev below */ NULL,
    /* range_count */ NULL,
    /* host_alloc */ cu_host_alloc,
    /* host_free */ cu_host_free,
    /* mauve (src/cuda/mauve.cu) */ &ie__cuda_mauve_ops,
    /* discrete (src/cuda/discrete.cu) */ &ie__cuda_disc_ops,
    /* sub */ cu_sub,
    /* sub_free */ cu_sub_free,
    /* synchronize */ cu_synchronize,
    /* knn_dev (src/cuda/knn.cu) */ &ie__cuda_knn_ops,
    /* rows_device (src/cuda/rows.cu) */ ie__cu_rows_device,
    /* softmax_device */ ie__cu_softmax_device,
    /* device_bytes: not known for every allocator's pointer (managed,
     * pools, other libraries' arenas); no check */ NULL,
};

/* The public extras of infoest_cuda.h, reached through the core
 * (src/registry.c), which has checked that ctx is an open CUDA context. */
/* The old stream is not touched: src/registry.c has waited for it where
 * asynchronous calls were pending on it, and otherwise every call has
 * waited for its own work (a framework's stream may be gone by now). */
static ie_status cu_set_stream(ie_context *ctx, void *queue)
{
  cudaStream_t stream = (cudaStream_t)queue;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  if (stream == st->stream)
    return IE_OK;
#if CUDART_VERSION >= 12080
  if (stream && stream != cudaStreamLegacy && stream != cudaStreamPerThread) {
    ie_cu_devguard g(st->device); /* (not IE_CU_ENTER: its failure waits on the old stream) */
    int dev = -1;
    cudaError_t e = g.err != cudaSuccess ? g.err : cudaStreamGetDevice(stream, &dev);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "ie_cuda_set_stream: the stream's device could not be read (%s): not a valid stream",
                       cudaGetErrorString(e));
    }
    if (dev != st->device)
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "ie_cuda_set_stream: the stream belongs to device %d, the context to "
                       "device %d; make it on the context's device",
                       dev, st->device);
  }
#endif
  st->stream = stream;
  return IE_OK;
}

static ie_status cu_get_stream(const ie_context *ctx, void **context, void **device,
                               void **queue)
{
  (void)context;
  (void)device;
  if (queue)
    *queue = (void *)((const ie_cu_state *)ctx->state)->stream;
  return IE_OK;
}

/* What libinfoest-cuda.so's entry symbol returns (src/cuda/module.c). */
extern "C" const ie_backend_module ie__cuda_module = {
    IE_BACKEND_ABI,          IE_VERSION_NUMBER, (uint32_t)sizeof(ie_backend_ops),
    (uint32_t)sizeof(ie_context), &ie__cuda_ops,    cu_set_stream,
    cu_get_stream,
};
