/*
 * broja.h — the BROJA partial information decomposition of one joint
 * (docs/SPEC.md §9), written once for the CPU backend (host C), the CUDA
 * module and the OpenCL program (see vendor.h): one joint a thread, every
 * array in caller-provided scratch of broja_scratch_words(S1, S2, T) words
 * (8 bytes each), so that a GPU thread needs no private array and the size
 * is known at launch for a whole batch of one shape.
 *
 * The BROJA unique information (Bertschinger, Rauh, Olbrich, Jost, Ay 2014,
 * "Quantifying unique information") is U1 = min over Q ∈ Δ_P of
 * I_Q(S1; T | S2), Δ_P the joints with P's (s1, t) and (s2, t) marginals.
 * Since H_Q(T | S2) is fixed on Δ_P, this is the minimum of the convex
 * f(q) = −H_Q(T | S1, S2) = Σ q log q − Σ_{s1 s2} Q(s1,s2) log Q(s1,s2),
 * and the same Q* gives U2, redundancy and synergy (Makkeh, Theis and Vicente
 * 2017, "Bivariate partial information decomposition: the optimization
 * perspective", solve it as an exponential-cone program; dit's cone solver
 * does that with ECOS).
 *
 * Here, as a primal log-barrier method (Boyd and Vandenberghe, Convex
 * Optimization, §11.3) in the affine parametrisation of Δ_P:
 *  - q lives on the cells where P(s1,t) > 0 and P(s2,t) > 0 (all others are 0
 *    on Δ_P);
 *  - for each t, the (s1, s2) slice is a transportation polytope with fixed
 *    row and column sums: its directions are the 2 × 2 cycles
 *    e(i,j) − e(i,j') − e(i',j) + e(i',j') with (i', j') the slice's last
 *    supported row and column, (|A_t| − 1)(|B_t| − 1) of them;
 *  - the start q0 = P(s1,t) P(s2,t) / P(t) is strictly inside;
 *  - F_μ = f − μ Σ log q is minimised by damped Newton steps (the reduced
 *    Hessian of f is positive semi-definite, singular along directions in
 *    which f is flat — f is positively homogeneous — the barrier makes it
 *    definite, so every system is well-posed), a fraction-to-the-boundary
 *    rule and Armijo backtracking, for μ = 1e-3, 1e-4, …, 1e-12.  The
 *    barrier's duality bound puts the final f within (number of cells)·1e-12
 *    of its minimum: 1e-7 up to 10^5 cells.
 * The reduced Hessian is dense (cycles × cycles) and factored by Cholesky;
 * meant for small joints (thousands of them at once).
 */
#ifndef IE_KERNELS_BROJA_H
#define IE_KERNELS_BROJA_H

#include "discrete.h"

/* ---- Dense Cholesky (small symmetric positive definite systems) ------------------ */

/* a (n × n, row-major) = L Lᵀ in place (lower triangle); 0 if not positive
 * definite. */
FN ie_i32 disc_cholesky(GLOBAL double *a, ie_i64 n) {
  for (ie_i64 j = 0; j < n; j++) {
    double d = a[j * n + j];
    for (ie_i64 k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return 0;
    d = sqrt(d);
    a[j * n + j] = d;
    for (ie_i64 i = j + 1; i < n; i++) {
      double s = a[i * n + j];
      for (ie_i64 k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  return 1;
}

/* Solve L Lᵀ x = b in place. */
FN void disc_cholesky_solve(GLOBAL const double *l, ie_i64 n, GLOBAL double *b) {
  for (ie_i64 i = 0; i < n; i++) {
    double s = b[i];
    for (ie_i64 k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (ie_i64 i = n - 1; i >= 0; i--) {
    double s = b[i];
    for (ie_i64 k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

/* ---- Scratch ------------------------------------------------------------------------ */

/* The most cycles a joint [S1, S2, T] can have: (S1 − 1)(S2 − 1) a slice. */
FN_BOTH ie_i64 broja_max_cycles(ie_i64 S1, ie_i64 S2, ie_i64 T) { return T * (S1 - 1) * (S2 - 1); }

/* Doubles of one joint's scratch (the integers follow them). */
FN_BOTH ie_i64 broja_scratch_doubles(ie_i64 S1, ie_i64 S2, ie_i64 T) {
  const ie_i64 n = S1 * S2 * T, nc = broja_max_cycles(S1, S2, T);
  /* P(s1,t), P(s2,t), P(t); q, gradient, Hessian diagonal, trial q, step;
   * Q(s1,s2) and its trial; the reduced Hessian, its gradient and step. */
  return S1 * T + S2 * T + T + 5 * n + 2 * S1 * S2 + nc * nc + 2 * nc;
}

/* Words (8 bytes) of one joint's scratch: the doubles, then ie_i64s (each
 * cell's variable, each variable's (s1, s2) group, each cycle's 4 variables
 * and 4 groups). */
FN_BOTH ie_i64 broja_scratch_words(ie_i64 S1, ie_i64 S2, ie_i64 T) {
  const ie_i64 n = S1 * S2 * T, nc = broja_max_cycles(S1, S2, T);
  return broja_scratch_doubles(S1, S2, T) + 2 * n + 8 * nc;
}

/* ---- The solver ---------------------------------------------------------------------- */

/* F_μ(q) with Q (ng groups) summed into Q; +inf outside the open orthant. */
FN double broja_barrier(GLOBAL const double *q, GLOBAL const ie_i64 *grp, ie_i64 nv, ie_i64 ng,
                        GLOBAL double *Q, double mu) {
  for (ie_i64 g = 0; g < ng; g++) Q[g] = 0;
  double f = 0;
  for (ie_i64 v = 0; v < nv; v++) {
    if (!(q[v] > 0)) return IE_INFINITY;
    Q[grp[v]] += q[v];
    f += q[v] * log(q[v]) - mu * log(q[v]);
  }
  for (ie_i64 g = 0; g < ng; g++)
    if (Q[g] > 0) f -= Q[g] * log(Q[g]);
  return f;
}

/* Sign of a cycle's e-th cell: + − − +. */
FN double broja_sign(ie_i32 e) { return (e == 0 || e == 3) ? 1.0 : -1.0; }

/* BROJA of one joint [S1, S2, T] (row-major, unnormalised masses of type dt
 * at element `off`, already checked: disc_joint_check's total) into
 * out[0..6] as disc_pid_joint (R, U1, U2, S, I(S1;T), I(S2;T), I(S1,S2;T)),
 * with scratch w of broja_scratch_words(S1, S2, T) words.  Returns the
 * Newton steps taken.  When a system cannot be factored (the barrier keeps
 * it definite, so only at the limits of double precision) the last iterate
 * is used.  R = I(S1;T) − U1, U2 = I(S2;T) − R and S = I(S1,S2;T) − R − U1 −
 * U2, each clamped at 0 (values within rounding of 0 — 1e-12 of the largest
 * information — are 0), so the three consistency equations hold to
 * rounding. */
FN ie_i64 broja_joint(GLOBAL const ie_u8 *base, ie_i32 dt, ie_i64 off, ie_i64 S1, ie_i64 S2,
                      ie_i64 T, double total, GLOBAL double *w, double *out) {
  /* I(S1;T), I(S2;T), I(S1,S2;T) of P (the MMI routine computes them). */
  disc_pid_joint(base, dt, off, S1, S2, T, total, DISC_PID_MMI, out);
  const double mi1 = out[4], mi2 = out[5], mi12 = out[6];
  const ie_i64 n = S1 * S2 * T, ng = S1 * S2;
  GLOBAL double *pit = w;
  GLOBAL double *pjt = pit + S1 * T;
  GLOBAL double *pt = pjt + S2 * T;
  GLOBAL double *q = pt + T;
  GLOBAL double *g = q + n;
  GLOBAL double *h = g + n;
  GLOBAL double *qn = h + n;
  GLOBAL double *dq = qn + n;
  GLOBAL double *Q = dq + n;
  GLOBAL double *Qn = Q + ng;
  GLOBAL double *H = Qn + ng;
  const ie_i64 ncmax = broja_max_cycles(S1, S2, T);
  GLOBAL double *gz = H + ncmax * ncmax;
  GLOBAL double *dz = gz + ncmax;
  GLOBAL ie_i64 *var = (GLOBAL ie_i64 *)(w + broja_scratch_doubles(S1, S2, T));
  GLOBAL ie_i64 *grp = var + n;
  GLOBAL ie_i64 *cv = grp + n; /* cycle c's variables: cv[4c + e] */
  GLOBAL ie_i64 *cg = cv + 4 * ncmax; /* and their (s1, s2) groups */
  const double inv = 1.0 / total;
  for (ie_i64 k = 0; k < S1 * T + S2 * T + T; k++) pit[k] = 0;
  for (ie_i64 i = 0; i < S1; i++)
    for (ie_i64 j = 0; j < S2; j++)
      for (ie_i64 t = 0; t < T; t++) {
        const double v = disc_load(base, dt, off + (i * S2 + j) * T + t) * inv;
        pit[i * T + t] += v;
        pjt[j * T + t] += v;
        pt[t] += v;
      }
  /* Variables, their groups, the start, the cycles. */
  ie_i64 nv = 0, nc = 0;
  for (ie_i64 k = 0; k < n; k++) {
    const ie_i64 t = k % T, j = (k / T) % S2, i = k / (T * S2);
    if (pit[i * T + t] > 0 && pjt[j * T + t] > 0) {
      q[nv] = pit[i * T + t] * pjt[j * T + t] / pt[t];
      grp[nv] = i * S2 + j;
      var[k] = nv++;
    } else {
      var[k] = -1;
    }
  }
  for (ie_i64 t = 0; t < T; t++) {
    ie_i64 il = -1, jl = -1;
    for (ie_i64 i = 0; i < S1; i++)
      if (pit[i * T + t] > 0) il = i;
    for (ie_i64 j = 0; j < S2; j++)
      if (pjt[j * T + t] > 0) jl = j;
    if (il < 0 || jl < 0) continue;
    for (ie_i64 i = 0; i < il; i++) {
      if (!(pit[i * T + t] > 0)) continue;
      for (ie_i64 j = 0; j < jl; j++) {
        if (!(pjt[j * T + t] > 0)) continue;
        for (ie_i32 e = 0; e < 4; e++) {
          const ie_i64 ii = e < 2 ? i : il, jj = (e == 0 || e == 2) ? j : jl;
          cv[4 * nc + e] = var[(ii * S2 + jj) * T + t];
          cg[4 * nc + e] = ii * S2 + jj;
        }
        nc++;
      }
    }
  }
  ie_i64 steps = 0;
  ie_i32 failed = 0;
  for (double mu = 1e-3; nc > 0 && !failed && mu >= 0.99e-12; mu *= 0.1) {
    for (ie_i32 it = 0; it < 100; it++) {
      const double F = broja_barrier(q, grp, nv, ng, Q, mu);
      for (ie_i64 v = 0; v < nv; v++) {
        g[v] = log(q[v]) - log(Q[grp[v]]) - mu / q[v];
        h[v] = 1 / q[v] + mu / (q[v] * q[v]);
      }
      /* The reduced gradient and Hessian: cycles' sums of the cells' terms,
       * less the group terms −1/Q of f's −Q log Q. */
      for (ie_i64 a = 0; a < nc; a++) {
        double s = 0;
        for (ie_i32 e = 0; e < 4; e++) s += broja_sign(e) * g[cv[4 * a + e]];
        gz[a] = s;
        for (ie_i64 b = a; b < nc; b++) {
          double hab = 0;
          for (ie_i32 e = 0; e < 4; e++)
            for (ie_i32 f = 0; f < 4; f++) {
              const double sg = broja_sign(e) * broja_sign(f);
              if (cv[4 * a + e] == cv[4 * b + f]) hab += sg * h[cv[4 * a + e]];
              if (cg[4 * a + e] == cg[4 * b + f]) hab -= sg / Q[cg[4 * a + e]];
            }
          H[a * nc + b] = hab;
          H[b * nc + a] = hab;
        }
      }
      if (!disc_cholesky(H, nc)) {
        failed = 1;
        break;
      }
      for (ie_i64 a = 0; a < nc; a++) dz[a] = -gz[a];
      disc_cholesky_solve(H, nc, dz);
      double dec = 0;
      for (ie_i64 a = 0; a < nc; a++) dec -= gz[a] * dz[a];
      if (!(dec > 2e-15)) break; /* Newton decrement²/2 below 1e-15 */
      for (ie_i64 v = 0; v < nv; v++) dq[v] = 0;
      for (ie_i64 a = 0; a < nc; a++)
        for (ie_i32 e = 0; e < 4; e++) dq[cv[4 * a + e]] += broja_sign(e) * dz[a];
      double alpha = 1;
      for (ie_i64 v = 0; v < nv; v++)
        if (dq[v] < 0) alpha = fmin(alpha, -0.99 * q[v] / dq[v]);
      ie_i32 moved = 0;
      for (ie_i32 bt = 0; bt < 60; bt++, alpha *= 0.5) {
        for (ie_i64 v = 0; v < nv; v++) qn[v] = q[v] + alpha * dq[v];
        const double Fn = broja_barrier(qn, grp, nv, ng, Qn, mu);
        if (Fn <= F - 0.25 * alpha * dec) {
          for (ie_i64 v = 0; v < nv; v++) q[v] = qn[v];
          moved = 1;
          break;
        }
      }
      steps++;
      if (!moved) break; /* at the limit of double precision */
    }
  }
  /* U1 = I_Q(S1; T | S2) = Σ q log(q · Q(s2) / (Q(s1,s2) · P(s2,t))). */
  for (ie_i64 a = 0; a < ng; a++) Q[a] = 0;
  for (ie_i64 v = 0; v < nv; v++) Q[grp[v]] += q[v];
  double u1 = 0;
  for (ie_i64 k = 0; k < n; k++) {
    if (var[k] < 0 || !(q[var[k]] > 0)) continue;
    const ie_i64 t = k % T, j = (k / T) % S2, i = k / (T * S2);
    double qj = 0;
    for (ie_i64 u = 0; u < T; u++) qj += pjt[j * T + u];
    const double x = q[var[k]];
    u1 += x * ((log(x) - log(Q[i * S2 + j])) + (log(qj) - log(pjt[j * T + t])));
  }
  const double big = fmax(1.0, fmax(mi12, fmax(mi1, mi2)));
  const double tiny = 1e-12 * big;
  u1 = u1 > 0 ? u1 : 0.0;
  /* P itself is in Δ_P, so U1 <= I_P(S1; T | S2) = I(S1,S2;T) − I(S2;T):
   * a Q that misses the optimum by rounding (an optimum on the boundary,
   * reached only to μ) must not make the synergy negative. */
  const double cmi = mi12 - mi2 > 0 ? mi12 - mi2 : 0.0;
  u1 = u1 < cmi ? u1 : cmi;
  double red = mi1 - u1;
  if (red < 0) { /* rounding, or a not quite optimal Q: redundancy is >= 0 */
    red = 0;
    u1 = mi1;
  }
  double u2 = mi2 - red;
  if (u2 < 0) {
    u2 = 0;
    red = mi2;
    u1 = mi1 - red;
  }
  double syn = mi12 - red - u1 - u2;
  if (syn < 0 && syn > -1e-9 * big) syn = 0;
  if (fabs(red) < tiny) red = 0;
  if (fabs(u1) < tiny) u1 = 0;
  if (fabs(u2) < tiny) u2 = 0;
  out[0] = red;
  out[1] = u1;
  out[2] = u2;
  out[3] = syn > 0 ? syn : 0.0;
  return steps;
}

#endif /* IE_KERNELS_BROJA_H */
