/*
 * rows.cu — the row family on CUDA: logsumexp, softmax / log-softmax,
 * entropies, NLL and every divergence.  The kernels are the shared source
 * src/kernels/rows.cl (compiled here as CUDA C++); this file carves the
 * scratch, launches them on the context's stream in the order of
 * src/opencl/ocl_rows.c (same kernels, same geometry from rows_plan.h), and
 * copies values and errors back, or (the device-resident forms) reduces them
 * with rows_outcome into the outcome and copies only that back.
 *
 * Launches: 256 threads a block (ROWS_WG_MAX, the size the kernels' static
 * shared arrays are made for: at most 12 KiB, rows_p2), at most 65536
 * blocks a team kernel (blocks loop over teams beyond), one thread a row
 * for the finish kernels (at most ROWS_TEAMS rows a batch: 1024 blocks).
 */
#include <math.h>
#include <string.h>

#include "cu_internal.h"
#include "../kernels/rows.cl"
#include "../kernels/rows_plan.h"

enum { WG = ROWS_WG_MAX, MAX_GROUPS = 65536 };

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

/* Blocks for `teams` teams of W threads, and for one thread a row. */
static unsigned team_blocks(uint32_t W, size_t teams)
{
  return (unsigned)rows_groups(WG, W, teams, MAX_GROUPS);
}
static unsigned row_blocks(int64_t nb) { return (unsigned)((nb + WG - 1) / WG); }

/* Device scratch of one batch: chunk states and errors, row values, errors
 * and statistics, pass-2 sums. */
typedef struct {
  float *part;
  ie_i32 *perr, *rerr;
  double *val, *rs, *part2;
} scratch;

static ie_status get_scratch(ie_context *ctx, const rows_geom &g, size_t ks, scratch *sc)
{
  const size_t teams = (size_t)g.batch * g.nchunks, nb = (size_t)g.batch;
  const size_t o_perr = align256(teams * ks * sizeof(float));
  const size_t o_rerr = o_perr + align256(teams * sizeof(ie_i32));
  const size_t o_val = o_rerr + align256(nb * sizeof(ie_i32));
  const size_t o_rs = o_val + align256(nb * sizeof(double));
  const size_t o_part2 = o_rs + align256(nb * ROWS_STATS_N * sizeof(double));
  const size_t total = o_part2 + align256(teams * ROWS_SUMS_N * sizeof(double));
  void *p = NULL;
  ie_status rc = ie__cu_scratch(ctx, total, &p);
  if (rc != IE_OK)
    return rc;
  char *b = (char *)p;
  sc->part = (float *)b;
  sc->perr = (ie_i32 *)(b + o_perr);
  sc->rerr = (ie_i32 *)(b + o_rerr);
  sc->val = (double *)(b + o_val);
  sc->rs = (double *)(b + o_rs);
  sc->part2 = (double *)(b + o_part2);
  return IE_OK;
}

/* ---- The outcome of a device-resident call (as src/opencl/ocl_rows.c) ---------- */

static ie_status outcome_begin(ie_context *ctx, const ie_rows_sink *k, cudaStream_t s)
{
  IE_CU(ctx, cudaMemsetAsync((char *)k->outcome + k->outcome_offset, 0,
                             ROWS_OC_WORDS * sizeof(ie_u64), s));
  return IE_OK;
}

static void sink_vec(const ie_vec *v, uint64_t *off, int *dt)
{
  *off = 0;
  *dt = -1;
  if (!v->buf)
    return;
  *off = (uint64_t)(v->offset / ie__dtype_size(v->dtype));
  *dt = (int)v->dtype;
}

static ie_status outcome_batch(ie_context *ctx, const ie_rows_sink *k, const double *val,
                               const ie_i32 *rerr, int64_t nb, int64_t r0, const ie_rowargs *a,
                               const ie_vec *lab, const rows_job *j, cudaStream_t s)
{
  uint64_t proff, woff;
  int prdt, wdt;
  sink_vec(&k->per_row, &proff, &prdt);
  sink_vec(&k->weights, &woff, &wdt);
  const int ign = lab && a->has_ignore_index;
  rows_outcome<<<row_blocks(nb), WG, 0, s>>>(
      val, rerr, (ie_u32)nb, (ie_u64)r0, val != NULL, k->clamp, k->sums, (ie_u8 *)k->per_row.buf,
      proff, (ie_u64)k->per_row.stride, prdt, (const ie_u8 *)k->weights.buf, woff,
      (ie_u64)k->weights.stride, wdt, ign ? (const ie_i32 *)lab->buf : NULL, ign ? j->loff : 0,
      ign ? j->lstride : 0, ign ? j->lab64 : 0, ign, (ie_i64)(a ? a->ignore_index : 0),
      (ie_u8 *)k->outcome, (ie_u64)k->outcome_offset);
  IE_CU_LAUNCHED(ctx, "rows_outcome");
  return IE_OK;
}

/* The one copy of the call: the outcome, to the (page-locked) host slot. */
static ie_status outcome_end(ie_context *ctx, const ie_rows_sink *k, cudaStream_t s)
{
  const size_t bytes = ROWS_OC_WORDS * sizeof(ie_u64);
  IE_CU(ctx, cudaMemcpyAsync(k->host, (const char *)k->outcome + k->outcome_offset, bytes,
                             cudaMemcpyDeviceToHost, s));
  ie__ws_copied(ctx, 0, bytes);
  if (k->blocking)
    IE_CU(ctx, cudaStreamSynchronize(s));
  return IE_OK;
}

static ie_status rows_run(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                          const ie_mat *y, const ie_vec *labels, double *val,
                          ie_rowerr *err, const ie_rows_sink *sink)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  const int64_t rows = x->rows, V = x->cols;
  if (rows <= 0)
    return IE_OK;
  rows_job j;
  ie_status rc = rows_prepare(ctx, "cuda", a, x, y, labels, &j);
  if (rc != IE_OK)
    return rc;
  const int value = j.value, mode = j.mode, terms = j.terms;
  const bool two = mode == ROWS_STATE_PAIR;
  const uint64_t xoff = j.xoff, yoff = j.yoff, loff = j.loff, lstride = j.lstride;
  const int lab64 = j.lab64;
  const ie_i32 *lab = mode == ROWS_STATE_NLL ? (const ie_i32 *)labels->buf : NULL;
  IE_CU_ENTER(ctx, st);

  const rows_geom g = rows_geometry(WG, V, rows);
  scratch sc;
  if ((rc = get_scratch(ctx, g, two ? ROWS_PAIR_N : ROWS_ONE_N, &sc)) != IE_OK)
    return rc;
  const float it = (float)a->inv_temp, alpha = (float)a->alpha, am1 = (float)(a->alpha - 1);
  const double beta = a->beta;
  const ie_u8 *xb = (const ie_u8 *)x->buf, *yb = two ? (const ie_u8 *)y->buf : NULL;
  cudaStream_t s = st->stream;
  if (sink && (rc = outcome_begin(ctx, sink, s)) != IE_OK)
    return rc;

  for (int64_t r0 = 0; r0 < rows; r0 += g.batch) {
    const int64_t nb = rows - r0 < g.batch ? rows - r0 : g.batch;
    const uint32_t nr = (uint32_t)nb;
    const size_t teams = (size_t)nb * g.nchunks;
    const unsigned tb = team_blocks(g.W, teams), rb = row_blocks(nb);
    const uint64_t xo = xoff + (uint64_t)r0 * (uint64_t)x->stride;
    const uint64_t yo = two ? yoff + (uint64_t)r0 * (uint64_t)y->stride : 0;
    const uint64_t xs = (uint64_t)x->stride, ys = two ? (uint64_t)y->stride : 0;
    const int xdt = (int)x->dtype, ydt = two ? (int)y->dtype : 0;
    if (two) {
      rows_p1_pair<<<tb, WG, 0, s>>>(xb, xo, xs, xdt, a->input, yb, yo, ys, ydt, a->q_input, it,
                                     (uint64_t)V, nr, g.nchunks, g.clen, g.W, sc.part, sc.perr);
    } else {
      const uint64_t lo = loff + (uint64_t)r0 * lstride;
      const int hi = a->has_ignore_index != 0;
      const long long ign = (long long)a->ignore_index;
#define P1_ARGS                                                                              \
  xb, xo, xs, xdt, a->input, it, alpha, am1, (uint64_t)V, nr, g.nchunks, g.clen, g.W, lab, lo, \
      lstride, lab64, ign, hi, sc.part, sc.perr
      switch (mode) {
      case ROWS_STATE_SHANNON: rows_p1_shannon<<<tb, WG, 0, s>>>(P1_ARGS); break;
      case ROWS_STATE_POWER: rows_p1_power<<<tb, WG, 0, s>>>(P1_ARGS); break;
      case ROWS_STATE_NLL: rows_p1_nll<<<tb, WG, 0, s>>>(P1_ARGS); break;
      default: rows_p1_lse<<<tb, WG, 0, s>>>(P1_ARGS); break;
      }
#undef P1_ARGS
    }
    IE_CU_LAUNCHED(ctx, "rows_p1");
    if (terms == ROWS_TERMS_NONE) {
      rows_finish<<<rb, WG, 0, s>>>(sc.part, sc.perr, nr, g.nchunks, mode, value, a->inv_temp,
                                    a->alpha, sc.val, sc.rerr);
      IE_CU_LAUNCHED(ctx, "rows_finish");
    } else {
      rows_stats<<<rb, WG, 0, s>>>(sc.part, sc.perr, nr, g.nchunks, 1, a->inv_temp, sc.rs,
                                   sc.rerr);
      IE_CU_LAUNCHED(ctx, "rows_stats");
      rows_p2<<<tb, WG, 0, s>>>(xb, xo, xs, xdt, a->input, yb, yo, ys, ydt, a->q_input, it,
                                (uint64_t)V, nr, g.nchunks, g.clen, g.W, sc.rs, sc.rerr, terms,
                                a->inv_temp, a->alpha, (float)beta, (float)log(beta),
                                (float)log1p(-beta), sc.part2);
      IE_CU_LAUNCHED(ctx, "rows_p2");
      rows_finish_terms<<<rb, WG, 0, s>>>(sc.part2, sc.rs, sc.rerr, nr, g.nchunks, terms, value,
                                          a->inv_temp, a->alpha, sc.val, sc.rerr);
      IE_CU_LAUNCHED(ctx, "rows_finish_terms");
    }
    if (sink) {
      if ((rc = outcome_batch(ctx, sink, sc.val, sc.rerr, nb, r0, a,
                              mode == ROWS_STATE_NLL ? labels : NULL, &j, s)) != IE_OK)
        return rc;
      continue;
    }
    IE_CU(ctx, cudaMemcpyAsync(val + r0, sc.val, (size_t)nb * sizeof(double),
                               cudaMemcpyDeviceToHost, s));
    IE_CU(ctx, cudaMemcpyAsync(err + r0, sc.rerr, (size_t)nb * sizeof(ie_rowerr),
                               cudaMemcpyDeviceToHost, s));
    ie__ws_copied(ctx, 0, (size_t)nb * sizeof(double));
    ie__ws_copied(ctx, 0, (size_t)nb * sizeof(ie_rowerr));
  }
  if (sink)
    return outcome_end(ctx, sink, s);
  IE_CU(ctx, cudaStreamSynchronize(s));
  return IE_OK;
}

ie_status ie__cu_rows(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                      const ie_mat *y, const ie_vec *labels, double *val,
                      ie_rowerr *err)
{
  return rows_run(ctx, a, x, y, labels, val, err, NULL);
}

ie_status ie__cu_rows_device(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                             const ie_mat *y, const ie_vec *labels,
                             const ie_rows_sink *sink)
{
  return rows_run(ctx, a, x, y, labels, NULL, NULL, sink);
}

static ie_status softmax_run(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                             int log_out, double inv_temp, ie_rowerr *err,
                             const ie_rows_sink *sink)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  const int64_t rows = x->rows, V = x->cols;
  if (rows <= 0)
    return IE_OK;
  uint64_t xoff = 0, ooff = 0;
  ie_status rc = rows_mat_offset(ctx, "cuda", x, "logits", &xoff);
  if (rc == IE_OK)
    rc = rows_mat_offset(ctx, "cuda", out, "out", &ooff);
  if (rc != IE_OK)
    return rc;
  IE_CU_ENTER(ctx, st);
  const rows_geom g = rows_geometry(WG, V, rows);
  scratch sc;
  if ((rc = get_scratch(ctx, g, ROWS_ONE_N, &sc)) != IE_OK)
    return rc;
  const float it = (float)inv_temp;
  const ie_u8 *xb = (const ie_u8 *)x->buf;
  ie_u8 *ob = (ie_u8 *)out->buf;
  cudaStream_t s = st->stream;
  if (sink && (rc = outcome_begin(ctx, sink, s)) != IE_OK)
    return rc;
  for (int64_t r0 = 0; r0 < rows; r0 += g.batch) {
    const int64_t nb = rows - r0 < g.batch ? rows - r0 : g.batch;
    const uint32_t nr = (uint32_t)nb;
    const size_t teams = (size_t)nb * g.nchunks;
    const unsigned tb = team_blocks(g.W, teams), rb = row_blocks(nb);
    const uint64_t xo = xoff + (uint64_t)r0 * (uint64_t)x->stride;
    const uint64_t oo = ooff + (uint64_t)r0 * (uint64_t)out->stride;
    rows_p1_lse<<<tb, WG, 0, s>>>(xb, xo, (uint64_t)x->stride, (int)x->dtype, ROWS_LOGITS, it,
                                  0.0f, -1.0f, (uint64_t)V, nr, g.nchunks, g.clen, g.W, NULL, 0,
                                  0, 0, 0, 0, sc.part, sc.perr);
    IE_CU_LAUNCHED(ctx, "rows_p1_lse");
    rows_stats<<<rb, WG, 0, s>>>(sc.part, sc.perr, nr, g.nchunks, 0, inv_temp, sc.rs, sc.rerr);
    IE_CU_LAUNCHED(ctx, "rows_stats");
    rows_softmax_out<<<tb, WG, 0, s>>>(xb, xo, (uint64_t)x->stride, (int)x->dtype, it, ob, oo,
                                       (uint64_t)out->stride, (int)out->dtype, log_out != 0,
                                       (uint64_t)V, nr, g.nchunks, g.clen, g.W, sc.rs, sc.rerr);
    IE_CU_LAUNCHED(ctx, "rows_softmax_out");
    if (sink) {
      if ((rc = outcome_batch(ctx, sink, NULL, sc.rerr, nb, r0, NULL, NULL, NULL, s)) != IE_OK)
        return rc;
      continue;
    }
    IE_CU(ctx, cudaMemcpyAsync(err + r0, sc.rerr, (size_t)nb * sizeof(ie_rowerr),
                               cudaMemcpyDeviceToHost, s));
    ie__ws_copied(ctx, 0, (size_t)nb * sizeof(ie_rowerr));
  }
  if (sink)
    return outcome_end(ctx, sink, s);
  IE_CU(ctx, cudaStreamSynchronize(s));
  return IE_OK;
}

ie_status ie__cu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                         int log_out, double inv_temp, ie_rowerr *err)
{
  return softmax_run(ctx, x, out, log_out, inv_temp, err, NULL);
}

ie_status ie__cu_softmax_device(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                                int log_out, double inv_temp, const ie_rows_sink *sink)
{
  return softmax_run(ctx, x, out, log_out, inv_temp, NULL, sink);
}
