/*
 * spectral.c — the OpenCL backend's spectral measures (docs/SPEC.md §6): similarity
 * matrices built on the device by the shared kernels of src/kernels/spectral.cl
 * (rows, then the Gram by spec_product, then spec_finish); the eigen step
 * on the host with LAPACK (as MAGMA does for small dense problems), shared
 * with the CPU backend (src/spectral.c).  Every temporary is a workspace
 * slot (IE_WS_SPECTRAL); the rows' checks are reduced on the device
 * (spec_flags) so that only the first flagged row crosses.
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

/* The temporaries of a gram call: slots IE_WS_SPECTRAL + these (slot 0 is
 * the dispatcher's matrices). */
enum { SL_ERR = 1, SL_FLAG = 2, SL_DEV = 3, SL_SQ = 3, SL_XW = 4, SL_G = 5 };

static ie_status slot(ie_context *ctx, int which, size_t bytes, cl_mem *b) {
  void *buf = NULL;
  ie_status st = ie__ws_device(ctx, IE_WS_SPECTRAL + which, bytes, &buf);
  *b = (cl_mem)buf;
  return st;
}

/* The kernels of one gram call, released in one place. */
typedef struct {
  cl_kernel k_rows, k_product, k_finish, k_given, k_flags;
} sp_res;

static void sp_release(sp_res *r) {
  if (r->k_rows) clReleaseKernel(r->k_rows);
  if (r->k_product) clReleaseKernel(r->k_product);
  if (r->k_finish) clReleaseKernel(r->k_finish);
  if (r->k_given) clReleaseKernel(r->k_given);
  if (r->k_flags) clReleaseKernel(r->k_flags);
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
#define SP_CHECK(expr)                                                \
  do {                                                                \
    ie_status st_ = (expr);                                           \
    if (st_ != IE_OK) {                                               \
      sp_release(&r);                                                 \
      return st_;                                                     \
    }                                                                 \
  } while (0)

#define SP_ARG(k, i, v) SP_TRY("clSetKernelArg", clSetKernelArg((k), (i), sizeof(v), &(v)))

static cl_int make_kernel(ie_ocl *s, const char *base, int f64, cl_kernel *k) {
  char name[64];
  if (f64 < 0) snprintf(name, sizeof name, "%s", base);
  else snprintf(name, sizeof name, "%s_%s", base, f64 ? "f64" : "f32");
  cl_int e = CL_SUCCESS;
  *k = clCreateKernel(s->program, name, &e);
  if (e != CL_SUCCESS) *k = NULL;
  return e;
}

/* Find the first flagged rows on the device (spec_flags) and write only
 * them into err and dev: 24 bytes cross, and a few more on a failure. */
static ie_status flags(ie_context *ctx, ie_ocl *s, cl_mem derr, cl_mem ddev, cl_long rows, double tol,
                       ie_rowerr *err, double *dev) {
  sp_res r;
  memset(&r, 0, sizeof r);
  cl_mem flag = NULL;
  SP_CHECK(slot(ctx, SL_FLAG, 3 * sizeof(cl_long), &flag));
  SP_TRY("clCreateKernel", make_kernel(s, "spec_flags", -1, &r.k_flags));
  const cl_int has_dev = dev != NULL;
  const double t64 = tol;
  const float t32 = (float)tol;
  const size_t rsz = s->fp64 ? sizeof(double) : sizeof(float);
  cl_mem devarg = ddev ? ddev : derr; /* not read without has_dev */
  SP_ARG(r.k_flags, 0, derr);
  SP_ARG(r.k_flags, 1, devarg);
  SP_ARG(r.k_flags, 2, rows);
  SP_ARG(r.k_flags, 3, has_dev);
  SP_TRY("clSetKernelArg", clSetKernelArg(r.k_flags, 4, rsz, s->fp64 ? (const void *)&t64 : (const void *)&t32));
  SP_ARG(r.k_flags, 5, flag);
  const size_t one = SPEC_ROWS_NT;
  SP_TRY("clEnqueueNDRangeKernel(spec_flags)",
         clEnqueueNDRangeKernel(s->queue, r.k_flags, 1, NULL, &one, &one, 0, NULL, NULL));
  cl_long f[3];
  SP_TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, flag, CL_TRUE, 0, sizeof f, f, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, sizeof f);
  if (f[0] >= 0) err[f[0]] = (ie_rowerr)f[1];
  if (dev && f[2] >= 0) {
    union {
      double d;
      float f;
    } v;
    SP_TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, ddev, CL_TRUE, (size_t)f[2] * rsz, rsz, &v, 0,
                                                      NULL, NULL));
    ie__ws_copied(ctx, 0, rsz);
    dev[f[2]] = s->fp64 ? v.d : (double)v.f;
  }
  sp_release(&r);
  return IE_OK;
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
  cl_mem xbuf = (cl_mem)x->buf, obuf = (cl_mem)out, derr = NULL;
  /* spec_real: double where the device has it, else float */
  const size_t rsz = s->fp64 ? sizeof(double) : sizeof(float);
  const double g64 = gamma, s64 = scale;
  const float g32 = (float)gamma, s32 = (float)scale;
  const void *gamma_arg = s->fp64 ? (const void *)&g64 : (const void *)&g32;
  const void *scale_arg = s->fp64 ? (const void *)&s64 : (const void *)&s32;
  const size_t rows_g = (size_t)rows;

  SP_CHECK(slot(ctx, SL_ERR, (size_t)rows * sizeof(cl_int), &derr));
  if (kernel == IE_KERNEL_PRECOMPUTED) {
    const cl_long lsets = sets;
    cl_mem ddev = NULL;
    SP_CHECK(slot(ctx, SL_DEV, (size_t)rows * rsz, &ddev));
    SP_TRY("clCreateKernel", make_kernel(s, "spec_given", f64, &r.k_given));
    SP_ARG(r.k_given, 0, xbuf);
    SP_ARG(r.k_given, 1, off);
    SP_ARG(r.k_given, 2, stride);
    SP_ARG(r.k_given, 3, idt);
    SP_ARG(r.k_given, 4, n);
    SP_ARG(r.k_given, 5, lsets);
    SP_TRY("clSetKernelArg", clSetKernelArg(r.k_given, 6, rsz, scale_arg));
    SP_ARG(r.k_given, 7, imul);
    SP_ARG(r.k_given, 8, obuf);
    SP_ARG(r.k_given, 9, derr);
    SP_ARG(r.k_given, 10, ddev);
    SP_TRY("clEnqueueNDRangeKernel(spec_given)",
           clEnqueueNDRangeKernel(s->queue, r.k_given, 1, NULL, &rows_g, NULL, 0, NULL, NULL));
    sp_release(&r);
    return flags(ctx, s, derr, ddev, rows, IE_GIVEN_ULPS * ie__dtype_eps(x->dtype), err, dev);
  }

  /* Samples: normalised (cosine) or raw (rbf) rows in T, then the Gram,
   * then the kernel values. */
  const cl_int cosine = kernel == IE_KERNEL_COSINE;
  const cl_long lsets = sets;
  cl_mem xw = NULL, sq = NULL, g = NULL;
  SP_TRY("clCreateKernel", make_kernel(s, "spec_rows", f64, &r.k_rows));
  SP_TRY("clCreateKernel", make_kernel(s, "spec_product", f64, &r.k_product));
  SP_TRY("clCreateKernel", make_kernel(s, "spec_finish", f64, &r.k_finish));
  SP_CHECK(slot(ctx, SL_XW, (size_t)rows * (size_t)d * tsz, &xw));
  SP_CHECK(slot(ctx, SL_SQ, (size_t)rows * tsz, &sq));
  SP_ARG(r.k_rows, 0, xbuf);
  SP_ARG(r.k_rows, 1, off);
  SP_ARG(r.k_rows, 2, stride);
  SP_ARG(r.k_rows, 3, idt);
  SP_ARG(r.k_rows, 4, rows);
  SP_ARG(r.k_rows, 5, d);
  SP_ARG(r.k_rows, 6, cosine);
  SP_ARG(r.k_rows, 7, xw);
  SP_ARG(r.k_rows, 8, sq);
  SP_ARG(r.k_rows, 9, derr);
  /* one group a row (the kernel loops past 65536 groups) */
  const size_t rows_l = SPEC_ROWS_NT, rows_w = (size_t)(rows < 65536 ? rows : 65536) * SPEC_ROWS_NT;
  SP_TRY("clEnqueueNDRangeKernel(spec_rows)",
         clEnqueueNDRangeKernel(s->queue, r.k_rows, 1, NULL, &rows_w, &rows_l, 0, NULL, NULL));
  SP_CHECK(flags(ctx, s, derr, NULL, rows, 0, err, NULL));
  for (cl_long i = 0; i < rows; i++)
    if (err[i]) { /* src reports the row; no matrix is needed */
      sp_release(&r);
      return IE_OK;
    }
  const size_t entries = (size_t)sets * (size_t)m * (size_t)m;
  SP_CHECK(slot(ctx, SL_G, entries * tsz, &g));
  SP_ARG(r.k_product, 0, xw);
  SP_ARG(r.k_product, 1, lsets);
  SP_ARG(r.k_product, 2, n);
  SP_ARG(r.k_product, 3, d);
  SP_ARG(r.k_product, 4, m);
  SP_ARG(r.k_product, 5, idual);
  SP_ARG(r.k_product, 6, g);
  SP_TRY("clEnqueueNDRangeKernel(spec_product)",
         clEnqueueNDRangeKernel(s->queue, r.k_product, 1, NULL, &entries, NULL, 0, NULL, NULL));
  SP_ARG(r.k_finish, 0, g);
  SP_ARG(r.k_finish, 1, sq);
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
  sp_release(&r);
  return IE_OK;
}

/* The eigen step on the host: download the matrices (into the workspace's
 * host slot IE_WSH_SPECTRAL + 3), LAPACK ?syevd.  This m × m download is the
 * documented exception to "a few bytes cross" (docs/SPEC.md §6). */
ie_status ie__ocl_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w) {
  if (sets <= 0 || m <= 0) return IE_OK;
  const size_t bytes = (size_t)sets * (size_t)m * (size_t)m * ie__dtype_size(dt);
  void *host = NULL;
  ie_status st = ie__ws_host(ctx, IE_WSH_SPECTRAL + 3, bytes, &host);
  if (st == IE_OK) st = ctx->ops->download(ctx, host, a, 0, bytes);
  if (st == IE_OK) st = ie__host_eigvalsh(ctx, "opencl", host, dt, sets, m, w);
  return st;
}
