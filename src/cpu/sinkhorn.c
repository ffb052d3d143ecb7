/*
 * sinkhorn.c — the CPU's Sinkhorn passes (src/sinkhorn.h), in double,
 * OpenMP across the rows of the whole batch.
 *
 * A row's LSE_c((h_c − C_rc)/ε) runs over tiles of TILE columns: the tile's
 * costs (read from the matrix, or computed from the points) and arguments are
 * formed, the tile's max moves the running max M (rescaling S = Σ e^{v−M}
 * and T = Σ e^{v−M}·C), then the tile is summed.  One exp an element; each
 * row is reduced in column order, each problem's terms in row order, so
 * results do not depend on the thread count.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "../sinkhorn.h"

enum { TILE = 256 };
#define PAR_MIN 65536 /* cost elements a pass below which one thread runs it */

typedef struct {
  int64_t B, n, m, d;
  int metric;
  double *C, *CT; /* [Bc·n, m] and [Bc·m, n], or NULL (points on the fly) */
  int64_t c_bs;   /* elements between problems of C (and CT): n·m or 0 */
  const double *x, *y;
  int64_t x_bs, y_bs; /* rows between problems */
  double *lw[2];      /* log weights [B·n], [B·m] */
  double *pot[2];     /* f, g */
  double *fsave;      /* f before the last CHECK pass */
  double *rowt;       /* per-row terms [B·max(n,m)·IE_SK_TERMS] */
  uint8_t *active;
} cpu_sk;

static double dist(int metric, const double *p, const double *q, int64_t d) {
  double s = 0;
  for (int64_t k = 0; k < d; k++) {
    double t = p[k] - q[k];
    s += t * t;
  }
  return metric == IE_SK_EUCLIDEAN ? sqrt(s) : metric == IE_SK_HALF_SQEUCLIDEAN ? 0.5 * s : s;
}

static void cpu_end(ie_context *ctx, void *wsv) {
  (void)ctx;
  cpu_sk *w = wsv;
  if (!w) return;
  free(w->C);
  free(w->CT);
  free(w->lw[0]);
  free(w->lw[1]);
  free(w->pot[0]);
  free(w->pot[1]);
  free(w->fsave);
  free(w->rowt);
  free(w->active);
  free(w);
}

static ie_status cpu_begin(ie_context *ctx, const ie_sk_setup *s, void **wsv, double *cmax, int64_t *bad) {
  cpu_sk *w = calloc(1, sizeof *w);
  if (!w) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the workspace");
  const int64_t B = s->B, n = s->n, m = s->m, d = s->d, R = n > m ? n : m;
  w->B = B;
  w->n = n;
  w->m = m;
  w->d = d;
  w->metric = s->metric;
  w->x = s->x;
  w->y = s->y;
  w->x_bs = s->x_bstride;
  w->y_bs = s->y_bstride;
  w->lw[0] = malloc((size_t)(B * n) * sizeof(double));
  w->lw[1] = malloc((size_t)(B * m) * sizeof(double));
  w->pot[0] = malloc((size_t)(B * n) * sizeof(double));
  w->pot[1] = malloc((size_t)(B * m) * sizeof(double));
  w->fsave = malloc((size_t)(B * n) * sizeof(double));
  w->rowt = malloc((size_t)(B * R) * IE_SK_TERMS * sizeof(double));
  w->active = malloc((size_t)B);
  int64_t Bc = 0;
  if (s->cost) Bc = s->cost_bstride ? B : 1;
  else if (s->materialize) Bc = (s->x_bstride || s->y_bstride) ? B : 1;
  if (Bc) {
    w->c_bs = Bc > 1 ? n * m : 0;
    w->C = malloc((size_t)(Bc * n * m) * sizeof(double));
    w->CT = malloc((size_t)(Bc * n * m) * sizeof(double));
  }
  if (!w->lw[0] || !w->lw[1] || !w->pot[0] || !w->pot[1] || !w->fsave || !w->rowt || !w->active ||
      (Bc && (!w->C || !w->CT))) {
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
    /* Widen to double, transpose, find the first non-finite element. */
    const ie_mat *cm = s->cost;
    const size_t esz = ie__dtype_size(cm->dtype);
    const char *base = (const char *)cm->buf + cm->offset;
    int64_t first = INT64_MAX;
#pragma omp parallel for schedule(static) reduction(min : first)
    for (int64_t r = 0; r < Bc * n; r++) {
      const char *row = base + (size_t)r * (size_t)cm->stride * esz;
      double *dst = w->C + r * m;
      for (int64_t j = 0; j < m; j++) {
        double v = ie__load_double(row + (size_t)j * esz, cm->dtype);
        dst[j] = v;
        if (!isfinite(v) && r * m + j < first) first = r * m + j;
      }
    }
    if (first != INT64_MAX) *bad = first;
    for (int64_t p = 0; p < Bc; p++) {
      double mx = 0;
      for (int64_t e = 0; e < n * m; e++) mx = fmax(mx, fabs(w->C[p * n * m + e]));
      cmax[p] = mx;
    }
  } else if (Bc) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < Bc * n; r++) {
      const int64_t p = r / n, i = r % n;
      const double *xi = s->x + (p * s->x_bstride + i) * d, *yb = s->y + p * s->y_bstride * d;
      for (int64_t j = 0; j < m; j++) w->C[r * m + j] = dist(s->metric, xi, yb + j * d, d);
    }
  }
  if (Bc) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < Bc * m; r++) {
      const int64_t p = r / m, j = r % m;
      const double *src = w->C + p * n * m + j;
      double *dst = w->CT + r * n;
      for (int64_t i = 0; i < n; i++) dst[i] = src[i * m];
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

/* One row of a pass: L = LSE_c((h_c − C_rc)/ε) and, when `want_t`,
 * T/S-weighted cost Σ_c e^{v_c − L}·C_rc (= Σ_c P_rc C_rc / mu_r). */
static void row_lse(const cpu_sk *w, int side, int64_t b, int64_t r, double inv_eps, int want_t, double *L,
                    double *pc) {
  const int64_t K = side ? w->n : w->m;
  const double *h = w->pot[side ^ 1] + b * K;
  const double *crow = NULL, *rp = NULL, *cp = NULL;
  if (w->C) {
    crow = (side ? w->CT : w->C) + b * w->c_bs + r * K;
  } else {
    const int64_t d = w->d;
    rp = side ? w->y + (b * w->y_bs + r) * d : w->x + (b * w->x_bs + r) * d;
    cp = side ? w->x + b * w->x_bs * d : w->y + b * w->y_bs * d;
  }
  double M = -INFINITY, S = 0, T = 0;
  double cbuf[TILE], vbuf[TILE];
  for (int64_t c0 = 0; c0 < K; c0 += TILE) {
    const int64_t len = K - c0 < TILE ? K - c0 : TILE;
    const double *cc;
    if (crow) {
      cc = crow + c0;
    } else {
      for (int64_t k = 0; k < len; k++) cbuf[k] = dist(w->metric, rp, cp + (c0 + k) * w->d, w->d);
      cc = cbuf;
    }
    double tm = -INFINITY;
    for (int64_t k = 0; k < len; k++) {
      double v = (h[c0 + k] - cc[k]) * inv_eps; /* −inf at zero mass */
      vbuf[k] = v;
      tm = v > tm ? v : tm;
    }
    if (tm == -INFINITY) continue;
    if (tm > M) {
      double sc = exp(M - tm); /* 0 while M = −inf */
      S *= sc;
      T *= sc;
      M = tm;
    }
    if (want_t) {
      for (int64_t k = 0; k < len; k++) {
        double e = exp(vbuf[k] - M);
        S += e;
        T += e * cc[k];
      }
    } else {
      for (int64_t k = 0; k < len; k++) S += exp(vbuf[k] - M);
    }
  }
  *L = M + log(S);
  *pc = want_t && S > 0 ? T / S : 0;
}

static ie_status cpu_pass(ie_context *ctx, void *wsv, int side, int mode, double eps, double tau, double *terms) {
  (void)ctx;
  cpu_sk *w = wsv;
  const int64_t R = side ? w->m : w->n, B = w->B;
  const double inv_eps = 1.0 / eps;
  double *pot = w->pot[side];
  const double *lw = w->lw[side];
  /* Small batches run on one thread: a parallel region costs more than them. */
  const int par = B * R * (side ? w->n : w->m) * (w->C ? 1 : w->d) >= PAR_MIN;
#pragma omp parallel for schedule(dynamic, 16) if (par)
  for (int64_t q = 0; q < B * R; q++) {
    const int64_t b = q / R, r = q % R;
    double *t = w->rowt + q * IE_SK_TERMS;
    if (mode != IE_SK_MEASURE && !w->active[b]) continue;
    double L, pc;
    row_lse(w, side, b, r, inv_eps, mode == IE_SK_MEASURE, &L, &pc);
    const double lwr = lw[q], wr = exp(lwr), old = pot[q];
    if (mode == IE_SK_MEASURE) {
      /* mu_r = exp(pot/ε + L): this side's marginal of the plan. */
      double mu = exp(old * inv_eps + L);
      int pos = lwr > -INFINITY;
      t[0] = fabs(mu - wr);
      t[1] = mu;
      t[2] = 0;
      t[3] = pos && mu > 0 ? mu * (old - eps * lwr) : 0;
      t[4] = pos ? (mu > 0 ? mu * log(mu / wr) : 0) - mu + wr : mu;
      t[5] = mu > 0 ? mu * pc : 0;
      continue;
    }
    /* new_r = ε log w_r − τ ε L_r */
    double nw = lwr == -INFINITY ? -INFINITY : eps * lwr - tau * eps * L;
    pot[q] = nw;
    if (mode == IE_SK_CHECK) {
      if (side == 0) w->fsave[q] = old;
      int pos = lwr > -INFINITY;
      t[0] = pos ? fabs(exp(old * inv_eps + L) - wr) : 0;
      t[1] = pos ? fabs(exp(nw * inv_eps + L) - wr) : 0;
      t[2] = pos ? fabs(nw - old) * inv_eps : 0;
      t[3] = t[4] = t[5] = 0;
    }
  }
  if (mode == IE_SK_UPDATE) return IE_OK;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t b = 0; b < B; b++) {
    double acc[IE_SK_TERMS] = {0};
    if (mode == IE_SK_MEASURE || w->active[b])
      for (int64_t r = 0; r < R; r++) {
        const double *t = w->rowt + (b * R + r) * IE_SK_TERMS;
        for (int k = 0; k < IE_SK_TERMS; k++) acc[k] = k == 2 ? fmax(acc[k], t[k]) : acc[k] + t[k];
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

static ie_status cpu_potential(ie_context *ctx, void *wsv, int side, double *out) {
  (void)ctx;
  cpu_sk *w = wsv;
  memcpy(out, w->pot[side], (size_t)(w->B * (side ? w->m : w->n)) * sizeof(double));
  return IE_OK;
}

static ie_status cpu_plan(ie_context *ctx, void *wsv, double eps, const ie_mat *out) {
  (void)ctx;
  cpu_sk *w = wsv;
  const int64_t n = w->n, m = w->m, d = w->d;
  const int f64 = out->dtype == IE_DT_F64;
  const size_t esz = f64 ? 8 : 4;
  char *base = (char *)out->buf + out->offset;
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < w->B * n; q++) {
    const int64_t b = q / n, i = q % n;
    char *row = base + (size_t)q * (size_t)out->stride * esz;
    const double fi = w->pot[0][q], *g = w->pot[1] + b * m;
    for (int64_t j = 0; j < m; j++) {
      double c = w->C ? w->C[b * w->c_bs + i * m + j]
                      : dist(w->metric, w->x + (b * w->x_bs + i) * d, w->y + (b * w->y_bs + j) * d, d);
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
