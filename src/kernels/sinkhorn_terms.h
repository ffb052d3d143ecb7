/*
 * sinkhorn_terms.h — the per-row arithmetic of a Sinkhorn pass (src/sinkhorn.h
 * states the pass, docs/SPEC.md §4 the solver), shared by every backend: the
 * CPU's passes (host C), and the GPUs' (sinkhorn.cl: CUDA C++, OpenCL C).
 * How a backend forms L_r = LSE_c((h_c − C_rc)/ε) is its own (a vectorised
 * tile loop on the CPU, lanes merged in a fixed order on a GPU); what it does
 * with L_r is this file.  All in double.
 */
#ifndef IE_KERNELS_SINKHORN_TERMS_H
#define IE_KERNELS_SINKHORN_TERMS_H

#include "vendor.h"

/* The launch shape of sinkhorn.cl's kernels (its hosts use these too). */
#define SK_NT 256                  /* work-items a group, for every sk_ kernel */
#define SK_LANES 32                /* most lanes a row in a pass (a CUDA warp) */
/* The float32 pass's tiles (sk_pass_f32): local floats for a tile's points
 * (24 KiB: with the lanes' 6 KiB of scratch, under OpenCL's 32 KiB), and the
 * most columns a tile. */
#define SK_TILE_FLOATS 6144
#define SK_TILE_COLS 256

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)

/* The codes of src/sinkhorn.h (the backends check that they agree). */
#define SK_SQEUCLIDEAN 0
#define SK_HALF_SQEUCLIDEAN 1
#define SK_EUCLIDEAN 2
#define SK_UPDATE 0
#define SK_CHECK 1
#define SK_MEASURE 2
#define SK_TERMS 6

/* The cost of the metric from s = ‖x − y‖². */
FN double sk_metric_of(int metric, double s)
{
  return metric == SK_EUCLIDEAN ? sqrt(s) : metric == SK_HALF_SQEUCLIDEAN ? 0.5 * s : s;
}

/* The cost between two points of d coordinates, summed in coordinate order
 * (so a cost built once and one formed on the fly agree bit for bit). */
FN double sk_dist(int metric, GLOBAL const double *p, GLOBAL const double *q, ie_i64 d)
{
  double s = 0;
  for (ie_i64 k = 0; k < d; k++) {
    const double t = p[k] - q[k];
    s += t * t;
  }
  return sk_metric_of(metric, s);
}

/* new_r = ε log w_r − τ ε L_r (−inf stays at zero mass). */
FN double sk_new_potential(double eps, double tau, double lwr, double L)
{
  return lwr > -IE_INFINITY ? eps * lwr - tau * eps * L : -IE_INFINITY;
}

/* CHECK terms of a row (src/sinkhorn.h): the marginal errors of the plans
 * before (old) and after (nw) the update, and |nw − old|/ε. */
FN void sk_check_terms(double inv_eps, double lwr, double old, double nw, double L,
                       GLOBAL double *t)
{
  const int pos = lwr > -IE_INFINITY;
  const double wr = exp(lwr);
  t[0] = pos ? fabs(exp(old * inv_eps + L) - wr) : 0;
  t[1] = pos ? fabs(exp(nw * inv_eps + L) - wr) : 0;
  t[2] = pos ? fabs(nw - old) * inv_eps : 0;
  t[3] = t[4] = t[5] = 0;
}

/* MEASURE terms of a row, with mu = exp(pot/ε + L) this side's marginal of
 * the plan and pc = Σ_c e^{v_c − L}·C_rc (0 when the row has no mass). */
FN void sk_measure_terms(double eps, double inv_eps, double lwr, double pot, double L, double pc,
                         GLOBAL double *t)
{
  const int pos = lwr > -IE_INFINITY;
  const double wr = exp(lwr), mu = exp(pot * inv_eps + L);
  t[0] = fabs(mu - wr);
  t[1] = mu;
  t[2] = 0;
  t[3] = pos && mu > 0 ? mu * (pot - eps * lwr) : 0;
  t[4] = pos ? (mu > 0 ? mu * log(mu / wr) : 0) - mu + wr : mu;
  t[5] = mu > 0 ? mu * pc : 0;
}

/* The stopping rule of a check (src/sinkhorn.c), from a problem's reduced
 * CHECK terms of the side-0 pass (t0) and of the side-1 pass before it (t1):
 * the marginal error of the checked plan merr = t0[0] + t1[1] (rows + columns),
 * its last move = max(t0[2], t1[2]); balanced problems stop when merr <= tol,
 * unbalanced ones when the move is.  One source for the host and the GPUs, so
 * both decide the same thing. */
FN int sk_stops(int balanced, double tol, double t0_err, double t1_err, double t0_move, double t1_move)
{
  const double merr = t0_err + t1_err, move = fmax(t0_move, t1_move);
  return balanced ? merr <= tol : move <= tol;
}

/* Two partial values of term k merged: a sum, except [2] (a max). */
FN double sk_term_merge(int k, double a, double b)
{
  return k == 2 ? fmax(a, b) : a + b;
}

#endif /* fp64 */
#endif /* IE_KERNELS_SINKHORN_TERMS_H */
