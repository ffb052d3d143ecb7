/* DLTensor helpers, and device-resident copies of the row ops' inputs (CUDA:
 * cudaMalloc; OpenCL: clCreateBuffer on the library's cl_context). */
#include <string.h>

#include "bench.h"

void set_tensor(DLTensor *t, void *data, DLDevice dev, DLDataType dt, int ndim,
                       int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device = dev;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = shape;
  t->strides = NULL;
  t->byte_offset = 0;
}

void host_tensor(DLTensor *t, void *data, int code, int bits, int ndim, int64_t *shape) {
  DLDevice dev = {kDLCPU, 0};
  DLDataType dt = {(uint8_t)code, (uint8_t)bits, 1};
  set_tensor(t, data, dev, dt, ndim, shape);
}

int device_mode_available(ie_backend b) {
#ifdef IE_BENCH_CUDA
  if (b == IE_BACKEND_CUDA) return 1;
#endif
#if defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE)
  if (b == IE_BACKEND_OPENCL) return 1;
#endif
  (void)b;
  return 0;
}

/* The buffers of a call are the five device handles, in the order of
 * `buffers`. */
#if defined(IE_BENCH_CUDA) || (defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE))
static int use_handles(const devmem *m, buffers *b, DLDeviceType type) {
  b->p = m->handles[0];
  b->q = m->handles[1];
  b->out = m->handles[2];
  b->per_row = m->handles[3];
  b->labels = m->handles[4];
  b->dev.device_type = type;
  b->dev.device_id = m->device;
  return 1;
}
#endif

int dev_upload(devmem *m, buffers *b, const host_data *h, int64_t rows, char *why,
               size_t whycap) {
  size_t mat = (size_t)rows * (size_t)h->cols * dt_size(h->dt);
  size_t sizes[5] = {mat, mat, mat, (size_t)rows * 4, (size_t)rows * 8};
  const void *src[5] = {h->p, h->q, NULL, NULL, h->labels};
  memset(m->handles, 0, sizeof m->handles);
#ifdef IE_BENCH_CUDA
  if (m->backend == IE_BACKEND_CUDA) {
    cudaSetDevice(m->device);
    for (int i = 0; i < 5; i++) {
      cudaError_t e = cudaMalloc(&m->handles[i], sizes[i]);
      if (e != cudaSuccess) {
        snprintf(why, whycap, "cudaMalloc(%zu): %s", sizes[i], cudaGetErrorString(e));
        return 0;
      }
      if (src[i]) CU_OK(cudaMemcpy(m->handles[i], src[i], sizes[i], cudaMemcpyHostToDevice));
      else CU_OK(cudaMemset(m->handles[i], 0, sizes[i]));
    }
    return use_handles(m, b, kDLCUDA);
  }
#endif
#if defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE)
  if (m->backend == IE_BACKEND_OPENCL) {
    for (int i = 0; i < 5; i++) {
      cl_int err;
      cl_mem buf = clCreateBuffer(m->ocl->ctx, CL_MEM_READ_WRITE, sizes[i], NULL, &err);
      if (err != CL_SUCCESS) {
        snprintf(why, whycap, "clCreateBuffer(%zu) failed: %d", sizes[i], (int)err);
        return 0;
      }
      m->handles[i] = buf;
      if (src[i] && clEnqueueWriteBuffer(m->ocl->queue, buf, CL_TRUE, 0, sizes[i], src[i], 0,
                                         NULL, NULL) != CL_SUCCESS) {
        snprintf(why, whycap, "clEnqueueWriteBuffer failed");
        return 0;
      }
    }
    return use_handles(m, b, kDLOpenCL);
  }
#endif
  (void)sizes;
  (void)src;
  (void)b;
  snprintf(why, whycap, "no device allocator for this backend in this build");
  return 0;
}

void dev_free(devmem *m) {
  for (int i = 0; i < 5; i++) {
    if (!m->handles[i]) continue;
#ifdef IE_BENCH_CUDA
    if (m->backend == IE_BACKEND_CUDA) cudaFree(m->handles[i]);
#endif
#if defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE)
    if (m->backend == IE_BACKEND_OPENCL) clReleaseMemObject((cl_mem)m->handles[i]);
#endif
    m->handles[i] = NULL;
  }
}
