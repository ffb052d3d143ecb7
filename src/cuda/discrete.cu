/*
 * discrete.cu — discrete information (docs/SPEC.md §9) on CUDA: the kernels
 * of src/kernels/discrete.cl (shared with OpenCL), launched on the
 * context's stream, with the small per-row results copied to the host
 * arrays of the sub-table in src/discrete.h.  BROJA runs one joint a thread
 * (disc_broja), each with its slice of a scratch buffer in the workspace.
 *
 * Small results share one workspace slot as an array of doubles (the `d`
 * of the kernels, arrays at element offsets); the per-group first-bad
 * indices of the searches another; both are kept between calls.  The
 * searches, the PMI map's statistics and each table's MI are folded on the
 * device, so that only those few bytes cross.  Every call but the count waits
 * for its copies; the count leaves its atomic adds queued on the stream
 * (the dispatcher's copy of a staged table back waits for them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"
#include "discrete.h"
#include "kernels/discrete.cl"

extern "C" const ie_disc_ops ie__cuda_disc_ops;

static_assert(IE_DT_F32 == DISC_DT_F32 && IE_DT_F64 == DISC_DT_F64 && IE_DT_I32 == DISC_DT_I32 &&
                  IE_DT_I64 == DISC_DT_I64,
              "discrete.cl dtype codes");
static_assert(IE_ROW_NONFINITE == DISC_NONFINITE && IE_ROW_NEGATIVE == DISC_NEGATIVE &&
                  IE_ROW_EMPTY == DISC_EMPTY,
              "discrete.cl error codes");

namespace {

constexpr int WG = DISC_WG;            /* threads a block: the kernels' local arrays */
constexpr int64_t MAX_GROUPS = 4096;   /* blocks of a grid-stride search */
constexpr int64_t MAX_ROW_GROUPS = 65535;

int64_t groups_for(int64_t items, int64_t cap)
{
  const int64_t g = (items + WG - 1) / WG;
  return g < 1 ? 1 : g > cap ? cap : g;
}

ie_cu_state *state(ie_context *ctx) { return (ie_cu_state *)ctx->state; }

/* Scratch: `groups` + 1 first-bad slots (slot IE_WS_DISCRETE + 0), then
 * `doubles` doubles (+ 1).  Kept in the workspace between calls. */
ie_status scratch(ie_context *ctx, int64_t groups, int64_t doubles, ie_i64 **part, double **d)
{
  void *p = NULL, *q = NULL;
  ie_status st = ie__ws_device(ctx, IE_WS_DISCRETE + 0, (size_t)(groups + 1) * sizeof(ie_i64), &p);
  if (st == IE_OK)
    st = ie__ws_device(ctx, IE_WS_DISCRETE + 1, (size_t)(doubles + 1) * sizeof(double), &q);
  if (st != IE_OK)
    return st;
  *part = (ie_i64 *)p;
  *d = (double *)q;
  return IE_OK;
}

ie_status to_device(ie_context *ctx, double *dst, const double *src, int64_t n)
{
  if (n > 0)
    IE_CU(ctx, cudaMemcpyAsync(dst, src, (size_t)n * sizeof(double), cudaMemcpyHostToDevice,
                               state(ctx)->stream));
  if (n > 0)
    ie__ws_copied(ctx, 1, (size_t)n * sizeof(double));
  return IE_OK;
}

ie_status to_host(ie_context *ctx, void *dst, const void *src, size_t bytes)
{
  if (bytes > 0)
    IE_CU(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, state(ctx)->stream));
  if (bytes > 0)
    ie__ws_copied(ctx, 0, bytes);
  return IE_OK;
}

ie_status finish(ie_context *ctx)
{
  IE_CU(ctx, cudaStreamSynchronize(state(ctx)->stream));
  return IE_OK;
}

/* The folded minimum part[groups]: into *verdict as the stream reaches it
 * (pinned memory; the asynchronous mode: the call does not wait), or, when
 * verdict is NULL, into *first now, waiting. */
ie_status verdict_of(ie_context *ctx, const ie_i64 *part, int64_t groups, int64_t *verdict, int64_t *first)
{
  if (verdict)
    return to_host(ctx, verdict, part + groups, sizeof *verdict);
  ie_i64 h = INT64_MAX;
  ie_status st = to_host(ctx, &h, part + groups, sizeof h);
  if (st == IE_OK)
    st = finish(ctx);
  *first = h;
  return st;
}

/* The minimum of `groups` first-bad slots (INT64_MAX: none), folded on the
 * device (disc_fold_min): one long crosses; waits. */
ie_status first_of(ie_context *ctx, ie_i64 *part, int64_t groups, int64_t *first)
{
  disc_fold_min<<<1, WG, 0, state(ctx)->stream>>>(part, groups);
  IE_CU_LAUNCHED(ctx, "disc_fold_min");
  return verdict_of(ctx, part, groups, NULL, first);
}

const ie_u8 *bytes_of(const void *p) { return (const ie_u8 *)p; }

} /* namespace */

/* ---- Counting ------------------------------------------------------------------------ */

/* The check, its fold and the add (which reads the folded verdict on the
 * device) run back to back; only the verdict is read, waiting for it
 * unless `verdict` takes it later. */
static ie_status cu_count(ie_context *ctx, const ie_vec *x, const ie_mat *y, int64_t X, int64_t Y,
                          int has_ignore, int64_t ignore, void *table, size_t table_off,
                          int64_t *bad, int64_t *verdict)
{
  ie_cu_state *s = state(ctx);
  IE_CU_ENTER(ctx, s);
  *bad = -1;
  const int64_t groups = groups_for(x->n, MAX_GROUPS);
  ie_i64 *part = NULL;
  double *d = NULL;
  ie_status st = scratch(ctx, groups, 0, &part, &d);
  if (st != IE_OK)
    return st;
  disc_count_check<<<(unsigned)groups, WG, 0, s->stream>>>(
      bytes_of(x->buf), (ie_i64)x->offset, (ie_i32)x->dtype, x->stride, bytes_of(y->buf),
      (ie_i64)y->offset, (ie_i32)y->dtype, y->stride, x->n, y->cols, X, Y, has_ignore != 0,
      ignore, part);
  IE_CU_LAUNCHED(ctx, "disc_count_check");
  disc_fold_min<<<1, WG, 0, s->stream>>>(part, groups);
  IE_CU_LAUNCHED(ctx, "disc_fold_min");
  disc_count_add<<<(unsigned)groups, WG, 0, s->stream>>>(
      bytes_of(x->buf), (ie_i64)x->offset, (ie_i32)x->dtype, x->stride, bytes_of(y->buf),
      (ie_i64)y->offset, (ie_i32)y->dtype, y->stride, x->n, y->cols, X, Y, has_ignore != 0,
      ignore, (ie_u8 *)table, (ie_i64)table_off, part, groups);
  IE_CU_LAUNCHED(ctx, "disc_count_add");
  int64_t first = INT64_MAX;
  st = verdict_of(ctx, part, groups, verdict, &first);
  if (st == IE_OK && first != INT64_MAX)
    *bad = first;
  return st;
}

/* ---- Table sums ------------------------------------------------------------------------ */

/* The sums stay in the scratch (ie__disc_layout) for the pmi or mi_rows
 * of the same call; the host gets the totals, and the sums and maxima it
 * asks for. */
static ie_status cu_sums(ie_context *ctx, const ie_mat *t, int64_t sets, double *rowsum,
                         double *colsum, double *rowmax, double *colmax, double *totals,
                         int64_t *bad, ie_rowerr *code)
{
  ie_cu_state *s = state(ctx);
  IE_CU_ENTER(ctx, s);
  *bad = -1;
  *code = IE_ROW_OK;
  const int64_t rows = t->rows, Y = t->cols, X = rows / sets, nc = sets * Y;
  const int64_t groups = groups_for(rows * Y, MAX_GROUPS);
  const int maxima = rowmax != NULL;
  const ie__disc_layout L = ie__disc_layout_of(rows, Y, sets);
  ie_i64 *part = NULL;
  double *d = NULL;
  ie_status st = scratch(ctx, groups, L.doubles, &part, &d);
  if (st != IE_OK)
    return st;
  const ie_u8 *tb = bytes_of(t->buf);
  disc_cells_check<<<(unsigned)groups, WG, 0, s->stream>>>(tb, (ie_i64)t->offset,
                                                           (ie_i32)t->dtype, rows * Y, part);
  IE_CU_LAUNCHED(ctx, "disc_cells_check");
  int64_t first = INT64_MAX;
  st = first_of(ctx, part, groups, &first);
  if (st != IE_OK)
    return st;
  if (first != INT64_MAX) {
    *bad = first / 4;
    *code = (ie_rowerr)(first % 4);
    return IE_OK;
  }
  disc_row_sums<<<(unsigned)groups_for(rows, MAX_ROW_GROUPS), WG, 0, s->stream>>>(
      tb, (ie_i64)t->offset, (ie_i32)t->dtype, rows, Y, d, L.rs, L.rm, maxima);
  IE_CU_LAUNCHED(ctx, "disc_row_sums");
  disc_col_sums<<<(unsigned)groups_for(nc, MAX_ROW_GROUPS), WG, 0, s->stream>>>(
      tb, (ie_i64)t->offset, (ie_i32)t->dtype, sets, X, Y, d, L.cs, L.cm, maxima);
  IE_CU_LAUNCHED(ctx, "disc_col_sums");
  disc_fold_totals<<<(unsigned)groups_for(sets, MAX_ROW_GROUPS), WG, 0, s->stream>>>(d, L.rs, sets, X, L.tot);
  IE_CU_LAUNCHED(ctx, "disc_fold_totals");
  st = to_host(ctx, totals, d + L.tot, (size_t)sets * sizeof(double));
  if (st == IE_OK && rowsum)
    st = to_host(ctx, rowsum, d + L.rs, (size_t)rows * sizeof(double));
  if (st == IE_OK && colsum)
    st = to_host(ctx, colsum, d + L.cs, (size_t)nc * sizeof(double));
  if (st == IE_OK && maxima)
    st = to_host(ctx, rowmax, d + L.rm, (size_t)rows * sizeof(double));
  if (st == IE_OK && maxima)
    st = to_host(ctx, colmax, d + L.cm, (size_t)nc * sizeof(double));
  return st == IE_OK ? finish(ctx) : st;
}

/* ---- PMI map and MI terms ---------------------------------------------------------------- */

static ie_status cu_pmi(ie_context *ctx, const ie_mat *t, const ie_disc_pmi_args *pa,
                        const double *rowm, const double *colm, const ie_mat *out, double *stats)
{
  ie_cu_state *s = state(ctx);
  IE_CU_ENTER(ctx, s);
  const int64_t X = t->rows, Y = t->cols;
  const ie__disc_layout L = ie__disc_layout_of(X, Y, 1);
  const int64_t o_stats = L.pmi_stats, o_fold = L.pmi_fold;
  ie_i64 *part = NULL;
  double *d = NULL;
  ie_status st = scratch(ctx, 0, L.doubles, &part, &d); /* the buffer `sums` left its sums in */
  if (st == IE_OK && rowm)
    st = to_device(ctx, d + L.rs, rowm, X);
  if (st == IE_OK && colm)
    st = to_device(ctx, d + L.cs, colm, Y);
  if (st != IE_OK)
    return st;
  ie_u8 *ob = out ? (ie_u8 *)out->buf : (ie_u8 *)d; /* not written without an output */
  disc_pmi<<<(unsigned)(X < MAX_ROW_GROUPS ? X : MAX_ROW_GROUPS), WG, 0, s->stream>>>(
      bytes_of(t->buf), (ie_i64)t->offset, (ie_i32)t->dtype, X, Y, pa->kind, pa->min_count,
      pa->smooth, log(pa->n), pa->smooth * (double)Y, pa->smooth * (double)X, d, L.rs, L.cs,
      o_stats, ob, out ? (ie_i64)out->offset : 0, out ? (ie_i32)out->dtype : DISC_DT_F32,
      out != NULL);
  IE_CU_LAUNCHED(ctx, "disc_pmi");
  /* The rows' statistics folded on the device: 4 doubles cross. */
  disc_fold_stats<<<1, WG, 0, s->stream>>>(d, o_stats, X, o_fold);
  IE_CU_LAUNCHED(ctx, "disc_fold_stats");
  st = to_host(ctx, stats, d + o_fold, 4 * sizeof(double));
  return st == IE_OK ? finish(ctx) : st;
}

static ie_status cu_mi_rows(ie_context *ctx, const ie_mat *t, int64_t sets, const double *rowsum,
                            const double *colsum, const double *n, double *rowmi)
{
  ie_cu_state *s = state(ctx);
  IE_CU_ENTER(ctx, s);
  const int64_t rows = t->rows, Y = t->cols, X = rows / sets, nc = sets * Y;
  const ie__disc_layout L = ie__disc_layout_of(rows, Y, sets);
  const int64_t o_n = L.mi_n, o_mi = L.mi_terms, o_fold = L.mi_fold;
  ie_i64 *part = NULL;
  double *d = NULL;
  ie_status st = scratch(ctx, 0, L.doubles, &part, &d); /* the buffer `sums` left its sums in */
  if (st == IE_OK && rowsum)
    st = to_device(ctx, d + L.rs, rowsum, rows);
  if (st == IE_OK && colsum)
    st = to_device(ctx, d + L.cs, colsum, nc);
  if (st == IE_OK)
    st = to_device(ctx, d + o_n, n, sets);
  if (st != IE_OK)
    return st;
  disc_mi_rows<<<(unsigned)(rows < MAX_ROW_GROUPS ? rows : MAX_ROW_GROUPS), WG, 0, s->stream>>>(
      bytes_of(t->buf), (ie_i64)t->offset, (ie_i32)t->dtype, rows, X, Y, d, L.rs, L.cs, o_n, o_mi);
  IE_CU_LAUNCHED(ctx, "disc_mi_rows");
  /* Each table's rows folded on the device: one double a table crosses,
   * into its first row (src/discrete.h). */
  disc_fold_mi<<<(unsigned)(sets < MAX_ROW_GROUPS ? sets : MAX_ROW_GROUPS), WG, 0, s->stream>>>(d, o_mi, sets, X,
                                                                                              o_fold);
  IE_CU_LAUNCHED(ctx, "disc_fold_mi");
  void *h = NULL;
  st = ie__ws_host(ctx, IE_WSH_DISCRETE + 1, (size_t)sets * sizeof(double), &h);
  if (st == IE_OK)
    st = to_host(ctx, h, d + o_fold, (size_t)sets * sizeof(double));
  if (st == IE_OK)
    st = finish(ctx);
  for (int64_t b = 0; st == IE_OK && b < sets; b++)
    rowmi[b * X] = ((const double *)h)[b];
  return st;
}

/* ---- PID ---------------------------------------------------------------------------------- */

/* The check pass folds the first bad joint on the device, and the values
 * are written only when it found none (disc_pid and disc_broja read the
 * verdict there): out is filled on the device, and what crosses is the
 * verdict's one long, and the 7·B values (and BROJA's B step counts) when
 * res asks for them.  Slots IE_WS_DISCRETE + 2 (the verdicts), + 3 (the
 * values) and + 4 (BROJA's scratch: one slice of broja_scratch_words a
 * thread, ie__broja_slices of them; a thread solves joints slice, slice +
 * slices, ...). */
static ie_status cu_pid(ie_context *ctx, const ie_mat *j, int64_t S1, int64_t S2, int64_t T,
                        int measure, double *res, int64_t *iters, const ie_mat *out, int64_t *bad,
                        ie_rowerr *code, int64_t *verdict)
{
  ie_cu_state *s = state(ctx);
  IE_CU_ENTER(ctx, s);
  *bad = -1;
  *code = IE_ROW_OK;
  const int64_t B = j->rows, n = S1 * S2 * T, groups = groups_for(B, MAX_GROUPS);
  const int broja = measure == DISC_PID_BROJA;
  const int64_t words = broja ? broja_scratch_words(S1, S2, T) : 0;
  const int64_t slices = broja ? ie__broja_slices(B, words) : 0;
  void *pp = NULL, *dp = NULL, *wp = NULL;
  ie_status st = ie__ws_device(ctx, IE_WS_DISCRETE + 2, (size_t)(groups + 1) * sizeof(ie_i64), &pp);
  if (st == IE_OK && res)
    st = ie__ws_device(ctx, IE_WS_DISCRETE + 3, (size_t)((broja ? 8 : 7) * B) * sizeof(double), &dp);
  if (st == IE_OK && broja && (res || out))
    st = ie__ws_device(ctx, IE_WS_DISCRETE + 4, (size_t)(slices * words) * sizeof(double), &wp);
  if (st != IE_OK)
    return st;
  ie_i64 *part = (ie_i64 *)pp;
  disc_pid_check<<<(unsigned)groups, WG, 0, s->stream>>>(bytes_of(j->buf), (ie_i64)j->offset,
                                                          (ie_i32)j->dtype, B, n, part);
  IE_CU_LAUNCHED(ctx, "disc_pid_check");
  disc_fold_min<<<1, WG, 0, s->stream>>>(part, groups);
  IE_CU_LAUNCHED(ctx, "disc_fold_min");
  if (broja && (res || out)) {
    disc_broja<<<(unsigned)groups_for(slices, slices), WG, 0, s->stream>>>(
        bytes_of(j->buf), (ie_i64)j->offset, (ie_i32)j->dtype, B, S1, S2, T, part, groups,
        (double *)wp, words, slices, (double *)dp, 0, res != NULL, out ? (ie_u8 *)out->buf : NULL,
        out ? (ie_i64)out->offset : 0, out ? (ie_i32)out->dtype : DISC_DT_F32, out != NULL);
    IE_CU_LAUNCHED(ctx, "disc_broja");
  } else if (res || out) {
    disc_pid<<<(unsigned)groups, WG, 0, s->stream>>>(
        bytes_of(j->buf), (ie_i64)j->offset, (ie_i32)j->dtype, B, S1, S2, T, measure, part, groups,
        (double *)dp, 0, res != NULL, out ? (ie_u8 *)out->buf : NULL, out ? (ie_i64)out->offset : 0,
        out ? (ie_i32)out->dtype : DISC_DT_F32, out != NULL);
    IE_CU_LAUNCHED(ctx, "disc_pid");
  }
  int64_t first = INT64_MAX;
  st = verdict_of(ctx, part, groups, verdict, &first);
  if (st != IE_OK || verdict)
    return st;
  if (first != INT64_MAX) {
    *bad = first / 4;
    *code = (ie_rowerr)(first % 4);
    return IE_OK;
  }
  if (res)
    st = to_host(ctx, res, dp, (size_t)(7 * B) * sizeof(double));
  if (st == IE_OK && res && broja && iters)
    st = to_host(ctx, iters, (const double *)dp + 7 * B, (size_t)B * sizeof(int64_t));
  if (st == IE_OK && res)
    st = finish(ctx);
  return st;
}

static ie_status cu_pointwise(ie_context *ctx, const ie_mat *i1, const ie_mat *i2,
                              const ie_mat *i12, const ie_mat *out[4], int64_t *bad)
{
  ie_cu_state *s = state(ctx);
  IE_CU_ENTER(ctx, s);
  *bad = -1;
  const int64_t n = i1->cols, groups = groups_for(n, MAX_GROUPS);
  int mask = 0;
  ie_u8 *ob[4];
  ie_i64 oo[4];
  for (int o = 0; o < 4; o++) {
    if (out[o])
      mask |= (1 << o) | (out[o]->dtype == IE_DT_F64 ? 16 << o : 0);
    ob[o] = out[o] ? (ie_u8 *)out[o]->buf : NULL;
    oo[o] = out[o] ? (ie_i64)out[o]->offset : 0;
  }
  ie_i64 *part = NULL;
  double *d = NULL;
  ie_status st = scratch(ctx, groups, 0, &part, &d);
  if (st != IE_OK)
    return st;
  disc_pointwise<<<(unsigned)groups, WG, 0, s->stream>>>(
      bytes_of(i1->buf), (ie_i64)i1->offset, (ie_i32)i1->dtype, bytes_of(i2->buf),
      (ie_i64)i2->offset, (ie_i32)i2->dtype, bytes_of(i12->buf), (ie_i64)i12->offset,
      (ie_i32)i12->dtype, n, ob[0], oo[0], ob[1], oo[1], ob[2], oo[2], ob[3], oo[3], mask, part);
  IE_CU_LAUNCHED(ctx, "disc_pointwise");
  int64_t first = INT64_MAX;
  st = first_of(ctx, part, groups, &first);
  if (st == IE_OK && first != INT64_MAX)
    *bad = first;
  return st;
}

extern "C" const ie_disc_ops ie__cuda_disc_ops = {
    /* keeps_marginals */ 1,
    /* count */ cu_count,
    /* sums */ cu_sums,
    /* pmi */ cu_pmi,
    /* mi_rows */ cu_mi_rows,
    /* pid */ cu_pid,
    /* pointwise */ cu_pointwise,
};
