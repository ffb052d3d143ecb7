/*
 * sinkhorn.h — PRIVATE.  The Sinkhorn sub-table a backend fills (docs/SPEC.md §4),
 * reached through ie_backend_ops.sinkhorn, and the already-checked setup the
 * driver (src/sinkhorn.c) hands it.
 *
 * The driver owns the iteration: schedules, convergence, results.  A backend
 * owns a workspace (potentials f [B·n], g [B·m], the cost or the points) and
 * runs whole-batch passes over it, one launch a pass.
 *
 * A pass on side 0 updates f from g, on side 1 updates g from f.  For row r
 * of problem b on that side (columns c on the other side):
 *   L_r   = LSE_c((h_c − C(r, c)) / ε)        h: the other side's potential
 *   new_r = ε·lw_r − τ·ε·L_r                    τ = ρ/(ρ+ε); 1 when balanced
 * where C(r, c) is C_ij with (i, j) = (r, c) on side 0 and (c, r) on side 1,
 * and lw is the log of the normalised weight (−inf at zero mass, which stays
 * −inf).  mu_r = exp(pot_r/ε + L_r) is this side's marginal of the plan
 * P_ij = exp((f_i + g_j − C_ij)/ε).
 */
#ifndef IE_SINKHORN_H
#define IE_SINKHORN_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metric codes (ie_sinkhorn_metric of infoest.h). */
enum { IE_SK_SQEUCLIDEAN = 0, IE_SK_HALF_SQEUCLIDEAN = 1, IE_SK_EUCLIDEAN = 2 };

/* Pass modes. */
enum {
  /* write new_r (problems whose active flag is 0 are skipped) */
  IE_SK_UPDATE = 0,
  /* as UPDATE, and keep the old f for restore(); terms per row:
   *   [0] |exp(old/ε + L) − w|   this side's marginal error of the plan before the update
   *   [1] |exp(new/ε + L) − w|   ... of the plan after it
   *   [2] |new − old| / ε        (0 at zero mass), reduced by max */
  IE_SK_CHECK = 1,
  /* nothing written; every problem; with mu = exp(pot/ε + L), terms per row:
   *   [0] |mu − w|   [1] mu   [3] mu·(pot − ε·lw)   [4] mu·log(mu/w) − mu + w
   *   [5] Σ_c P_rc·C(r, c)   (0 at zero mass for [3], [4], [5]) */
  IE_SK_MEASURE = 2
};
#define IE_SK_TERMS 6 /* terms a row; per problem: sums, except [2] (max) */

typedef struct ie_sk_setup {
  int64_t B, n, m, d;
  /* The cost: a matrix in backend memory ([Bc·n, m] view, any float dtype),
   * or host points. */
  const ie_mat *cost;
  int64_t cost_bstride;         /* rows between problems: n, or 0 (shared) */
  const double *x, *y;          /* host, compact [·, d] */
  int64_t x_bstride, y_bstride; /* rows between problems: n (m), or 0 */
  int metric;
  int materialize;              /* points: build C (and Cᵀ) in the workspace */
  const double *la, *lb;        /* host [B·n], [B·m]: log weights */
  /* When the backend takes device inputs (ie_sk_ops.device_inputs), la, lb,
   * x and y are NULL and the inputs are these views in backend memory
   * instead, unchecked, any float dtype: the weights w[0] = a [Bw, n] and
   * w[1] = b [Bw, m] (Bw = 1: shared by every problem, else B), and, for
   * points, px [·, d] and py [·, d] (x_bstride, y_bstride as above).  The
   * backend checks and converts them there (src/sinkhorn.h, ie_sk_found). */
  const ie_mat *w[2];
  const ie_mat *px, *py;
  int want_box; /* device points: compute ie_sk_found.box */
  /* Points, not materialised, on a backend with ie_sk_ops.single_tiles:
   * UPDATE and CHECK passes in float32 tiles (src/kernels/sinkhorn.cl,
   * sk_pass_f32); MEASURE passes and the plan stay double. */
  int single;
} ie_sk_setup;

/* What begin found in device inputs: the host turns it into the message.
 *   wbad[s]: weights of side s: p·(N + 1) + i for the first problem p with a
 *            bad point i (not finite, or < 0), or i = N when its points are
 *            fine but its total is not (0, or it overflows); −1 if none.
 *   wtot[s]: that problem's total (when wbad[s] >= 0).
 *   xbad, ybad: row·d + coordinate of the first non-finite coordinate of
 *            px / py, −1 if none.
 *   box:     the largest cost across the bounding box of px ∪ py (what
 *            ε-scaling starts from), when the points are finite. */
typedef struct ie_sk_found {
  int64_t wbad[2];
  double wtot[2];
  int64_t xbad, ybad;
  double box;
} ie_sk_found;

typedef struct ie_sk_ops {
  /* Stage everything, set f = 0 and g = 0 (−inf at zero mass), all problems
   * active (device inputs: check them and fill *found first; when it
   * names a problem, the rest of the workspace need not be made).  For a
   * matrix cost: cmax[p] = max |C| of the cost's problem p
   * (p < Bc), and *bad = flat index (p·n·m + i·m + j) of the first element
   * that is not finite, −1 if none (then the workspace is still made). */
  ie_status (*begin)(ie_context *ctx, const ie_sk_setup *s, void **ws,
                     double *cmax, int64_t *bad, ie_sk_found *found);
  /* mask: host [B], 1 = keep iterating. */
  ie_status (*set_active)(ie_context *ctx, void *ws, const uint8_t *mask);
  /* One pass; terms (host [B·IE_SK_TERMS], reduced per problem in a fixed
   * order) for CHECK and MEASURE, NULL for UPDATE.  With decide (below), a
   * CHECK pass may get terms = NULL: its reduced terms then stay in the
   * workspace, one set a side, for decide. */
  ie_status (*pass)(ie_context *ctx, void *ws, int side, int mode, double eps,
                    double tau, double *terms);
  /* f of the problems with mask[b] = 1 goes back to what the last CHECK pass
   * on side 0 read. */
  ie_status (*restore)(ie_context *ctx, void *ws, const uint8_t *mask);
  /* Write f (side 0, [B, n]) or g (side 1, [B, m]) into out (f32 or f64 in
   * backend memory). */
  ie_status (*potential)(ie_context *ctx, void *ws, int side, const ie_mat *out);
  /* out[b·n + i, j] = P_ij of problem b; out is f32 or f64 in backend memory. */
  ie_status (*plan)(ie_context *ctx, void *ws, double eps, const ie_mat *out);
  void (*end)(ie_context *ctx, void *ws);
  /* 1: begin takes the weights and points in backend memory (setup.w, px,
   * py), 0: as host doubles (la, lb, x, y). */
  int device_inputs;
  /* Optional (NULL: the driver reads the terms and decides on the host,
   * then calls restore and set_active).  The check decided in the
   * workspace, after a side-1 and then a side-0 CHECK pass with terms =
   * NULL: every active problem whose terms meet the rule
   * (src/kernels/sinkhorn_terms.h, sk_stops) has its f restored (as
   * restore), stops being active and records `it` as its iteration count;
   * *left = the problems still active (the one word a check reads back). */
  ie_status (*decide)(ie_context *ctx, void *ws, double tol, int balanced, int64_t it, int64_t *left);
  /* With decide: iters[b] (host [B]) = the count decide recorded for
   * problem b, −1 if it never stopped it (read once, at the end). */
  ie_status (*stopped)(ie_context *ctx, void *ws, int64_t *iters);
  /* 1: begin honours setup.single (ie_sinkhorn_options.single_precision);
   * 0: every pass in double (the CPU). */
  int single_tiles;
} ie_sk_ops;

extern const ie_sk_ops ie__cpu_sk_ops;
#ifdef IE_HAVE_CUDA
extern const ie_sk_ops ie__cuda_sk_ops;
#endif
#ifdef IE_HAVE_OPENCL
extern const ie_sk_ops ie__opencl_sk_ops;
#endif

#ifdef __cplusplus
}
#endif
#endif
