/* The roofs of the GPU backends: CUDA (device-to-device copy, host-to-device
 * copy, cublasSgemm) and OpenCL (clEnqueueCopyBuffer, clEnqueueWriteBuffer),
 * the bench's own handle on the library's OpenCL device, and the choice of
 * roofs per backend. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifdef IE_BENCH_CUDA
#include <cublas_v2.h>
#endif
#ifdef IE_BENCH_OPENCL_DEVICE
#include "infoest_opencl.h"
#endif

#ifdef IE_BENCH_CUDA
typedef struct { void *a, *b; size_t bytes; } cu_copy_buf;
static void cuda_copy_once(void *v) {
  cu_copy_buf *c = v;
  CU_OK(cudaMemcpy(c->b, c->a, c->bytes, cudaMemcpyDeviceToDevice));
  CU_OK(cudaDeviceSynchronize());
}
typedef struct { void *host, *dev; size_t bytes; } cu_h2d_buf;
static void cuda_h2d_once(void *v) {
  cu_h2d_buf *c = v;
  CU_OK(cudaMemcpy(c->dev, c->host, c->bytes, cudaMemcpyHostToDevice));
}
typedef struct { cublasHandle_t h; float *a, *b, *c; int n; } cu_gemm_buf;
static void cuda_gemm_once(void *v) {
  cu_gemm_buf *g = v;
  const float one = 1.0f, zero = 0.0f;
  if (cublasSgemm(g->h, CUBLAS_OP_N, CUBLAS_OP_N, g->n, g->n, g->n, &one, g->a, g->n, g->b,
                  g->n, &zero, g->c, g->n) != CUBLAS_STATUS_SUCCESS)
    die("cublasSgemm failed");
  CU_OK(cudaDeviceSynchronize());
}

static void measure_cuda_roofs(roofs *r, int device, const options *o) {
  memset(r, 0, sizeof *r);
  CU_OK(cudaSetDevice(device));
  cu_copy_buf c = {0};
  c.bytes = 1ull << 30;
  CU_OK(cudaMalloc(&c.a, c.bytes));
  CU_OK(cudaMalloc(&c.b, c.bytes));
  CU_OK(cudaMemset(c.a, 1, c.bytes));
  CU_OK(cudaMemset(c.b, 0, c.bytes));
  time_roof(r, ROOF_COPY, cuda_copy_once, &c, o->repeats < 10 ? 10 : o->repeats, 0.3,
            2.0 * c.bytes, "cudaMemcpy device-to-device of 1 GiB; bytes = read + written");
  /* Host-to-device from pageable memory, as the library stages host tensors. */
  cu_h2d_buf h = {xmalloc(c.bytes / 4), c.a, c.bytes / 4};
  memset(h.host, 1, h.bytes);
  time_roof(r, ROOF_H2D, cuda_h2d_once, &h, o->repeats < 10 ? 10 : o->repeats, 0.3,
            (double)h.bytes, "cudaMemcpy host-to-device of 256 MiB from pageable memory");
  free(h.host);
  CU_OK(cudaFree(c.a));
  CU_OK(cudaFree(c.b));

  cu_gemm_buf g = {0};
  g.n = 8192;
  size_t gb = (size_t)g.n * g.n * 4;
  if (cublasCreate(&g.h) != CUBLAS_STATUS_SUCCESS) die("cublasCreate failed");
  CU_OK(cudaMalloc((void **)&g.a, gb));
  CU_OK(cudaMalloc((void **)&g.b, gb));
  CU_OK(cudaMalloc((void **)&g.c, gb));
  CU_OK(cudaMemset(g.a, 0, gb));
  CU_OK(cudaMemset(g.b, 0, gb));
  time_roof(r, ROOF_GEMM, cuda_gemm_once, &g, 5, 0.3, 2.0 * g.n * (double)g.n * g.n,
            "cublasSgemm %d^3, default math mode (no TF32), GFLOP/s", g.n);
  cublasDestroy(g.h);
  CU_OK(cudaFree(g.a));
  CU_OK(cudaFree(g.b));
  CU_OK(cudaFree(g.c));
}
#endif

#ifdef IE_BENCH_OPENCL
int ocl_open(ocl_env *e, ie_context *lib) {
  memset(e, 0, sizeof *e);
#if defined(IE_BENCH_OPENCL_DEVICE)
  /* The library's own cl_context, device and queue: buffers made in that
   * context can be passed in as kDLOpenCL tensors. */
  if (ie_opencl_get_context(lib, &e->ctx, &e->dev, &e->queue) == IE_OK && e->ctx && e->queue)
    return 1;
  memset(e, 0, sizeof *e);
#endif
  const char *want = ie_context_device_name(lib);
  cl_platform_id plats[8];
  cl_uint np = 0;
  if (clGetPlatformIDs(8, plats, &np) != CL_SUCCESS || np == 0) return 0;
  cl_device_id best = NULL, first = NULL, gpu = NULL;
  for (cl_uint i = 0; i < np; i++) {
    cl_device_id devs[16];
    cl_uint nd = 0;
    if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS) continue;
    for (cl_uint j = 0; j < nd; j++) {
      char name[256] = {0};
      cl_device_type t = 0;
      clGetDeviceInfo(devs[j], CL_DEVICE_NAME, sizeof name - 1, name, NULL);
      clGetDeviceInfo(devs[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
      if (!first) first = devs[j];
      if (!gpu && (t & CL_DEVICE_TYPE_GPU)) gpu = devs[j];
      if (!best && want && strstr(want, name)) best = devs[j];
    }
  }
  e->dev = best ? best : gpu ? gpu : first;
  if (!e->dev) return 0;
  cl_int err;
  e->ctx = clCreateContext(NULL, 1, &e->dev, NULL, NULL, &err);
  if (err != CL_SUCCESS) return 0;
  e->owns = 1;
  e->queue = clCreateCommandQueue(e->ctx, e->dev, 0, &err);
  return err == CL_SUCCESS;
}

void ocl_close(ocl_env *e) {
  if (e->owns && e->queue) clReleaseCommandQueue(e->queue);
  if (e->owns && e->ctx) clReleaseContext(e->ctx);
  memset(e, 0, sizeof *e);
}

typedef struct { ocl_env *e; cl_mem a, b; size_t bytes; void *host; } ocl_copy_buf;
static void ocl_copy_once(void *v) {
  ocl_copy_buf *c = v;
  if (clEnqueueCopyBuffer(c->e->queue, c->a, c->b, 0, 0, c->bytes, 0, NULL, NULL) != CL_SUCCESS ||
      clFinish(c->e->queue) != CL_SUCCESS)
    die("clEnqueueCopyBuffer failed");
}

static void ocl_h2d_once(void *v) {
  ocl_copy_buf *c = v;
  if (clEnqueueWriteBuffer(c->e->queue, c->a, CL_TRUE, 0, c->bytes, c->host, 0, NULL, NULL) !=
      CL_SUCCESS)
    die("clEnqueueWriteBuffer failed");
}

static void measure_ocl_roofs(roofs *r, ocl_env *e, const options *o) {
  memset(r, 0, sizeof *r);
  ocl_copy_buf c = {e, NULL, NULL, 256u << 20, NULL};
  cl_int err;
  c.a = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, c.bytes, NULL, &err);
  if (err != CL_SUCCESS) return;
  c.b = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, c.bytes, NULL, &err);
  if (err != CL_SUCCESS) { clReleaseMemObject(c.a); return; }
  unsigned char pat = 1;
  clEnqueueFillBuffer(e->queue, c.a, &pat, 1, 0, c.bytes, 0, NULL, NULL);
  clEnqueueFillBuffer(e->queue, c.b, &pat, 1, 0, c.bytes, 0, NULL, NULL);
  clFinish(e->queue);
  time_roof(r, ROOF_COPY, ocl_copy_once, &c, o->repeats < 5 ? 5 : o->repeats, 0.3,
            2.0 * c.bytes, "clEnqueueCopyBuffer of 256 MiB; bytes = read + written");
  c.host = xmalloc(c.bytes);
  memset(c.host, 1, c.bytes);
  time_roof(r, ROOF_H2D, ocl_h2d_once, &c, o->repeats < 5 ? 5 : o->repeats, 0.3,
            (double)c.bytes, "clEnqueueWriteBuffer (blocking) of 256 MiB from host memory");
  free(c.host);
  clReleaseMemObject(c.a);
  clReleaseMemObject(c.b);
}
#endif

void measure_roofs(ie_backend b, const options *o, roofs *r, void *env) {
  memset(r, 0, sizeof *r);
  (void)env;
  if (b == IE_BACKEND_CPU) measure_cpu_roofs(r, o);
#ifdef IE_BENCH_CUDA
  if (b == IE_BACKEND_CUDA) measure_cuda_roofs(r, 0, o);
#endif
#ifdef IE_BENCH_OPENCL
  if (b == IE_BACKEND_OPENCL && env) measure_ocl_roofs(r, (ocl_env *)env, o);
#endif
}
