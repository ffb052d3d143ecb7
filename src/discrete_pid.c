/*
 * discrete_pid.c — partial information decomposition (docs/SPEC.md §9):
 * imin and MMI of batches of joints (the backends, one joint a thread),
 * BROJA (solved here on the host for every backend), Gaussian MMI from a
 * covariance.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discrete.h"
#include "discrete_private.h"
#include "internal.h"
#include "kernels/discrete.h"

/* ---- Dense Cholesky (small symmetric positive definite systems) ------------------ */

/* a (n × n, row-major) = L Lᵀ in place (lower triangle); 0 if not positive
 * definite. */
static int cholesky(double *a, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return 0;
    d = sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; i++) {
      double s = a[i * n + j];
      for (int64_t k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  return 1;
}

/* Solve L Lᵀ x = b in place. */
static void cholesky_solve(const double *l, int64_t n, double *b) {
  for (int64_t i = 0; i < n; i++) {
    double s = b[i];
    for (int64_t k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (int64_t i = n - 1; i >= 0; i--) {
    double s = b[i];
    for (int64_t k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

/* ---- BROJA ------------------------------------------------------------------------- */

/*
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
 * Returns the Newton steps taken; *fail is set when a system could not be
 * factored (then the start or last iterate is used).
 */
typedef struct {
  int64_t v[4]; /* variable indices of the cycle's cells */
  int64_t g[4]; /* their (s1, s2) groups */
} cycle;

static const double cyc_sign[4] = {1, -1, -1, 1};

static double barrier_value(const double *q, const int64_t *grp, int64_t nv, int64_t ng,
                            double *Q, double mu) {
  memset(Q, 0, (size_t)ng * sizeof *Q);
  double f = 0;
  for (int64_t v = 0; v < nv; v++) {
    if (!(q[v] > 0)) return INFINITY;
    Q[grp[v]] += q[v];
    f += q[v] * log(q[v]) - mu * log(q[v]);
  }
  for (int64_t g = 0; g < ng; g++)
    if (Q[g] > 0) f -= Q[g] * log(Q[g]);
  return f;
}

int64_t ie__broja(const double *p, int64_t S1, int64_t S2, int64_t T, double *out, int *fail) {
  *fail = 0;
  /* I(S1;T), I(S2;T), I(S1,S2;T) of P (the MMI routine computes them). */
  disc_pid_joint((const ie_u8 *)p, DISC_DT_F64, 0, S1, S2, T, 1.0, DISC_PID_MMI, out);
  const double mi1 = out[4], mi2 = out[5], mi12 = out[6];
  const int64_t n = S1 * S2 * T;
  double *pit = calloc((size_t)(S1 * T + S2 * T + T), sizeof(double));
  int64_t *var = malloc((size_t)n * sizeof(int64_t));
  if (!pit || !var) {
    free(pit);
    free(var);
    *fail = 2;
    return 0;
  }
  double *pjt = pit + S1 * T, *pt = pjt + S2 * T;
  for (int64_t i = 0; i < S1; i++)
    for (int64_t j = 0; j < S2; j++)
      for (int64_t t = 0; t < T; t++) {
        const double v = p[(i * S2 + j) * T + t];
        pit[i * T + t] += v;
        pjt[j * T + t] += v;
        pt[t] += v;
      }
  /* Variables, their groups, the start, the cycles. */
  int64_t nv = 0, nc = 0;
  for (int64_t k = 0; k < n; k++) {
    const int64_t t = k % T, j = (k / T) % S2, i = k / (T * S2);
    var[k] = (pit[i * T + t] > 0 && pjt[j * T + t] > 0) ? nv++ : -1;
  }
  for (int64_t t = 0; t < T; t++) {
    int64_t na = 0, nb = 0;
    for (int64_t i = 0; i < S1; i++) na += pit[i * T + t] > 0;
    for (int64_t j = 0; j < S2; j++) nb += pjt[j * T + t] > 0;
    if (na > 1 && nb > 1) nc += (na - 1) * (nb - 1);
  }
  double *q = malloc((size_t)(nv ? nv : 1) * 6 * sizeof(double) + (size_t)(S1 * S2) * 2 * sizeof(double) +
                     (size_t)(nc ? nc : 1) * (size_t)(nc + 3) * sizeof(double));
  int64_t *grp = malloc((size_t)(nv ? nv : 1) * sizeof(int64_t));
  cycle *cy = malloc((size_t)(nc ? nc : 1) * sizeof *cy);
  if (!q || !grp || !cy) {
    free(q), free(grp), free(cy), free(pit), free(var);
    *fail = 2;
    return 0;
  }
  double *g = q + nv, *h = g + nv, *qn = h + nv, *dq = qn + nv, *Q = dq + nv + nv,
         *Qn = Q + S1 * S2, *H = Qn + S1 * S2, *gz = H + nc * nc, *dz = gz + nc;
  for (int64_t k = 0; k < n; k++) {
    if (var[k] < 0) continue;
    const int64_t t = k % T, j = (k / T) % S2, i = k / (T * S2);
    q[var[k]] = pit[i * T + t] * pjt[j * T + t] / pt[t];
    grp[var[k]] = i * S2 + j;
  }
  int64_t c = 0;
  for (int64_t t = 0; t < T; t++) {
    int64_t il = -1, jl = -1;
    for (int64_t i = 0; i < S1; i++)
      if (pit[i * T + t] > 0) il = i;
    for (int64_t j = 0; j < S2; j++)
      if (pjt[j * T + t] > 0) jl = j;
    if (il < 0 || jl < 0) continue;
    for (int64_t i = 0; i < il; i++) {
      if (!(pit[i * T + t] > 0)) continue;
      for (int64_t j = 0; j < jl; j++) {
        if (!(pjt[j * T + t] > 0)) continue;
        const int64_t ii[4] = {i, i, il, il}, jj[4] = {j, jl, j, jl};
        for (int e = 0; e < 4; e++) {
          cy[c].v[e] = var[(ii[e] * S2 + jj[e]) * T + t];
          cy[c].g[e] = ii[e] * S2 + jj[e];
        }
        c++;
      }
    }
  }
  const int64_t ng = S1 * S2;
  int64_t steps = 0;
  for (double mu = 1e-3; nc > 0 && mu >= 0.99e-12; mu *= 0.1) {
    for (int it = 0; it < 100; it++) {
      const double F = barrier_value(q, grp, nv, ng, Q, mu);
      for (int64_t v = 0; v < nv; v++) {
        g[v] = log(q[v]) - log(Q[grp[v]]) - mu / q[v];
        h[v] = 1 / q[v] + mu / (q[v] * q[v]);
      }
      for (int64_t a = 0; a < nc; a++) {
        double s = 0;
        for (int e = 0; e < 4; e++) s += cyc_sign[e] * g[cy[a].v[e]];
        gz[a] = s;
        for (int64_t b = a; b < nc; b++) {
          double hab = 0;
          for (int e = 0; e < 4; e++)
            for (int f = 0; f < 4; f++) {
              const double sg = cyc_sign[e] * cyc_sign[f];
              if (cy[a].v[e] == cy[b].v[f]) hab += sg * h[cy[a].v[e]];
              if (cy[a].g[e] == cy[b].g[f]) hab -= sg / Q[cy[a].g[e]];
            }
          H[a * nc + b] = H[b * nc + a] = hab;
        }
      }
      if (!cholesky(H, nc)) {
        *fail = 1;
        break;
      }
      for (int64_t a = 0; a < nc; a++) dz[a] = -gz[a];
      cholesky_solve(H, nc, dz);
      double dec = 0;
      for (int64_t a = 0; a < nc; a++) dec -= gz[a] * dz[a];
      if (!(dec > 2e-15)) break; /* Newton decrement²/2 below 1e-15 */
      memset(dq, 0, (size_t)nv * sizeof *dq);
      for (int64_t a = 0; a < nc; a++)
        for (int e = 0; e < 4; e++) dq[cy[a].v[e]] += cyc_sign[e] * dz[a];
      double alpha = 1;
      for (int64_t v = 0; v < nv; v++)
        if (dq[v] < 0) alpha = fmin(alpha, -0.99 * q[v] / dq[v]);
      int moved = 0;
      for (int bt = 0; bt < 60; bt++, alpha *= 0.5) {
        for (int64_t v = 0; v < nv; v++) qn[v] = q[v] + alpha * dq[v];
        const double Fn = barrier_value(qn, grp, nv, ng, Qn, mu);
        if (Fn <= F - 0.25 * alpha * dec) {
          memcpy(q, qn, (size_t)nv * sizeof *q);
          moved = 1;
          break;
        }
      }
      steps++;
      if (!moved) break; /* at the limit of double precision */
    }
    if (*fail) break;
  }
  /* U1 = I_Q(S1; T | S2) = Σ q log(q · Q(s2) / (Q(s1,s2) · P(s2,t))). */
  memset(Q, 0, (size_t)ng * sizeof *Q);
  for (int64_t v = 0; v < nv; v++) Q[grp[v]] += q[v];
  double u1 = 0;
  for (int64_t k = 0; k < n; k++) {
    if (var[k] < 0 || !(q[var[k]] > 0)) continue;
    const int64_t t = k % T, j = (k / T) % S2, i = k / (T * S2);
    double qj = 0;
    for (int64_t u = 0; u < T; u++) qj += pjt[j * T + u];
    const double x = q[var[k]];
    u1 += x * ((log(x) - log(Q[i * S2 + j])) + (log(qj) - log(pjt[j * T + t])));
  }
  const double big = fmax(1.0, fmax(mi12, fmax(mi1, mi2)));
  const double tiny = 1e-12 * big;
  u1 = u1 > 0 ? u1 : 0.0;
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
  free(q), free(grp), free(cy), free(pit), free(var);
  return steps;
}

/* ---- ie_pid ------------------------------------------------------------------------ */

static ie_status joint_error(ie_context *ctx, const char *fn, int batched, int64_t b, int code) {
  char which[48] = "";
  if (batched) snprintf(which, sizeof which, ", joint %lld", (long long)b);
  /* The whole joint (its cells are not named): [B, S1, S2, T]'s index. */
  ie__locate(ctx, "joint", batched ? b : -1, -1, -1);
  switch (code) {
  case DISC_NEGATIVE:
    return ie__error(ctx, IE_NEGATIVE, "%s: tensor 'joint'%s holds a negative value", fn, which);
  case DISC_EMPTY:
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'joint'%s has no mass (it sums to 0)", fn, which);
  default:
    return ie__error(ctx, IE_NONFINITE, "%s: tensor 'joint'%s holds NaN or inf", fn, which);
  }
}

/* BROJA's R, U1, U2, S (res, 7 a joint) into `out` (1 × 4·B, host or
 * device memory). */
static ie_status write_out(ie_context *ctx, const char *fn, const ie__arg *ov, const double *res,
                           int64_t B) {
  const int f64 = ov->m.dtype == IE_DT_F64;
  const size_t esz = ie__dtype_size(ov->m.dtype);
  void *tmp = ov->on_host ? ov->host : ie__malloc((size_t)(4 * B) * esz);
  if (!tmp) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  for (int64_t b = 0; b < B; b++)
    for (int k = 0; k < 4; k++) {
      if (f64) ((double *)tmp)[4 * b + k] = res[7 * b + k];
      else ((float *)tmp)[4 * b + k] = (float)res[7 * b + k];
    }
  if (ov->on_host) return IE_OK;
  const ie_status s = IE__BE(ctx, upload, ov->m.buf, ov->m.offset, tmp, (size_t)(4 * B) * esz);
  free(tmp);
  return s;
}

IE_API ie_status ie_pid(ie_context *ctx, const DLTensor *joint, const ie_pid_options *opt,
                        ie_pid_result *results, DLTensor *out) {
  static const char fn[] = "ie_pid";
  IE__CHECK(ie__begin(ctx, fn, ctx && ctx->ops && ctx->ops->discrete, "discrete information"));
  ie_pid_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, measure));
  if ((unsigned)o.measure > IE_PID_BROJA)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown measure %d", fn, (int)o.measure);
  ie__disc_tensor jv, ov;
  IE__CHECK(ie__disc_view(ctx, &jv, fn, "joint", joint, 3, 4,
                          IE__INTS | (1u << IE_DT_F32) | (1u << IE_DT_F64)));
  const int batched = jv.ndim == 4;
  const int64_t B = batched ? jv.dims[0] : 1;
  const int64_t S1 = jv.dims[jv.ndim - 3], S2 = jv.dims[jv.ndim - 2], T = jv.dims[jv.ndim - 1];
  const int64_t n = S1 * S2 * T;
  if (out) {
    IE__CHECK(ie__disc_view(ctx, &ov, fn, "out", out, 1, 2, (1u << IE_DT_F32) | (1u << IE_DT_F64)));
    const int ok = batched ? (ov.ndim == 2 && ov.dims[0] == B && ov.dims[1] == 4)
                           : (ov.shape[0] * ov.shape[1] == 4 && ov.dims[ov.ndim - 1] == 4);
    if (!ok)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'out' must be [%s4] (R, U1, U2, S per joint)", fn,
                       batched ? "B, " : "");
  }
  if (B == 0) return IE_OK;
  if (n == 0) return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'joint' has an empty dimension", fn);
  /* One joint a row; `out` one row of R, U1, U2, S per joint. */
  jv.a.m.rows = B;
  jv.a.m.cols = jv.a.m.stride = jv.a.host_stride = n;
  if (out) {
    ov.a.m.rows = 1;
    ov.a.m.cols = ov.a.m.stride = ov.a.host_stride = 4 * B;
  }
  const int broja = o.measure == IE_PID_BROJA;
  /* Host temporaries (the 7 values a joint, only when the call returns
   * them or solves BROJA here): the workspace's on a GPU context, so that
   * a warm call allocates nothing; the heap on the CPU's. */
  const int heap = ctx->backend == IE_BACKEND_CPU;
  double *res = NULL;
  int64_t *iters = NULL;
  ie_status s = IE_OK;
  if (results || broja) {
    const size_t rb = (size_t)B * 7 * sizeof *res, ib = broja ? (size_t)B * sizeof *iters : 0;
    if (heap) {
      res = ie__malloc(rb);
      iters = ib ? ie__calloc((size_t)B, sizeof *iters) : NULL;
      if (!res || (ib && !iters)) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    } else {
      s = ie__ws_host(ctx, IE_WSH_DISCRETE + 2, rb, (void **)&res);
      if (s == IE_OK && ib) s = ie__ws_host(ctx, IE_WSH_DISCRETE + 3, ib, (void **)&iters);
      if (s == IE_OK && ib) memset(iters, 0, ib);
    }
  }
  if (s == IE_OK && !broja) {
    /* imin / mmi on the backend: joints checked there, `out` written there
     * (staged when it is host memory on a GPU); the first bad joint and its
     * code come back, and the values only when `results` asks for them. */
    int64_t bad = -1;
    ie_rowerr code = IE_ROW_OK;
    s = ie__stage_in(ctx, &jv.a);
    if (s == IE_OK && out) s = ie__stage_out(ctx, &ov.a);
    if (s == IE_OK)
      s = IE__BE(ctx, discrete->pid, &jv.a.m, S1, S2, T, (int)o.measure, results ? res : NULL,
                 out ? &ov.a.m : NULL, &bad, &code);
    if (s == IE_OK && bad >= 0) s = joint_error(ctx, fn, batched, bad, (int)code);
    if (s == IE_OK && out) s = ie__unstage_out(ctx, &ov.a);
    if (out) ie__release(ctx, &ov.a);
    ie__release(ctx, &jv.a);
  } else if (s == IE_OK) {
    /* BROJA on the host: read the joints as doubles, check, normalise, solve. */
    double *p = ie__malloc((size_t)(B * n) * sizeof *p);
    if (!p) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the joints", fn);
    char *raw = NULL;
    const size_t esz = ie__dtype_size(jv.a.m.dtype);
    if (s == IE_OK && !jv.a.on_host) {
      raw = ie__malloc((size_t)(B * n) * esz);
      if (!raw) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the joints", fn);
      else s = IE__BE(ctx, download, raw, jv.a.m.buf, jv.a.m.offset, (size_t)(B * n) * esz);
    }
    const ie_u8 *src = (const ie_u8 *)(raw ? raw : jv.a.host);
    for (int64_t b = 0; s == IE_OK && b < B; b++) {
      double total = 0;
      const int code = disc_joint_check(src, (int)jv.a.m.dtype, b * n, n, &total);
      if (code) s = joint_error(ctx, fn, batched, b, code);
      for (int64_t k = 0; s == IE_OK && k < n; k++)
        p[b * n + k] = disc_load(src, (int)jv.a.m.dtype, b * n + k) / total;
    }
    free(raw);
    int any_fail = 0;
    if (s == IE_OK) {
#pragma omp parallel for schedule(dynamic, 4) reduction(| : any_fail) if (B > 1)
      for (int64_t b = 0; b < B; b++) {
        int f = 0;
        iters[b] = ie__broja(p + b * n, S1, S2, T, res + 7 * b, &f);
        any_fail |= f == 2;
      }
      if (any_fail) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the BROJA solver", fn);
    }
    free(p);
    if (s == IE_OK && out) s = write_out(ctx, fn, &ov.a, res, B);
  }
  if (s == IE_OK && results)
    for (int64_t b = 0; b < B; b++) {
      const double *r = res + 7 * b;
      ie_pid_result x = {r[0], r[1], r[2], r[3], r[4], r[5], r[6], iters ? iters[b] : 0};
      results[b] = x;
    }
  if (heap) {
    free(res);
    free(iters);
  }
  return s;
}

/* ---- Gaussian MMI ------------------------------------------------------------------ */

/* Digamma ψ(x), x > 0: ψ(x) = ψ(x+1) − 1/x up to x >= 12, then the
 * asymptotic series in 1/x². */
static double psi(double x) {
  double r = 0;
  for (; x < 12; x += 1) r -= 1 / x;
  const double z = 1 / (x * x);
  return r + log(x) - 0.5 / x -
         z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z / 132))));
}

/* log det of the principal submatrix of c (d × d) on the index list idx. */
static int logdet_sub(const double *c, int64_t d, const int64_t *idx, int64_t m, double *work,
                      double *out) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < m; j++) work[i * m + j] = c[idx[i] * d + idx[j]];
  if (!cholesky(work, m)) return 0;
  double s = 0;
  for (int64_t i = 0; i < m; i++) s += log(work[i * m + i]);
  *out = 2 * s;
  return 1;
}

IE_API ie_status ie_pid_gaussian(ie_context *ctx, const DLTensor *cov, const int64_t sizes[3],
                                 const ie_pid_gaussian_options *opt, ie_pid_result *result) {
  static const char fn[] = "ie_pid_gaussian";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_pid_gaussian_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, samples));
  if (!sizes || !result)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: %s is NULL", fn, sizes ? "result" : "sizes");
  ie__disc_tensor cv;
  IE__CHECK(ie__disc_view(ctx, &cv, fn, "cov", cov, 2, 2, (1u << IE_DT_F32) | (1u << IE_DT_F64)));
  const int64_t d = cv.dims[0];
  if (cv.dims[1] != d)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'cov' is [%lld, %lld]; it must be square", fn,
                     (long long)d, (long long)cv.dims[1]);
  for (int k = 0; k < 3; k++)
    if (sizes[k] < 1)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: sizes[%d] = %lld; every block needs >= 1 variable",
                       fn, k, (long long)sizes[k]);
  if (sizes[0] + sizes[1] + sizes[2] != d)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: sizes %lld + %lld + %lld do not add up to the %lld rows of 'cov'",
                     fn, (long long)sizes[0], (long long)sizes[1], (long long)sizes[2], (long long)d);
  if (o.samples < 0 || (o.samples > 0 && o.samples <= d))
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: samples = %lld; the bias correction needs more samples than the %lld dimensions",
                     fn, (long long)o.samples, (long long)d);
  double *c = ie__malloc((size_t)(d * d) * 2 * sizeof *c + (size_t)d * sizeof(int64_t));
  if (!c) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  double *work = c + d * d;
  int64_t *idx = (int64_t *)(work + d * d);
  ie_status s = IE_OK;
  for (int64_t i = 0; i < d && s == IE_OK; i++) {
    double *row = NULL;
    s = ie__fetch_row(ctx, &cv.a, i, &row);
    if (s != IE_OK) break;
    memcpy(c + i * d, row, (size_t)d * sizeof *row);
    free(row);
    for (int64_t j = 0; j < d; j++)
      if (!isfinite(c[i * d + j])) {
        s = ie__error(ctx, IE_NONFINITE, "%s: tensor 'cov', row %lld, column %lld is NaN or inf", fn,
                      (long long)i, (long long)j);
        ie__locate(ctx, "cov", -1, i, j);
        break;
      }
  }
  const double eps = cv.a.m.dtype == IE_DT_F32 ? 1e-6 : 1e-12;
  for (int64_t i = 0; i < d && s == IE_OK; i++)
    for (int64_t j = 0; j < i; j++)
      if (fabs(c[i * d + j] - c[j * d + i]) > eps * sqrt(fabs(c[i * d + i] * c[j * d + j]))) {
        s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'cov' is not symmetric at row %lld, column %lld",
                      fn, (long long)i, (long long)j);
        ie__locate(ctx, "cov", -1, i, j);
        break;
      }
  /* Blocks: X1 = [0, a), X2 = [a, a+b), Y = [a+b, d).  Sets: X1, X2, Y,
   * X1∪Y, X2∪Y, X1∪X2, all. */
  const int64_t a = sizes[0], b = sizes[1], y = sizes[2];
  double ld[7];
  static const char *const set_names[7] = {"X1", "X2", "Y", "(X1, Y)", "(X2, Y)", "(X1, X2)", "(X1, X2, Y)"};
  for (int k = 0; k < 7 && s == IE_OK; k++) {
    int64_t m = 0;
    const int in1 = k == 0 || k == 3 || k == 5 || k == 6, in2 = k == 1 || k == 4 || k == 5 || k == 6,
              inY = k == 2 || k == 3 || k == 4 || k == 6;
    if (in1)
      for (int64_t i = 0; i < a; i++) idx[m++] = i;
    if (in2)
      for (int64_t i = 0; i < b; i++) idx[m++] = a + i;
    if (inY)
      for (int64_t i = 0; i < y; i++) idx[m++] = a + b + i;
    if (!logdet_sub(c, d, idx, m, work, &ld[k])) {
      s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'cov': the block of %s is not positive definite",
                    fn, set_names[k]);
      ie__locate(ctx, "cov", -1, -1, -1);
      break;
    }
    if (o.samples > 0) { /* E log det Σ̂_A − log det Σ_A under Wishart(n − 1) */
      const double nn = (double)o.samples, l = log((nn - 1) / 2);
      for (int64_t q = 1; q <= m; q++) ld[k] -= psi((nn - (double)q) / 2) - l;
    }
  }
  free(c);
  if (s != IE_OK) return s;
  double mi1 = 0.5 * (ld[0] + ld[2] - ld[3]);
  double mi2 = 0.5 * (ld[1] + ld[2] - ld[4]);
  double mi12 = 0.5 * (ld[5] + ld[2] - ld[6]);
  mi1 = mi1 > 0 ? mi1 : 0.0;
  mi2 = mi2 > 0 ? mi2 : 0.0;
  mi12 = mi12 > 0 ? mi12 : 0.0;
  const double red = fmin(mi1, mi2);
  double syn = mi12 - fmax(mi1, mi2); /* >= 0 exactly; an estimate may not be */
  if (syn < 0 && (o.samples == 0 || syn > -1e-12 * fmax(1.0, mi12))) syn = 0;
  ie_pid_result r = {red, mi1 - red, mi2 - red, syn, mi1, mi2, mi12, 0};
  *result = r;
  return IE_OK;
}
