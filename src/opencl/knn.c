/*
 * knn.c — host side of the OpenCL k-nearest-neighbour search and range
 * counting (the shared kernels of src/kernels/knn.cl).  Queries run in chunks whose heaps (k
 * doubles and k longs each) fit in 256 MiB, so device memory stays bounded
 * whatever m·k; each chunk's sorted neighbours are read back to the host
 * arrays of the backend contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../kernels/knn_heap.h"

ie_status ie__ocl_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist);
ie_status ie__ocl_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count);

enum { KNN_WG = 64 };
#define KNN_CHUNK_BYTES ((size_t)256 << 20)

/* Build the program if needed and make one of our kernels. */
static ie_status knn_kernel(ie_context *ctx, const char *name, cl_kernel *out) {
  ie_ocl *s = ctx->state;
  *out = NULL;
  if (!s->fp64)
    return ie__error(ctx, IE_UNSUPPORTED,
                     "%s: this OpenCL device has no cl_khr_fp64; the k-nearest-neighbour "
                     "distances are computed in double",
                     name);
  ie_status st = ie__ocl_build(ctx, s);
  if (st != IE_OK) return st;
  cl_int e = CL_SUCCESS;
  *out = clCreateKernel(s->program, name, &e);
  if (e != CL_SUCCESS) {
    *out = NULL;
    return IE_CL_FAIL(ctx, "clCreateKernel", e);
  }
  return IE_OK;
}

static cl_mem mem_of(const ie_mat *m) { return (cl_mem)m->buf; }

/* Rows of the reference tile in local memory (0: read global memory). */
static int tile_rows(int64_t d) {
  const int64_t rows = KNN_TILE_FLOATS / d;
  return rows >= 8 ? (int)(rows > 1024 ? 1024 : rows) : 0;
}

/* A sub-range of a buffer: our kernels take plain pointers, so the matrix
 * must start at offset 0 (src/knn.c hands compact copies). */
static ie_status check_mats(ie_context *ctx, const char *fn, const ie_mat *q, const ie_mat *r) {
  if (q->dtype != IE_DT_F32 || r->dtype != IE_DT_F32 || q->offset || r->offset ||
      q->stride != q->cols || r->stride != r->cols)
    return ie__error(ctx, IE_INTERNAL, "%s (opencl): expects compact float32 samples at offset 0", fn);
  return IE_OK;
}

ie_status ie__ocl_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist) {
  ie_status st = check_mats(ctx, "knn", q, r);
  if (st != IE_OK) return st;
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0 || k == 0) return IE_OK;
  ie_ocl *s = ctx->state;
  cl_kernel kr = NULL;
  st = knn_kernel(ctx, "knn_search", &kr);
  if (st != IE_OK) return st;
  int64_t chunk = (int64_t)(KNN_CHUNK_BYTES / (16 * (size_t)k));
  if (chunk < 1) chunk = 1;
  if (chunk > m) chunk = m;
  chunk = (chunk + KNN_WG - 1) / KNN_WG * KNN_WG;
  cl_int e = CL_SUCCESS;
  const size_t hb = (size_t)chunk * (size_t)k;
  cl_mem bd = clCreateBuffer(s->context, CL_MEM_READ_WRITE, hb * sizeof(double), NULL, &e);
  cl_mem bi = e == CL_SUCCESS ? clCreateBuffer(s->context, CL_MEM_READ_WRITE, hb * sizeof(cl_long), NULL, &e) : NULL;
  if (e != CL_SUCCESS) {
    if (bd) clReleaseMemObject(bd);
    clReleaseKernel(kr);
    return IE_CL_FAIL(ctx, "clCreateBuffer", e);
  }
  const int tr = tile_rows(d);
  cl_mem Q = mem_of(q), R = mem_of(r);
  cl_long cm, cn = n, ck = k;
  cl_int cd = (cl_int)d, cheb = metric == IE_METRIC_CHEBYSHEV, cself = self != 0, ctr = tr;
  for (int64_t q0 = 0; q0 < m && st == IE_OK; q0 += chunk) {
    if (ie__cancelled(ctx)) { /* each chunk is read back blocking: nothing is left queued */
      st = ie__cancel(ctx, "knn (opencl)");
      break;
    }
    const int64_t bq = m - q0 < chunk ? m - q0 : chunk;
    cl_long cq0 = q0;
    cm = bq;
    cl_uint a = 0;
    e = clSetKernelArg(kr, a++, sizeof Q, &Q);
    e |= clSetKernelArg(kr, a++, sizeof R, &R);
    e |= clSetKernelArg(kr, a++, sizeof cq0, &cq0);
    e |= clSetKernelArg(kr, a++, sizeof cm, &cm);
    e |= clSetKernelArg(kr, a++, sizeof cn, &cn);
    e |= clSetKernelArg(kr, a++, sizeof cd, &cd);
    e |= clSetKernelArg(kr, a++, sizeof ck, &ck);
    e |= clSetKernelArg(kr, a++, sizeof cheb, &cheb);
    e |= clSetKernelArg(kr, a++, sizeof cself, &cself);
    e |= clSetKernelArg(kr, a++, sizeof bd, &bd);
    e |= clSetKernelArg(kr, a++, sizeof bi, &bi);
    e |= clSetKernelArg(kr, a++, sizeof ctr, &ctr);
    if (e != CL_SUCCESS) {
      st = IE_CL_FAIL(ctx, "clSetKernelArg", e);
      break;
    }
    const size_t lws = KNN_WG, gws = (size_t)(bq + KNN_WG - 1) / KNN_WG * KNN_WG;
    e = clEnqueueNDRangeKernel(s->queue, kr, 1, NULL, &gws, &lws, 0, NULL, NULL);
    if (e != CL_SUCCESS) {
      st = IE_CL_FAIL(ctx, "clEnqueueNDRangeKernel(knn_search)", e);
      break;
    }
    const size_t cnt = (size_t)bq * (size_t)k;
    e = clEnqueueReadBuffer(s->queue, bd, CL_TRUE, 0, cnt * sizeof(double),
                            dist + (size_t)q0 * (size_t)k, 0, NULL, NULL);
    if (e == CL_SUCCESS)
      e = clEnqueueReadBuffer(s->queue, bi, CL_TRUE, 0, cnt * sizeof(cl_long),
                              idx + (size_t)q0 * (size_t)k, 0, NULL, NULL);
    if (e != CL_SUCCESS) st = IE_CL_FAIL(ctx, "clEnqueueReadBuffer", e);
  }
  clReleaseMemObject(bd);
  clReleaseMemObject(bi);
  clReleaseKernel(kr);
  return st;
}

ie_status ie__ocl_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count) {
  ie_status st = check_mats(ctx, "range_count", q, r);
  if (st != IE_OK) return st;
  const int64_t m = q->rows, n = r->rows, d = q->cols;
  if (m == 0) return IE_OK;
  ie_ocl *s = ctx->state;
  cl_kernel kr = NULL;
  st = knn_kernel(ctx, "knn_range_count", &kr);
  if (st != IE_OK) return st;
  cl_int e = CL_SUCCESS;
  cl_mem brad = clCreateBuffer(s->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               (size_t)m * sizeof(double), (void *)radius, &e);
  cl_mem bc = e == CL_SUCCESS ? clCreateBuffer(s->context, CL_MEM_WRITE_ONLY, (size_t)m * sizeof(cl_long), NULL, &e) : NULL;
  if (e != CL_SUCCESS) {
    if (brad) clReleaseMemObject(brad);
    clReleaseKernel(kr);
    return IE_CL_FAIL(ctx, "clCreateBuffer", e);
  }
  const int tr = tile_rows(d);
  cl_mem Q = mem_of(q), R = mem_of(r);
  cl_long cm = m, cn = n;
  cl_int cd = (cl_int)d, cself = self != 0, ctr = tr;
  cl_uint a = 0;
  e = clSetKernelArg(kr, a++, sizeof Q, &Q);
  e |= clSetKernelArg(kr, a++, sizeof R, &R);
  e |= clSetKernelArg(kr, a++, sizeof cm, &cm);
  e |= clSetKernelArg(kr, a++, sizeof cn, &cn);
  e |= clSetKernelArg(kr, a++, sizeof cd, &cd);
  e |= clSetKernelArg(kr, a++, sizeof brad, &brad);
  e |= clSetKernelArg(kr, a++, sizeof cself, &cself);
  e |= clSetKernelArg(kr, a++, sizeof bc, &bc);
  e |= clSetKernelArg(kr, a++, sizeof ctr, &ctr);
  if (e != CL_SUCCESS) st = IE_CL_FAIL(ctx, "clSetKernelArg", e);
  if (st == IE_OK) {
    const size_t lws = KNN_WG, gws = (size_t)(m + KNN_WG - 1) / KNN_WG * KNN_WG;
    e = clEnqueueNDRangeKernel(s->queue, kr, 1, NULL, &gws, &lws, 0, NULL, NULL);
    if (e != CL_SUCCESS) st = IE_CL_FAIL(ctx, "clEnqueueNDRangeKernel(knn_range_count)", e);
  }
  if (st == IE_OK) {
    e = clEnqueueReadBuffer(s->queue, bc, CL_TRUE, 0, (size_t)m * sizeof(cl_long), count, 0, NULL, NULL);
    if (e != CL_SUCCESS) st = IE_CL_FAIL(ctx, "clEnqueueReadBuffer", e);
  }
  clReleaseMemObject(brad);
  clReleaseMemObject(bc);
  clReleaseKernel(kr);
  return st;
}
