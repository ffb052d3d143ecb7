/*
 * mauve.c — the OpenCL backend's share of MAUVE (docs/SPEC.md §8, src/mauve.h):
 * the kernels of src/kernels/kmeans.cl (unit rows, column means, the
 * covariance and projection as tiled products in double, the float dot
 * products, argmin, grouping and centroid update, inertia, histograms) and
 * of src/kernels/kmeans_seed.cl (the k-means++ start).  The d × d eigen step
 * runs on the host (src/mauve.c), as the spectral family's does.
 *
 * The rows, labels and centres stay on the device.  What crosses a call:
 * the first bad row of each set (8 bytes), the mean and covariance
 * (d + d² doubles), the axes (d × r), a count of changed labels a Lloyd
 * iteration and an inertia a start (8 bytes each), and the histograms (k a
 * set).  Every temporary is a workspace slot (IE_MAUVE_SLOT_BACKEND + S_*),
 * so a warm context allocates nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../kernels/kmeans_terms.h"
#include "../mauve.h"

#define KM_GROUP 256 /* as kmeans.cl */
#define KM_TILE 16
#define KPP_LANES 32 /* as kmeans_seed.cl */

enum { S_G, S_CN, S_PERM, S_OFF, S_ERR, S_MEAN, S_COV, S_V, S_ONE, S_POS, S_HIST,
       S_YN, S_D2, S_BLK, S_BCUM, S_POTB, S_ST, S_COUNT };

enum { K_UNIT_ROWS, K_FIRST_FLAG, K_COL_MEAN, K_CENTER, K_SYRK, K_PROJECT, K_SQNORM, K_DOTS, K_ARGMIN,
       K_CHANGED, K_GROUP_COUNT, K_GROUP_OFFSETS, K_GROUP_PLACE, K_UPDATE, K_INERTIA, K_HISTOGRAM,
       K_NORMS, K_FIRST, K_LOWER, K_DRAW, K_POTENTIALS, K_CHOOSE, K_COUNT };

static const char *const kernel_names[K_COUNT] = {
    "mauve_unit_rows", "km_first_flag",  "mauve_col_mean",   "mauve_center",   "mauve_syrk",
    "mauve_project",   "km_sqnorm",      "km_dots",          "km_argmin",      "km_changed",
    "km_group_count",  "km_group_offsets", "km_group_place", "km_update",      "km_inertia",
    "km_histogram",    "kpp_norms",      "kpp_first",        "kpp_lower",      "kpp_draw",
    "kpp_potentials",  "kpp_choose"};

/* One ie_mauve call's kernels, made when first launched. */
typedef struct {
  cl_kernel k[K_COUNT];
} ocl_km;

#define KM_CHECK(expr)          \
  do {                          \
    const ie_status st_ = (expr); \
    if (st_ != IE_OK) return st_; \
  } while (0)

typedef struct {
  size_t size;
  const void *value;
} karg;
#define ARG(v) {sizeof(v), &(v)}

static ie_status slot(ie_context *ctx, int which, size_t bytes, cl_mem *b) {
  void *buf = NULL;
  ie_status st = ie__ws_device(ctx, IE_MAUVE_SLOT_BACKEND + which, bytes ? bytes : 8, &buf);
  *b = (cl_mem)buf;
  return st;
}

/* Kernel `which` on `items` work-items (at least one group) in groups of
 * `group`, with these arguments. */
static ie_status launch(ie_context *ctx, ocl_km *m, int which, size_t items, size_t group, const karg *args,
                        int nargs) {
  ie_ocl *s = (ie_ocl *)ctx->state;
  if (!m->k[which]) {
    KM_CHECK(ie__ocl_build(ctx, s));
    cl_int e = CL_SUCCESS;
    cl_kernel k = clCreateKernel(s->program, kernel_names[which], &e);
    if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clCreateKernel", e);
    m->k[which] = k;
  }
  for (int i = 0; i < nargs; i++)
    IE_CL_TRY(ctx, "clSetKernelArg", clSetKernelArg(m->k[which], (cl_uint)i, args[i].size, args[i].value));
  size_t global = (items + group - 1) / group * group;
  if (global == 0) global = group;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(s->queue, m->k[which], 1, NULL, &global, &group, 0, NULL, NULL));
  return IE_OK;
}
#define LAUNCH(which, items, group, ...)                                                    \
  do {                                                                                      \
    const karg a_[] = {__VA_ARGS__};                                                        \
    KM_CHECK(launch(ctx, m, (which), (items), (group), a_, (int)(sizeof a_ / sizeof *a_))); \
  } while (0)

/* Read `bytes` of b to the host (waits for the queue). */
static ie_status read_back(ie_context *ctx, cl_mem b, size_t bytes, void *out) {
  ie_ocl *s = (ie_ocl *)ctx->state;
  IE_CL_TRY(ctx, "clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, b, CL_TRUE, 0, bytes, out, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, bytes);
  return IE_OK;
}

static ie_status ocl_begin(ie_context *ctx, void **sess) {
  ie_ocl *s = (ie_ocl *)ctx->state;
  if (!s->fp64)
    return ie__error(ctx, IE_UNSUPPORTED, "ie_mauve: opencl device '%s' has no float64 (cl_khr_fp64)", s->name);
  ocl_km *m = calloc(1, sizeof *m);
  if (!m) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the OpenCL session");
  *sess = m;
  return IE_OK;
}

static void ocl_end(ie_context *ctx, void *sess) {
  (void)ctx;
  ocl_km *m = sess;
  if (!m) return;
  for (int i = 0; i < K_COUNT; i++)
    if (m->k[i]) clReleaseKernel(m->k[i]);
  free(m);
}

static ie_status ocl_unit_rows(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z, int64_t row0,
                               int64_t *bad) {
  ocl_km *m = sess;
  *bad = -1;
  if (x->rows == 0) return IE_OK;
  cl_mem err, one, xb = (cl_mem)x->buf, zb = (cl_mem)z->buf;
  KM_CHECK(slot(ctx, S_ERR, (size_t)x->rows * sizeof(cl_int), &err));
  KM_CHECK(slot(ctx, S_ONE, sizeof(cl_long), &one));
  cl_long off = (cl_long)x->offset, stride = x->stride, rows = x->rows, d = x->cols, r0 = row0;
  cl_int dt = x->dtype == IE_DT_F32 ? 0 : x->dtype == IE_DT_F16 ? 1 : 2;
  const size_t groups = x->rows < 4096 ? (size_t)x->rows : 4096;
  LAUNCH(K_UNIT_ROWS, groups * KM_GROUP, KM_GROUP, ARG(xb), ARG(off), ARG(stride), ARG(rows), ARG(d), ARG(dt),
         ARG(zb), ARG(r0), ARG(err));
  LAUNCH(K_FIRST_FLAG, KM_GROUP, KM_GROUP, ARG(err), ARG(rows), ARG(one));
  cl_long first = -1;
  KM_CHECK(read_back(ctx, one, sizeof first, &first));
  *bad = first;
  return IE_OK;
}

static ie_status ocl_covariance(ie_context *ctx, void *sess, const ie_mat *z, double *mean, double *cov) {
  ocl_km *m = sess;
  const size_t d = (size_t)z->cols;
  cl_mem mb, cb, zb = (cl_mem)z->buf;
  cl_long n = z->rows, dl = z->cols;
  KM_CHECK(slot(ctx, S_MEAN, d * sizeof(double), &mb));
  KM_CHECK(slot(ctx, S_COV, d * d * sizeof(double), &cb));
  LAUNCH(K_COL_MEAN, d, 64, ARG(zb), ARG(n), ARG(dl), ARG(mb));
  LAUNCH(K_CENTER, (size_t)1 << 20, KM_GROUP, ARG(zb), ARG(n), ARG(dl), ARG(mb));
  cl_double scale = 1.0 / (double)(n - 1);
  const size_t nt = (d + KM_TILE - 1) / KM_TILE;
  LAUNCH(K_SYRK, nt * nt * KM_GROUP, KM_GROUP, ARG(zb), ARG(n), ARG(dl), ARG(scale), ARG(cb));
  KM_CHECK(read_back(ctx, mb, d * sizeof(double), mean));
  return read_back(ctx, cb, d * d * sizeof(double), cov);
}

static ie_status ocl_project(ie_context *ctx, void *sess, const ie_mat *z, const double *v, int64_t rr,
                             const ie_mat *y) {
  ocl_km *m = sess;
  ie_ocl *s = (ie_ocl *)ctx->state;
  const size_t vb = (size_t)z->cols * (size_t)rr * sizeof(double);
  cl_mem vm, zb = (cl_mem)z->buf, yb = (cl_mem)y->buf;
  KM_CHECK(slot(ctx, S_V, vb, &vm));
  IE_CL_TRY(ctx, "clEnqueueWriteBuffer", clEnqueueWriteBuffer(s->queue, vm, CL_TRUE, 0, vb, v, 0, NULL, NULL));
  ie__ws_copied(ctx, 1, vb);
  cl_long n = z->rows, d = z->cols, rl = rr;
  const size_t mt = ((size_t)n + KM_TILE - 1) / KM_TILE, nt = ((size_t)rr + KM_TILE - 1) / KM_TILE;
  LAUNCH(K_PROJECT, mt * nt * KM_GROUP, KM_GROUP, ARG(zb), ARG(vm), ARG(n), ARG(d), ARG(rl), ARG(yb));
  return IE_OK;
}

/* The k-means++ start (kmeans_seed.cl): four launches a centre, nothing
 * read back. */
static ie_status ocl_seed(ie_context *ctx, void *sess, const ie_mat *y, uint64_t seed, int64_t start,
                          int64_t starts, const ie_mat *c) {
  (void)starts;
  ocl_km *m = sess;
  const int64_t n = y->rows, k = c->rows;
  const int64_t t = km_candidates(k), nb = (n + KM_SEED_BLOCK - 1) / KM_SEED_BLOCK;
  cl_mem yn, d2, blk, bcum, potb, st, yb = (cl_mem)y->buf, cb = (cl_mem)c->buf;
  KM_CHECK(slot(ctx, S_YN, (size_t)n * sizeof(double), &yn));
  KM_CHECK(slot(ctx, S_D2, (size_t)n * sizeof(double), &d2));
  KM_CHECK(slot(ctx, S_BLK, (size_t)nb * sizeof(double), &blk));
  KM_CHECK(slot(ctx, S_BCUM, (size_t)nb * sizeof(double), &bcum));
  KM_CHECK(slot(ctx, S_POTB, (size_t)(nb * t) * sizeof(double), &potb));
  KM_CHECK(slot(ctx, S_ST, (size_t)(2 + t) * sizeof(cl_long), &st));
  cl_long nl = n, rl = y->cols, tl = t;
  cl_ulong rng0 = km_stream(seed, start);
  cl_int first = 1;
  LAUNCH(K_NORMS, (size_t)n, 64, ARG(yb), ARG(nl), ARG(rl), ARG(yn));
  LAUNCH(K_FIRST, 1, 1, ARG(yb), ARG(nl), ARG(rl), ARG(rng0), ARG(st), ARG(cb));
  LAUNCH(K_LOWER, (size_t)nb, 64, ARG(yb), ARG(nl), ARG(rl), ARG(yn), ARG(st), ARG(first), ARG(d2), ARG(blk));
  first = 0;
  for (cl_long j = 1; j < k; j++) {
    if (ie__cancelled(ctx)) return ie__cancel(ctx, "ie_mauve");
    LAUNCH(K_DRAW, 1, 1, ARG(d2), ARG(blk), ARG(bcum), ARG(nl), ARG(tl), ARG(st));
    LAUNCH(K_POTENTIALS, (size_t)(nb * t), 64, ARG(yb), ARG(nl), ARG(rl), ARG(yn), ARG(d2), ARG(st), ARG(tl),
           ARG(potb));
    LAUNCH(K_CHOOSE, KPP_LANES, KPP_LANES, ARG(yb), ARG(nl), ARG(rl), ARG(yn), ARG(d2), ARG(potb), ARG(tl),
           ARG(st), ARG(j), ARG(cb));
    LAUNCH(K_LOWER, (size_t)nb, 64, ARG(yb), ARG(nl), ARG(rl), ARG(yn), ARG(st), ARG(first), ARG(d2),
           ARG(blk));
  }
  return IE_OK;
}

/* Rows a block of the assignment: G (block × k floats) stays below 64 MiB. */
static int64_t block_rows(int64_t n, int64_t k) {
  int64_t b = ((int64_t)1 << 24) / (k > 0 ? k : 1);
  if (b < KM_TILE) b = KM_TILE;
  return b < n ? b : n;
}

static ie_status ocl_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, void *labels,
                            const void *prev, int64_t *changed) {
  ocl_km *m = sess;
  const int64_t n = y->rows, k = c->rows, B = block_rows(n, k);
  cl_mem g, cn, yb = (cl_mem)y->buf, cb = (cl_mem)c->buf, lab = (cl_mem)labels;
  KM_CHECK(slot(ctx, S_G, (size_t)B * (size_t)k * sizeof(float), &g));
  KM_CHECK(slot(ctx, S_CN, (size_t)k * sizeof(float), &cn));
  cl_long kl = k, rl = y->cols, nl = n;
  LAUNCH(K_SQNORM, (size_t)k, 64, ARG(cb), ARG(kl), ARG(rl), ARG(cn));
  for (cl_long row0 = 0; row0 < n; row0 += B) {
    cl_long rows = n - row0 < B ? n - row0 : B;
    const size_t mt = ((size_t)rows + KM_TILE - 1) / KM_TILE, kt = ((size_t)k + KM_TILE - 1) / KM_TILE;
    LAUNCH(K_DOTS, mt * kt * KM_GROUP, KM_GROUP, ARG(yb), ARG(row0), ARG(cb), ARG(rows), ARG(kl), ARG(rl), ARG(g));
    LAUNCH(K_ARGMIN, (size_t)rows, 64, ARG(g), ARG(rows), ARG(kl), ARG(cn), ARG(row0), ARG(lab));
  }
  if (!prev) return IE_OK;
  cl_mem was = (cl_mem)prev, one;
  KM_CHECK(slot(ctx, S_ONE, sizeof(cl_long), &one));
  LAUNCH(K_CHANGED, KM_GROUP, KM_GROUP, ARG(lab), ARG(was), ARG(nl), ARG(one));
  cl_long moved = 0;
  KM_CHECK(read_back(ctx, one, sizeof moved, &moved));
  *changed = moved;
  return IE_OK;
}

static ie_status ocl_update(ie_context *ctx, void *sess, const ie_mat *y, const void *labels, const ie_mat *c) {
  ocl_km *m = sess;
  const int64_t n = y->rows, k = c->rows, chunk = ie__mauve_chunk_rows(n, k), chunks = (n + chunk - 1) / chunk;
  cl_mem pos, perm, off, lab = (cl_mem)labels, yb = (cl_mem)y->buf, cb = (cl_mem)c->buf;
  KM_CHECK(slot(ctx, S_POS, (size_t)(chunks * k) * sizeof(cl_int), &pos));
  KM_CHECK(slot(ctx, S_PERM, (size_t)n * sizeof(cl_int), &perm));
  KM_CHECK(slot(ctx, S_OFF, (size_t)(k + 1) * sizeof(cl_long), &off));
  cl_long nl = n, kl = k, cl_ = chunk, chl = chunks, rl = y->cols;
  LAUNCH(K_GROUP_COUNT, (size_t)chunks, 64, ARG(lab), ARG(nl), ARG(kl), ARG(cl_), ARG(pos));
  LAUNCH(K_GROUP_OFFSETS, KM_GROUP, KM_GROUP, ARG(pos), ARG(chl), ARG(kl), ARG(off));
  LAUNCH(K_GROUP_PLACE, (size_t)chunks, 64, ARG(lab), ARG(nl), ARG(kl), ARG(cl_), ARG(pos), ARG(perm));
  LAUNCH(K_UPDATE, (size_t)(k * rl), 64, ARG(yb), ARG(rl), ARG(perm), ARG(off), ARG(kl), ARG(cb));
  return IE_OK;
}

static ie_status ocl_inertia(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, const void *labels,
                             double *inertia) {
  ocl_km *m = sess;
  cl_mem one, yb = (cl_mem)y->buf, cb = (cl_mem)c->buf, lab = (cl_mem)labels;
  KM_CHECK(slot(ctx, S_ONE, sizeof(cl_double), &one));
  cl_long nl = y->rows, rl = y->cols;
  LAUNCH(K_INERTIA, KM_GROUP, KM_GROUP, ARG(yb), ARG(cb), ARG(lab), ARG(nl), ARG(rl), ARG(one));
  return read_back(ctx, one, sizeof *inertia, inertia);
}

static ie_status ocl_histogram(ie_context *ctx, void *sess, const void *labels, const int64_t *rows, int64_t sets,
                               int64_t k, double *hist) {
  ocl_km *m = sess;
  const size_t cells = (size_t)sets * (size_t)k;
  cl_mem hb, lab = (cl_mem)labels;
  KM_CHECK(slot(ctx, S_HIST, cells * sizeof(cl_uint), &hb));
  cl_long row0 = 0, kl = k;
  for (cl_long set = 0; set < sets; set++) {
    cl_long n = rows[set];
    LAUNCH(K_HISTOGRAM, KM_GROUP, KM_GROUP, ARG(lab), ARG(row0), ARG(n), ARG(kl), ARG(set), ARG(hb));
    row0 += n;
  }
  cl_uint *counts = malloc(cells * sizeof *counts);
  if (!counts) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for %zu histogram bins", cells);
  const ie_status st = read_back(ctx, hb, cells * sizeof *counts, counts);
  for (size_t i = 0; st == IE_OK && i < cells; i++) hist[i] = counts[i];
  free(counts);
  return st;
}

const ie_mauve_ops ie__opencl_mauve_ops = {
    .zdt = IE_DT_F64,
    .begin = ocl_begin,
    .end = ocl_end,
    .unit_rows = ocl_unit_rows,
    .covariance = ocl_covariance,
    .project = ocl_project,
    .seed = ocl_seed,
    .assign = ocl_assign,
    .update = ocl_update,
    .inertia = ocl_inertia,
    .histogram = ocl_histogram,
};
