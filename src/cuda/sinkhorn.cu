/*
 * sinkhorn.cu — the CUDA Sinkhorn passes (src/sinkhorn.h), in double: the
 * workspace and the launches of the shared kernels of src/kernels/sinkhorn.cl
 * (a warp a (problem, row), lanes merged by shuffles; see there).  The cost
 * is read from a double matrix (a given cost widened once, with a transposed
 * copy for side 1, or built from the points when it fits the budget) or
 * computed from the points on the fly (with setup.single: in float32 tiles,
 * sk_pass_f32).  Every CUDA call is checked and
 * becomes a status (ie__cu_fail).
 */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"
#include "sinkhorn.h"
#include "../kernels/sinkhorn.cl"

static_assert(SK_MEASURE == IE_SK_MEASURE && SK_CHECK == IE_SK_CHECK && SK_TERMS == IE_SK_TERMS &&
                  SK_EUCLIDEAN == IE_SK_EUCLIDEAN && SK_HALF_SQEUCLIDEAN == IE_SK_HALF_SQEUCLIDEAN,
              "src/kernels/sinkhorn_terms.h and src/sinkhorn.h agree");
static_assert(SK_LANES == 32, "a pass row is one warp (its lanes merge by shuffles)");
#define SK_ROWS (SK_NT / SK_LANES) /* rows a block in a pass */

struct SkWs {
  int64_t B, n, m, d, Bc;
  int metric;
  double *C, *CT;          /* [Bc·n·m] each, or NULL */
  int64_t c_bs;            /* elements between problems: n·m or 0 */
  double *x, *y;           /* points [·, d], or NULL */
  int64_t x_bs, y_bs;      /* rows between problems */
  double *lw[2], *pot[2], *fsave;
  double *rowt, *pterm;    /* [B·max(n,m)·T], [2·B·T] (side 0, then side 1) */
  ie_i64 *iters;           /* [B + 1]: decide's iteration counts (−1: running), then left */
  uint8_t *active, *mask;  /* [B] */
  ie_i64 *bad;             /* [Bc·n]: first non-finite column of a given cost's row */
  double *cmax;            /* [Bc] */
  ie_i64 *code, *stat;     /* the inputs' checks (inputs()): per-row codes, ST_N status words */
  double *wtot;            /* the weights' totals [Bw_a + Bw_b] */
  float *xf, *yf;          /* float32 points for sk_pass_f32 (setup.single), or NULL */
  int64_t tile;            /* columns a tile of sk_pass_f32 */
  int next_slot;           /* the next IE_WS_SINKHORN slot to hand out */
};

/* ---- Host side ---------------------------------------------------------------------- */

/* Blocks of SK_NT threads for `units` units of work (elements, or rows and
 * problems for the kernels that take one block each); the kernels loop when
 * there are fewer blocks than units. */
static unsigned grid_for(int64_t units, int per_block)
{
  int64_t g = (units + per_block - 1) / per_block;
  if (g < 1) g = 1;
  if (g > 65535 * 8) g = 65535 * 8;
  return (unsigned)g;
}
#define GRID_ELEMS(total) grid_for((total), SK_NT)
#define GRID_GROUPS(units) grid_for((units), 1)

static void cu_sk_end(ie_context *ctx, void *wsv)
{
  SkWs *w = (SkWs *)wsv;
  if (!w) return;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  ie_cu_devguard guard(st->device);
  ie__cu_drain(ctx); /* the buffers are workspace slots: nothing to free */
  free(w);
}

/* The solve's next workspace slot (IE_WS_SINKHORN + k), of `count` elements. */
template <typename Tp>
static ie_status sk_malloc(ie_context *ctx, SkWs *w, Tp **p, size_t count)
{
  if (w->next_slot >= 20) return ie__error(ctx, IE_INTERNAL, "ie_sinkhorn (cuda): out of workspace slots");
  void *buf = NULL;
  ie_status s = ie__ws_device(ctx, IE_WS_SINKHORN + w->next_slot++, (count ? count : 1) * sizeof(Tp), &buf);
  *p = (Tp *)buf;
  return s;
}

#define SK_TRY(expr)                    \
  do {                                  \
    ie_status s_ = (expr);              \
    if (s_ != IE_OK) return s_;         \
  } while (0)

/* The status words inputs() reads (one read a solve): the first bad weight
 * of each side, the first bad coordinate of x and of y, the box cost's bits. */
enum { ST_WA, ST_WB, ST_X, ST_Y, ST_BOX, ST_N };

/* Check and convert the device inputs (weights into lw, points into x, y)
 * and read what was found: ST_N words, plus a problem's total on a failure. */
static ie_status inputs(ie_context *ctx, cudaStream_t str, SkWs *w, const ie_sk_setup *s, ie_sk_found *found)
{
  const int64_t N[2] = {w->n, w->m};
  const int64_t Bw[2] = {s->w[0]->rows, s->w[1]->rows};
  const int64_t prow[2] = {s->px ? s->px->rows : 0, s->py ? s->py->rows : 0};
  SK_TRY(sk_malloc(ctx, w, &w->lw[0], (size_t)(w->B * w->n)));
  SK_TRY(sk_malloc(ctx, w, &w->lw[1], (size_t)(w->B * w->m)));
  SK_TRY(sk_malloc(ctx, w, &w->code, (size_t)(Bw[0] + Bw[1] + prow[0] + prow[1])));
  SK_TRY(sk_malloc(ctx, w, &w->wtot, (size_t)(Bw[0] + Bw[1])));
  SK_TRY(sk_malloc(ctx, w, &w->stat, (size_t)ST_N));
  IE_CU(ctx, cudaMemsetAsync(w->stat, 0xff, ST_N * sizeof(ie_i64), str)); /* −1 */
  int64_t code_off = 0;
  for (int k = 0; k < 2; k++) {
    const ie_mat *wm = s->w[k];
    sk_weights<<<GRID_GROUPS(Bw[k]), SK_NT, 0, str>>>((const ie_u8 *)wm->buf, (ie_u64)wm->offset,
                                                      (int)wm->dtype, wm->stride, Bw[k], N[k], w->B, w->lw[k],
                                                      w->code, code_off, w->wtot, k ? Bw[0] : 0);
    IE_CU_LAUNCHED(ctx, "sk_weights");
    sk_first<<<1, SK_NT, 0, str>>>(w->code, code_off, Bw[k], N[k] + 1, w->stat, ST_WA + k);
    IE_CU_LAUNCHED(ctx, "sk_first");
    code_off += Bw[k];
  }
  if (s->px) {
    const ie_mat *pm[2] = {s->px, s->py};
    for (int k = 0; k < 2; k++) {
      double **dst = k ? &w->y : &w->x;
      SK_TRY(sk_malloc(ctx, w, dst, (size_t)(prow[k] * w->d)));
      sk_convert<<<GRID_GROUPS(prow[k]), SK_NT, 0, str>>>((const ie_u8 *)pm[k]->buf, (ie_u64)pm[k]->offset,
                                                          (int)pm[k]->dtype, pm[k]->stride, prow[k], w->d, *dst,
                                                          w->code, code_off);
      IE_CU_LAUNCHED(ctx, "sk_convert");
      sk_first<<<1, SK_NT, 0, str>>>(w->code, code_off, prow[k], w->d, w->stat, ST_X + k);
      IE_CU_LAUNCHED(ctx, "sk_first");
      code_off += prow[k];
    }
    if (s->want_box) {
      sk_box<<<1, SK_NT, 0, str>>>(w->x, prow[0], w->y, prow[1], w->d, w->metric, w->stat, ST_BOX);
      IE_CU_LAUNCHED(ctx, "sk_box");
    }
  }
  ie_i64 stv[ST_N];
  IE_CU(ctx, cudaMemcpyAsync(stv, w->stat, sizeof stv, cudaMemcpyDeviceToHost, str));
  IE_CU(ctx, cudaStreamSynchronize(str));
  ie__ws_copied(ctx, 0, sizeof stv);
  found->xbad = stv[ST_X];
  found->ybad = stv[ST_Y];
  memcpy(&found->box, &stv[ST_BOX], sizeof found->box);
  for (int k = 0; k < 2; k++) {
    found->wbad[k] = stv[ST_WA + k];
    if (stv[ST_WA + k] < 0) continue;
    /* a failure: the problem's total, for the message */
    const double *at = w->wtot + (k ? Bw[0] : 0) + stv[ST_WA + k] / (N[k] + 1);
    IE_CU(ctx, cudaMemcpyAsync(&found->wtot[k], at, sizeof(double), cudaMemcpyDeviceToHost, str));
    IE_CU(ctx, cudaStreamSynchronize(str));
    ie__ws_copied(ctx, 0, sizeof(double));
  }
  return IE_OK;
}

static ie_status begin_impl(ie_context *ctx, ie_cu_state *st, SkWs *w, const ie_sk_setup *s, double *cmax,
                            int64_t *bad, ie_sk_found *found)
{
  const int64_t B = s->B, n = s->n, m = s->m, d = s->d, R = n > m ? n : m;
  cudaStream_t str = st->stream;
  *bad = -1;
  SK_TRY(inputs(ctx, str, w, s, found));
  if (found->wbad[0] >= 0 || found->wbad[1] >= 0 || found->xbad >= 0 || found->ybad >= 0) return IE_OK;
  SK_TRY(sk_malloc(ctx, w, &w->pot[0], (size_t)(B * n)));
  SK_TRY(sk_malloc(ctx, w, &w->pot[1], (size_t)(B * m)));
  SK_TRY(sk_malloc(ctx, w, &w->fsave, (size_t)(B * n)));
  SK_TRY(sk_malloc(ctx, w, &w->rowt, (size_t)(B * R * IE_SK_TERMS)));
  SK_TRY(sk_malloc(ctx, w, &w->pterm, (size_t)(2 * B * IE_SK_TERMS)));
  SK_TRY(sk_malloc(ctx, w, &w->iters, (size_t)(B + 1)));
  SK_TRY(sk_malloc(ctx, w, &w->active, (size_t)B));
  SK_TRY(sk_malloc(ctx, w, &w->mask, (size_t)B));
  IE_CU(ctx, cudaMemsetAsync(w->pot[0], 0, (size_t)(B * n) * sizeof(double), str));
  sk_init_g<<<GRID_ELEMS(B * m), SK_NT, 0, str>>>(w->pot[1], w->lw[1], B * m);
  IE_CU_LAUNCHED(ctx, "sk_init_g");
  IE_CU(ctx, cudaMemsetAsync(w->active, 1, (size_t)B, str));
  IE_CU(ctx, cudaMemsetAsync(w->iters, 0xff, (size_t)(B + 1) * sizeof(ie_i64), str)); /* every count −1 */
  if (s->single && w->x) {
    /* float32 copies of the points for sk_pass_f32 (exact: f32, f16, bf16 in) */
    w->tile = SK_TILE_FLOATS / (d + 1);
    if (w->tile > SK_TILE_COLS) w->tile = SK_TILE_COLS;
    if (w->tile >= 1) {
      const int64_t rows[2] = {s->px->rows, s->py->rows};
      float **dst[2] = {&w->xf, &w->yf};
      const double *src[2] = {w->x, w->y};
      for (int k = 0; k < 2; k++) {
        SK_TRY(sk_malloc(ctx, w, dst[k], (size_t)(rows[k] * d)));
        sk_narrow<<<GRID_ELEMS(rows[k] * d), SK_NT, 0, str>>>(src[k], rows[k] * d, *dst[k]);
        IE_CU_LAUNCHED(ctx, "sk_narrow");
      }
    } /* else d too large for a tile of one column: the double pass */
  }

  int64_t Bc = 0;
  if (s->cost) Bc = s->cost_bstride ? B : 1;
  else if (s->materialize) Bc = (s->x_bstride || s->y_bstride) ? B : 1;
  w->Bc = Bc;
  if (Bc) {
    w->c_bs = Bc > 1 ? n * m : 0;
    SK_TRY(sk_malloc(ctx, w, &w->C, (size_t)(Bc * n * m)));
    SK_TRY(sk_malloc(ctx, w, &w->CT, (size_t)(Bc * n * m)));
    SK_TRY(sk_malloc(ctx, w, &w->cmax, (size_t)Bc));
    if (s->cost) {
      const ie_mat *cm = s->cost;
      SK_TRY(sk_malloc(ctx, w, &w->bad, (size_t)(Bc * n)));
      sk_convert<<<GRID_GROUPS(Bc * n), SK_NT, 0, str>>>((const ie_u8 *)cm->buf, (ie_u64)cm->offset,
                                                         (int)cm->dtype, cm->stride, Bc * n, m, w->C,
                                                         w->bad, 0);
      IE_CU_LAUNCHED(ctx, "sk_convert");
    } else {
      sk_build<<<GRID_ELEMS(Bc * n * m), SK_NT, 0, str>>>(w->x, w->y, s->x_bstride, s->y_bstride, Bc, n, m, d,
                                                        s->metric, w->C);
      IE_CU_LAUNCHED(ctx, "sk_build");
    }
    sk_transpose<<<GRID_ELEMS(Bc * n * m), SK_NT, 0, str>>>(w->C, Bc, n, m, w->CT);
    IE_CU_LAUNCHED(ctx, "sk_transpose");
    if (s->cost) {
      sk_absmax<<<GRID_GROUPS(Bc), SK_NT, 0, str>>>(w->C, Bc, n * m, w->cmax);
      IE_CU_LAUNCHED(ctx, "sk_absmax");
      IE_CU(ctx, cudaMemcpyAsync(cmax, w->cmax, (size_t)Bc * sizeof(double), cudaMemcpyDeviceToHost, str));
      ie__ws_copied(ctx, 0, (size_t)Bc * sizeof(double));
    }
  }
  IE_CU(ctx, cudaStreamSynchronize(str));
  /* sk_absmax's max |C| is NaN-aware: inf exactly when an element is not
   * finite; only then are the rows' bad columns read, to name the first. */
  int finite = 1;
  for (int64_t p = 0; w->bad && p < Bc; p++) finite &= isfinite(cmax[p]) != 0;
  if (!w->bad || finite) return IE_OK;
  /* The first row with a non-finite element gives the flat index. */
  const size_t nrows = (size_t)(Bc * n);
  int64_t *hb = (int64_t *)malloc(nrows * sizeof *hb);
  if (!hb) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the cost's row checks");
  cudaError_t e = cudaMemcpyAsync(hb, w->bad, nrows * sizeof *hb, cudaMemcpyDeviceToHost, str);
  ie__ws_copied(ctx, 0, nrows * sizeof *hb);
  if (e == cudaSuccess) e = cudaStreamSynchronize(str);
  for (size_t r = 0; e == cudaSuccess && r < nrows; r++)
    if (hb[r] >= 0) {
      *bad = (int64_t)r * m + hb[r];
      break;
    }
  free(hb);
  if (e != cudaSuccess) return ie__cu_fail(ctx, e, "cudaMemcpyAsync(", __FILE__, __LINE__);
  return IE_OK;
}

static ie_status cu_sk_begin(ie_context *ctx, const ie_sk_setup *s, void **wsv, double *cmax, int64_t *bad,
                             ie_sk_found *found)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)calloc(1, sizeof *w);
  if (!w) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the workspace");
  w->B = s->B;
  w->n = s->n;
  w->m = s->m;
  w->d = s->d;
  w->metric = s->metric;
  w->x_bs = s->x_bstride;
  w->y_bs = s->y_bstride;
  ie_status r = begin_impl(ctx, st, w, s, cmax, bad, found);
  if (r != IE_OK) {
    cu_sk_end(ctx, w);
    return r;
  }
  *wsv = w;
  return IE_OK;
}

static ie_status cu_sk_set_active(ie_context *ctx, void *wsv, const uint8_t *mask)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  IE_CU(ctx, cudaMemcpyAsync(w->active, mask, (size_t)w->B, cudaMemcpyHostToDevice, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 1, (size_t)w->B);
  return IE_OK;
}

static ie_status cu_sk_pass(ie_context *ctx, void *wsv, int side, int mode, double eps, double tau,
                            double *terms)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  const int64_t R = side ? w->m : w->n, K = side ? w->n : w->m;
  const double *mat = w->C ? (side ? w->CT : w->C) : NULL;
  const double *rp = side ? w->y : w->x, *cp = side ? w->x : w->y;
  const int64_t rp_bs = side ? w->y_bs : w->x_bs, cp_bs = side ? w->x_bs : w->y_bs;
  /* SK_ROWS rows a block, every row its warp (no grid-stride loop in a pass);
   * B·R / 8 blocks are far inside the grid's 2^31 − 1. */
  const unsigned blocks = (unsigned)((w->B * R + SK_ROWS - 1) / SK_ROWS);
  if (w->xf && mode != IE_SK_MEASURE) /* float32 tiles; the results are measured in double */
    sk_pass_f32<<<(unsigned)(w->B * ((R + SK_ROWS - 1) / SK_ROWS)), SK_NT, 0, st->stream>>>(
        w->B, R, K, w->d, w->metric, mode, eps, tau, side ? w->yf : w->xf, side ? w->xf : w->yf, rp_bs, cp_bs,
        w->pot[side ^ 1], w->pot[side], w->lw[side], side == 0, w->fsave, w->rowt, w->active, SK_LANES, w->tile);
  else if (mat)
    sk_pass_mat<<<blocks, SK_NT, 0, st->stream>>>(w->B, R, K, w->d, w->metric, mode, eps, tau, mat, w->c_bs,
                                                  rp, cp, rp_bs, cp_bs, w->pot[side ^ 1], w->pot[side],
                                                  w->lw[side], side == 0, w->fsave, w->rowt, w->active, SK_LANES);
  else
    sk_pass_pts<<<blocks, SK_NT, 0, st->stream>>>(w->B, R, K, w->d, w->metric, mode, eps, tau, mat, w->c_bs,
                                                  rp, cp, rp_bs, cp_bs, w->pot[side ^ 1], w->pot[side],
                                                  w->lw[side], side == 0, w->fsave, w->rowt, w->active, SK_LANES);
  IE_CU_LAUNCHED(ctx, "sk_pass");
  if (mode == IE_SK_UPDATE) return IE_OK;
  const int64_t pt_off = side * w->B * IE_SK_TERMS;
  sk_reduce<<<GRID_GROUPS(w->B), SK_NT, 0, st->stream>>>(w->rowt, w->B, R, mode == IE_SK_MEASURE, w->active,
                                                         w->pterm, pt_off);
  IE_CU_LAUNCHED(ctx, "sk_reduce");
  if (!terms) return IE_OK; /* a CHECK kept for cu_sk_decide */
  IE_CU(ctx, cudaMemcpyAsync(terms, w->pterm + pt_off, (size_t)(w->B * IE_SK_TERMS) * sizeof(double),
                             cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, (size_t)(w->B * IE_SK_TERMS) * sizeof(double));
  return IE_OK;
}

static ie_status cu_sk_restore(ie_context *ctx, void *wsv, const uint8_t *mask)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  IE_CU(ctx, cudaMemcpyAsync(w->mask, mask, (size_t)w->B, cudaMemcpyHostToDevice, st->stream));
  ie__ws_copied(ctx, 1, (size_t)w->B);
  sk_restore<<<GRID_ELEMS(w->B * w->n), SK_NT, 0, st->stream>>>(w->pot[0], w->fsave, w->mask, w->B * w->n,
                                                                 w->n);
  IE_CU_LAUNCHED(ctx, "sk_restore");
  IE_CU(ctx, cudaStreamSynchronize(st->stream)); /* mask is the caller's host memory */
  return IE_OK;
}

/* sk_decide over the problems, then sk_left; one word comes back. */
static ie_status cu_sk_decide(ie_context *ctx, void *wsv, double tol, int balanced, int64_t it, int64_t *left)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  sk_decide<<<GRID_GROUPS(w->B), SK_NT, 0, st->stream>>>(w->pterm, w->B, w->n, tol, balanced, it, w->pot[0],
                                                         w->fsave, w->active, w->iters);
  IE_CU_LAUNCHED(ctx, "sk_decide");
  sk_left<<<1, SK_NT, 0, st->stream>>>(w->active, w->B, w->iters, w->B);
  IE_CU_LAUNCHED(ctx, "sk_left");
  ie_i64 l = 0;
  IE_CU(ctx, cudaMemcpyAsync(&l, w->iters + w->B, sizeof l, cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, sizeof l);
  *left = l;
  return IE_OK;
}

static ie_status cu_sk_stopped(ie_context *ctx, void *wsv, int64_t *iters)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  static_assert(sizeof(ie_i64) == sizeof(int64_t), "iteration counts are int64");
  const size_t bytes = (size_t)w->B * sizeof *iters;
  IE_CU(ctx, cudaMemcpyAsync(iters, w->iters, bytes, cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  ie__ws_copied(ctx, 0, bytes);
  return IE_OK;
}

static ie_status cu_sk_potential(ie_context *ctx, void *wsv, int side, const ie_mat *out)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  const int64_t N = side ? w->m : w->n;
  sk_emit<<<GRID_ELEMS(w->B * N), SK_NT, 0, st->stream>>>(w->pot[side], w->B, N, (ie_u8 *)out->buf,
                                                         (ie_u64)out->offset, out->dtype == IE_DT_F64,
                                                         out->stride);
  IE_CU_LAUNCHED(ctx, "sk_emit");
  return IE_OK;
}

static ie_status cu_sk_plan(ie_context *ctx, void *wsv, double eps, const ie_mat *out)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  sk_plan<<<GRID_ELEMS(w->B * w->n * w->m), SK_NT, 0, st->stream>>>(
      w->B, w->n, w->m, w->d, w->metric, w->C != NULL, w->C, w->c_bs, w->x, w->y, w->x_bs, w->y_bs, w->pot[0],
      w->pot[1], eps, (ie_u8 *)out->buf, (ie_u64)out->offset, out->dtype == IE_DT_F64, out->stride);
  IE_CU_LAUNCHED(ctx, "sk_plan");
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

extern "C" const ie_sk_ops ie__cuda_sk_ops = {
    /* begin */ cu_sk_begin,
    /* set_active */ cu_sk_set_active,
    /* pass */ cu_sk_pass,
    /* restore */ cu_sk_restore,
    /* potential */ cu_sk_potential,
    /* plan */ cu_sk_plan,
    /* end */ cu_sk_end,
    /* device_inputs */ 1,
    /* decide */ cu_sk_decide,
    /* stopped */ cu_sk_stopped,
    /* single_tiles */ 1,
};
