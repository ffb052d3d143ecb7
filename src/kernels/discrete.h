/*
 * discrete.h — the per-cell and per-joint formulas of discrete information
 * (docs/SPEC.md §9), written once for the CPU backend (host C), the CUDA
 * module and the OpenCL program (see vendor.h).  Everything here works in
 * double on counts or unnormalised masses; p = c / n is taken inside.
 */
#ifndef IE_KERNELS_DISCRETE_H
#define IE_KERNELS_DISCRETE_H

#include "vendor.h"

/* Element codes, equal to ie_dtype of src/backend.h. */
#define DISC_DT_F32 0
#define DISC_DT_F64 3
#define DISC_DT_I32 4
#define DISC_DT_I64 5

/* Kinds of the PMI map (ie_pmi_kind). */
#define DISC_PMI 0
#define DISC_NPMI 1
#define DISC_PPMI 2

/* Measures of the PID (ie_pid_measure): imin and MMI here, BROJA in
 * broja.h. */
#define DISC_PID_IMIN 0
#define DISC_PID_MMI 1
#define DISC_PID_BROJA 2

/* Per-joint error codes (as ie_rowerr). */
#define DISC_OK 0
#define DISC_NONFINITE 1
#define DISC_NEGATIVE 2
#define DISC_EMPTY 3

/* Element i of a table of one of the DISC_DT_* types, as double (integer
 * counts below 2^53 exactly). */
FN double disc_load(GLOBAL const ie_u8 *base, ie_i32 dt, ie_i64 i) {
  if (dt == DISC_DT_F64) return ((GLOBAL const double *)base)[i];
  if (dt == DISC_DT_F32) return (double)((GLOBAL const float *)base)[i];
  if (dt == DISC_DT_I32) return (double)((GLOBAL const ie_i32 *)base)[i];
  return (double)((GLOBAL const ie_i64 *)base)[i];
}

/* PMI and nPMI of one cell (docs/SPEC.md §9).  raw: the count as given (for
 * min_count); c, cx, cy: the (smoothed) joint and marginal counts; logn =
 * log N.  A pair with p(x,y) = 0, or counted fewer than min_count times,
 * has PMI −inf and nPMI −1.  p(x,y) = 1 gives nPMI 1, not 0/0.  PMI is
 * summed as (log c − log cx) + (log N − log cy), so that c = cx = cy gives
 * exactly PMI = −log p(x,y) and nPMI exactly 1. */
FN void disc_pmi_cell(double raw, double c, double cx, double cy, double logn,
                      double min_count, double *pmi, double *npmi) {
  if (!(c > 0) || raw < min_count) {
    *pmi = -IE_INFINITY;
    *npmi = -1.0;
    return;
  }
  const double lc = log(c);
  const double h = logn - lc; /* −log p(x,y) >= 0 */
  const double v = (lc - log(cx)) + (logn - log(cy));
  *pmi = v;
  if (!(h > 0)) {
    *npmi = 1.0;
    return;
  }
  double r = v / h;
  *npmi = r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
}

/* The value of the asked kind from (PMI, nPMI). */
FN double disc_pmi_pick(ie_i32 kind, double pmi, double npmi) {
  if (kind == DISC_NPMI) return npmi;
  if (kind == DISC_PPMI) return pmi > 0 ? pmi : 0.0;
  return pmi;
}

/* One cell's term of I(X;Y) = Σ p(x,y) log(p(x,y) / (p(x) p(y))), p = c/N:
 * (c/N)·(log c + log N − log cx − log cy); 0 for c = 0. */
FN double disc_mi_term(double c, double cx, double cy, double n, double logn) {
  if (!(c > 0)) return 0.0;
  return c / n * ((log(c) - log(cx)) + (logn - log(cy)));
}

/* x·log(x) with 0·log 0 = 0. */
FN double disc_xlogx(double x) { return x > 0 ? x * log(x) : 0.0; }

/* Check one joint p(s1, s2, t) of n = S1·S2·T masses at `off` (elements):
 * every value finite and >= 0, and a positive total (written to *total). */
FN ie_i32 disc_joint_check(GLOBAL const ie_u8 *base, ie_i32 dt, ie_i64 off, ie_i64 n,
                           double *total) {
  double sum = 0;
  for (ie_i64 i = 0; i < n; i++) {
    const double v = disc_load(base, dt, off + i);
    if (v != v || v == IE_INFINITY || v == -IE_INFINITY) return DISC_NONFINITE;
    if (v < 0) return DISC_NEGATIVE;
    sum += v;
  }
  *total = sum;
  if (!(sum > 0) || sum == IE_INFINITY) return sum > 0 ? DISC_NONFINITE : DISC_EMPTY;
  return DISC_OK;
}

/* Williams–Beer imin or MMI decomposition of one joint [S1, S2, T] (row-major,
 * unnormalised masses, already checked) into out[0..6] = redundancy, unique1,
 * unique2, synergy, I(S1;T), I(S2;T), I(S1,S2;T), in nats.  Marginals are
 * summed where needed (no scratch arrays, so the same code runs in a GPU
 * thread); the cost is O(S1·S2·T·(S1 + S2 + T)), meant for small joints.
 *
 * imin: R = Σ_t p(t) min_i I(S_i; T = t), the specific information
 * I(S_i; T = t) = Σ_s p(s|t) log(p(s,t) / (p(s) p(t))) (Williams and Beer
 * 2010); U_i = Σ_t p(t)(I(S_i; T=t) − min), a sum of non-negative terms, so
 * I(S_i;T) = R + U_i holds by construction.  mmi: R = min_i I(S_i; T).
 * Synergy S = I(S1,S2;T) − R − U1 − U2; values within rounding of 0
 * (1e-12 of the largest information) are returned as 0. */
FN void disc_pid_joint(GLOBAL const ie_u8 *base, ie_i32 dt, ie_i64 off, ie_i64 S1,
                       ie_i64 S2, ie_i64 T, double total, ie_i32 measure, double *out) {
  const double inv = 1.0 / total;
  double mi1 = 0, mi2 = 0, mi12 = 0, red = 0, u1 = 0, u2 = 0;
  for (ie_i64 t = 0; t < T; t++) {
    double ct = 0;
    for (ie_i64 a = 0; a < S1 * S2; a++) ct += disc_load(base, dt, off + a * T + t);
    if (!(ct > 0)) continue;
    const double pt = ct * inv;
    /* Specific information of S1 and of S2 about T = t. */
    double sp1 = 0, sp2 = 0;
    for (ie_i64 i = 0; i < S1; i++) {
      double cit = 0, ci = 0;
      for (ie_i64 j = 0; j < S2; j++) {
        cit += disc_load(base, dt, off + (i * S2 + j) * T + t);
        for (ie_i64 u = 0; u < T; u++) ci += disc_load(base, dt, off + (i * S2 + j) * T + u);
      }
      if (cit > 0) sp1 += cit / ct * ((log(cit) - log(ci)) + (log(total) - log(ct)));
    }
    for (ie_i64 j = 0; j < S2; j++) {
      double cjt = 0, cj = 0;
      for (ie_i64 i = 0; i < S1; i++) {
        cjt += disc_load(base, dt, off + (i * S2 + j) * T + t);
        for (ie_i64 u = 0; u < T; u++) cj += disc_load(base, dt, off + (i * S2 + j) * T + u);
      }
      if (cjt > 0) sp2 += cjt / ct * ((log(cjt) - log(cj)) + (log(total) - log(ct)));
    }
    sp1 = sp1 > 0 ? sp1 : 0.0;
    sp2 = sp2 > 0 ? sp2 : 0.0;
    mi1 += pt * sp1;
    mi2 += pt * sp2;
    const double m = sp1 < sp2 ? sp1 : sp2;
    red += pt * m;
    u1 += pt * (sp1 - m);
    u2 += pt * (sp2 - m);
    /* I(S1,S2;T) terms of this t. */
    for (ie_i64 a = 0; a < S1 * S2; a++) {
      const double c = disc_load(base, dt, off + a * T + t);
      if (!(c > 0)) continue;
      double ca = 0;
      for (ie_i64 u = 0; u < T; u++) ca += disc_load(base, dt, off + a * T + u);
      mi12 += c * inv * ((log(c) - log(ca)) + (log(total) - log(ct)));
    }
  }
  mi12 = mi12 > 0 ? mi12 : 0.0;
  if (measure == DISC_PID_MMI) {
    red = mi1 < mi2 ? mi1 : mi2;
    u1 = mi1 - red;
    u2 = mi2 - red;
  }
  double syn = mi12 - red - u1 - u2;
  const double big = mi12 > mi1 ? (mi12 > mi2 ? mi12 : mi2) : (mi1 > mi2 ? mi1 : mi2);
  if (fabs(syn) <= 1e-12 * (big > 1 ? big : 1.0)) syn = 0.0;
  out[0] = red;
  out[1] = u1;
  out[2] = u2;
  out[3] = syn;
  out[4] = mi1;
  out[5] = mi2;
  out[6] = mi12;
}

#endif /* IE_KERNELS_DISCRETE_H */
