/*
 * spectral.c — the OpenCL backend's spectral measures (docs/SPEC.md §6): similarity
 * matrices built on the device by the shared kernels of src/kernels/spectral.cl
 * (rows, then the Gram by spec_product, then spec_finish); the eigen step
 * on the host with LAPACK (as MAGMA does for small dense problems), shared
 * with the CPU backend (src/spectral.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../kernels/spectral_terms.h"

_Static_assert(SPEC_ROW_NONFINITE == IE_ROW_NONFINITE && SPEC_ROW_EMPTY == IE_ROW_EMPTY &&
                   SPEC_COSINE == IE_KERNEL_COSINE && SPEC_RBF == IE_KERNEL_RBF,
               "src/kernels/spectral_terms.h agrees with the codes of the library");

enum { SPEC_ROWS_NT = 64 }; /* SPEC_NT of spectral.cl */

ie_status ie__ocl_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                       double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                       ie_rowerr *err, double *dev);
ie_status ie__ocl_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w);

/* Everything one gram call holds, released in one place. */
typedef struct {
  cl_kernel k_rows, k_product, k_finish, k_given;
  cl_mem xw, sq, g, err, dev;
  void *host;
} sp_res;

static void sp_release(sp_res *r) {
  if (r->k_rows) clReleaseKernel(r->k_rows);
  if (r->k_product) clReleaseKernel(r->k_product);
  if (r->k_finish) clReleaseKernel(r->k_finish);
  if (r->k_given) clReleaseKernel(r->k_given);
  if (r->xw) clReleaseMemObject(r->xw);
  if (r->sq) clReleaseMemObject(r->sq);
  if (r->g) clReleaseMemObject(r->g);
  if (r->err) clReleaseMemObject(r->err);
  if (r->dev) clReleaseMemObject(r->dev);
  free(r->host);
}

/* On a failed OpenCL call: record it, release, return. */
#define SP_TRY(call, expr)                                            \
  do {                                                                \
    cl_int e_ = (expr);                                               \
    if (e_ != CL_SUCCESS) {                                           \
      ie_status st_ = IE_CL_FAIL(ctx, call, e_);                      \
      sp_release(&r);                                                 \
      return st_;                                                     \
    }                                                                 \
  } while (0)

#define SP_ARG(k, i, v) SP_TRY("clSetKernelArg", clSetKernelArg((k), (i), sizeof(v), &(v)))

static cl_int make_kernel(ie_ocl *s, const char *base, int f64, cl_kernel *k) {
  char name[64];
  snprintf(name, sizeof name, "%s_%s", base, f64 ? "f64" : "f32");
  cl_int e = CL_SUCCESS;
  *k = clCreateKernel(s->program, name, &e);
  if (e != CL_SUCCESS) *k = NULL;
  return e;
}

static cl_int make_buffer(ie_ocl *s, size_t bytes, cl_mem *b) {
  cl_int e = CL_SUCCESS;
  *b = clCreateBuffer(s->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
  if (e != CL_SUCCESS) *b = NULL;
  return e;
}

ie_status ie__ocl_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                       double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                       ie_rowerr *err, double *dev) {
  ie_ocl *s = (ie_ocl *)ctx->state;
  if (sets <= 0) return IE_OK;
  const int f64 = dt == IE_DT_F64;
  if (f64 && !s->fp64)
    return ie__error(ctx, IE_UNSUPPORTED,
                     "opencl: device '%s' has no float64 (cl_khr_fp64) for the similarity matrix; "
                     "ask for single_precision", s->name);
  if (x->dtype == IE_DT_F64)
    return ie__error(ctx, IE_BAD_DTYPE, "opencl: float64 samples are taken by the cpu backend only");
  ie_status st = ie__ocl_build(ctx, s);
  if (st != IE_OK) return st;

  sp_res r;
  memset(&r, 0, sizeof r);
  const size_t tsz = f64 ? sizeof(double) : sizeof(float);
  const cl_long n = x->rows / sets, d = x->cols, rows = x->rows, m = dual ? d : n;
  const cl_ulong off = x->offset;
  const cl_long stride = x->stride;
  const cl_int idt = (cl_int)x->dtype, imul = mul, idual = dual, irbf = kernel == IE_KERNEL_RBF;
  cl_mem xbuf = (cl_mem)x->buf, obuf = (cl_mem)out;
  /* spec_real: double where the device has it, else float */
  const size_t rsz = s->fp64 ? sizeof(double) : sizeof(float);
  const double g64 = gamma, s64 = scale;
  const float g32 = (float)gamma, s32 = (float)scale;
  const void *gamma_arg = s->fp64 ? (const void *)&g64 : (const void *)&g32;
  const void *scale_arg = s->fp64 ? (const void *)&s64 : (const void *)&s32;
  const size_t rows_g = (size_t)rows;

  SP_TRY("clCreateBuffer", make_buffer(s, (size_t)rows * sizeof(cl_int), &r.err));
  if (kernel == IE_KERNEL_PRECOMPUTED) {
    const cl_long lsets = sets;
    SP_TRY("clCreateKernel", make_kernel(s, "spec_given", f64, &r.k_given));
    SP_TRY("clCreateBuffer", make_buffer(s, (size_t)rows * rsz, &r.dev));
    SP_ARG(r.k_given, 0, xbuf);
    SP_ARG(r.k_given, 1, off);
    SP_ARG(r.k_given, 2, stride);
    SP_ARG(r.k_given, 3, idt);
    SP_ARG(r.k_given, 4, n);
    SP_ARG(r.k_given, 5, lsets);
    SP_TRY("clSetKernelArg", clSetKernelArg(r.k_given, 6, rsz, scale_arg));
    SP_ARG(r.k_given, 7, imul);
    SP_ARG(r.k_given, 8, obuf);
    SP_ARG(r.k_given, 9, r.err);
    SP_ARG(r.k_given, 10, r.dev);
    SP_TRY("clEnqueueNDRangeKernel(spec_given)",
           clEnqueueNDRangeKernel(s->queue, r.k_given, 1, NULL, &rows_g, NULL, 0, NULL, NULL));
    r.host = malloc((size_t)rows * rsz);
    if (!r.host) {
      sp_release(&r);
      return ie__error(ctx, IE_OUT_OF_MEMORY, "opencl: no host memory for %lld row checks", (long long)rows);
    }
    SP_TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, r.err, CL_TRUE, 0, (size_t)rows * sizeof(cl_int),
                                                      err, 0, NULL, NULL));
    SP_TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, r.dev, CL_TRUE, 0, (size_t)rows * rsz, r.host,
                                                      0, NULL, NULL));
    for (cl_long i = 0; i < rows; i++)
      dev[i] = s->fp64 ? ((double *)r.host)[i] : (double)((float *)r.host)[i];
    sp_release(&r);
    return IE_OK;
  }

  /* Samples: normalised (cosine) or raw (rbf) rows in T, then the Gram,
   * then the kernel values. */
  const cl_int cosine = kernel == IE_KERNEL_COSINE;
  const cl_long lsets = sets;
  SP_TRY("clCreateKernel", make_kernel(s, "spec_rows", f64, &r.k_rows));
  SP_TRY("clCreateKernel", make_kernel(s, "spec_product", f64, &r.k_product));
  SP_TRY("clCreateKernel", make_kernel(s, "spec_finish", f64, &r.k_finish));
  SP_TRY("clCreateBuffer", make_buffer(s, (size_t)rows * (size_t)d * tsz, &r.xw));
  SP_TRY("clCreateBuffer", make_buffer(s, (size_t)rows * tsz, &r.sq));
  SP_ARG(r.k_rows, 0, xbuf);
  SP_ARG(r.k_rows, 1, off);
  SP_ARG(r.k_rows, 2, stride);
  SP_ARG(r.k_rows, 3, idt);
  SP_ARG(r.k_rows, 4, rows);
  SP_ARG(r.k_rows, 5, d);
  SP_ARG(r.k_rows, 6, cosine);
  SP_ARG(r.k_rows, 7, r.xw);
  SP_ARG(r.k_rows, 8, r.sq);
  SP_ARG(r.k_rows, 9, r.err);
  /* one group a row (the kernel loops past 65536 groups) */
  const size_t rows_l = SPEC_ROWS_NT, rows_w = (size_t)(rows < 65536 ? rows : 65536) * SPEC_ROWS_NT;
  SP_TRY("clEnqueueNDRangeKernel(spec_rows)",
         clEnqueueNDRangeKernel(s->queue, r.k_rows, 1, NULL, &rows_w, &rows_l, 0, NULL, NULL));
  SP_TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, r.err, CL_TRUE, 0, (size_t)rows * sizeof(cl_int),
                                                    err, 0, NULL, NULL));
  for (cl_long i = 0; i < rows; i++)
    if (err[i]) { /* src reports the row; no matrix is needed */
      sp_release(&r);
      return IE_OK;
    }
  const size_t entries = (size_t)sets * (size_t)m * (size_t)m;
  SP_TRY("clCreateBuffer", make_buffer(s, entries * tsz, &r.g));
  SP_ARG(r.k_product, 0, r.xw);
  SP_ARG(r.k_product, 1, lsets);
  SP_ARG(r.k_product, 2, n);
  SP_ARG(r.k_product, 3, d);
  SP_ARG(r.k_product, 4, m);
  SP_ARG(r.k_product, 5, idual);
  SP_ARG(r.k_product, 6, r.g);
  SP_TRY("clEnqueueNDRangeKernel(spec_product)",
         clEnqueueNDRangeKernel(s->queue, r.k_product, 1, NULL, &entries, NULL, 0, NULL, NULL));
  SP_ARG(r.k_finish, 0, r.g);
  SP_ARG(r.k_finish, 1, r.sq);
  SP_ARG(r.k_finish, 2, lsets);
  SP_ARG(r.k_finish, 3, n);
  SP_ARG(r.k_finish, 4, m);
  SP_ARG(r.k_finish, 5, irbf);
  SP_ARG(r.k_finish, 6, idual);
  SP_TRY("clSetKernelArg", clSetKernelArg(r.k_finish, 7, rsz, gamma_arg));
  SP_TRY("clSetKernelArg", clSetKernelArg(r.k_finish, 8, rsz, scale_arg));
  SP_ARG(r.k_finish, 9, imul);
  SP_ARG(r.k_finish, 10, obuf);
  SP_TRY("clEnqueueNDRangeKernel(spec_finish)",
         clEnqueueNDRangeKernel(s->queue, r.k_finish, 1, NULL, &entries, NULL, 0, NULL, NULL));
  SP_TRY("clFinish", clFinish(s->queue));
  sp_release(&r);
  return IE_OK;
}

/* The eigen step on the host: download the matrices, LAPACK ?syevd. */
ie_status ie__ocl_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w) {
  if (sets <= 0 || m <= 0) return IE_OK;
  const size_t bytes = (size_t)sets * (size_t)m * (size_t)m * ie__dtype_size(dt);
  void *host = malloc(bytes);
  if (!host)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "opencl: no host memory for %lld matrices of %lld x %lld",
                     (long long)sets, (long long)m, (long long)m);
  ie_status st = ctx->ops->download(ctx, host, a, 0, bytes);
  if (st == IE_OK) st = ie__host_eigvalsh(ctx, "opencl", host, dt, sets, m, w);
  free(host);
  return st;
}
