/*
 * sinkhorn.c — the OpenCL Sinkhorn passes (src/sinkhorn.h) over the shared
 * sk_ kernels of src/kernels/sinkhorn.cl, in double (the device needs
 * cl_khr_fp64), or with setup.single in float32 tiles (sk_pass_f32).  Every
 * buffer of a solve is a workspace slot (IE_WS_SINKHORN + its index in
 * ocl_sk's list) and every kernel is made once per context, so a warm solve
 * creates nothing; copies are counted (ie__ws_copied).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../sinkhorn.h"
#include "../kernels/sinkhorn_terms.h"

_Static_assert(SK_MEASURE == IE_SK_MEASURE && SK_CHECK == IE_SK_CHECK && SK_TERMS == IE_SK_TERMS &&
                   SK_EUCLIDEAN == IE_SK_EUCLIDEAN && SK_HALF_SQEUCLIDEAN == IE_SK_HALF_SQEUCLIDEAN,
               "src/kernels/sinkhorn_terms.h and src/sinkhorn.h agree");

enum {
  K_CONVERT, K_BUILD, K_TRANSPOSE, K_ABSMAX, K_INIT_G, K_PASS_MAT, K_PASS_PTS, K_REDUCE, K_RESTORE, K_PLAN,
  K_WEIGHTS, K_FIRST, K_BOX, K_EMIT, K_DECIDE, K_LEFT, K_NARROW, K_PASS_F32, K_N
};
static const char *const knames[K_N] = {"sk_convert", "sk_build",    "sk_transpose", "sk_absmax",
                                        "sk_init_g",  "sk_pass_mat", "sk_pass_pts",  "sk_reduce",
                                        "sk_restore", "sk_plan",     "sk_weights",   "sk_first",
                                        "sk_box",     "sk_emit",     "sk_decide",    "sk_left",
                                        "sk_narrow",  "sk_pass_f32"};

/* The status words begin reads (one read a solve): the first bad weight of
 * each side, the first bad coordinate of x and of y, the box cost's bits. */
enum { ST_WA, ST_WB, ST_X, ST_Y, ST_BOX, ST_N };

typedef struct {
  ie_ocl *s;
  cl_kernel *k; /* the context's sk_k */
  cl_long B, n, m, d, Bc, c_bs, x_bs, y_bs;
  cl_int metric;
  cl_int lanes; /* work-items a row in a pass: 32 on a GPU, 1 on a CPU device */
  cl_mem C, CT, x, y, lw[2], pot[2], fsave, rowt, pterm, active, mask, cmax, bad, dummy;
  cl_mem code, wtot, stat; /* the inputs' checks (ie_sk_found) */
  cl_mem xf, yf;           /* float32 points (setup.single), else NULL */
  cl_long tile;            /* columns a tile of sk_pass_f32 */
  cl_mem iters;            /* [B + 1] int64: decide's iteration counts (−1: running), then left */
  int next_slot; /* the next IE_WS_SINKHORN slot to hand out */
} ocl_sk;
_Static_assert(K_N <= (int)(sizeof ((ie_ocl *)0)->sk_k / sizeof(cl_kernel)), "ie_ocl.sk_k holds the kernels");

#define TRY(call, expr) IE_CL_TRY(ctx, call, expr)
#define ARG(k, i, v) TRY("clSetKernelArg", clSetKernelArg((k), (i), sizeof(v), &(v)))

static void ocl_sk_end(ie_context *ctx, void *wsv) {
  (void)ctx;
  ocl_sk *w = wsv;
  if (!w) return;
  if (w->s) clFinish(w->s->queue); /* the slots are the workspace's: nothing to release */
  free(w);
}

/* The next workspace slot of the solve, of at least `bytes`, with `init`
 * (host, `bytes`) written into it when given. */
static ie_status mk(ie_context *ctx, ocl_sk *w, cl_mem *out, size_t bytes, const void *init) {
  void *buf = NULL;
  if (w->next_slot >= 20) return ie__error(ctx, IE_INTERNAL, "ie_sinkhorn (opencl): out of workspace slots");
  ie_status st = ie__ws_device(ctx, IE_WS_SINKHORN + w->next_slot++, bytes ? bytes : 8, &buf);
  if (st != IE_OK) return st;
  *out = buf;
  if (init && bytes) {
    cl_int e = clEnqueueWriteBuffer(w->s->queue, *out, CL_FALSE, 0, bytes, init, 0, NULL, NULL);
    if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clEnqueueWriteBuffer", e);
    ie__ws_copied(ctx, 1, bytes);
  }
  return IE_OK;
}

/* Fill `bytes` of b with copies of the pattern (no host copy). */
static ie_status fill(ie_context *ctx, ocl_sk *w, cl_mem b, const void *pat, size_t psz, size_t bytes) {
  if (!bytes) return IE_OK;
  cl_int e = clEnqueueFillBuffer(w->s->queue, b, pat, psz, 0, bytes, 0, NULL, NULL);
  if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clEnqueueFillBuffer", e);
  return IE_OK;
}

/* One work-item an element. */
static ie_status run1(ie_context *ctx, ocl_sk *w, int k, int64_t items) {
  size_t g = (size_t)(items > 0 ? items : 1);
  TRY("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(w->s->queue, w->k[k], 1, NULL, &g, NULL, 0, NULL, NULL));
  return IE_OK;
}

/* Groups of SK_NT work-items (the kernels loop when there are fewer groups
 * than units of work). */
static ie_status run_groups(ie_context *ctx, ocl_sk *w, int k, int64_t groups) {
  if (groups < 1) groups = 1;
  if (groups > 65536) groups = 65536;
  size_t l = SK_NT, g = (size_t)groups * SK_NT;
  TRY("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(w->s->queue, w->k[k], 1, NULL, &g, &l, 0, NULL, NULL));
  return IE_OK;
}

#define CK(expr)                    \
  do {                              \
    ie_status s_ = (expr);          \
    if (s_ != IE_OK) return s_;     \
  } while (0)

/* sk_first: the first bad one of the `rows` codes at code_off (a row's
 * elements are `mul` wide) into status word `idx`. */
static ie_status first_bad(ie_context *ctx, ocl_sk *w, cl_long code_off, cl_long rows, cl_long mul,
                           cl_int idx) {
  cl_kernel kf = w->k[K_FIRST];
  ARG(kf, 0, w->code);
  ARG(kf, 1, code_off);
  ARG(kf, 2, rows);
  ARG(kf, 3, mul);
  ARG(kf, 4, w->stat);
  ARG(kf, 5, idx);
  return run_groups(ctx, w, K_FIRST, 1);
}

/* Check and convert the device inputs (weights into lw, points into x, y)
 * and read what was found: ST_N words, plus a problem's total on a failure. */
static ie_status inputs(ie_context *ctx, ocl_sk *w, const ie_sk_setup *su, ie_sk_found *found) {
  const size_t D = sizeof(double);
  const cl_long N[2] = {w->n, w->m};
  const cl_long Bw[2] = {su->w[0]->rows, su->w[1]->rows};
  const cl_long prow[2] = {su->px ? su->px->rows : 0, su->py ? su->py->rows : 0};
  const cl_long ncode = Bw[0] + Bw[1] + prow[0] + prow[1];
  CK(mk(ctx, w, &w->lw[0], (size_t)(w->B * w->n) * D, NULL));
  CK(mk(ctx, w, &w->lw[1], (size_t)(w->B * w->m) * D, NULL));
  CK(mk(ctx, w, &w->code, (size_t)ncode * sizeof(cl_long), NULL));
  CK(mk(ctx, w, &w->wtot, (size_t)(Bw[0] + Bw[1]) * D, NULL));
  CK(mk(ctx, w, &w->stat, ST_N * sizeof(cl_long), NULL));
  const cl_long none = -1;
  CK(fill(ctx, w, w->stat, &none, sizeof none, ST_N * sizeof(cl_long)));
  cl_long code_off = 0;
  for (int k = 0; k < 2; k++) {
    const ie_mat *wm = su->w[k];
    cl_mem src = (cl_mem)wm->buf;
    cl_ulong off = wm->offset;
    cl_int dt = (cl_int)wm->dtype, idx = ST_WA + k;
    cl_long stride = wm->stride, tot_off = k ? Bw[0] : 0, mul = N[k] + 1;
    cl_kernel kw = w->k[K_WEIGHTS];
    ARG(kw, 0, src);
    ARG(kw, 1, off);
    ARG(kw, 2, dt);
    ARG(kw, 3, stride);
    ARG(kw, 4, Bw[k]);
    ARG(kw, 5, N[k]);
    ARG(kw, 6, w->B);
    ARG(kw, 7, w->lw[k]);
    ARG(kw, 8, w->code);
    ARG(kw, 9, code_off);
    ARG(kw, 10, w->wtot);
    ARG(kw, 11, tot_off);
    CK(run_groups(ctx, w, K_WEIGHTS, Bw[k]));
    CK(first_bad(ctx, w, code_off, Bw[k], mul, idx));
    code_off += Bw[k];
  }
  if (su->px) {
    const ie_mat *pm[2] = {su->px, su->py};
    for (int k = 0; k < 2; k++) {
      cl_mem *dst = k ? &w->y : &w->x;
      CK(mk(ctx, w, dst, (size_t)(prow[k] * w->d) * D, NULL));
      cl_mem src = (cl_mem)pm[k]->buf;
      cl_ulong off = pm[k]->offset;
      cl_int dt = (cl_int)pm[k]->dtype, idx = ST_X + k;
      cl_long stride = pm[k]->stride;
      cl_kernel kc = w->k[K_CONVERT];
      ARG(kc, 0, src);
      ARG(kc, 1, off);
      ARG(kc, 2, dt);
      ARG(kc, 3, stride);
      ARG(kc, 4, prow[k]);
      ARG(kc, 5, w->d);
      ARG(kc, 6, *dst);
      ARG(kc, 7, w->code);
      ARG(kc, 8, code_off);
      CK(run_groups(ctx, w, K_CONVERT, prow[k]));
      CK(first_bad(ctx, w, code_off, prow[k], w->d, idx));
      code_off += prow[k];
    }
    if (su->want_box) {
      cl_int idx = ST_BOX;
      cl_kernel kb = w->k[K_BOX];
      ARG(kb, 0, w->x);
      ARG(kb, 1, prow[0]);
      ARG(kb, 2, w->y);
      ARG(kb, 3, prow[1]);
      ARG(kb, 4, w->d);
      ARG(kb, 5, w->metric);
      ARG(kb, 6, w->stat);
      ARG(kb, 7, idx);
      CK(run_groups(ctx, w, K_BOX, 1));
    }
  }
  cl_long st[ST_N];
  TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(w->s->queue, w->stat, CL_TRUE, 0, sizeof st, st, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, sizeof st);
  found->xbad = st[ST_X];
  found->ybad = st[ST_Y];
  memcpy(&found->box, &st[ST_BOX], sizeof found->box);
  for (int k = 0; k < 2; k++) {
    found->wbad[k] = st[ST_WA + k];
    if (st[ST_WA + k] < 0) continue;
    /* a failure: the problem's total, for the message */
    const size_t at = (size_t)((k ? Bw[0] : 0) + st[ST_WA + k] / (N[k] + 1)) * D;
    TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(w->s->queue, w->wtot, CL_TRUE, at, D, &found->wtot[k], 0,
                                                   NULL, NULL));
    ie__ws_copied(ctx, 0, D);
  }
  return IE_OK;
}

static ie_status begin_impl(ie_context *ctx, ocl_sk *w, const ie_sk_setup *su, double *cmax, int64_t *bad,
                            ie_sk_found *found) {
  ie_ocl *s = w->s;
  CK(ie__ocl_build(ctx, s));
  w->k = s->sk_k;
  for (int i = 0; i < K_N; i++) {
    cl_int e;
    if (w->k[i]) continue;
    w->k[i] = clCreateKernel(s->program, knames[i], &e);
    if (e != CL_SUCCESS)
      return e == CL_INVALID_KERNEL_NAME
                 ? ie__error(ctx, IE_UNSUPPORTED, "ie_sinkhorn: the OpenCL device '%s' has no double precision "
                             "(cl_khr_fp64), which the Sinkhorn solver needs", s->name)
                 : IE_CL_FAIL(ctx, "clCreateKernel", e);
  }
  const cl_long B = su->B, n = su->n, m = su->m, d = su->d, R = n > m ? n : m;
  w->B = B, w->n = n, w->m = m, w->d = d, w->metric = su->metric;
  cl_device_type type = CL_DEVICE_TYPE_GPU;
  TRY("clGetDeviceInfo", clGetDeviceInfo(s->device, CL_DEVICE_TYPE, sizeof type, &type, NULL));
  w->lanes = type & CL_DEVICE_TYPE_CPU ? 1 : SK_LANES;
  w->x_bs = su->x_bstride, w->y_bs = su->y_bstride;
  *bad = -1;
  CK(inputs(ctx, w, su, found));
  if (found->wbad[0] >= 0 || found->wbad[1] >= 0 || found->xbad >= 0 || found->ybad >= 0) return IE_OK;
  const size_t D = sizeof(double);
  const double zero = 0;
  const uint8_t one = 1;
  CK(mk(ctx, w, &w->pot[0], (size_t)(B * n) * D, NULL));
  CK(fill(ctx, w, w->pot[0], &zero, sizeof zero, (size_t)(B * n) * D));
  CK(mk(ctx, w, &w->active, (size_t)B, NULL));
  CK(fill(ctx, w, w->active, &one, 1, (size_t)B));
  CK(mk(ctx, w, &w->pot[1], (size_t)(B * m) * D, NULL));
  CK(mk(ctx, w, &w->fsave, (size_t)(B * n) * D, NULL));
  CK(mk(ctx, w, &w->rowt, (size_t)(B * R) * IE_SK_TERMS * D, NULL));
  CK(mk(ctx, w, &w->pterm, (size_t)(2 * B) * IE_SK_TERMS * D, NULL)); /* side 0, then side 1 */
  CK(mk(ctx, w, &w->iters, (size_t)(B + 1) * sizeof(cl_long), NULL));
  const cl_long running = -1;
  CK(fill(ctx, w, w->iters, &running, sizeof running, (size_t)(B + 1) * sizeof(cl_long)));
  CK(mk(ctx, w, &w->mask, (size_t)B, NULL));
  CK(mk(ctx, w, &w->dummy, 8, NULL));
  cl_long tot = B * m;
  ARG(w->k[K_INIT_G], 0, w->pot[1]);
  ARG(w->k[K_INIT_G], 1, w->lw[1]);
  ARG(w->k[K_INIT_G], 2, tot);
  CK(run1(ctx, w, K_INIT_G, tot));
  if (su->single && w->x) {
    /* float32 copies of the points for sk_pass_f32 (exact: f32, f16, bf16 in) */
    w->tile = SK_TILE_FLOATS / (d + 1);
    if (w->tile > SK_TILE_COLS) w->tile = SK_TILE_COLS;
    if (w->tile >= 1) {
      const cl_long rows[2] = {su->px->rows, su->py->rows};
      cl_mem *dst[2] = {&w->xf, &w->yf}, src[2] = {w->x, w->y};
      for (int k = 0; k < 2; k++) {
        const cl_long total = rows[k] * d;
        CK(mk(ctx, w, dst[k], (size_t)total * sizeof(float), NULL));
        ARG(w->k[K_NARROW], 0, src[k]);
        ARG(w->k[K_NARROW], 1, total);
        ARG(w->k[K_NARROW], 2, *dst[k]);
        CK(run1(ctx, w, K_NARROW, total));
      }
    } /* else d too large for a tile of one column: the double pass */
  }

  cl_long Bc = 0;
  if (su->cost) Bc = su->cost_bstride ? B : 1;
  else if (su->materialize) Bc = (su->x_bstride || su->y_bstride) ? B : 1;
  w->Bc = Bc;
  if (!Bc) return IE_OK;
  w->c_bs = Bc > 1 ? n * m : 0;
  CK(mk(ctx, w, &w->C, (size_t)(Bc * n * m) * D, NULL));
  CK(mk(ctx, w, &w->CT, (size_t)(Bc * n * m) * D, NULL));
  const cl_long total = Bc * n * m;
  if (su->cost) {
    const ie_mat *cm = su->cost;
    cl_mem src = (cl_mem)cm->buf;
    cl_ulong off = cm->offset;
    cl_int dt = (cl_int)cm->dtype;
    cl_long stride = cm->stride, rows = Bc * n;
    CK(mk(ctx, w, &w->bad, (size_t)rows * sizeof(cl_long), NULL));
    cl_kernel k = w->k[K_CONVERT];
    ARG(k, 0, src);
    ARG(k, 1, off);
    ARG(k, 2, dt);
    ARG(k, 3, stride);
    ARG(k, 4, rows);
    ARG(k, 5, m);
    const cl_long bad_off = 0;
    ARG(k, 6, w->C);
    ARG(k, 7, w->bad);
    ARG(k, 8, bad_off);
    CK(run_groups(ctx, w, K_CONVERT, rows));
  } else {
    cl_kernel k = w->k[K_BUILD];
    ARG(k, 0, w->x);
    ARG(k, 1, w->y);
    ARG(k, 2, w->x_bs);
    ARG(k, 3, w->y_bs);
    ARG(k, 4, Bc);
    ARG(k, 5, n);
    ARG(k, 6, m);
    ARG(k, 7, d);
    ARG(k, 8, w->metric);
    ARG(k, 9, w->C);
    CK(run1(ctx, w, K_BUILD, total));
  }
  cl_kernel kt = w->k[K_TRANSPOSE];
  ARG(kt, 0, w->C);
  ARG(kt, 1, Bc);
  ARG(kt, 2, n);
  ARG(kt, 3, m);
  ARG(kt, 4, w->CT);
  CK(run1(ctx, w, K_TRANSPOSE, total));
  if (su->cost) {
    cl_long nm = n * m;
    CK(mk(ctx, w, &w->cmax, (size_t)Bc * D, NULL));
    cl_kernel k = w->k[K_ABSMAX];
    ARG(k, 0, w->C);
    ARG(k, 1, Bc);
    ARG(k, 2, nm);
    ARG(k, 3, w->cmax);
    CK(run_groups(ctx, w, K_ABSMAX, Bc));
    TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(s->queue, w->cmax, CL_TRUE, 0, (size_t)Bc * D, cmax, 0, NULL, NULL));
    ie__ws_copied(ctx, 0, (size_t)Bc * D);
    /* sk_absmax's max |C| is NaN or inf exactly when an element is: only
     * then are the rows' bad columns read, to name the first. */
    int finite = 1;
    for (cl_long p = 0; p < Bc; p++) finite &= isfinite(cmax[p]) != 0;
    if (!finite) {
      cl_long *rb = malloc((size_t)(Bc * n) * sizeof *rb);
      if (!rb) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory");
      cl_int e = clEnqueueReadBuffer(s->queue, w->bad, CL_TRUE, 0, (size_t)(Bc * n) * sizeof *rb, rb, 0, NULL, NULL);
      ie__ws_copied(ctx, 0, (size_t)(Bc * n) * sizeof *rb);
      for (cl_long r = 0; e == CL_SUCCESS && r < Bc * n; r++)
        if (rb[r] >= 0) {
          *bad = r * m + rb[r];
          break;
        }
      free(rb);
      if (e != CL_SUCCESS) return IE_CL_FAIL(ctx, "clEnqueueReadBuffer", e);
    }
  }
  TRY("clFinish", clFinish(s->queue));
  return IE_OK;
}

static ie_status ocl_sk_begin(ie_context *ctx, const ie_sk_setup *su, void **wsv, double *cmax, int64_t *bad,
                              ie_sk_found *found) {
  ocl_sk *w = calloc(1, sizeof *w);
  if (!w) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the workspace");
  w->s = (ie_ocl *)ctx->state;
  ie_status st = begin_impl(ctx, w, su, cmax, bad, found);
  if (st != IE_OK) {
    ocl_sk_end(ctx, w);
    return st;
  }
  *wsv = w;
  return IE_OK;
}

static ie_status ocl_sk_set_active(ie_context *ctx, void *wsv, const uint8_t *mask) {
  ocl_sk *w = wsv;
  TRY("clEnqueueWriteBuffer",
      clEnqueueWriteBuffer(w->s->queue, w->active, CL_TRUE, 0, (size_t)w->B, mask, 0, NULL, NULL));
  ie__ws_copied(ctx, 1, (size_t)w->B);
  return IE_OK;
}

/* sk_pass_f32 over every problem's rows on this side: a group's rows are
 * one problem's. */
static ie_status pass_f32(ie_context *ctx, ocl_sk *w, int side, int mode, double eps, double tau, cl_long R,
                          cl_long K) {
  cl_kernel k = w->k[K_PASS_F32];
  cl_int cmode = mode, use_save = side == 0;
  cl_double ce = eps, ct = tau;
  cl_mem rp = side ? w->yf : w->xf, cp = side ? w->xf : w->yf;
  cl_long rp_bs = side ? w->y_bs : w->x_bs, cp_bs = side ? w->x_bs : w->y_bs;
  ARG(k, 0, w->B);
  ARG(k, 1, R);
  ARG(k, 2, K);
  ARG(k, 3, w->d);
  ARG(k, 4, w->metric);
  ARG(k, 5, cmode);
  ARG(k, 6, ce);
  ARG(k, 7, ct);
  ARG(k, 8, rp);
  ARG(k, 9, cp);
  ARG(k, 10, rp_bs);
  ARG(k, 11, cp_bs);
  ARG(k, 12, w->pot[side ^ 1]);
  ARG(k, 13, w->pot[side]);
  ARG(k, 14, w->lw[side]);
  ARG(k, 15, use_save);
  ARG(k, 16, w->fsave);
  ARG(k, 17, w->rowt);
  ARG(k, 18, w->active);
  ARG(k, 19, w->lanes);
  ARG(k, 20, w->tile);
  const int64_t rows_per_group = SK_NT / w->lanes;
  size_t l = SK_NT, g = (size_t)(w->B * ((R + rows_per_group - 1) / rows_per_group)) * SK_NT;
  TRY("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(w->s->queue, k, 1, NULL, &g, &l, 0, NULL, NULL));
  return IE_OK;
}

static ie_status ocl_sk_pass(ie_context *ctx, void *wsv, int side, int mode, double eps, double tau,
                             double *terms) {
  ocl_sk *w = wsv;
  cl_kernel k = w->k[w->C ? K_PASS_MAT : K_PASS_PTS];
  cl_long R = side ? w->m : w->n, K = side ? w->n : w->m;
  cl_int cmode = mode, use_save = side == 0;
  cl_double ce = eps, ct = tau;
  cl_mem mat = w->C ? (side ? w->CT : w->C) : w->dummy;
  cl_mem rp = w->x ? (side ? w->y : w->x) : w->dummy, cp = w->x ? (side ? w->x : w->y) : w->dummy;
  cl_long rp_bs = side ? w->y_bs : w->x_bs, cp_bs = side ? w->x_bs : w->y_bs;
  ARG(k, 0, w->B);
  ARG(k, 1, R);
  ARG(k, 2, K);
  ARG(k, 3, w->d);
  ARG(k, 4, w->metric);
  ARG(k, 5, cmode);
  ARG(k, 6, ce);
  ARG(k, 7, ct);
  ARG(k, 8, mat);
  ARG(k, 9, w->c_bs);
  ARG(k, 10, rp);
  ARG(k, 11, cp);
  ARG(k, 12, rp_bs);
  ARG(k, 13, cp_bs);
  ARG(k, 14, w->pot[side ^ 1]);
  ARG(k, 15, w->pot[side]);
  ARG(k, 16, w->lw[side]);
  ARG(k, 17, use_save);
  ARG(k, 18, w->fsave);
  ARG(k, 19, w->rowt);
  ARG(k, 20, w->active);
  ARG(k, 21, w->lanes);
  if (w->xf && mode != IE_SK_MEASURE) {
    CK(pass_f32(ctx, w, side, mode, eps, tau, R, K)); /* the results are measured in double */
  } else {
    /* SK_NT / lanes rows a group; no grid-stride loop in a pass, so every row its lanes */
    const int64_t rows_per_group = SK_NT / w->lanes;
    size_t l = SK_NT, g = (size_t)((w->B * R + rows_per_group - 1) / rows_per_group) * SK_NT;
    TRY("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(w->s->queue, k, 1, NULL, &g, &l, 0, NULL, NULL));
  }
  if (mode == IE_SK_UPDATE) return IE_OK;
  cl_int all = mode == IE_SK_MEASURE;
  cl_long pt_off = side * w->B * IE_SK_TERMS;
  cl_kernel kr = w->k[K_REDUCE];
  ARG(kr, 0, w->rowt);
  ARG(kr, 1, w->B);
  ARG(kr, 2, R);
  ARG(kr, 3, all);
  ARG(kr, 4, w->active);
  ARG(kr, 5, w->pterm);
  ARG(kr, 6, pt_off);
  CK(run_groups(ctx, w, K_REDUCE, w->B));
  if (!terms) return IE_OK; /* a CHECK kept for ocl_sk_decide */
  TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(w->s->queue, w->pterm, CL_TRUE, (size_t)pt_off * sizeof(double),
                                                 (size_t)w->B * IE_SK_TERMS * sizeof(double), terms, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, (size_t)w->B * IE_SK_TERMS * sizeof(double));
  return IE_OK;
}

static ie_status ocl_sk_restore(ie_context *ctx, void *wsv, const uint8_t *mask) {
  ocl_sk *w = wsv;
  TRY("clEnqueueWriteBuffer", clEnqueueWriteBuffer(w->s->queue, w->mask, CL_TRUE, 0, (size_t)w->B, mask, 0, NULL, NULL));
  ie__ws_copied(ctx, 1, (size_t)w->B);
  cl_long total = w->B * w->n;
  cl_kernel k = w->k[K_RESTORE];
  ARG(k, 0, w->pot[0]);
  ARG(k, 1, w->fsave);
  ARG(k, 2, w->mask);
  ARG(k, 3, total);
  ARG(k, 4, w->n);
  CK(run1(ctx, w, K_RESTORE, total));
  TRY("clFinish", clFinish(w->s->queue));
  return IE_OK;
}

/* sk_decide over the problems, then sk_left; one word comes back. */
static ie_status ocl_sk_decide(ie_context *ctx, void *wsv, double tol, int balanced, int64_t it, int64_t *left) {
  ocl_sk *w = wsv;
  cl_double ctol = tol;
  cl_int cbal = balanced;
  cl_long cit = it, at = w->B;
  cl_kernel k = w->k[K_DECIDE];
  ARG(k, 0, w->pterm);
  ARG(k, 1, w->B);
  ARG(k, 2, w->n);
  ARG(k, 3, ctol);
  ARG(k, 4, cbal);
  ARG(k, 5, cit);
  ARG(k, 6, w->pot[0]);
  ARG(k, 7, w->fsave);
  ARG(k, 8, w->active);
  ARG(k, 9, w->iters);
  CK(run_groups(ctx, w, K_DECIDE, w->B));
  cl_kernel kl = w->k[K_LEFT];
  ARG(kl, 0, w->active);
  ARG(kl, 1, w->B);
  ARG(kl, 2, w->iters);
  ARG(kl, 3, at);
  CK(run_groups(ctx, w, K_LEFT, 1));
  cl_long l = 0;
  TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(w->s->queue, w->iters, CL_TRUE, (size_t)at * sizeof l, sizeof l,
                                                 &l, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, sizeof l);
  *left = l;
  return IE_OK;
}

static ie_status ocl_sk_stopped(ie_context *ctx, void *wsv, int64_t *iters) {
  ocl_sk *w = wsv;
  const size_t bytes = (size_t)w->B * sizeof *iters;
  _Static_assert(sizeof(cl_long) == sizeof(int64_t), "iteration counts are int64");
  TRY("clEnqueueReadBuffer", clEnqueueReadBuffer(w->s->queue, w->iters, CL_TRUE, 0, bytes, iters, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, bytes);
  return IE_OK;
}

static ie_status ocl_sk_potential(ie_context *ctx, void *wsv, int side, const ie_mat *out) {
  ocl_sk *w = wsv;
  cl_kernel k = w->k[K_EMIT];
  cl_long N = side ? w->m : w->n, stride = out->stride;
  cl_mem ob = (cl_mem)out->buf;
  cl_ulong off = out->offset;
  cl_int f64 = out->dtype == IE_DT_F64;
  ARG(k, 0, w->pot[side]);
  ARG(k, 1, w->B);
  ARG(k, 2, N);
  ARG(k, 3, ob);
  ARG(k, 4, off);
  ARG(k, 5, f64);
  ARG(k, 6, stride);
  CK(run1(ctx, w, K_EMIT, w->B * N));
  return IE_OK;
}

static ie_status ocl_sk_plan(ie_context *ctx, void *wsv, double eps, const ie_mat *out) {
  ocl_sk *w = wsv;
  cl_kernel k = w->k[K_PLAN];
  cl_int use_mat = w->C != NULL, f64 = out->dtype == IE_DT_F64;
  cl_mem C = w->C ? w->C : w->dummy, x = w->x ? w->x : w->dummy, y = w->y ? w->y : w->dummy;
  cl_mem ob = (cl_mem)out->buf;
  cl_ulong off = out->offset;
  cl_long stride = out->stride;
  cl_double ce = eps;
  ARG(k, 0, w->B);
  ARG(k, 1, w->n);
  ARG(k, 2, w->m);
  ARG(k, 3, w->d);
  ARG(k, 4, w->metric);
  ARG(k, 5, use_mat);
  ARG(k, 6, C);
  ARG(k, 7, w->c_bs);
  ARG(k, 8, x);
  ARG(k, 9, y);
  ARG(k, 10, w->x_bs);
  ARG(k, 11, w->y_bs);
  ARG(k, 12, w->pot[0]);
  ARG(k, 13, w->pot[1]);
  ARG(k, 14, ce);
  ARG(k, 15, ob);
  ARG(k, 16, off);
  ARG(k, 17, f64);
  ARG(k, 18, stride);
  CK(run1(ctx, w, K_PLAN, w->B * w->n * w->m));
  TRY("clFinish", clFinish(w->s->queue));
  return IE_OK;
}

const ie_sk_ops ie__opencl_sk_ops = {
    .begin = ocl_sk_begin,
    .set_active = ocl_sk_set_active,
    .pass = ocl_sk_pass,
    .restore = ocl_sk_restore,
    .potential = ocl_sk_potential,
    .plan = ocl_sk_plan,
    .end = ocl_sk_end,
    .device_inputs = 1,
    .decide = ocl_sk_decide,
    .stopped = ocl_sk_stopped,
    .single_tiles = 1,
};
