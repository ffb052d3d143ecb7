/*
 * sinkhorn.c — the CPU's Sinkhorn passes (src/sinkhorn.h), in double,
 * OpenMP across blocks of RB rows of the whole batch.
 *
 * A row's L = LSE_c((h_c − C_rc)/ε) runs over tiles of TILE columns: the
 * tile's arguments v_c = (h_c − C_rc)/ε are formed and their max moves the
 * running max M (rescaling S = Σ e^{v−M} and T = Σ e^{v−M}·C_rc), then the
 * tile is summed with a vectorised exp (exp_le0, after vmath.h's exp_poly).
 *
 * The cost is read from a matrix in the workspace (a given cost widened to
 * double, with its transpose for the side-1 pass; or one built from the
 * points when the memory budget allows), or computed tile by tile from the
 * points: 4 rows against 8 columns a step, the columns packed as panels
 * [d][8], so the workspace stays O((n + m)·d).  Both ways form
 * C_rc = Σ_k (p_rk − q_ck)² in the order k = 0, 1, … with the same kernel,
 * so a built matrix and the tiles agree bit for bit.
 *
 * Each row is reduced in column order, each problem's terms in row order, so
 * results do not depend on the thread count.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../host/host.h"
#include "../sinkhorn.h"
#include "../kernels/sinkhorn_terms.h"
#include "../threads.h"
#include "vmath.h"

_Static_assert(SK_MEASURE == IE_SK_MEASURE && SK_CHECK == IE_SK_CHECK && SK_TERMS == IE_SK_TERMS &&
                   SK_EUCLIDEAN == IE_SK_EUCLIDEAN && SK_HALF_SQEUCLIDEAN == IE_SK_HALF_SQEUCLIDEAN,
               "src/kernels/sinkhorn_terms.h and src/sinkhorn.h agree");

enum {
  TILE = 256, /* columns a tile: the arguments (and a 4-row cost tile) stay in L1 */
  RB = 64,    /* rows a block: a task, and the rows a column chunk is reused for */
  PW = 8      /* columns a packed panel */
};
#define PAR_MIN 65536 /* cost elements a pass below which one thread runs it */

typedef struct {
  int64_t B, n, m, d;
  int metric;
  int nt; /* the context's thread count (src/threads.h) */
  double *C, *CT;       /* [Bc·n, m] and [Bc·m, n], or NULL (tiles from the points) */
  int64_t c_bs;         /* elements between problems of C (and CT): n·m or 0 */
  const double *pt[2];  /* side s's points: x [·, d], y [·, d] */
  int64_t pt_bs[2];     /* rows between problems: n (m), or 0 */
  double *pk[2];        /* side s's points as panels [⌈N/8⌉][d][8] a problem */
  int64_t pk_bs[2];     /* doubles between problems of pk[s], or 0 */
  double *lw[2];        /* log weights [B·n], [B·m] */
  double *pot[2];       /* f, g */
  double *fsave;        /* f before the last CHECK pass */
  double *rowt;         /* per-row terms [B·max(n,m)·IE_SK_TERMS] */
  uint8_t *active;
} cpu_sk;

/* ---- Costs from points ------------------------------------------------------ */

/* Pack N points [N, d] as panels of PW: out[(c/PW)·d·PW + k·PW + c%PW] = p[c][k];
 * the last panel is padded with copies of the last point (finite, unused). */
static void pack_panels(const double *p, int64_t N, int64_t d, double *out) {
  const int64_t np = (N + PW - 1) / PW;
  for (int64_t q = 0; q < np; q++)
    for (int64_t k = 0; k < d; k++)
      for (int c = 0; c < PW; c++) {
        int64_t i = q * PW + c < N ? q * PW + c : N - 1;
        out[(q * d + k) * PW + c] = p[i * d + k];
      }
}

#if defined(__GNUC__)
/* Four doubles as one value: GCC's and Clang's vector extension, which
 * keeps the 4 × 8 block's accumulators in registers (an `omp simd` loop over
 * the panel's 8 columns spills them). */
typedef double v4d __attribute__((vector_size(32)));
#endif

/* Costs of 4 rows p[0..3] against columns [c0, c0 + len) of packed panels
 * (c0 a multiple of PW): out[r·TILE + c] for c < len rounded up to PW.
 * C = Σ_k (p_k − q_k)², k in order, then the metric. */
IE_INLINE void cost_tile4(const double *const p[4], const double *panels, int64_t d, int64_t c0,
                          int64_t len, int metric, double *out) {
  for (int64_t c = 0; c < len; c += PW) {
    const double *pan = panels + (c0 + c) * d;
#if defined(__GNUC__)
    const double *x0 = p[0], *x1 = p[1], *x2 = p[2], *x3 = p[3];
    v4d a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
    for (int64_t k = 0; k < d; k++) {
      v4d q0, q1, t0, t1;
      memcpy(&q0, pan + k * PW, sizeof q0);
      memcpy(&q1, pan + k * PW + 4, sizeof q1);
      t0 = x0[k] - q0, t1 = x0[k] - q1, a00 += t0 * t0, a01 += t1 * t1;
      t0 = x1[k] - q0, t1 = x1[k] - q1, a10 += t0 * t0, a11 += t1 * t1;
      t0 = x2[k] - q0, t1 = x2[k] - q1, a20 += t0 * t0, a21 += t1 * t1;
      t0 = x3[k] - q0, t1 = x3[k] - q1, a30 += t0 * t0, a31 += t1 * t1;
    }
    memcpy(out + c, &a00, sizeof a00);
    memcpy(out + c + 4, &a01, sizeof a01);
    memcpy(out + TILE + c, &a10, sizeof a10);
    memcpy(out + TILE + c + 4, &a11, sizeof a11);
    memcpy(out + 2 * TILE + c, &a20, sizeof a20);
    memcpy(out + 2 * TILE + c + 4, &a21, sizeof a21);
    memcpy(out + 3 * TILE + c, &a30, sizeof a30);
    memcpy(out + 3 * TILE + c + 4, &a31, sizeof a31);
#else
    double a[4][PW] = {{0}};
    for (int64_t k = 0; k < d; k++) {
      const double *q = pan + k * PW;
      for (int r = 0; r < 4; r++) {
        const double x = p[r][k];
#pragma omp simd
        for (int j = 0; j < PW; j++) a[r][j] += (x - q[j]) * (x - q[j]);
      }
    }
    for (int r = 0; r < 4; r++) memcpy(out + r * TILE + c, a[r], sizeof a[r]);
#endif
  }
  if (metric == IE_SK_SQEUCLIDEAN) return;
  for (int r = 0; r < 4; r++) {
    double *o = out + r * TILE;
    if (metric == IE_SK_EUCLIDEAN) {
#pragma omp simd
      for (int64_t c = 0; c < len; c++) o[c] = sqrt(o[c]);
    } else {
#pragma omp simd
      for (int64_t c = 0; c < len; c++) o[c] = 0.5 * o[c];
    }
  }
}

/* The 4 row pointers of rows [r, r + 4) of P [nr, d]; rows past nr repeat
 * the last one (computed, then dropped). */
static void four_rows(const double *P, int64_t r, int64_t nr, int64_t d, const double *p[4]) {
  for (int q = 0; q < 4; q++) p[q] = P + (r + q < nr ? r + q : nr - 1) * d;
}

/* Rows [r0, r0 + nr) of side `side`'s cost of problem b, built into
 * out [nr, K] (the matrix path's build). */
IE_CPU_CLONES static void build_rows(const cpu_sk *w, int side, int64_t b, int64_t r0, int64_t nr,
                                     double *out) {
  const int64_t K = side ? w->n : w->m, d = w->d;
  const double *P = w->pt[side] + (b * w->pt_bs[side] + r0) * d;
  const double *pan = w->pk[side ^ 1] + b * w->pk_bs[side ^ 1];
  double cbuf[4 * TILE];
  for (int64_t c0 = 0; c0 < K; c0 += TILE) {
    const int64_t len = K - c0 < TILE ? K - c0 : TILE;
    for (int64_t r = 0; r < nr; r += 4) {
      const double *p[4];
      four_rows(P, r, nr, d, p);
      cost_tile4(p, pan, d, c0, len, w->metric, cbuf);
      for (int q = 0; q < 4 && r + q < nr; q++)
        memcpy(out + (r + q) * K + c0, cbuf + q * TILE, (size_t)len * sizeof(double));
    }
  }
}

/* ---- The log-sum-exp of a row --------------------------------------------------- */

/* e^x for x ≤ 0 (the LSE's arguments after the shift), vectorisable: as
 * exp_poly (x = n·ln2 + r, |r| ≤ ln2/2, 2^n in the exponent bits) with one
 * clamp instead of two, and the degree-11 Taylor polynomial of e^r in
 * Estrin's scheme (a shorter dependency chain than Horner's): relative error
 * < 1e-14.  Below −708 and at −inf: 0. */
IE_INLINE double exp_le0(double x) {
  const double magic = 6755399441055744.0; /* 1.5·2^52: adding it rounds */
  const double xc = x < -708.0 ? -708.0 : x;
  const double t = xc * 1.4426950408889634 + magic;
  const double n = t - magic;
  double r = xc - n * 0.6931471803691238;
  r = r - n * 1.9082149292705877e-10;
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double p01 = 1.0 + r, p23 = 0.5 + r * (1.0 / 6), p45 = 1.0 / 24 + r * (1.0 / 120);
  const double p67 = 1.0 / 720 + r * (1.0 / 5040), p89 = 1.0 / 40320 + r * (1.0 / 362880);
  const double pab = 1.0 / 3628800 + r * (1.0 / 39916800);
  const double p = (p01 + r2 * p23) + r4 * (p45 + r2 * p67) + r8 * (p89 + r2 * pab);
  union {
    double d;
    uint64_t i;
  } u = {t};
  u.i = (u.i + 1023) << 52; /* n sits in the low bits of t */
  return x < -708.0 ? 0.0 : p * u.d;
}

typedef struct {
  double M, S, T; /* running max; Σ e^{v−M}; Σ e^{v−M}·C */
} lse_acc;

/* Fold a tile of a row into its running LSE: v_c = (h_c − C_c)/ε (−inf at
 * zero mass), then S += Σ e^{v−M} (and T += Σ e^{v−M}·C_c) after M has
 * moved to the tile's max.  v: scratch [len]. */
IE_INLINE void fold_tile(lse_acc *a, const double *h, const double *c, int64_t len, double inv_eps,
                         int want_t, double *v) {
  double tm = -INFINITY;
#pragma omp simd reduction(max : tm)
  for (int64_t k = 0; k < len; k++) {
    double x = (h[k] - c[k]) * inv_eps;
    v[k] = x;
    tm = x > tm ? x : tm;
  }
  if (tm == -INFINITY) return;
  if (tm > a->M) {
    double sc = exp(a->M - tm); /* 0 while M = −inf */
    a->S *= sc;
    a->T *= sc;
    a->M = tm;
  }
  const double M = a->M;
  double s = 0, t = 0;
  if (want_t) {
#pragma omp simd reduction(+ : s, t)
    for (int64_t k = 0; k < len; k++) {
      double e = exp_le0(v[k] - M);
      s += e;
      t += e * c[k];
    }
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < len; k++) s += exp_le0(v[k] - M);
  }
  a->S += s;
  a->T += t;
}

/* Rows [r0, r0 + nr) (nr ≤ RB) of problem b on `side`:
 *   L_r = LSE_c((h_c − C_rc)/ε) and, when want_t, pc_r = Σ_c e^{v_c − L_r}·C_rc
 * (= Σ_c P_rc C_rc / mu_r). */
IE_CPU_CLONES static void block_lse(const cpu_sk *w, int side, int64_t b, int64_t r0, int64_t nr,
                                    double inv_eps, int want_t, double *L, double *pc) {
  const int64_t K = side ? w->n : w->m;
  const double *h = w->pot[side ^ 1] + b * K;
  lse_acc acc[RB];
  double v[TILE];
  for (int64_t r = 0; r < nr; r++) acc[r] = (lse_acc){-INFINITY, 0, 0};
  if (w->C) {
    const double *C = (side ? w->CT : w->C) + b * w->c_bs + r0 * K;
    for (int64_t r = 0; r < nr; r++)
      for (int64_t c0 = 0; c0 < K; c0 += TILE)
        fold_tile(&acc[r], h + c0, C + r * K + c0, K - c0 < TILE ? K - c0 : TILE, inv_eps, want_t, v);
  } else {
    /* A chunk of TILE columns (d·TILE doubles, in L2) serves all nr rows. */
    const int64_t d = w->d;
    const double *P = w->pt[side] + (b * w->pt_bs[side] + r0) * d;
    const double *pan = w->pk[side ^ 1] + b * w->pk_bs[side ^ 1];
    double cbuf[4 * TILE];
    for (int64_t c0 = 0; c0 < K; c0 += TILE) {
      const int64_t len = K - c0 < TILE ? K - c0 : TILE;
      for (int64_t r = 0; r < nr; r += 4) {
        const double *p[4];
        four_rows(P, r, nr, d, p);
        cost_tile4(p, pan, d, c0, len, w->metric, cbuf);
        for (int q = 0; q < 4 && r + q < nr; q++)
          fold_tile(&acc[r + q], h + c0, cbuf + q * TILE, len, inv_eps, want_t, v);
      }
    }
  }
  for (int64_t r = 0; r < nr; r++) {
    L[r] = acc[r].M + log(acc[r].S); /* −inf when every column has zero mass */
    pc[r] = want_t && acc[r].S > 0 ? acc[r].T / acc[r].S : 0;
  }
}

/* ---- The sub-table --------------------------------------------------------- */

static void cpu_end(ie_context *ctx, void *wsv) {
  (void)ctx;
  cpu_sk *w = wsv;
  if (!w) return;
  free(w->C);
  free(w->CT);
  free(w->pk[0]);
  free(w->pk[1]);
  free(w->lw[0]);
  free(w->lw[1]);
  free(w->pot[0]);
  free(w->pot[1]);
  free(w->fsave);
  free(w->rowt);
  free(w->active);
  free(w);
}

/* A given cost: widen to double, transpose, find the first non-finite
 * element and each problem's max |C|. */
static void stage_matrix(cpu_sk *w, const ie_mat *cm, int64_t Bc, double *cmax, int64_t *bad) {
  const int64_t n = w->n, m = w->m;
  const size_t esz = ie__dtype_size(cm->dtype);
  const char *base = (const char *)cm->buf + cm->offset;
  int64_t first = INT64_MAX;
#pragma omp parallel for schedule(static) reduction(min : first) num_threads(w->nt)
  for (int64_t r = 0; r < Bc * n; r++) {
    const char *row = base + (size_t)r * (size_t)cm->stride * esz;
    double *dst = w->C + r * m;
    if (cm->dtype == IE_DT_F32)
      for (int64_t j = 0; j < m; j++) dst[j] = ((const float *)row)[j];
    else if (cm->dtype == IE_DT_F64)
      memcpy(dst, row, (size_t)m * sizeof(double));
    else
      for (int64_t j = 0; j < m; j++) dst[j] = ie__load_double(row + (size_t)j * esz, cm->dtype);
    for (int64_t j = 0; j < m; j++)
      if (!isfinite(dst[j]) && r * m + j < first) first = r * m + j;
  }
  *bad = first != INT64_MAX ? first : -1;
  for (int64_t p = 0; p < Bc; p++) {
    const double *c = w->C + p * n * m;
    double mx = 0;
#pragma omp parallel for schedule(static) reduction(max : mx) if (n * m >= PAR_MIN) num_threads(w->nt)
    for (int64_t e = 0; e < n * m; e++) {
      double a = fabs(c[e]);
      mx = a > mx ? a : mx;
    }
    cmax[p] = mx;
  }
#pragma omp parallel for schedule(static) num_threads(w->nt)
  for (int64_t r = 0; r < Bc * m; r++) {
    const int64_t p = r / m, j = r % m;
    const double *src = w->C + p * n * m + j;
    double *dst = w->CT + r * n;
    for (int64_t i = 0; i < n; i++) dst[i] = src[i * m];
  }
}

static ie_status cpu_begin(ie_context *ctx, const ie_sk_setup *s, void **wsv, double *cmax, int64_t *bad,
                           ie_sk_found *found) {
  (void)found; /* host inputs: the driver checked them */
  cpu_sk *w = calloc(1, sizeof *w);
  if (!w) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the workspace");
  const int64_t B = s->B, n = s->n, m = s->m, d = s->d, R = n > m ? n : m;
  w->B = B;
  w->n = n;
  w->m = m;
  w->d = d;
  w->metric = s->metric;
  w->nt = ie__threads(ctx);
  w->lw[0] = malloc((size_t)(B * n) * sizeof(double));
  w->lw[1] = malloc((size_t)(B * m) * sizeof(double));
  w->pot[0] = malloc((size_t)(B * n) * sizeof(double));
  w->pot[1] = malloc((size_t)(B * m) * sizeof(double));
  w->fsave = malloc((size_t)(B * n) * sizeof(double));
  w->rowt = malloc((size_t)(B * R) * IE_SK_TERMS * sizeof(double));
  w->active = malloc((size_t)B);
  int ok = w->lw[0] && w->lw[1] && w->pot[0] && w->pot[1] && w->fsave && w->rowt && w->active;
  int64_t Bc = 0;
  if (!s->cost) {
    /* Points: each side packed as panels for the other side's pass. */
    const int64_t N[2] = {n, m};
    w->pt[0] = s->x;
    w->pt[1] = s->y;
    w->pt_bs[0] = s->x_bstride;
    w->pt_bs[1] = s->y_bstride;
    for (int k = 0; k < 2; k++) {
      const int64_t per = (N[k] + PW - 1) / PW * PW * d, np = w->pt_bs[k] ? B : 1;
      w->pk_bs[k] = w->pt_bs[k] ? per : 0;
      w->pk[k] = malloc((size_t)(np * per) * sizeof(double));
      ok = ok && w->pk[k];
    }
    if (s->materialize) Bc = (s->x_bstride || s->y_bstride) ? B : 1;
  } else {
    Bc = s->cost_bstride ? B : 1;
  }
  if (Bc) {
    w->c_bs = Bc > 1 ? n * m : 0;
    w->C = malloc((size_t)(Bc * n * m) * sizeof(double));
    w->CT = malloc((size_t)(Bc * n * m) * sizeof(double));
    ok = ok && w->C && w->CT;
  }
  if (!ok) {
    cpu_end(ctx, w);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the workspace (%lld problems of "
                     "%lld x %lld)", (long long)B, (long long)n, (long long)m);
  }
  memcpy(w->lw[0], s->la, (size_t)(B * n) * sizeof(double));
  memcpy(w->lw[1], s->lb, (size_t)(B * m) * sizeof(double));
  for (int64_t i = 0; i < B * n; i++) w->pot[0][i] = 0;
  for (int64_t j = 0; j < B * m; j++) w->pot[1][j] = s->lb[j] == -INFINITY ? -INFINITY : 0;
  memset(w->active, 1, (size_t)B);
  *bad = -1;

  if (s->cost) {
    stage_matrix(w, s->cost, Bc, cmax, bad);
  } else {
    const int64_t N[2] = {n, m};
    for (int k = 0; k < 2; k++)
      for (int64_t p = 0; p < (w->pt_bs[k] ? B : 1); p++)
        pack_panels(w->pt[k] + p * w->pt_bs[k] * d, N[k], d, w->pk[k] + p * w->pk_bs[k]);
    if (Bc) {
      /* C and Cᵀ from the same kernel: (p − q)² = (q − p)², so Cᵀ is exact. */
      const int64_t nbn = (n + RB - 1) / RB, nbm = (m + RB - 1) / RB;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ie__threads(ctx))
      for (int64_t t = 0; t < Bc * (nbn + nbm); t++) {
        const int64_t p = t / (nbn + nbm), u = t % (nbn + nbm);
        const int side = u >= nbn;
        const int64_t R1 = side ? m : n, K = side ? n : m, r0 = (side ? u - nbn : u) * RB;
        const int64_t nr = R1 - r0 < RB ? R1 - r0 : RB;
        build_rows(w, side, p, r0, nr, (side ? w->CT : w->C) + p * w->c_bs + r0 * K);
      }
    }
  }
  *wsv = w;
  return IE_OK;
}

static ie_status cpu_set_active(ie_context *ctx, void *wsv, const uint8_t *mask) {
  (void)ctx;
  cpu_sk *w = wsv;
  memcpy(w->active, mask, (size_t)w->B);
  return IE_OK;
}

static ie_status cpu_pass(ie_context *ctx, void *wsv, int side, int mode, double eps, double tau, double *terms) {
  (void)ctx;
  cpu_sk *w = wsv;
  const int64_t R = side ? w->m : w->n, K = side ? w->n : w->m, B = w->B;
  const int64_t nb = (R + RB - 1) / RB;
  const double inv_eps = 1.0 / eps;
  double *pot = w->pot[side];
  const double *lw = w->lw[side];
  /* Small passes (few problems still active) run on one thread: a parallel
   * region costs more than them. */
  int64_t live = B;
  if (mode != IE_SK_MEASURE)
    for (int64_t b = 0; b < B; b++) live -= !w->active[b];
  const int par = live * R * K * (w->C ? 1 : w->d) >= PAR_MIN;
#pragma omp parallel for schedule(dynamic, 1) if (par) num_threads(ie__threads(ctx))
  for (int64_t task = 0; task < B * nb; task++) {
    const int64_t b = task / nb, r0 = task % nb * RB, nr = R - r0 < RB ? R - r0 : RB;
    if (mode != IE_SK_MEASURE && !w->active[b]) continue;
    double L[RB], pc[RB];
    block_lse(w, side, b, r0, nr, inv_eps, mode == IE_SK_MEASURE, L, pc);
    for (int64_t r = 0; r < nr; r++) {
      const int64_t q = b * R + r0 + r;
      double *t = w->rowt + q * IE_SK_TERMS;
      const double lwr = lw[q], old = pot[q];
      if (mode == IE_SK_MEASURE) {
        sk_measure_terms(eps, inv_eps, lwr, old, L[r], pc[r], t);
        continue;
      }
      const double nw = sk_new_potential(eps, tau, lwr, L[r]);
      pot[q] = nw;
      if (mode == IE_SK_CHECK) { /* the errors of the plans before and after the update */
        if (side == 0) w->fsave[q] = old;
        sk_check_terms(inv_eps, lwr, old, nw, L[r], t);
      }
    }
  }
  if (mode == IE_SK_UPDATE) return IE_OK;
#pragma omp parallel for schedule(static) if (par) num_threads(ie__threads(ctx))
  for (int64_t b = 0; b < B; b++) {
    double acc[IE_SK_TERMS] = {0};
    if (mode == IE_SK_MEASURE || w->active[b])
      for (int64_t r = 0; r < R; r++) {
        const double *t = w->rowt + (b * R + r) * IE_SK_TERMS;
        for (int k = 0; k < IE_SK_TERMS; k++) acc[k] = sk_term_merge(k, acc[k], t[k]);
      }
    memcpy(terms + b * IE_SK_TERMS, acc, sizeof acc);
  }
  return IE_OK;
}

static ie_status cpu_restore(ie_context *ctx, void *wsv, const uint8_t *mask) {
  (void)ctx;
  cpu_sk *w = wsv;
  for (int64_t b = 0; b < w->B; b++)
    if (mask[b]) memcpy(w->pot[0] + b * w->n, w->fsave + b * w->n, (size_t)w->n * sizeof(double));
  return IE_OK;
}

static ie_status cpu_potential(ie_context *ctx, void *wsv, int side, const ie_mat *out) {
  (void)ctx;
  cpu_sk *w = wsv;
  const int64_t N = side ? w->m : w->n;
  const int f64 = out->dtype == IE_DT_F64;
  char *base = (char *)out->buf + out->offset;
  for (int64_t b = 0; b < w->B; b++) {
    const double *src = w->pot[side] + b * N;
    char *row = base + (size_t)(b * out->stride) * (f64 ? 8 : 4);
    for (int64_t i = 0; i < N; i++) {
      if (f64) ((double *)row)[i] = src[i];
      else ((float *)row)[i] = (float)src[i];
    }
  }
  return IE_OK;
}

static ie_status cpu_plan(ie_context *ctx, void *wsv, double eps, const ie_mat *out) {
  (void)ctx;
  cpu_sk *w = wsv;
  const int64_t n = w->n, m = w->m, d = w->d;
  const int f64 = out->dtype == IE_DT_F64;
  const size_t esz = f64 ? 8 : 4;
  char *base = (char *)out->buf + out->offset;
#pragma omp parallel for schedule(static) num_threads(ie__threads(ctx))
  for (int64_t q = 0; q < w->B * n; q++) {
    const int64_t b = q / n, i = q % n;
    char *row = base + (size_t)q * (size_t)out->stride * esz;
    const double fi = w->pot[0][q], *g = w->pot[1] + b * m;
    const double *xi = w->C ? NULL : w->pt[0] + (b * w->pt_bs[0] + i) * d;
    for (int64_t j = 0; j < m; j++) {
      double c = w->C ? w->C[b * w->c_bs + i * m + j] : sk_dist(w->metric, xi, w->pt[1] + (b * w->pt_bs[1] + j) * d, d);
      double p = exp((fi + g[j] - c) / eps); /* P_ij = exp((f_i + g_j − C_ij)/ε) */
      if (f64) ((double *)row)[j] = p;
      else ((float *)row)[j] = (float)p;
    }
  }
  return IE_OK;
}

const ie_sk_ops ie__cpu_sk_ops = {
    .begin = cpu_begin,
    .set_active = cpu_set_active,
    .pass = cpu_pass,
    .restore = cpu_restore,
    .potential = cpu_potential,
    .plan = cpu_plan,
    .end = cpu_end,
};
