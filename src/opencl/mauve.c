/*
 * mauve.c — the OpenCL backend's share of MAUVE (docs/SPEC.md §8, src/mauve.h):
 * the kernels of src/kernels/kmeans.cl (unit rows, column means, the
 * covariance and projection as tiled products in double, the float dot
 * products, argmin and centroid update).  The d × d eigen step runs on the
 * host (src/mauve.c), as the spectral family's does.  Every temporary is a
 * workspace slot (IE_WS_MAUVE + 0..8).  What crosses is src/mauve.c's
 * design: the row flags, the mean and covariance (d + d²), the axes, and
 * each Lloyd iteration's labels down and order up (O(n)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../mauve.h"

#define KM_GROUP 256 /* as kmeans.cl */
#define KM_TILE 16

/* The temporaries: workspace slots IE_WS_MAUVE + these (kept between
 * calls, so a warm context allocates nothing; 9..11 are src/mauve.c's). */
enum { S_G, S_CN, S_LAB, S_PERM, S_OFF, S_ERR, S_MEAN, S_COV, S_V };

typedef struct {
  cl_kernel k;
  cl_mem tmp[2]; /* slots: not released here */
} km_res;

static void km_release(km_res *r) {
  if (r->k) clReleaseKernel(r->k);
  memset(r, 0, sizeof *r);
}

static ie_status slot(ie_context *ctx, int which, size_t bytes, cl_mem *b) {
  void *buf = NULL;
  ie_status st = ie__ws_device(ctx, IE_WS_MAUVE + which, bytes, &buf);
  *b = (cl_mem)buf;
  return st;
}

#define KM_TRY(call, expr)                          \
  do {                                              \
    cl_int e_ = (expr);                             \
    if (e_ != CL_SUCCESS) {                         \
      ie_status st_ = IE_CL_FAIL(ctx, call, e_);    \
      km_release(&r);                               \
      return st_;                                   \
    }                                               \
  } while (0)
#define KM_CHECK(expr)          \
  do {                          \
    ie_status st_ = (expr);     \
    if (st_ != IE_OK) {         \
      km_release(&r);           \
      return st_;               \
    }                           \
  } while (0)
#define KM_ARG(i, v) KM_TRY("clSetKernelArg", clSetKernelArg(r.k, (i), sizeof(v), &(v)))

/* Make kernel `name` into r->k (releasing the one there). */
static ie_status kernel(ie_context *ctx, ie_ocl *s, const char *name, km_res *r) {
  ie_status st = ie__ocl_build(ctx, s);
  if (st != IE_OK) return st;
  if (r->k) clReleaseKernel(r->k);
  cl_int e = CL_SUCCESS;
  r->k = clCreateKernel(s->program, name, &e);
  if (e != CL_SUCCESS) {
    r->k = NULL;
    return IE_CL_FAIL(ctx, "clCreateKernel", e);
  }
  return IE_OK;
}

/* Launch r->k on `items` work-items in groups of `group` (rounded up). */
static cl_int launch(ie_ocl *s, const km_res *r, size_t items, size_t group) {
  const size_t global = (items + group - 1) / group * group;
  return clEnqueueNDRangeKernel(s->queue, r->k, 1, NULL, &global, &group, 0, NULL, NULL);
}

static ie_status ocl_unit_rows(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z, int64_t row0,
                               ie_rowerr *err) {
  (void)sess;
  ie_ocl *s = (ie_ocl *)ctx->state;
  km_res r;
  memset(&r, 0, sizeof r);
  if (x->rows == 0) return IE_OK;
  if (!s->fp64)
    return ie__error(ctx, IE_UNSUPPORTED, "ie_mauve: opencl device '%s' has no float64 (cl_khr_fp64)", s->name);
  KM_CHECK(kernel(ctx, s, "mauve_unit_rows", &r));
  KM_CHECK(slot(ctx, S_ERR, (size_t)x->rows * sizeof(cl_int), &r.tmp[0]));
  cl_mem xb = (cl_mem)x->buf, zb = (cl_mem)z->buf;
  cl_long off = (cl_long)x->offset, stride = x->stride, rows = x->rows, d = x->cols, r0 = row0;
  cl_int dt = x->dtype == IE_DT_F32 ? 0 : x->dtype == IE_DT_F16 ? 1 : 2;
  KM_ARG(0, xb);
  KM_ARG(1, off);
  KM_ARG(2, stride);
  KM_ARG(3, rows);
  KM_ARG(4, d);
  KM_ARG(5, dt);
  KM_ARG(6, zb);
  KM_ARG(7, r0);
  KM_ARG(8, r.tmp[0]);
  const size_t groups = x->rows < 4096 ? (size_t)x->rows : 4096;
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, groups * KM_GROUP, KM_GROUP));
  KM_TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, r.tmp[0], CL_TRUE, 0,
                                                    (size_t)x->rows * sizeof(cl_int), err, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, (size_t)x->rows * sizeof(cl_int));
  km_release(&r);
  return IE_OK;
}

static ie_status ocl_covariance(ie_context *ctx, void *sess, const ie_mat *z, double *mean, double *cov) {
  (void)sess;
  ie_ocl *s = (ie_ocl *)ctx->state;
  km_res r;
  memset(&r, 0, sizeof r);
  const size_t d = (size_t)z->cols;
  cl_mem zb = (cl_mem)z->buf;
  cl_long n = z->rows, dl = z->cols;
  KM_CHECK(slot(ctx, S_MEAN, d * sizeof(double), &r.tmp[0]));
  KM_CHECK(slot(ctx, S_COV, d * d * sizeof(double), &r.tmp[1]));
  KM_CHECK(kernel(ctx, s, "mauve_col_mean", &r));
  KM_ARG(0, zb);
  KM_ARG(1, n);
  KM_ARG(2, dl);
  KM_ARG(3, r.tmp[0]);
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, d, 64));
  KM_CHECK(kernel(ctx, s, "mauve_center", &r));
  KM_ARG(0, zb);
  KM_ARG(1, n);
  KM_ARG(2, dl);
  KM_ARG(3, r.tmp[0]);
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, (size_t)1 << 20, KM_GROUP));
  KM_CHECK(kernel(ctx, s, "mauve_syrk", &r));
  cl_double scale = 1.0 / (double)(n - 1);
  KM_ARG(0, zb);
  KM_ARG(1, n);
  KM_ARG(2, dl);
  KM_ARG(3, scale);
  KM_ARG(4, r.tmp[1]);
  const size_t nt = (d + KM_TILE - 1) / KM_TILE;
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, nt * nt * KM_GROUP, KM_GROUP));
  KM_TRY("clEnqueueReadBuffer",
         clEnqueueReadBuffer(s->queue, r.tmp[0], CL_TRUE, 0, d * sizeof(double), mean, 0, NULL, NULL));
  KM_TRY("clEnqueueReadBuffer",
         clEnqueueReadBuffer(s->queue, r.tmp[1], CL_TRUE, 0, d * d * sizeof(double), cov, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, d * sizeof(double));
  ie__ws_copied(ctx, 0, d * d * sizeof(double));
  km_release(&r);
  return IE_OK;
}

static ie_status ocl_project(ie_context *ctx, void *sess, const ie_mat *z, const double *v, int64_t rr,
                             const ie_mat *y) {
  (void)sess;
  ie_ocl *s = (ie_ocl *)ctx->state;
  km_res r;
  memset(&r, 0, sizeof r);
  const size_t vb = (size_t)z->cols * (size_t)rr * sizeof(double);
  KM_CHECK(slot(ctx, S_V, vb, &r.tmp[0]));
  KM_TRY("clEnqueueWriteBuffer", clEnqueueWriteBuffer(s->queue, r.tmp[0], CL_TRUE, 0, vb, v, 0, NULL, NULL));
  ie__ws_copied(ctx, 1, vb);
  KM_CHECK(kernel(ctx, s, "mauve_project", &r));
  cl_mem zb = (cl_mem)z->buf, yb = (cl_mem)y->buf;
  cl_long n = z->rows, d = z->cols, rl = rr;
  KM_ARG(0, zb);
  KM_ARG(1, r.tmp[0]);
  KM_ARG(2, n);
  KM_ARG(3, d);
  KM_ARG(4, rl);
  KM_ARG(5, yb);
  const size_t mt = ((size_t)n + KM_TILE - 1) / KM_TILE, nt = ((size_t)rr + KM_TILE - 1) / KM_TILE;
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, mt * nt * KM_GROUP, KM_GROUP));
  KM_TRY("clFinish", clFinish(s->queue));
  km_release(&r);
  return IE_OK;
}

/* Rows a block of the assignment: G (block × k floats) stays below 64 MiB. */
static int64_t block_rows(int64_t n, int64_t k) {
  int64_t b = ((int64_t)1 << 24) / (k > 0 ? k : 1);
  if (b < KM_TILE) b = KM_TILE;
  return b < n ? b : n;
}

static ie_status ocl_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, int32_t *labels) {
  (void)sess;
  ie_ocl *s = (ie_ocl *)ctx->state;
  km_res r;
  memset(&r, 0, sizeof r);
  const int64_t n = y->rows, k = c->rows, B = block_rows(n, k);
  cl_mem g, cn, lab, yb = (cl_mem)y->buf, cb = (cl_mem)c->buf;
  KM_CHECK(slot(ctx, S_G, (size_t)B * (size_t)k * sizeof(float), &g));
  KM_CHECK(slot(ctx, S_CN, (size_t)k * sizeof(float), &cn));
  KM_CHECK(slot(ctx, S_LAB, (size_t)n * sizeof(cl_int), &lab));
  cl_long kl = k, rl = y->cols;
  KM_CHECK(kernel(ctx, s, "km_sqnorm", &r));
  KM_ARG(0, cb);
  KM_ARG(1, kl);
  KM_ARG(2, rl);
  KM_ARG(3, cn);
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, (size_t)k, 64));
  for (int64_t b = 0; b < n; b += B) {
    cl_long row0 = b, m = n - b < B ? n - b : B;
    KM_CHECK(kernel(ctx, s, "km_dots", &r));
    KM_ARG(0, yb);
    KM_ARG(1, row0);
    KM_ARG(2, cb);
    KM_ARG(3, m);
    KM_ARG(4, kl);
    KM_ARG(5, rl);
    KM_ARG(6, g);
    const size_t mt = ((size_t)m + KM_TILE - 1) / KM_TILE, kt = ((size_t)k + KM_TILE - 1) / KM_TILE;
    KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, mt * kt * KM_GROUP, KM_GROUP));
    KM_CHECK(kernel(ctx, s, "km_argmin", &r));
    KM_ARG(0, g);
    KM_ARG(1, m);
    KM_ARG(2, kl);
    KM_ARG(3, cn);
    KM_ARG(4, row0);
    KM_ARG(5, lab);
    KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, (size_t)m, 64));
  }
  KM_TRY("clEnqueueReadBuffer",
         clEnqueueReadBuffer(s->queue, lab, CL_TRUE, 0, (size_t)n * sizeof(cl_int), labels, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, (size_t)n * sizeof(cl_int));
  km_release(&r);
  return IE_OK;
}

static ie_status ocl_update(ie_context *ctx, void *sess, const ie_mat *y, const int32_t *perm, const int64_t *off,
                            const ie_mat *c) {
  (void)sess;
  ie_ocl *s = (ie_ocl *)ctx->state;
  km_res r;
  memset(&r, 0, sizeof r);
  const int64_t n = y->rows, k = c->rows;
  cl_mem pb, ob, yb = (cl_mem)y->buf, cb = (cl_mem)c->buf;
  KM_CHECK(slot(ctx, S_PERM, (size_t)n * sizeof(cl_int), &pb));
  KM_CHECK(slot(ctx, S_OFF, (size_t)(k + 1) * sizeof(cl_long), &ob));
  KM_TRY("clEnqueueWriteBuffer",
         clEnqueueWriteBuffer(s->queue, pb, CL_FALSE, 0, (size_t)n * sizeof(cl_int), perm, 0, NULL, NULL));
  KM_TRY("clEnqueueWriteBuffer",
         clEnqueueWriteBuffer(s->queue, ob, CL_FALSE, 0, (size_t)(k + 1) * sizeof(cl_long), off, 0, NULL, NULL));
  ie__ws_copied(ctx, 1, (size_t)n * sizeof(cl_int));
  ie__ws_copied(ctx, 1, (size_t)(k + 1) * sizeof(cl_long));
  KM_CHECK(kernel(ctx, s, "km_update", &r));
  cl_long rl = y->cols, kl = k;
  KM_ARG(0, yb);
  KM_ARG(1, rl);
  KM_ARG(2, pb);
  KM_ARG(3, ob);
  KM_ARG(4, kl);
  KM_ARG(5, cb);
  KM_TRY("clEnqueueNDRangeKernel", launch(s, &r, (size_t)k * (size_t)y->cols, 64));
  /* perm and off are the caller's: they must be read before returning */
  KM_TRY("clFinish", clFinish(s->queue));
  km_release(&r);
  return IE_OK;
}

const ie_mauve_ops ie__opencl_mauve_ops = {
    .zdt = IE_DT_F64,
    .unit_rows = ocl_unit_rows,
    .covariance = ocl_covariance,
    .project = ocl_project,
    .assign = ocl_assign,
    .update = ocl_update,
};
