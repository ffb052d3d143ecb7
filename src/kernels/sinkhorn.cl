/*
 * sinkhorn.cl — the Sinkhorn passes of src/sinkhorn.h on a GPU, in double:
 * compiled as OpenCL C by the OpenCL backend (src/opencl/sinkhorn.c) and as
 * CUDA C++ by the CUDA backend (src/cuda/sinkhorn.cu).  Names start with sk_.
 * On OpenCL without cl_khr_fp64 the file defines nothing, and the host
 * reports the solver as unsupported on that device.
 *
 * A pass is one launch over the whole batch, `lanes` work-items a (problem,
 * row) (a power of two up to SK_LANES: a warp on CUDA; on OpenCL 32 on a GPU,
 * 1 on a CPU device, where a work-item is a thread's loop iteration and
 * lanes would only add barriers), SK_NT work-items a group.  Lane l takes
 * columns l, l + lanes, ... and keeps an online (M, S, T):
 *   v = (h_c − C_rc)/ε;  v > M: S ← S·e^{M−v} + 1, T ← T·e^{M−v} + C, M ← v;
 *   else e = e^{v−M}: S += e, T += e·C.
 * The lanes merge by a xor butterfly (warp shuffles on CUDA, local memory on
 * OpenCL: the same operations, and a commutative merge, so both give the
 * same bits); L = M + log S, and the row's new potential and terms are
 * sinkhorn_terms.h's.  Per-problem terms are reduced by one group a problem
 * in a fixed tree order.  No float atomics: results are bit-identical run to
 * run.  The kernels that work in groups (sk_convert, sk_absmax, the passes,
 * sk_reduce) must be launched with SK_NT work-items a group; the others take
 * one work-item an element, in any group size.
 */
#include "vendor.h"
#include "widen.h"
#include "sinkhorn_terms.h"

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)

/* (M, S, T) ← (M, S, T) ⊕ (M2, S2, T2); commutative, bit for bit. */
FN void sk_lse_merge(double *M, double *S, double *T, double M2, double S2, double T2)
{
  const double Mn = fmax(*M, M2);
  if (Mn == -IE_INFINITY) return;
  const double e1 = exp(*M - Mn), e2 = exp(M2 - Mn);
  *S = *S * e1 + S2 * e2;
  *T = *T * e1 + T2 * e2;
  *M = Mn;
}

/* Fold v = (h − cost)/ε of one column into a lane's (M, S, T). */
FN void sk_lse_add(double *M, double *S, double *T, double v, double cost, int want_t)
{
  if (v == -IE_INFINITY) return; /* zero mass */
  if (v > *M) {
    const double sc = exp(*M - v);
    *S = *S * sc + 1.0;
    if (want_t) *T = *T * sc + cost;
    *M = v;
  } else {
    const double e = exp(v - *M);
    *S += e;
    if (want_t) *T += e * cost;
  }
}

/* ---- Setup kernels ------------------------------------------------------------------ */

/* Widen rows of a given cost or of points to double (compact rows × m) and
 * find each row's first non-finite column (bad[bad_off + r], −1 if none):
 * one group a row, lanes over the columns, the first column by a tree of
 * minima. */
KERNEL void sk_convert(GLOBAL const ie_u8 *src, ie_u64 off, int dt, ie_i64 stride, ie_i64 rows,
                       ie_i64 m, GLOBAL double *dst, GLOBAL ie_i64 *bad, ie_i64 bad_off)
{
  LOCAL_ARRAY(ie_i64, first, SK_NT);
  const ie_i64 lane = LOCAL_ID();
  GLOBAL const ie_u8 *base = src + off;
  for (ie_i64 r = GROUP_ID(); r < rows; r += NUM_GROUPS()) {
    ie_i64 f = m;
    for (ie_i64 j = lane; j < m; j += SK_NT) {
      const double v = widen_load(base, r * stride + j, dt);
      dst[r * m + j] = v;
      if (f == m && !isfinite(v)) f = j;
    }
    first[lane] = f;
    BARRIER();
    for (int s = SK_NT / 2; s > 0; s >>= 1) {
      if (lane < s && first[lane + s] < first[lane]) first[lane] = first[lane + s];
      BARRIER();
    }
    if (lane == 0) bad[bad_off + r] = first[0] < m ? first[0] : -1;
    BARRIER();
  }
}

/* Weights [Bw, n] (dtype dt, row stride in elements) checked and
 * normalised: for each row p, its first bad point (not finite, or < 0) and
 * its total T_p (a tree sum in a fixed order); code[code_off + p] = that
 * point, else n when T_p is not finite and > 0, else −1; tot[tot_off + p] =
 * T_p.  A good row's log weights log(w_i / T_p) go to lw [B·n]: row p of
 * problem p (Bw = B), or of every problem (Bw = 1).  One group a row. */
KERNEL void sk_weights(GLOBAL const ie_u8 *src, ie_u64 off, int dt, ie_i64 stride, ie_i64 Bw, ie_i64 n,
                       ie_i64 B, GLOBAL double *lw, GLOBAL ie_i64 *code, ie_i64 code_off,
                       GLOBAL double *tot, ie_i64 tot_off)
{
  LOCAL_ARRAY(ie_i64, first, SK_NT);
  LOCAL_ARRAY(double, sum, SK_NT);
  const ie_i64 lane = LOCAL_ID();
  GLOBAL const ie_u8 *base = src + off;
  for (ie_i64 p = GROUP_ID(); p < Bw; p += NUM_GROUPS()) {
    ie_i64 f = n;
    double acc = 0;
    for (ie_i64 i = lane; i < n; i += SK_NT) {
      const double v = widen_load(base, p * stride + i, dt);
      if (f == n && !(v >= 0 && v < IE_INFINITY)) f = i; /* NaN, ±inf, negative */
      acc += v;
    }
    first[lane] = f;
    sum[lane] = acc;
    BARRIER();
    for (int s = SK_NT / 2; s > 0; s >>= 1) {
      if (lane < s) {
        if (first[lane + s] < first[lane]) first[lane] = first[lane + s];
        sum[lane] += sum[lane + s];
      }
      BARRIER();
    }
    const ie_i64 bad = first[0];
    const double t = sum[0];
    const int ok = bad == n && t > 0 && t < IE_INFINITY;
    if (lane == 0) {
      code[code_off + p] = bad < n ? bad : ok ? -1 : n;
      tot[tot_off + p] = t;
    }
    if (ok)
      for (ie_i64 b = Bw > 1 ? p : 0; b < (Bw > 1 ? p + 1 : B); b++)
        for (ie_i64 i = lane; i < n; i += SK_NT) lw[b * n + i] = log(widen_load(base, p * stride + i, dt) / t);
    BARRIER();
  }
}

/* stat[idx] = r·mul + code[code_off + r] for the first r < rows with a
 * code >= 0, −1 if none: one group. */
KERNEL void sk_first(GLOBAL const ie_i64 *code, ie_i64 code_off, ie_i64 rows, ie_i64 mul,
                     GLOBAL ie_i64 *stat, int idx)
{
  LOCAL_ARRAY(ie_i64, first, SK_NT);
  const ie_i64 lane = LOCAL_ID();
  ie_i64 f = -1;
  for (ie_i64 r = lane; r < rows && f < 0; r += SK_NT)
    if (code[code_off + r] >= 0) f = r * mul + code[code_off + r];
  first[lane] = f;
  BARRIER();
  for (int s = SK_NT / 2; s > 0; s >>= 1) {
    if (lane < s && first[lane + s] >= 0 && (first[lane] < 0 || first[lane + s] < first[lane]))
      first[lane] = first[lane + s];
    BARRIER();
  }
  if (lane == 0) stat[idx] = first[0];
}

/* The largest cost across the bounding box of the points x [nx, d] ∪
 * y [ny, d] (compact doubles): per coordinate the span hi − lo (trees of
 * minima and maxima), summed in coordinate order; its bits go to stat[idx].
 * One group. */
KERNEL void sk_box(GLOBAL const double *x, ie_i64 nx, GLOBAL const double *y, ie_i64 ny, ie_i64 d,
                   int metric, GLOBAL ie_i64 *stat, int idx)
{
  LOCAL_ARRAY(double, lo, SK_NT);
  LOCAL_ARRAY(double, hi, SK_NT);
  const ie_i64 lane = LOCAL_ID();
  double sq = 0;
  for (ie_i64 k = 0; k < d; k++) {
    double l = IE_INFINITY, h = -IE_INFINITY;
    for (ie_i64 i = lane; i < nx; i += SK_NT) l = fmin(l, x[i * d + k]), h = fmax(h, x[i * d + k]);
    for (ie_i64 i = lane; i < ny; i += SK_NT) l = fmin(l, y[i * d + k]), h = fmax(h, y[i * d + k]);
    lo[lane] = l;
    hi[lane] = h;
    BARRIER();
    for (int s = SK_NT / 2; s > 0; s >>= 1) {
      if (lane < s) lo[lane] = fmin(lo[lane], lo[lane + s]), hi[lane] = fmax(hi[lane], hi[lane + s]);
      BARRIER();
    }
    sq += (hi[0] - lo[0]) * (hi[0] - lo[0]);
    BARRIER();
  }
  if (lane == 0) stat[idx] = (ie_i64)AS_ULONG(sk_metric_of(metric, sq));
}

/* C[p, i, j] = cost(x_i, y_j) of problem p, for p < Bc. */
KERNEL void sk_build(GLOBAL const double *x, GLOBAL const double *y, ie_i64 x_bs, ie_i64 y_bs,
                     ie_i64 Bc, ie_i64 n, ie_i64 m, ie_i64 d, int metric, GLOBAL double *C)
{
  const ie_i64 total = Bc * n * m;
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {
    const ie_i64 p = e / (n * m), r = e - p * n * m, i = r / m, j = r - i * m;
    C[e] = sk_dist(metric, x + (p * x_bs + i) * d, y + (p * y_bs + j) * d, d);
  }
}

/* CT[p, j, i] = C[p, i, j]. */
KERNEL void sk_transpose(GLOBAL const double *C, ie_i64 Bc, ie_i64 n, ie_i64 m, GLOBAL double *CT)
{
  const ie_i64 total = Bc * n * m;
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {
    const ie_i64 p = e / (n * m), r = e - p * n * m, j = r / n, i = r - j * n;
    CT[e] = C[p * n * m + i * m + j];
  }
}

/* cmax[p] = max |C| over problem p: one group a problem. */
KERNEL void sk_absmax(GLOBAL const double *C, ie_i64 Bc, ie_i64 nm, GLOBAL double *cmax)
{
  LOCAL_ARRAY(double, sh, SK_NT);
  const ie_i64 lane = LOCAL_ID();
  for (ie_i64 p = GROUP_ID(); p < Bc; p += NUM_GROUPS()) {
    double v = 0;
    for (ie_i64 e = lane; e < nm; e += SK_NT) {
      const double a = fabs(C[p * nm + e]);
      v = a == a ? fmax(v, a) : IE_INFINITY; /* NaN counts as inf: the host then looks for it */
    }
    sh[lane] = v;
    BARRIER();
    for (int s = SK_NT / 2; s > 0; s >>= 1) {
      if (lane < s) sh[lane] = fmax(sh[lane], sh[lane + s]);
      BARRIER();
    }
    if (lane == 0) cmax[p] = sh[0];
    BARRIER();
  }
}

/* g = 0, −inf at zero mass. */
KERNEL void sk_init_g(GLOBAL double *g, GLOBAL const double *lb, ie_i64 total)
{
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE())
    g[e] = lb[e] == -IE_INFINITY ? -IE_INFINITY : 0.0;
}

/* ---- The pass ------------------------------------------------------------------------- */

/* The lanes of a row merge their (M, S, T) by a xor butterfly; lane 0 of a
 * live row then writes the row's new potential and terms (row q of the
 * whole batch, lw and pot indexed by q). */
FN void sk_pass_finish(int lanes, int lid, int lane, int live, ie_i64 q, int mode, double eps, double tau,
                       double M, double S, double T, GLOBAL double *pot, GLOBAL const double *lw,
                       int use_save, GLOBAL double *save, GLOBAL double *rowt, LOCAL double *sM,
                       LOCAL double *sS, LOCAL double *sT)
{
  const double inv_eps = 1.0 / eps;
  for (int o = lanes / 2; o > 0; o >>= 1) { /* stays inside the row's lanes */
#ifdef IE_KERNEL_CUDA
    (void)sM, (void)sS, (void)sT, (void)lid; /* shuffles need no scratch */
    const double M2 = __shfl_xor_sync(0xffffffffu, M, o);
    const double S2 = __shfl_xor_sync(0xffffffffu, S, o);
    const double T2 = __shfl_xor_sync(0xffffffffu, T, o);
#else
    sM[lid] = M;
    sS[lid] = S;
    sT[lid] = T;
    BARRIER();
    const double M2 = sM[lid ^ o], S2 = sS[lid ^ o], T2 = sT[lid ^ o];
    BARRIER();
#endif
    sk_lse_merge(&M, &S, &T, M2, S2, T2);
  }
  if (!live || lane != 0) return;
  const double L = M + log(S); /* −inf when every column has zero mass */
  const double lwr = lw[q], old = pot[q];
  GLOBAL double *t = rowt + q * SK_TERMS;
  if (mode == SK_MEASURE) {
    sk_measure_terms(eps, inv_eps, lwr, old, L, S > 0 ? T / S : 0, t);
    return;
  }
  const double nw = sk_new_potential(eps, tau, lwr, L);
  pot[q] = nw;
  if (mode == SK_CHECK) {
    if (use_save) save[q] = old;
    sk_check_terms(inv_eps, lwr, old, nw, L, t);
  }
}

/* Rows q = b·R + r of every problem b on this side (R rows, K columns):
 * the cost from mat (rows [·, K], mat_bs elements between problems) when
 * use_mat, else from the points rp (this side's) and cp (the other side's).
 * h: the other side's potential, pot: this side's, lw: its log weights;
 * save (CHECK on side 0, when use_save) gets the old potential. */
FN void sk_pass_body(int use_mat, int lanes, ie_i64 B, ie_i64 R, ie_i64 K, ie_i64 d, int metric, int mode,
                     double eps, double tau, GLOBAL const double *mat, ie_i64 mat_bs,
                     GLOBAL const double *rp, GLOBAL const double *cp, ie_i64 rp_bs, ie_i64 cp_bs,
                     GLOBAL const double *h, GLOBAL double *pot, GLOBAL const double *lw,
                     int use_save, GLOBAL double *save, GLOBAL double *rowt,
                     GLOBAL const ie_u8 *active, LOCAL double *sM, LOCAL double *sS,
                     LOCAL double *sT)
{
  const int lid = (int)LOCAL_ID(), lane = lid % lanes;
  const ie_i64 q = GROUP_ID() * (SK_NT / lanes) + lid / lanes;
  const ie_i64 b = q < B * R ? q / R : 0, r = q - b * R;
  /* uniform over a row's lanes (a whole warp on CUDA) */
  const int live = q < B * R && (mode == SK_MEASURE || active[b]);
  const int want_t = mode == SK_MEASURE;
  const double inv_eps = 1.0 / eps;
  double M = -IE_INFINITY, S = 0, T = 0;
  if (live) {
    GLOBAL const double *hb = h + b * K;
    GLOBAL const double *crow = use_mat ? mat + b * mat_bs + r * K : mat;
    GLOBAL const double *rpt = use_mat ? rp : rp + (b * rp_bs + r) * d;
    GLOBAL const double *cpts = use_mat ? cp : cp + b * cp_bs * d;
    for (ie_i64 c = lane; c < K; c += lanes) {
      const double cost = use_mat ? crow[c] : sk_dist(metric, rpt, cpts + c * d, d);
      sk_lse_add(&M, &S, &T, (hb[c] - cost) * inv_eps, cost, want_t); /* −inf at zero mass */
    }
  }
  sk_pass_finish(lanes, lid, lane, live, q, mode, eps, tau, M, S, T, pot, lw, use_save, save, rowt, sM, sS,
                 sT);
}

#ifdef IE_KERNEL_CUDA
#define SK_PASS_SCRATCH double *sM = 0, *sS = 0, *sT = 0 /* shuffles need none */
#else
#define SK_PASS_SCRATCH                                                                     \
  LOCAL_ARRAY(double, sM, SK_NT);                                                           \
  LOCAL_ARRAY(double, sS, SK_NT);                                                           \
  LOCAL_ARRAY(double, sT, SK_NT)
#endif

#define SK_PASS_PARAMS                                                                      \
  ie_i64 B, ie_i64 R, ie_i64 K, ie_i64 d, int metric, int mode, double eps, double tau,     \
      GLOBAL const double *mat, ie_i64 mat_bs, GLOBAL const double *rp,                     \
      GLOBAL const double *cp, ie_i64 rp_bs, ie_i64 cp_bs, GLOBAL const double *h,          \
      GLOBAL double *pot, GLOBAL const double *lw, int use_save, GLOBAL double *save,       \
      GLOBAL double *rowt, GLOBAL const ie_u8 *active, int lanes
#define SK_PASS_ARGS                                                                        \
  lanes, B, R, K, d, metric, mode, eps, tau, mat, mat_bs, rp, cp, rp_bs, cp_bs, h, pot, lw,        \
      use_save, save, rowt, active, sM, sS, sT

/* A pass reading the cost from a matrix, and one forming it from points. */
KERNEL void sk_pass_mat(SK_PASS_PARAMS)
{
  SK_PASS_SCRATCH;
  sk_pass_body(1, SK_PASS_ARGS);
}
KERNEL void sk_pass_pts(SK_PASS_PARAMS)
{
  SK_PASS_SCRATCH;
  sk_pass_body(0, SK_PASS_ARGS);
}

/* ---- The float32 pass over point clouds (single_precision) ------------------------------ *
 *
 * The UPDATE and CHECK passes of ie_sinkhorn_options.single_precision: no
 * n × m matrix, and float32 arithmetic where the work is.  The cost of a
 * (row, column) pair is formed in float32 from float32 copies of the points
 * (exact: a GPU's inputs are f32, f16 or bf16), from the coordinate
 * differences Σ_k (x_k − y_k)²: its rounding is relative to the pair's own
 * cost, where the expanded ‖x‖² + ‖y‖² − 2x·y loses everything to
 * cancellation for points far from the origin (docs/SPEC.md §4 has the
 * measurements).  A group takes SK_NT / lanes rows of one problem; the
 * other side's points come in tiles of `tile` columns staged in local
 * memory (rows padded to d + 1 floats, so that lanes reading different
 * columns hit different banks) with h_c/ε rounded to float beside them.  A
 * lane folds its columns of a tile, v = h_c/ε − C/ε, into a float32 online
 * (m, s, t) and merges that into its double (M, S, T) at the tile's end, so
 * float rounding never accumulates past one tile; the lanes merge and the
 * row finishes as in the double pass (sk_pass_finish).  Potentials stay
 * double in memory. */
/* Float32 copies of compact doubles (points that came in as f32, f16 or
 * bf16: exact). */
KERNEL void sk_narrow(GLOBAL const double *src, ie_i64 total, GLOBAL float *dst)
{
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) dst[e] = (float)src[e];
}

/* The cost of the metric between a row's point p (global) and a staged
 * column's q (local), in float32, summed in coordinate order. */
FN float sk_dist_f32(int metric, GLOBAL const float *p, LOCAL const float *q, ie_i64 d)
{
  float s = 0;
  for (ie_i64 k = 0; k < d; k++) {
    const float t = p[k] - q[k];
    s += t * t;
  }
  return metric == SK_EUCLIDEAN ? sqrt(s) : metric == SK_HALF_SQEUCLIDEAN ? 0.5f * s : s;
}

/* sk_lse_add in float32. */
FN void sk_lse_add_f32(float *M, float *S, float *T, float v, float cost, int want_t)
{
  if (v == -IE_INFINITY_F) return; /* zero mass */
  if (v > *M) {
    const float sc = exp(*M - v);
    *S = *S * sc + 1.0f;
    if (want_t) *T = *T * sc + cost;
    *M = v;
  } else {
    const float e = exp(v - *M);
    *S += e;
    if (want_t) *T += e * cost;
  }
}

/* A tile's float32 (m, s, t) merged into the lane's double (M, S, T); the
 * scale e^{−|M − m|} in float32 (its argument formed in double), its
 * rounding relative, as every float term's. */
FN void sk_lse_fold(double *M, double *S, double *T, float m, float s, float t)
{
  if (m == -IE_INFINITY_F) return;
  const double md = (double)m;
  if (md > *M) {
    const double sc = (double)exp((float)(*M - md)); /* 0 when M = −inf */
    *S = *S * sc + (double)s;
    *T = *T * sc + (double)t;
    *M = md;
  } else {
    const double e = (double)exp((float)(md - *M));
    *S += (double)s * e;
    *T += (double)t * e;
  }
}

/* Launched with B·⌈R / (SK_NT / lanes)⌉ groups (a group never spans two
 * problems); `tile` ≤ SK_TILE_COLS columns with tile·(d + 1) ≤ SK_TILE_FLOATS.
 * rp, cp: float32 points of this side and the other; the rest as sk_pass_pts. */
KERNEL void sk_pass_f32(ie_i64 B, ie_i64 R, ie_i64 K, ie_i64 d, int metric, int mode, double eps, double tau,
                        GLOBAL const float *rp, GLOBAL const float *cp, ie_i64 rp_bs, ie_i64 cp_bs,
                        GLOBAL const double *h, GLOBAL double *pot, GLOBAL const double *lw, int use_save,
                        GLOBAL double *save, GLOBAL double *rowt, GLOBAL const ie_u8 *active, int lanes,
                        ie_i64 tile)
{
  SK_PASS_SCRATCH;
  LOCAL_ARRAY(float, ty, SK_TILE_FLOATS);
  LOCAL_ARRAY(float, th, SK_TILE_COLS);
  const int lid = (int)LOCAL_ID(), lane = lid % lanes;
  const ie_i64 rpg = SK_NT / lanes, gpp = (R + rpg - 1) / rpg;
  const ie_i64 b = GROUP_ID() / gpp, r = (GROUP_ID() - b * gpp) * rpg + lid / lanes;
  if (b >= B || !(mode == SK_MEASURE || active[b])) return; /* the whole group: one problem */
  const int live = r < R, want_t = mode == SK_MEASURE;
  const ie_i64 dp = d + 1;
  const double inv_eps = 1.0 / eps;
  const float inv_eps_f = (float)inv_eps;
  GLOBAL const double *hb = h + b * K;
  GLOBAL const float *rpt = rp + (b * rp_bs + (live ? r : 0)) * d;
  GLOBAL const float *cpts = cp + b * cp_bs * d;
  double M = -IE_INFINITY, S = 0, T = 0;
  for (ie_i64 c0 = 0; c0 < K; c0 += tile) {
    const int tc = (int)(K - c0 < tile ? K - c0 : tile);
    BARRIER(); /* the last tile is read */
    for (ie_i64 e = lid; e < (ie_i64)tc * d; e += SK_NT) {
      const ie_i64 c = e / d;
      ty[c * dp + (e - c * d)] = cpts[c0 * d + e];
    }
    for (int c = lid; c < tc; c += SK_NT) th[c] = (float)(hb[c0 + c] * inv_eps); /* −inf at zero mass */
    BARRIER();
    if (live) {
      float m = -IE_INFINITY_F, s = 0, t = 0;
      for (int c = lane; c < tc; c += lanes) {
        const float cost = sk_dist_f32(metric, rpt, ty + c * dp, d);
        sk_lse_add_f32(&m, &s, &t, th[c] - cost * inv_eps_f, cost, want_t);
      }
      sk_lse_fold(&M, &S, &T, m, s, t);
    }
  }
  sk_pass_finish(lanes, lid, lane, live, b * R + r, mode, eps, tau, M, S, T, pot, lw, use_save, save, rowt, sM,
                 sS, sT);
}

/* pterm[b, k] = Σ_r rowt[b, r, k] (k = 2: max) of the problems with active[b]
 * (all of them when all), written from element pt_off of pterm: one group a
 * problem, lanes over the rows, then a tree in a fixed order. */
KERNEL void sk_reduce(GLOBAL const double *rowt, ie_i64 B, ie_i64 R, int all,
                      GLOBAL const ie_u8 *active, GLOBAL double *pterm, ie_i64 pt_off)
{
  pterm += pt_off;
  LOCAL_ARRAY(double, sh, SK_TERMS * SK_NT);
  const int lane = (int)LOCAL_ID();
  for (ie_i64 b = GROUP_ID(); b < B; b += NUM_GROUPS()) {
    double acc[SK_TERMS] = {0, 0, 0, 0, 0, 0};
    if (all || active[b])
      for (ie_i64 r = lane; r < R; r += SK_NT)
        for (int k = 0; k < SK_TERMS; k++)
          acc[k] = sk_term_merge(k, acc[k], rowt[(b * R + r) * SK_TERMS + k]);
    for (int k = 0; k < SK_TERMS; k++) sh[k * SK_NT + lane] = acc[k];
    BARRIER();
    for (int s = SK_NT / 2; s > 0; s >>= 1) {
      if (lane < s)
        for (int k = 0; k < SK_TERMS; k++)
          sh[k * SK_NT + lane] = sk_term_merge(k, sh[k * SK_NT + lane], sh[k * SK_NT + lane + s]);
      BARRIER();
    }
    if (lane < SK_TERMS) pterm[b * SK_TERMS + lane] = sh[lane * SK_NT];
    BARRIER();
  }
}

/* A check decided on the device (src/sinkhorn.h, ie_sk_ops.decide): every
 * active problem b whose reduced CHECK terms, side 0 at pterm[b] and side 1
 * at pterm[B + b] (SK_TERMS each), meet the rule (sk_stops) stops: its f
 * goes back to save (the f of the checked plan), active[b] = 0 and
 * iters[b] = it.  One group a problem. */
KERNEL void sk_decide(GLOBAL const double *pterm, ie_i64 B, ie_i64 n, double tol, int balanced, ie_i64 it,
                      GLOBAL double *f, GLOBAL const double *save, GLOBAL ie_u8 *active,
                      GLOBAL ie_i64 *iters)
{
  const ie_i64 lane = LOCAL_ID();
  for (ie_i64 b = GROUP_ID(); b < B; b += NUM_GROUPS()) {
    GLOBAL const double *t0 = pterm + b * SK_TERMS, *t1 = pterm + (B + b) * SK_TERMS;
    const int stop = active[b] && sk_stops(balanced, tol, t0[0], t1[1], t0[2], t1[2]);
    BARRIER(); /* every lane has read active[b] before lane 0 clears it */
    if (stop) {
      for (ie_i64 i = lane; i < n; i += SK_NT) f[b * n + i] = save[b * n + i];
      if (lane == 0) {
        active[b] = 0;
        iters[b] = it;
      }
    }
  }
}

/* out[at] = the number of problems still active: one group. */
KERNEL void sk_left(GLOBAL const ie_u8 *active, ie_i64 B, GLOBAL ie_i64 *out, ie_i64 at)
{
  LOCAL_ARRAY(ie_i64, sh, SK_NT);
  const int lane = (int)LOCAL_ID();
  ie_i64 c = 0;
  for (ie_i64 b = lane; b < B; b += SK_NT) c += active[b] != 0;
  sh[lane] = c;
  BARRIER();
  for (int s = SK_NT / 2; s > 0; s >>= 1) {
    if (lane < s) sh[lane] += sh[lane + s];
    BARRIER();
  }
  if (lane == 0) out[at] = sh[0];
}

/* f of the problems with mask[b] = 1 back to the saved f (total = B·n). */
KERNEL void sk_restore(GLOBAL double *f, GLOBAL const double *save, GLOBAL const ie_u8 *mask,
                       ie_i64 total, ie_i64 n)
{
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE())
    if (mask[e / n]) f[e] = save[e];
}

/* A potential pot [B·N] into out [B, N] (f32 or f64 at byte offset off,
 * row stride in elements). */
KERNEL void sk_emit(GLOBAL const double *pot, ie_i64 B, ie_i64 N, GLOBAL ie_u8 *out, ie_u64 off, int f64,
                    ie_i64 stride)
{
  const ie_i64 total = B * N;
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {
    const ie_i64 b = e / N, i = e - b * N;
    if (f64) ((GLOBAL double *)(out + off))[b * stride + i] = pot[e];
    else ((GLOBAL float *)(out + off))[b * stride + i] = (float)pot[e];
  }
}

/* P_ij = exp((f_i + g_j − C_ij)/ε) into out (f32 or f64 at byte offset off,
 * row stride in elements); the cost from C (use_mat) or the points. */
KERNEL void sk_plan(ie_i64 B, ie_i64 n, ie_i64 m, ie_i64 d, int metric, int use_mat,
                    GLOBAL const double *C, ie_i64 c_bs, GLOBAL const double *x,
                    GLOBAL const double *y, ie_i64 x_bs, ie_i64 y_bs, GLOBAL const double *f,
                    GLOBAL const double *g, double eps, GLOBAL ie_u8 *out, ie_u64 off, int f64,
                    ie_i64 stride)
{
  const ie_i64 total = B * n * m;
  for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {
    const ie_i64 q = e / m, j = e - q * m, b = q / n, i = q - b * n;
    const double c = use_mat ? C[b * c_bs + i * m + j]
                             : sk_dist(metric, x + (b * x_bs + i) * d, y + (b * y_bs + j) * d, d);
    const double p = exp((f[q] + g[b * m + j] - c) / eps);
    if (f64) ((GLOBAL double *)(out + off))[q * stride + j] = p;
    else ((GLOBAL float *)(out + off))[q * stride + j] = (float)p;
  }
}

#endif /* fp64 */
