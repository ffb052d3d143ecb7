/*
 * ocl_rows.c — host side of the row kernels on OpenCL: scratch, arguments
 * and launches of src/kernels/rows.cl (the kernels and the geometry,
 * src/kernels/rows_plan.h, are shared with the CUDA backend).
 *
 * Every row op is: pass 1 (one read, a partial state per (row, chunk)),
 * then either rows_finish (one-pass values), or rows_stats, the second read
 * rows_p2 and rows_finish_terms (kinds that need normalised terms), or
 * rows_stats and rows_softmax_out (softmax).  Values and errors are written
 * on the device and read back into the caller's arrays, or (the
 * device-resident forms) handed batch by batch to rows_outcome, which writes
 * the caller's per_row and reduces errors and summary sums into the
 * outcome; only the outcome is read back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../kernels/rows_plan.h"
#include "../kernels/rows_outcome.h"

/* ---- Kernel arguments and launches ---------------------------------------------- */

typedef struct {
  size_t n;
  const void *p;
} karg;
#define KA(T, v) ((karg){sizeof(T), &(T){v}})
#define KMEM(m) ((karg){sizeof(cl_mem), &(cl_mem){(cl_mem)(m)}})
#define NARGS(a) ((int)(sizeof(a) / sizeof(a)[0]))

static ie_status set_args(ie_context *ctx, cl_kernel k, const karg *a, int n) {
  for (int i = 0; i < n; i++)
    IE_CL_TRY(ctx, "clSetKernelArg", clSetKernelArg(k, (cl_uint)i, a[i].n, a[i].p));
  return IE_OK;
}

/* Set the arguments of kernel k and enqueue it over `teams` teams of W. */
static ie_status launch_teams(ie_context *ctx, ie_ocl *s, int k, const karg *a, int n,
                              size_t teams, cl_uint W) {
  ie_status r = set_args(ctx, s->k[k], a, n);
  if (r != IE_OK) return r;
  size_t local = s->wg, global = rows_groups(s->wg, W, teams, s->max_groups) * s->wg;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(s->queue, s->k[k], 1, NULL, &global, &local, 0, NULL, NULL));
  return IE_OK;
}

/* Set the arguments of kernel k and enqueue it with one work-item a row. */
static ie_status launch_rows(ie_context *ctx, ie_ocl *s, int k, const karg *a, int n,
                             int64_t nb) {
  ie_status r = set_args(ctx, s->k[k], a, n);
  if (r != IE_OK) return r;
  size_t global = ((size_t)nb + 63) / 64 * 64;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(s->queue, s->k[k], 1, NULL, &global, NULL, 0, NULL, NULL));
  return IE_OK;
}

/* The row kernels finish every row in double. */
static ie_status begin(ie_context *ctx, ie_ocl **s) {
  *s = ctx->state;
  if (!(*s)->fp64)
    return ie__error(ctx, IE_UNSUPPORTED,
                     "opencl: this device has no cl_khr_fp64; the row kernels merge and finish "
                     "rows in double");
  return ie__ocl_build(ctx, *s);
}

/* Arguments that say where rows [r0, ..) of a matrix are. */
#define MAT_ARGS(m, off, r0)                                                                 \
  KMEM((m)->buf), KA(cl_ulong, (off) + (cl_ulong)(r0) * (cl_ulong)(m)->stride),             \
      KA(cl_ulong, (cl_ulong)(m)->stride), KA(cl_int, (cl_int)(m)->dtype)
#define GEOM_ARGS(V, nb, g)                                                                  \
  KA(cl_ulong, (cl_ulong)(V)), KA(cl_uint, (cl_uint)(nb)), KA(cl_uint, (g).nchunks),        \
      KA(cl_ulong, (g).clen), KA(cl_uint, (g).W)

/* ---- rows ---------------------------------------------------------------------------- */

/* ---- The outcome of a device-resident call ------------------------------------------ */

/* Zero the outcome (before the first batch). */
static ie_status outcome_begin(ie_context *ctx, ie_ocl *s, const ie_rows_sink *k) {
  if (!s->k[IE_K_ROWS_OUTCOME])
    return ie__error(ctx, IE_UNSUPPORTED,
                     "opencl: this device has no cl_khr_int64_base_atomics (the row outcome is "
                     "reduced with 64-bit atomics)");
  const cl_ulong zero = 0;
  IE_CL_TRY(ctx, "clEnqueueFillBuffer",
            clEnqueueFillBuffer(s->queue, (cl_mem)k->outcome, &zero, sizeof zero,
                                k->outcome_offset, ROWS_OC_WORDS * sizeof(cl_ulong), 0, NULL,
                                NULL));
  return IE_OK;
}

/* A vector's start in elements and its dtype for rows_outcome (-1: none). */
static void sink_vec(const ie_vec *v, cl_ulong *off, int *dt) {
  *off = 0;
  *dt = -1;
  if (!v->buf) return;
  *off = (cl_ulong)(v->offset / ie__dtype_size(v->dtype));
  *dt = (int)v->dtype;
}

/* Rows [r0, r0 + nb) of the batch in dval/rerr into the outcome.  `lab`:
 * NLL's labels (ignore_index), else NULL. */
static ie_status outcome_batch(ie_context *ctx, ie_ocl *s, const ie_rows_sink *k, cl_mem dval,
                               cl_mem rerr, int64_t nb, int64_t r0, const ie_rowargs *a,
                               const ie_vec *lab, const rows_job *j) {
  cl_ulong proff, woff;
  int prdt, wdt;
  sink_vec(&k->per_row, &proff, &prdt);
  sink_vec(&k->weights, &woff, &wdt);
  const int ign = lab && a->has_ignore_index;
  karg o[] = {KMEM(dval), KMEM(rerr), KA(cl_uint, (cl_uint)nb), KA(cl_ulong, (cl_ulong)r0),
              KA(cl_int, dval != NULL), KA(cl_int, k->clamp), KA(cl_int, k->sums),
              KMEM(k->per_row.buf), KA(cl_ulong, proff), KA(cl_ulong, (cl_ulong)k->per_row.stride),
              KA(cl_int, prdt), KMEM(k->weights.buf), KA(cl_ulong, woff),
              KA(cl_ulong, (cl_ulong)k->weights.stride), KA(cl_int, wdt),
              KMEM(ign ? lab->buf : NULL), KA(cl_ulong, ign ? j->loff : 0),
              KA(cl_ulong, ign ? j->lstride : 0), KA(cl_int, ign ? j->lab64 : 0),
              KA(cl_int, ign), KA(cl_long, (cl_long)(a ? a->ignore_index : 0)),
              KMEM(k->outcome), KA(cl_ulong, (cl_ulong)k->outcome_offset)};
  return launch_rows(ctx, s, IE_K_ROWS_OUTCOME, o, NARGS(o), nb);
}

/* The one read of the call: the outcome, to the host. */
static ie_status outcome_end(ie_context *ctx, ie_ocl *s, const ie_rows_sink *k) {
  const size_t bytes = ROWS_OC_WORDS * sizeof(cl_ulong);
  IE_CL_TRY(ctx, "clEnqueueReadBuffer",
            clEnqueueReadBuffer(s->queue, (cl_mem)k->outcome, k->blocking ? CL_TRUE : CL_FALSE,
                                k->outcome_offset, bytes, k->host, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, bytes);
  if (!k->blocking) IE_CL_TRY(ctx, "clFlush", clFlush(s->queue));
  return IE_OK;
}

/* One value a row into val/err (host), or with `sink` into the outcome. */
static ie_status rows_run(ie_context *ctx, const ie_rowargs *a, const ie_mat *x, const ie_mat *y,
                          const ie_vec *labels, double *val, ie_rowerr *err,
                          const ie_rows_sink *sink) {
  ie_ocl *s;
  ie_status r = begin(ctx, &s);
  if (r != IE_OK) return r;
  const int64_t rows = x->rows, V = x->cols;
  if (rows <= 0) return IE_OK;
  rows_job j;
  if ((r = rows_prepare(ctx, "opencl", a, x, y, labels, &j)) != IE_OK) return r;
  if (sink && (r = outcome_begin(ctx, s, sink)) != IE_OK) return r;
  const int value = j.value, mode = j.mode, terms = j.terms, two = mode == ROWS_STATE_PAIR;
  const cl_ulong xoff = j.xoff, yoff = j.yoff, loff = j.loff, lstride = j.lstride;
  const cl_int lab64 = j.lab64;
  static const int p1_kernel[] = {IE_K_ROWS_P1_LSE, IE_K_ROWS_P1_SHANNON, IE_K_ROWS_P1_POWER,
                                  IE_K_ROWS_P1_NLL, IE_K_ROWS_P1_PAIR};
  const int k1 = p1_kernel[mode];
  const size_t ks = two ? ROWS_PAIR_N : ROWS_ONE_N;
  const cl_float it = (cl_float)a->inv_temp, alpha = (cl_float)a->alpha;

  const rows_geom g = rows_geometry((int64_t)s->wg, V, rows);
  const size_t teams_max = (size_t)g.batch * g.nchunks;
  cl_mem part, perr, rs = NULL, rerr = NULL, part2 = NULL, dval;
  if ((r = ie__ocl_scratch(ctx, s, IE_S_PART, teams_max * ks * sizeof(float), &part)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_PERR, teams_max * sizeof(cl_int), &perr)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_RERR, (size_t)g.batch * sizeof(cl_int), &rerr)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_VAL, (size_t)g.batch * sizeof(double), &dval)) != IE_OK)
    return r;
  if (terms != ROWS_TERMS_NONE &&
      ((r = ie__ocl_scratch(ctx, s, IE_S_RS, (size_t)g.batch * ROWS_STATS_N * sizeof(double),
                            &rs)) != IE_OK ||
       (r = ie__ocl_scratch(ctx, s, IE_S_PART2, teams_max * ROWS_SUMS_N * sizeof(double),
                            &part2)) != IE_OK))
    return r;

  for (int64_t r0 = 0; r0 < rows; r0 += g.batch) {
    const int64_t nb = rows - r0 < g.batch ? rows - r0 : g.batch;
    const size_t teams = (size_t)nb * g.nchunks;
    if (!two) {
      karg p1[] = {MAT_ARGS(x, xoff, r0), KA(cl_int, a->input), KA(cl_float, it),
                   KA(cl_float, alpha), KA(cl_float, (cl_float)(a->alpha - 1)), GEOM_ARGS(V, nb, g),
                   KMEM(mode == ROWS_STATE_NLL ? labels->buf : NULL),
                   KA(cl_ulong, loff + (cl_ulong)r0 * lstride), KA(cl_ulong, lstride),
                   KA(cl_int, lab64), KA(cl_long, (cl_long)a->ignore_index),
                   KA(cl_int, a->has_ignore_index != 0), KMEM(part), KMEM(perr)};
      if ((r = launch_teams(ctx, s, k1, p1, NARGS(p1), teams, g.W)) != IE_OK) return r;
    } else {
      karg p1[] = {MAT_ARGS(x, xoff, r0), KA(cl_int, a->input), MAT_ARGS(y, yoff, r0),
                   KA(cl_int, a->q_input), KA(cl_float, it), GEOM_ARGS(V, nb, g),
                   KMEM(part), KMEM(perr)};
      if ((r = launch_teams(ctx, s, k1, p1, NARGS(p1), teams, g.W)) != IE_OK) return r;
    }
    if (terms == ROWS_TERMS_NONE) {
      karg f[] = {KMEM(part), KMEM(perr), KA(cl_uint, (cl_uint)nb), KA(cl_uint, g.nchunks),
                  KA(cl_int, mode), KA(cl_int, value), KA(cl_double, a->inv_temp),
                  KA(cl_double, a->alpha), KMEM(dval), KMEM(rerr)};
      if ((r = launch_rows(ctx, s, IE_K_ROWS_FINISH, f, NARGS(f), nb)) != IE_OK) return r;
    } else {
      const double beta = a->beta;
      karg st[] = {KMEM(part), KMEM(perr), KA(cl_uint, (cl_uint)nb), KA(cl_uint, g.nchunks),
                   KA(cl_int, 1), KA(cl_double, a->inv_temp), KMEM(rs), KMEM(rerr)};
      karg p2[] = {MAT_ARGS(x, xoff, r0), KA(cl_int, a->input), MAT_ARGS(y, yoff, r0),
                   KA(cl_int, a->q_input), KA(cl_float, it), GEOM_ARGS(V, nb, g), KMEM(rs),
                   KMEM(rerr), KA(cl_int, terms), KA(cl_double, a->inv_temp),
                   KA(cl_double, a->alpha), KA(cl_float, (cl_float)beta),
                   KA(cl_float, (cl_float)log(beta)), KA(cl_float, (cl_float)log1p(-beta)),
                   KMEM(part2)};
      karg f[] = {KMEM(part2), KMEM(rs), KMEM(rerr), KA(cl_uint, (cl_uint)nb),
                  KA(cl_uint, g.nchunks), KA(cl_int, terms), KA(cl_int, value),
                  KA(cl_double, a->inv_temp), KA(cl_double, a->alpha), KMEM(dval), KMEM(rerr)};
      if ((r = launch_rows(ctx, s, IE_K_ROWS_STATS, st, NARGS(st), nb)) != IE_OK ||
          (r = launch_teams(ctx, s, IE_K_ROWS_P2, p2, NARGS(p2), teams, g.W)) != IE_OK ||
          (r = launch_rows(ctx, s, IE_K_ROWS_FINISH_TERMS, f, NARGS(f), nb)) != IE_OK)
        return r;
    }
    if (sink) {
      if ((r = outcome_batch(ctx, s, sink, dval, rerr, nb, r0, a,
                             mode == ROWS_STATE_NLL ? labels : NULL, &j)) != IE_OK)
        return r;
      continue;
    }
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, rerr, CL_FALSE, 0, (size_t)nb * sizeof(cl_int),
                                  err + r0, 0, NULL, NULL));
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, dval, CL_TRUE, 0, (size_t)nb * sizeof(double),
                                  val + r0, 0, NULL, NULL));
    ie__ws_copied(ctx, 0, (size_t)nb * sizeof(cl_int));
    ie__ws_copied(ctx, 0, (size_t)nb * sizeof(double));
  }
  return sink ? outcome_end(ctx, s, sink) : IE_OK;
}

ie_status ie__ocl_rows(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  return rows_run(ctx, a, x, y, labels, val, err, NULL);
}

ie_status ie__ocl_rows_device(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                              const ie_mat *y, const ie_vec *labels, const ie_rows_sink *sink) {
  return rows_run(ctx, a, x, y, labels, NULL, NULL, sink);
}

/* ---- softmax ------------------------------------------------------------------------- */

static ie_status softmax_run(ie_context *ctx, const ie_mat *x, const ie_mat *out, int log_out,
                             double inv_temp, ie_rowerr *err, const ie_rows_sink *sink) {
  ie_ocl *s;
  ie_status r = begin(ctx, &s);
  if (r != IE_OK) return r;
  const int64_t rows = x->rows, V = x->cols;
  if (rows <= 0) return IE_OK;
  uint64_t xoff = 0, ooff = 0;
  if ((r = rows_mat_offset(ctx, "opencl", x, "logits", &xoff)) != IE_OK ||
      (r = rows_mat_offset(ctx, "opencl", out, "out", &ooff)) != IE_OK)
    return r;
  if (sink && (r = outcome_begin(ctx, s, sink)) != IE_OK) return r;
  const rows_geom g = rows_geometry((int64_t)s->wg, V, rows);
  const size_t teams_max = (size_t)g.batch * g.nchunks;
  cl_mem part, perr, rs, rerr;
  if ((r = ie__ocl_scratch(ctx, s, IE_S_PART, teams_max * ROWS_ONE_N * sizeof(float), &part)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_PERR, teams_max * sizeof(cl_int), &perr)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_RS, (size_t)g.batch * ROWS_STATS_N * sizeof(double),
                           &rs)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_RERR, (size_t)g.batch * sizeof(cl_int), &rerr)) != IE_OK)
    return r;
  const cl_float it = (cl_float)inv_temp;
  for (int64_t r0 = 0; r0 < rows; r0 += g.batch) {
    const int64_t nb = rows - r0 < g.batch ? rows - r0 : g.batch;
    const size_t teams = (size_t)nb * g.nchunks;
    karg p1[] = {MAT_ARGS(x, xoff, r0), KA(cl_int, IE_INPUT_LOGITS), KA(cl_float, it),
                 KA(cl_float, 0.0f), KA(cl_float, -1.0f), GEOM_ARGS(V, nb, g), KMEM(NULL),
                 KA(cl_ulong, 0), KA(cl_ulong, 0), KA(cl_int, 0), KA(cl_long, 0), KA(cl_int, 0),
                 KMEM(part), KMEM(perr)};
    karg st[] = {KMEM(part), KMEM(perr), KA(cl_uint, (cl_uint)nb), KA(cl_uint, g.nchunks),
                 KA(cl_int, 0), KA(cl_double, inv_temp), KMEM(rs), KMEM(rerr)};
    karg p2[] = {MAT_ARGS(x, xoff, r0), KA(cl_float, it), MAT_ARGS(out, ooff, r0),
                 KA(cl_int, log_out != 0), GEOM_ARGS(V, nb, g), KMEM(rs), KMEM(rerr)};
    if ((r = launch_teams(ctx, s, IE_K_ROWS_P1_LSE, p1, NARGS(p1), teams, g.W)) != IE_OK ||
        (r = launch_rows(ctx, s, IE_K_ROWS_STATS, st, NARGS(st), nb)) != IE_OK ||
        (r = launch_teams(ctx, s, IE_K_ROWS_SOFTMAX_OUT, p2, NARGS(p2), teams, g.W)) != IE_OK)
      return r;
    if (sink) {
      if ((r = outcome_batch(ctx, s, sink, NULL, rerr, nb, r0, NULL, NULL, NULL)) != IE_OK)
        return r;
      continue;
    }
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, rerr, CL_TRUE, 0, (size_t)nb * sizeof(cl_int),
                                  err + r0, 0, NULL, NULL));
    ie__ws_copied(ctx, 0, (size_t)nb * sizeof(cl_int));
  }
  return sink ? outcome_end(ctx, s, sink) : IE_OK;
}

ie_status ie__ocl_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err) {
  return softmax_run(ctx, x, out, log_out, inv_temp, err, NULL);
}

ie_status ie__ocl_softmax_device(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                                 int log_out, double inv_temp, const ie_rows_sink *sink) {
  return softmax_run(ctx, x, out, log_out, inv_temp, NULL, sink);
}

/* ---- fill_nan ---------------------------------------------------------------------- */

ie_status ie__ocl_fill_nan(ie_context *ctx, const ie_mat *m) {
  ie_ocl *s = ctx->state;
  if (m->rows <= 0 || m->cols <= 0) return IE_OK;
  const size_t es = ie__dtype_size(m->dtype);
  const cl_uchar ones = 0xFF;
  if (m->stride == m->cols || m->rows == 1) {
    IE_CL_TRY(ctx, "clEnqueueFillBuffer",
              clEnqueueFillBuffer(s->queue, (cl_mem)m->buf, &ones, 1, m->offset,
                                  (size_t)m->rows * (size_t)m->cols * es, 0, NULL, NULL));
  } else {
    ie_status r = ie__ocl_build(ctx, s);
    if (r != IE_OK) return r;
    karg a[] = {KMEM(m->buf), KA(cl_ulong, (cl_ulong)m->offset),
                KA(cl_ulong, (cl_ulong)m->cols * es), KA(cl_ulong, (cl_ulong)m->stride * es),
                KA(cl_ulong, (cl_ulong)m->rows)};
    if ((r = set_args(ctx, s->k[IE_K_ROWS_FILL_ONES], a, NARGS(a))) != IE_OK) return r;
    size_t global = 256 * 64, local = 64;
    IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
              clEnqueueNDRangeKernel(s->queue, s->k[IE_K_ROWS_FILL_ONES], 1, NULL, &global, &local,
                                     0, NULL, NULL));
  }
  IE_CL_TRY(ctx, "clFinish", clFinish(s->queue));
  return IE_OK;
}
