/*
 * ocl_backend.c — the OpenCL backend: devices, contexts, memory, the program
 * cache, the public extras of infoest_opencl.h, the ops table and the
 * module descriptor.
 *
 * Device order (the `device` index of ie_context_options): every GPU of every
 * platform, platforms in clGetPlatformIDs order and devices in
 * clGetDeviceIDs order; then every other device (CPU, accelerator, custom) in
 * the same order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

/* OpenCL runtimes are not all safe when first used from several threads at
 * once: PoCL's platform and device discovery, on a cold process, crashes or
 * reports no device to all but one of 8 threads calling clGetPlatformIDs /
 * clGetDeviceIDs together.  The header promises that one context per thread
 * works, so the backend's discovery, context creation and release run one
 * at a time, process-wide (contexts are made and destroyed rarely; the calls
 * in between take no lock). */
static pthread_mutex_t ocl_open_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- Errors ------------------------------------------------------------------ */

static const char *cl_err_name(cl_int e) {
  switch (e) {
#define E(x) \
  case x:    \
    return #x;
    E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
    E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE)
    E(CL_INVALID_CONTEXT) E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE)
    E(CL_INVALID_HOST_PTR) E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    E(CL_INVALID_IMAGE_SIZE) E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY)
    E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE)
    E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL)
    E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
    E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT)
    E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE)
    E(CL_INVALID_PROPERTY) E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS)
    E(CL_INVALID_LINKER_OPTIONS) E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
  case -1001:
    return "CL_PLATFORM_NOT_FOUND_KHR";
  default:
    return "unknown OpenCL error";
  }
}

ie_status ie__cl_fail(ie_context *ctx, const char *call, cl_int err,
                      const char *file, int line) {
  const char *f = strstr(file, "src/opencl/");
  ie_status s = IE_BACKEND_FAILURE;
  if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
      err == CL_OUT_OF_HOST_MEMORY)
    s = IE_OUT_OF_MEMORY;
  return ie__error(ctx, s, "%s failed: %s (%d) (%s:%d)", call, cl_err_name(err),
                   (int)err, f ? f : file, line);
}

/* ---- Devices --------------------------------------------------------------------- */

/* Find device `index` in the documented order.  Returns 0 when found; else
 * *count is the number of devices seen. */
static int find_device(int index, cl_device_id *out, int *count) {
  cl_uint np = 0;
  cl_platform_id plats[32];
  *count = 0;
  if (clGetPlatformIDs(32, plats, &np) != CL_SUCCESS) return -1;
  if (np > 32) np = 32;
  int n = 0;
  for (int gpu_pass = 1; gpu_pass >= 0; gpu_pass--) {
    for (cl_uint p = 0; p < np; p++) {
      cl_uint nd = 0;
      cl_device_id devs[64];
      if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 64, devs, &nd) != CL_SUCCESS) continue;
      if (nd > 64) nd = 64;
      for (cl_uint d = 0; d < nd; d++) {
        cl_device_type t = 0;
        if (clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS) continue;
        if (!!(t & CL_DEVICE_TYPE_GPU) != gpu_pass) continue;
        if (n == index) {
          *out = devs[d];
          *count = n + 1;
          return 0;
        }
        n++;
      }
    }
  }
  *count = n;
  return -1;
}

static void release_all(ie_ocl *s) {
  if (!s) return;
  for (int i = 0; i < IE_K_COUNT; i++)
    if (s->k[i]) clReleaseKernel(s->k[i]);
  for (size_t i = 0; i < sizeof s->knn_k / sizeof *s->knn_k; i++)
    if (s->knn_k[i]) clReleaseKernel(s->knn_k[i]);
  for (size_t i = 0; i < sizeof s->sk_k / sizeof *s->sk_k; i++)
    if (s->sk_k[i]) clReleaseKernel(s->sk_k[i]);
  if (s->program) clReleaseProgram(s->program);
  if (s->queue && s->queue != s->own_queue) clReleaseCommandQueue(s->queue);
  if (s->own_queue) clReleaseCommandQueue(s->own_queue);
  if (s->context) clReleaseContext(s->context);
  free(s);
}

/* ocl_open's work, under ocl_open_lock. */
static ie_status ocl_open_locked(ie_context *ctx, int device, void **state) {
  cl_device_id dev = NULL;
  int count = 0;
  *state = NULL;
  if (find_device(device, &dev, &count) != 0) {
    if (count == 0)
      return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                       "ie_context_create: no OpenCL device found (no platform, "
                       "or no device on any platform)");
    return ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                     "ie_context_create: OpenCL device %d asked, but only %d "
                     "device%s found",
                     device, count, count == 1 ? "" : "s");
  }
  ie_ocl *s = calloc(1, sizeof *s);
  if (!s) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_context_create: no host memory");
  s->device = dev;
  cl_int e = CL_SUCCESS;
  s->context = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
  if (e != CL_SUCCESS) {
    release_all(s);
    return IE_CL_FAIL(ctx, "clCreateContext", e);
  }
  s->own_queue = clCreateCommandQueue(s->context, dev, 0, &e);
  if (e != CL_SUCCESS) {
    release_all(s);
    return IE_CL_FAIL(ctx, "clCreateCommandQueue", e);
  }
  s->queue = s->own_queue;

  cl_device_type t = 0;
  char dname[200] = "", pname[100] = "", ver[64] = "", ext[8192] = "";
  cl_platform_id plat = NULL;
  clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof t, &t, NULL);
  clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname - 1, dname, NULL);
  clGetDeviceInfo(dev, CL_DEVICE_VERSION, sizeof ver - 1, ver, NULL);
  if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL) != CL_SUCCESS) {
    /* A very long list: ask for its size. */
    size_t need = 0;
    clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &need);
    char *big = need ? malloc(need + 1) : NULL;
    if (big && clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, need, big, NULL) == CL_SUCCESS) {
      big[need] = 0;
      s->fp64 = strstr(big, "cl_khr_fp64") != NULL;
    }
    free(big);
  } else {
    s->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
  }
  if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) == CL_SUCCESS)
    clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
  s->is_gpu = (t & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
  snprintf(s->name, sizeof s->name, "%s (%s, %s)", dname, pname, ver);
  *state = s;
  return IE_OK;
}

static ie_status ocl_open(ie_context *ctx, int device, void **state) {
  pthread_mutex_lock(&ocl_open_lock);
  const ie_status s = ocl_open_locked(ctx, device, state);
  pthread_mutex_unlock(&ocl_open_lock);
  return s;
}

static void ocl_close(void *state) {
  pthread_mutex_lock(&ocl_open_lock);
  release_all(state);
  pthread_mutex_unlock(&ocl_open_lock);
}

static const char *ocl_device_name(void *state) {
  return state ? ((ie_ocl *)state)->name : "none";
}

static int ocl_is_gpu(void *state) { return state && ((ie_ocl *)state)->is_gpu; }

/* ---- Program -------------------------------------------------------------------- */

extern const char *const ie__cl_sources[];
extern const char *const ie__cl_names[];
extern const int ie__cl_count;

static const char *const kernel_names[IE_K_COUNT] = {
    "rows_p1_lse",   "rows_p1_shannon", "rows_p1_power",        "rows_p1_nll",
    "rows_p1_pair",  "rows_finish",     "rows_stats",           "rows_p2",
    "rows_finish_terms", "rows_softmax_out", "rows_fill_ones", "rows_outcome"};

ie_status ie__ocl_build(ie_context *ctx, ie_ocl *s) {
  if (s->built) return IE_OK;
  cl_int e = CL_SUCCESS;
  if (!s->program) {
    s->program = clCreateProgramWithSource(s->context, (cl_uint)ie__cl_count,
                                           (const char **)ie__cl_sources, NULL, &e);
    if (e != CL_SUCCESS) {
      s->program = NULL;
      return IE_CL_FAIL(ctx, "clCreateProgramWithSource", e);
    }
  }
  e = clBuildProgram(s->program, 1, &s->device, "-cl-std=CL1.2", NULL, NULL);
  if (e != CL_SUCCESS) {
    char log[600] = "";
    size_t n = 0;
    clGetProgramBuildInfo(s->program, s->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1,
                          log, &n);
    log[sizeof log - 1] = 0;
    clReleaseProgram(s->program);
    s->program = NULL;
    return ie__error(ctx, IE_BACKEND_FAILURE,
                     "clBuildProgram failed: %s (%d) (%s:%d); build log: %s",
                     cl_err_name(e), (int)e, "src/opencl/ocl_backend.c", __LINE__,
                     log[0] ? log : "(empty)");
  }
  size_t wg = 256, dmax = 0;
  IE_CL_TRY(ctx, "clGetDeviceInfo",
            clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof dmax, &dmax, NULL));
  if (dmax < wg) wg = dmax;
  for (int i = 0; i < IE_K_COUNT; i++) {
    s->k[i] = clCreateKernel(s->program, kernel_names[i], &e);
    if (e != CL_SUCCESS) {
      s->k[i] = NULL;
      /* rows.cl leaves rows_outcome out without 64-bit atomics */
      if (i == IE_K_ROWS_OUTCOME && e == CL_INVALID_KERNEL_NAME) continue;
      return IE_CL_FAIL(ctx, "clCreateKernel", e);
    }
    size_t kmax = 0;
    IE_CL_TRY(ctx, "clGetKernelWorkGroupInfo",
              clGetKernelWorkGroupInfo(s->k[i], s->device, CL_KERNEL_WORK_GROUP_SIZE,
                                       sizeof kmax, &kmax, NULL));
    if (kmax < wg) wg = kmax;
  }
  /* The row kernels' local arrays are sized for ROWS_WG_MAX (256) work-items;
   * clCreateKernel's work-group size above already accounts for them. */
  size_t p2 = 1;
  while (p2 * 2 <= wg) p2 *= 2;
  s->wg = p2;
  s->max_groups = 65536;
  s->built = 1;
  return IE_OK;
}

/* ---- Memory --------------------------------------------------------------------- */

static ie_ocl *st(ie_context *ctx) { return (ie_ocl *)ctx->state; }

static ie_status ocl_alloc(ie_context *ctx, size_t bytes, void **buf) {
  *buf = NULL;
  if (bytes == 0) return IE_OK;
  cl_int e = CL_SUCCESS;
  cl_mem m = clCreateBuffer(st(ctx)->context, CL_MEM_READ_WRITE, bytes, NULL, &e);
  if (e == CL_INVALID_BUFFER_SIZE) {
    /* More than the device's largest buffer: memory it cannot have. */
    cl_ulong most = 0;
    clGetDeviceInfo(st(ctx)->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof most, &most, NULL);
    return ie__error(ctx, IE_OUT_OF_MEMORY,
                     "clCreateBuffer failed: %s (%d): %zu bytes is more than this device's largest "
                     "buffer (%llu bytes) (src/opencl/ocl_backend.c:%d)",
                     cl_err_name(e), (int)e, bytes, (unsigned long long)most, __LINE__);
  }
  if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clCreateBuffer", e);
  *buf = m;
  return IE_OK;
}

static void ocl_free(ie_context *ctx, void *buf) {
  (void)ctx;
  if (buf) clReleaseMemObject((cl_mem)buf);
}

static ie_status ocl_upload(ie_context *ctx, void *dst, size_t dst_offset,
                            const void *src, size_t bytes) {
  if (bytes == 0) return IE_OK;
  ie__ws_copied(ctx, 1, bytes);
  IE_CL_TRY(ctx, "clEnqueueWriteBuffer",
            clEnqueueWriteBuffer(st(ctx)->queue, (cl_mem)dst, CL_TRUE, dst_offset, bytes,
                                 src, 0, NULL, NULL));
  return IE_OK;
}

static ie_status ocl_download(ie_context *ctx, void *dst, const void *src,
                              size_t src_offset, size_t bytes) {
  if (bytes == 0) return IE_OK;
  ie__ws_copied(ctx, 0, bytes);
  IE_CL_TRY(ctx, "clEnqueueReadBuffer",
            clEnqueueReadBuffer(st(ctx)->queue, (cl_mem)src, CL_TRUE, src_offset, bytes,
                                dst, 0, NULL, NULL));
  return IE_OK;
}

ie_status ie__ocl_scratch(ie_context *ctx, ie_ocl *s, int which, size_t bytes,
                          cl_mem *out) {
  (void)s;
  void *buf = NULL;
  ie_status r = ie__ws_device(ctx, IE_WS_ROWS + which, bytes, &buf);
  *out = buf;
  return r;
}

ie_status ie__ocl_host(ie_context *ctx, ie_ocl *s, size_t bytes, void **out) {
  (void)s;
  return ie__ws_host(ctx, IE_WSH_ROWS, bytes, out);
}

/* A sub-buffer of the workspace's arena (offsets are multiples of
 * IE_WS_ALIGN, beyond any device's CL_DEVICE_MEM_BASE_ADDR_ALIGN). */
static ie_status ocl_sub(ie_context *ctx, void *base, size_t offset, size_t bytes, void **view) {
  cl_buffer_region region = {offset, bytes};
  cl_int e = CL_SUCCESS;
  cl_mem m = clCreateSubBuffer((cl_mem)base, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &e);
  if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clCreateSubBuffer", e);
  *view = m;
  return IE_OK;
}

static void ocl_sub_free(ie_context *ctx, void *view) { ocl_free(ctx, view); }

/* CL_MEM_SIZE of a caller's cl_mem (a sub-buffer's is its region's). */
static int ocl_device_bytes(ie_context *ctx, const void *data, size_t *bytes) {
  (void)ctx;
  size_t n = 0;
  if (!data || clGetMemObjectInfo((cl_mem)data, CL_MEM_SIZE, sizeof n, &n, NULL) != CL_SUCCESS) return 0;
  *bytes = n;
  return 1;
}

static ie_status ocl_synchronize(ie_context *ctx) {
  IE_CL_TRY(ctx, "clFinish", clFinish(st(ctx)->queue));
  return IE_OK;
}

/* ---- Public extras (infoest_opencl.h) ------------------------------------------ */

/* Reached through the core (src/registry.c), which has checked that ctx is an
 * open OpenCL context. */

static ie_status ocl_set_queue(ie_context *ctx, void *caller_queue) {
  const char *fn = "ie_opencl_set_queue";
  cl_command_queue queue = caller_queue;
  ie_ocl *s = st(ctx);
  if (!queue) queue = s->own_queue;
  if (queue != s->own_queue) {
    cl_context qc = NULL;
    cl_device_id qd = NULL;
    cl_command_queue_properties qp = 0;
    cl_int e = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qc, &qc, NULL);
    if (e == CL_SUCCESS) e = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qd, &qd, NULL);
    if (e == CL_SUCCESS)
      e = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof qp, &qp, NULL);
    if (e != CL_SUCCESS)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the queue is not a valid command queue (%s)",
                       fn, cl_err_name(e));
    if (qc != s->context || qd != s->device)
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: the queue belongs to another %s; make it on the cl_context "
                       "and device that ie_opencl_get_context returns",
                       fn, qc != s->context ? "cl_context" : "device");
    if (qp & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the queue is out-of-order; give an in-order queue",
                       fn);
  }
  /* Work enqueued on the old queue (the asynchronous mode's pending calls
   * and their outcome reads) completes before the switch (the queue is
   * retained, so it is still there; CUDA's streams are not, and src/registry.c
   * waits for one only while calls are pending on it). */
  IE_CL_TRY(ctx, "clFinish", clFinish(s->queue));
  if (queue != s->own_queue) IE_CL_TRY(ctx, "clRetainCommandQueue", clRetainCommandQueue(queue));
  if (s->queue != s->own_queue) clReleaseCommandQueue(s->queue);
  s->queue = queue;
  ctx->last = IE_OK;
  ctx->msg[0] = 0;
  return IE_OK;
}

static ie_status ocl_get_context(const ie_context *ctx, void **context, void **device,
                                 void **queue) {
  const ie_ocl *s = ctx->state;
  if (context) *context = s->context;
  if (device) *device = s->device;
  if (queue) *queue = s->queue;
  return IE_OK;
}

/* ---- The table ---------------------------------------------------------------- */

/* src/opencl/spectral.c: similarity matrices on the device, eigen step on the host. */
ie_status ie__ocl_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                       double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                       ie_rowerr *err, double *dev);
ie_status ie__ocl_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w);

extern const struct ie_knn_ops ie__opencl_knn_ops; /* src/opencl/knn.c */

extern const struct ie_sk_ops ie__opencl_sk_ops;
extern const struct ie_mauve_ops ie__opencl_mauve_ops; /* src/opencl/mauve.c */
extern const struct ie_disc_ops ie__opencl_disc_ops; /* src/opencl/discrete.c */

const ie_backend_ops ie__opencl_ops = {
    .name = "opencl",
    .kind = IE_BACKEND_OPENCL,
    .open = ocl_open,
    .close = ocl_close,
    .device_name = ocl_device_name,
    .is_gpu = ocl_is_gpu,
    .alloc = ocl_alloc,
    .free = ocl_free,
    .upload = ocl_upload,
    .download = ocl_download,
    .fill_nan = ie__ocl_fill_nan,
    .softmax = ie__ocl_softmax,
    .rows = ie__ocl_rows,
    .gram = ie__ocl_gram,
    .eigvalsh = ie__ocl_eigvalsh,
    .sinkhorn = &ie__opencl_sk_ops, /* src/opencl/sinkhorn.c */
    .mauve = &ie__opencl_mauve_ops,
    .discrete = &ie__opencl_disc_ops,
    .sub = ocl_sub,
    .sub_free = ocl_sub_free,
    .synchronize = ocl_synchronize,
    .knn_dev = &ie__opencl_knn_ops,
    .rows_device = ie__ocl_rows_device,
    .softmax_device = ie__ocl_softmax_device,
    .device_bytes = ocl_device_bytes,
};

/* What libinfoest-opencl.so's entry symbol returns (src/opencl/module.c). */
const ie_backend_module ie__opencl_module = {
    .abi = IE_BACKEND_ABI,
    .version = IE_VERSION_NUMBER,
    .ops_size = sizeof(ie_backend_ops),
    .context_size = sizeof(ie_context),
    .ops = &ie__opencl_ops,
    .set_queue = ocl_set_queue,
    .get_queue = ocl_get_context,
};
