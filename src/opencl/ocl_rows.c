/*
 * ocl_rows.c — host side of the OpenCL row kernels: launch geometry, the
 * passes of docs/KERNELS.md, and the final formulas.
 *
 * Decomposition.  A team of W work-items (a power of two) owns one chunk of
 * one row.  Rows of V >= 4·wg elements get W = wg and are cut into
 * ceil(V / (wg·ITEMS)) chunks, so no work-item sums more than about ITEMS
 * elements serially before the local-memory tree; shorter rows get one chunk
 * and the smallest W >= V/4, several rows a work-group.  Each team writes one
 * partial state; the host merges a row's chunks in double, in chunk order,
 * and evaluates the final formula in double.  Kinds that need normalised
 * terms (and softmax) first merge the chunks on the device (ie_lse_rows, one
 * work-item a row, chunk order) and read the rows again.  The launch shape
 * depends only on (V, rows, device): results are bit-identical run to run.
 *
 * Rows are processed in batches of at most TEAMS (row, chunk) teams, which
 * bounds the scratch memory.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"

enum { ITEMS = 32, TEAMS = 1 << 18, ST1_N = 4, ST2_N = 8, ST3_N = 4 };
enum { M_LSE, M_SHANNON, M_POW, M_NLL, M_POWM1 };                                 /* kernels.cl */
enum { K_JS, K_TV, K_HELL, K_BHATT, K_CHI2, K_POW, K_RINF, K_CS, K_POW0, K_KL };      /* kernels.cl */
#define ROW_IGNORED 64                                                   /* kernels.cl */

_Static_assert(IE_DT_F32 == 0 && IE_DT_F16 == 1 && IE_DT_BF16 == 2 && IE_DT_F64 == 3,
               "kernels.cl dtype codes");
_Static_assert(IE_ROW_NONFINITE == 1 && IE_ROW_NEGATIVE == 2 && IE_ROW_EMPTY == 3 &&
                   IE_ROW_BAD_LABEL == 4 && sizeof(ie_rowerr) == sizeof(cl_int),
               "kernels.cl row error codes");
_Static_assert(IE_INPUT_LOGITS == 0 && IE_INPUT_PROBS == 1, "kernels.cl input kinds");

/* ---- Kernel arguments and launches ---------------------------------------------- */

typedef struct {
  size_t n;
  const void *p; /* NULL: local memory of n bytes */
} karg;
#define KA(T, v) ((karg){sizeof(T), &(T){v}})
#define KMEM(m) ((karg){sizeof(cl_mem), &(cl_mem){(cl_mem)(m)}})
#define KLOCAL(bytes) ((karg){(bytes), NULL})
#define NARGS(a) ((int)(sizeof(a) / sizeof(a)[0]))

static ie_status set_args(ie_context *ctx, cl_kernel k, const karg *a, int n) {
  for (int i = 0; i < n; i++)
    IE_CL_TRY(ctx, "clSetKernelArg", clSetKernelArg(k, (cl_uint)i, a[i].n, a[i].p));
  return IE_OK;
}

typedef struct {
  cl_uint W, nchunks;
  cl_ulong clen;
  int64_t batch; /* rows a batch */
} geom;

static void geometry(const ie_ocl *s, int64_t V, int64_t rows, geom *g) {
  const int64_t wg = (int64_t)s->wg;
  if (V >= 4 * wg) {
    int64_t n = (V + wg * ITEMS - 1) / (wg * ITEMS);
    g->W = (cl_uint)wg;
    g->nchunks = (cl_uint)n;
    g->clen = (cl_ulong)((V + n - 1) / n);
  } else {
    int64_t need = (V + 3) / 4, w = 1;
    while (w < need) w *= 2;
    g->W = (cl_uint)w;
    g->nchunks = 1;
    g->clen = (cl_ulong)V;
  }
  g->batch = TEAMS / (int64_t)g->nchunks;
  if (g->batch < 1) g->batch = 1;
  if (g->batch > rows) g->batch = rows;
}

/* Enqueue a team kernel over `teams` teams of W. */
static ie_status launch_teams(ie_context *ctx, ie_ocl *s, int k, size_t teams, cl_uint W) {
  size_t tpg = s->wg / W, groups = (teams + tpg - 1) / tpg;
  if (groups > s->max_groups) groups = s->max_groups;
  if (groups == 0) groups = 1;
  size_t global = groups * s->wg, local = s->wg;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(s->queue, s->k[k], 1, NULL, &global, &local, 0, NULL, NULL));
  return IE_OK;
}

/* Enqueue ie_lse_rows over nb rows. */
static ie_status launch_lse_rows(ie_context *ctx, ie_ocl *s, cl_mem part, cl_mem perr,
                                 int64_t nb, cl_uint nchunks, cl_uint ks, cl_int two,
                                 cl_mem rs, cl_mem rerr) {
  karg a[] = {KMEM(part), KMEM(perr), KA(cl_uint, (cl_uint)nb), KA(cl_uint, nchunks),
              KA(cl_uint, ks), KA(cl_int, two), KMEM(rs), KMEM(rerr)};
  ie_status r = set_args(ctx, s->k[IE_K_LSE_ROWS], a, NARGS(a));
  if (r != IE_OK) return r;
  size_t global = ((size_t)nb + 63) / 64 * 64;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(s->queue, s->k[IE_K_LSE_ROWS], 1, NULL, &global, NULL, 0,
                                   NULL, NULL));
  return IE_OK;
}

/* Logits are read as (x − c)/T with c the row's largest logit (ie_row_max)
 * unless 1/T is a power of two, where x·(1/T) in float is exact. */
static int needs_shift(double inv_t) {
  int e;
  return fabs(frexp(inv_t, &e)) != 0.5;
}

/* The shifts of rows [0, nb) of m from element offset mo, into buf. */
static ie_status launch_row_max(ie_context *ctx, ie_ocl *s, const ie_mat *m, cl_ulong mo,
                                int64_t nb, cl_mem buf) {
  karg a[] = {KMEM(m->buf), KA(cl_ulong, mo), KA(cl_ulong, (cl_ulong)m->stride),
              KA(cl_int, (cl_int)m->dtype), KA(cl_ulong, (cl_ulong)m->cols),
              KA(cl_uint, (cl_uint)nb), KMEM(buf), KLOCAL(s->wg * sizeof(float))};
  ie_status r = set_args(ctx, s->k[IE_K_ROW_MAX], a, NARGS(a));
  if (r != IE_OK) return r;
  size_t groups = (size_t)nb < s->max_groups ? (size_t)nb : s->max_groups;
  size_t global = groups * s->wg, local = s->wg;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(s->queue, s->k[IE_K_ROW_MAX], 1, NULL, &global, &local, 0,
                                   NULL, NULL));
  return IE_OK;
}

/* The element offset of m (its byte offset in elements). */
static ie_status mat_check(ie_context *ctx, const ie_ocl *s, const ie_mat *m,
                           const char *what, cl_ulong *off) {
  if (m->dtype != IE_DT_F32 && m->dtype != IE_DT_F16 && m->dtype != IE_DT_BF16 &&
      !(m->dtype == IE_DT_F64 && s->fp64))
    return ie__error(ctx, IE_BAD_DTYPE, "opencl: %s has dtype %s, which this device cannot %s",
                     what, ie__dtype_name(m->dtype),
                     m->dtype == IE_DT_F64 ? "use (no cl_khr_fp64)" : "use here");
  size_t es = ie__dtype_size(m->dtype);
  if (m->offset % es)
    return ie__error(ctx, IE_BAD_SHAPE,
                     "opencl: %s starts at byte offset %zu, not a multiple of its element size %zu",
                     what, m->offset, es);
  *off = (cl_ulong)(m->offset / es);
  return IE_OK;
}

static ie_status begin(ie_context *ctx, ie_ocl **s) {
  *s = ctx->state;
  return ie__ocl_build(ctx, *s);
}

/* ---- Merges and final formulas, in double ---------------------------------------- */

typedef struct {
  double m, s, x;
} h1;

/* e^d expm1((α−1)d) = e^{αd} − e^d (kernels.cl ie_gpow). */
static double gpow(double d, double ed, double alpha) {
  double x = (alpha - 1) * d;
  return fabs(x) < 0.5 ? ed * expm1(x) : exp(alpha * d) - ed;
}

static void h1_merge(h1 *a, const float *p, int mode, double alpha) {
  double bm = p[0], bs = p[1], bx = p[2];
  if (bm == -INFINITY) return;
  if (a->m == -INFINITY) {
    a->m = bm;
    a->s = bs;
    a->x = bx;
    return;
  }
  double m = a->m > bm ? a->m : bm, da = a->m - m, db = bm - m;
  double ra = exp(da), rb = exp(db);
  if (mode == M_SHANNON) a->x = ra * (a->x + da * a->s) + rb * (bx + db * bs);
  if (mode == M_POW) a->x = a->x * exp(alpha * da) + bx * exp(alpha * db);
  if (mode == M_POWM1)
    a->x = a->x * exp(alpha * da) + a->s * gpow(da, ra, alpha) + bx * exp(alpha * db) +
           bs * gpow(db, rb, alpha);
  a->s = a->s * ra + bs * rb;
  a->m = m;
}

typedef struct {
  double mp, sp, a, b, mq, sq, aq;
  unsigned fl;
} h2;

static void h2_merge(h2 *x, const float *p) {
  h2 y = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], (unsigned)p[7]};
  h2 r;
  r.fl = x->fl | y.fl;
  r.mp = x->mp > y.mp ? x->mp : y.mp;
  r.mq = x->mq > y.mq ? x->mq : y.mq;
  double rxp = x->mp == -INFINITY ? 0 : exp(x->mp - r.mp);
  double ryp = y.mp == -INFINITY ? 0 : exp(y.mp - r.mp);
  double rxq = x->mq == -INFINITY ? 0 : exp(x->mq - r.mq);
  double ryq = y.mq == -INFINITY ? 0 : exp(y.mq - r.mq);
  /* B moves with mq (B' = B + (mq − mq')Sp) and scales with mp */
  double bx = x->mq == -INFINITY ? x->b : x->b + (x->mq - r.mq) * x->sp;
  double by = y.mq == -INFINITY ? y.b : y.b + (y.mq - r.mq) * y.sp;
  r.sp = x->sp * rxp + y.sp * ryp;
  r.a = x->a * rxp + y.a * ryp;
  r.b = bx * rxp + by * ryp;
  r.sq = x->sq * rxq + y.sq * ryq;
  r.aq = x->aq * rxq + y.aq * ryq;
  *x = r;
}

/* The value of a one-matrix row from its merged state (KERNELS.md, "Final values"). */
static double one_value(const ie_rowargs *a, int mode, const h1 *t, double zy) {
  const double ls = log(t->s), al = a->alpha;
  switch (a->op) {
  case IE_OP_LSE: return t->m + ls;
  case IE_OP_NLL: return t->m + ls - zy; /* zy = -inf: +inf */
  default: break;
  }
  if (mode == M_SHANNON) return ls - t->x / t->s;
  if (mode == M_LSE) return ls; /* Rényi α = ∞: −log max p */
  /* log Σ p^α = log U − α log S; near α = 1 from W = U − S:
   * (1 − α) log S + log1p(W/S) */
  double lsum = mode == M_POWM1 ? (1 - al) * ls + log1p(t->x / t->s) : log(t->x) - al * ls;
  if (a->ent == IE_ENTROPY_RENYI)
    return mode == M_POWM1 ? ls + log1p(t->x / t->s) / (1 - al) : lsum / (1 - al);
  return -expm1(lsum) / (al - 1); /* Tsallis */
}

/* Cross-entropy, the one divergence of one pass: log Sq + Σ p·(mq − zq). */
static double ce_value(const h2 *t) {
  return t->fl & 1u ? INFINITY : log(t->sq) - t->b / t->sp;
}

static double pass2_value(const ie_rowargs *a, int kind, const double *s) {
  const double al = a->alpha;
  switch (kind) {
  case K_JS: return s[0];
  case K_TV:
  case K_HELL: return 0.5 * s[0];
  case K_BHATT: {
    /* Σ√(pq) = 1 − hellinger²: for close rows log1p of the accurate
     * Hellinger sum; for far rows the direct sum. */
    double hel = 0.5 * s[3];
    if (hel < 0.5) return -log1p(-hel);
    return -(log(s[0]) - 0.5 * log(s[1]) - 0.5 * log(s[2]));
  }
  case K_CHI2: return s[0];
  case K_POW:
  case K_POW0: {
    /* L = log Σ p^α q^(1−α) over normalised p, q, with P = s1 = Σ p and
     * Q = s2 = Σ q (1 up to rounding).  K_POW: log1p(W/P) + (1 − α)(log P −
     * log Q), W = s0 = Σ p expm1((1−α)δ); K_POW0: log1p(W/Q) + α(log Q −
     * log P), W = s0 = Σ q expm1(−αδ); when W is not small against P (Q),
     * the direct (log(P + W) − log Q) − α(log P − log Q) (Q + W for
     * K_POW0).  log P − log Q is log1p(s3/Q), s3 = Σ (p − q). */
    const double base = kind == K_POW ? s[1] : s[2], w = s[0] / base;
    const double lpq = log1p(s[3] / s[2]); /* log P − log Q, from Σ (p − q) */
    double L;
    if (fabs(w) < 0.5 && kind == K_POW)
      L = log1p(w) + (1 - al) * lpq;
    else if (fabs(w) < 0.5)
      L = log1p(w) - al * lpq;
    else
      L = (log(base + s[0]) - log(s[2])) - al * lpq; /* Σ p^α q^(1−α) = P + W (Q + W) */
    if (a->div == IE_DIV_RENYI) return L / (al - 1);
    if (a->div == IE_DIV_TSALLIS) return expm1(L) / (al - 1);
    return -expm1(L) / (al * (1 - al)); /* alpha (Amari) */
  }
  case K_RINF: return s[0];
  case K_KL:
    return a->div == IE_DIV_KL ? s[0] : a->div == IE_DIV_REVERSE_KL ? s[1] : s[0] + s[1];
  default: return -(log(s[0]) - 0.5 * log(s[1]) - 0.5 * log(s[2])); /* Cauchy–Schwarz */
  }
}

/* ---- rows ---------------------------------------------------------------------------- */

ie_status ie__ocl_rows(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  ie_ocl *s;
  ie_status r = begin(ctx, &s);
  if (r != IE_OK) return r;
  const int64_t rows = x->rows, V = x->cols;
  if (rows <= 0) return IE_OK;
  cl_ulong xoff = 0, yoff = 0, loff = 0, lstride = 0;
  if ((r = mat_check(ctx, s, x, y ? "p" : "x", &xoff)) != IE_OK) return r;
  const int two = a->op == IE_OP_DIVERGENCE;
  if (two) {
    if (!y) return ie__error(ctx, IE_INTERNAL, "opencl: divergence without q");
    if ((r = mat_check(ctx, s, y, "q", &yoff)) != IE_OK) return r;
  }
  int lab64 = 0;
  if (a->op == IE_OP_NLL) {
    if (!labels) return ie__error(ctx, IE_INTERNAL, "opencl: NLL without labels");
    lab64 = labels->dtype == IE_DT_I64;
    if ((labels->dtype != IE_DT_I32 && !lab64) || labels->offset % 4)
      return ie__error(ctx, IE_BAD_DTYPE, "opencl: labels must be int32 or int64 at a 4-byte offset");
    loff = labels->offset / 4;
    lstride = (cl_ulong)labels->stride * (lab64 ? 2u : 1u);
  }

  /* What runs. */
  int k1, mode = M_LSE, kind = -1;
  if (!two) {
    if (a->op == IE_OP_NLL) mode = M_NLL;
    else if (a->op == IE_OP_ENTROPY && a->ent == IE_ENTROPY_SHANNON) mode = M_SHANNON;
    else if (a->op == IE_OP_ENTROPY && !isinf(a->alpha)) mode = a->alpha < 1.5 ? M_POWM1 : M_POW;
    k1 = mode == M_NLL ? IE_K_P1_NLL : mode == M_SHANNON ? IE_K_P1_SHANNON
         : mode == M_POW ? IE_K_P1_POW : mode == M_POWM1 ? IE_K_P1_POWM1 : IE_K_P1_LSE;
  } else {
    k1 = IE_K_P1_TWO;
    switch (a->div) {
    case IE_DIV_JS: kind = K_JS; break;
    case IE_DIV_TV: kind = K_TV; break;
    case IE_DIV_HELLINGER: kind = K_HELL; break;
    case IE_DIV_BHATTACHARYYA: kind = K_BHATT; break;
    case IE_DIV_CHI2: kind = K_CHI2; break;
    case IE_DIV_ALPHA:
    case IE_DIV_TSALLIS: kind = a->alpha < 0.5 ? K_POW0 : K_POW; break;
    case IE_DIV_RENYI: kind = isinf(a->alpha) ? K_RINF : a->alpha < 0.5 ? K_POW0 : K_POW; break;
    case IE_DIV_CAUCHY_SCHWARZ: kind = K_CS; break;
    case IE_DIV_KL:
    case IE_DIV_REVERSE_KL:
    case IE_DIV_JEFFREYS: kind = K_KL; break;
    default: break; /* cross-entropy: one pass */
    }
  }
  const cl_uint ks = two ? ST2_N : ST1_N;
  const cl_int xkind = a->input, ykind = a->q_input;
  const cl_float it = (cl_float)a->inv_temp, alpha = (cl_float)a->alpha;

  geom g;
  geometry(s, V, rows, &g);
  const size_t teams_max = (size_t)g.batch * g.nchunks;
  cl_mem part, perr, rs = NULL, rerr = NULL, part2 = NULL, shp = NULL, shq = NULL;
  if ((r = ie__ocl_scratch(ctx, s, IE_S_PART, teams_max * ks * sizeof(float), &part)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_PERR, teams_max * sizeof(cl_int), &perr)) != IE_OK)
    return r;
  const size_t shift_bytes = (size_t)g.batch * sizeof(float);
  if (needs_shift(a->inv_temp) &&
      ((xkind == IE_INPUT_LOGITS &&
        (r = ie__ocl_scratch(ctx, s, IE_S_SHIFT, shift_bytes, &shp)) != IE_OK) ||
       (two && ykind == IE_INPUT_LOGITS &&
        (r = ie__ocl_scratch(ctx, s, IE_S_SHIFT_Q, shift_bytes, &shq)) != IE_OK)))
    return r;
  if (kind >= 0 &&
      ((r = ie__ocl_scratch(ctx, s, IE_S_RS, (size_t)g.batch * 4 * sizeof(float), &rs)) != IE_OK ||
       (r = ie__ocl_scratch(ctx, s, IE_S_RERR, (size_t)g.batch * sizeof(cl_int), &rerr)) != IE_OK ||
       (r = ie__ocl_scratch(ctx, s, IE_S_PART2, teams_max * ST3_N * sizeof(float), &part2)) != IE_OK))
    return r;
  void *hostp;
  const size_t hfloats = teams_max * (kind >= 0 ? ST3_N : ks);
  if ((r = ie__ocl_host(ctx, s, (hfloats + (size_t)g.batch) * sizeof(float) +
                                    teams_max * sizeof(cl_int), &hostp)) != IE_OK)
    return r;
  float *hpart = hostp, *hshift = hpart + hfloats;
  cl_int *herr = (cl_int *)(hshift + g.batch);

  for (int64_t r0 = 0; r0 < rows; r0 += g.batch) {
    const int64_t nb = rows - r0 < g.batch ? rows - r0 : g.batch;
    const size_t teams = (size_t)nb * g.nchunks;
    const cl_ulong xo = xoff + (cl_ulong)r0 * (cl_ulong)x->stride;
    const cl_ulong yo = two ? yoff + (cl_ulong)r0 * (cl_ulong)y->stride : 0;
    if ((shp && (r = launch_row_max(ctx, s, x, xo, nb, shp)) != IE_OK) ||
        (shq && (r = launch_row_max(ctx, s, y, yo, nb, shq)) != IE_OK))
      return r;
    if (!two) {
      karg p1[] = {KMEM(x->buf), KA(cl_ulong, xo), KA(cl_ulong, (cl_ulong)x->stride),
                   KA(cl_int, (cl_int)x->dtype), KA(cl_int, xkind), KA(cl_float, it),
                   KMEM(shp), KA(cl_float, alpha), KA(cl_float, (cl_float)(a->alpha - 1)),
                   KA(cl_ulong, (cl_ulong)V), KA(cl_uint, (cl_uint)nb),
                   KA(cl_uint, g.nchunks), KA(cl_ulong, g.clen), KA(cl_uint, g.W),
                   KMEM(labels && a->op == IE_OP_NLL ? labels->buf : NULL),
                   KA(cl_ulong, loff + (cl_ulong)r0 * lstride), KA(cl_ulong, lstride),
                   KA(cl_int, lab64), KA(cl_long, (cl_long)a->ignore_index),
                   KA(cl_int, a->has_ignore_index != 0), KMEM(part), KMEM(perr),
                   KLOCAL(s->wg * 5 * sizeof(float))};
      if ((r = set_args(ctx, s->k[k1], p1, NARGS(p1))) != IE_OK) return r;
    } else {
      karg p1[] = {KMEM(x->buf), KA(cl_ulong, xo), KA(cl_ulong, (cl_ulong)x->stride),
                   KA(cl_int, (cl_int)x->dtype), KA(cl_int, xkind), KMEM(y->buf),
                   KA(cl_ulong, yo), KA(cl_ulong, (cl_ulong)y->stride),
                   KA(cl_int, (cl_int)y->dtype), KA(cl_int, ykind), KA(cl_float, it),
                   KMEM(shp), KMEM(shq),
                   KA(cl_ulong, (cl_ulong)V), KA(cl_uint, (cl_uint)nb), KA(cl_uint, g.nchunks),
                   KA(cl_ulong, g.clen), KA(cl_uint, g.W), KMEM(part), KMEM(perr),
                   KLOCAL(s->wg * 9 * sizeof(float))};
      if ((r = set_args(ctx, s->k[k1], p1, NARGS(p1))) != IE_OK) return r;
    }
    if ((r = launch_teams(ctx, s, k1, teams, g.W)) != IE_OK) return r;

    if (kind < 0) {
      /* One pass: merge the chunks here. */
      IE_CL_TRY(ctx, "clEnqueueReadBuffer",
                clEnqueueReadBuffer(s->queue, perr, CL_FALSE, 0, teams * sizeof(cl_int), herr, 0,
                                    NULL, NULL));
      /* logsumexp is the one value that is not shift-invariant */
      const int add_shift = a->op == IE_OP_LSE && shp;
      if (add_shift)
        IE_CL_TRY(ctx, "clEnqueueReadBuffer",
                  clEnqueueReadBuffer(s->queue, shp, CL_FALSE, 0, (size_t)nb * sizeof(float),
                                      hshift, 0, NULL, NULL));
      IE_CL_TRY(ctx, "clEnqueueReadBuffer",
                clEnqueueReadBuffer(s->queue, part, CL_TRUE, 0, teams * ks * sizeof(float), hpart,
                                    0, NULL, NULL));
      for (int64_t i = 0; i < nb; i++) {
        const float *p = hpart + (size_t)i * g.nchunks * ks;
        int e = 0;
        for (cl_uint c = 0; c < g.nchunks; c++)
          if (herr[(size_t)i * g.nchunks + c] > e) e = herr[(size_t)i * g.nchunks + c];
        double v = NAN;
        if (e == ROW_IGNORED) {
          e = 0;
          v = 0;
        } else if (!two) {
          h1 t = {-INFINITY, 0, 0};
          for (cl_uint c = 0; c < g.nchunks; c++) h1_merge(&t, p + (size_t)c * ks, mode, a->alpha);
          if (!e && t.m == -INFINITY) e = IE_ROW_EMPTY;
          if (!e) v = one_value(a, mode, &t, p[3]) + (add_shift ? hshift[i] * a->inv_temp : 0);
        } else {
          h2 t = {-INFINITY, 0, 0, 0, -INFINITY, 0, 0, 0};
          for (cl_uint c = 0; c < g.nchunks; c++) h2_merge(&t, p + (size_t)c * ks);
          if (!e && (t.mp == -INFINITY || t.mq == -INFINITY)) e = IE_ROW_EMPTY;
          if (!e) v = ce_value(&t);
        }
        val[r0 + i] = e ? NAN : v;
        err[r0 + i] = e;
      }
      continue;
    }

    /* Two passes: lse on the device, then the normalised terms. */
    if ((r = launch_lse_rows(ctx, s, part, perr, nb, g.nchunks, ks, 1, rs, rerr)) != IE_OK)
      return r;
    const double beta = a->beta;
    karg p2[] = {KMEM(x->buf), KA(cl_ulong, xo), KA(cl_ulong, (cl_ulong)x->stride),
                 KA(cl_int, (cl_int)x->dtype), KA(cl_int, xkind), KMEM(y->buf),
                 KA(cl_ulong, yo), KA(cl_ulong, (cl_ulong)y->stride),
                 KA(cl_int, (cl_int)y->dtype), KA(cl_int, ykind), KA(cl_float, it),
                 KMEM(shp), KMEM(shq),
                 KA(cl_ulong, (cl_ulong)V), KA(cl_uint, (cl_uint)nb), KA(cl_uint, g.nchunks),
                 KA(cl_ulong, g.clen), KA(cl_uint, g.W), KMEM(rs), KMEM(rerr),
                 KA(cl_int, kind), KA(cl_float, alpha), KA(cl_float, (cl_float)(1 - a->alpha)),
                 KA(cl_float, (cl_float)beta),
                 KA(cl_float, (cl_float)log(beta)), KA(cl_float, (cl_float)log1p(-beta)),
                 KMEM(part2), KLOCAL(s->wg * ST3_N * sizeof(float))};
    if ((r = set_args(ctx, s->k[IE_K_P2_DIV], p2, NARGS(p2))) != IE_OK) return r;
    if ((r = launch_teams(ctx, s, IE_K_P2_DIV, teams, g.W)) != IE_OK) return r;
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, rerr, CL_FALSE, 0, (size_t)nb * sizeof(cl_int), herr,
                                  0, NULL, NULL));
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, part2, CL_TRUE, 0, teams * ST3_N * sizeof(float),
                                  hpart, 0, NULL, NULL));
    for (int64_t i = 0; i < nb; i++) {
      const float *p = hpart + (size_t)i * g.nchunks * ST3_N;
      double sum[4] = {kind == K_RINF ? -INFINITY : 0, 0, 0, 0};
      for (cl_uint c = 0; c < g.nchunks; c++, p += ST3_N) {
        if (kind == K_RINF) {
          if (p[0] > sum[0]) sum[0] = p[0];
        } else {
          for (int j = 0; j < 4; j++) sum[j] += p[j];
        }
      }
      err[r0 + i] = herr[i];
      val[r0 + i] = herr[i] ? NAN : pass2_value(a, kind, sum);
    }
  }
  return IE_OK;
}

/* ---- softmax ------------------------------------------------------------------------- */

ie_status ie__ocl_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err) {
  ie_ocl *s;
  ie_status r = begin(ctx, &s);
  if (r != IE_OK) return r;
  const int64_t rows = x->rows, V = x->cols;
  if (rows <= 0) return IE_OK;
  cl_ulong xoff = 0, ooff = 0;
  if ((r = mat_check(ctx, s, x, "logits", &xoff)) != IE_OK ||
      (r = mat_check(ctx, s, out, "out", &ooff)) != IE_OK)
    return r;
  geom g;
  geometry(s, V, rows, &g);
  const size_t teams_max = (size_t)g.batch * g.nchunks;
  cl_mem part, perr, rs, rerr, shift = NULL;
  if ((needs_shift(inv_temp) &&
       (r = ie__ocl_scratch(ctx, s, IE_S_SHIFT, (size_t)g.batch * sizeof(float), &shift)) != IE_OK) ||
      (r = ie__ocl_scratch(ctx, s, IE_S_PART, teams_max * ST1_N * sizeof(float), &part)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_PERR, teams_max * sizeof(cl_int), &perr)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_RS, (size_t)g.batch * 4 * sizeof(float), &rs)) != IE_OK ||
      (r = ie__ocl_scratch(ctx, s, IE_S_RERR, (size_t)g.batch * sizeof(cl_int), &rerr)) != IE_OK)
    return r;
  const cl_float it = (cl_float)inv_temp;
  for (int64_t r0 = 0; r0 < rows; r0 += g.batch) {
    const int64_t nb = rows - r0 < g.batch ? rows - r0 : g.batch;
    const size_t teams = (size_t)nb * g.nchunks;
    const cl_ulong xo = xoff + (cl_ulong)r0 * (cl_ulong)x->stride;
    const cl_ulong oo = ooff + (cl_ulong)r0 * (cl_ulong)out->stride;
    if (shift && (r = launch_row_max(ctx, s, x, xo, nb, shift)) != IE_OK) return r;
    karg p1[] = {KMEM(x->buf), KA(cl_ulong, xo), KA(cl_ulong, (cl_ulong)x->stride),
                 KA(cl_int, (cl_int)x->dtype), KA(cl_int, IE_INPUT_LOGITS), KA(cl_float, it),
                 KMEM(shift), KA(cl_float, 0.0f), KA(cl_float, -1.0f), KA(cl_ulong, (cl_ulong)V),
                 KA(cl_uint, (cl_uint)nb),
                 KA(cl_uint, g.nchunks), KA(cl_ulong, g.clen), KA(cl_uint, g.W), KMEM(NULL),
                 KA(cl_ulong, 0), KA(cl_ulong, 0), KA(cl_int, 0), KA(cl_long, 0), KA(cl_int, 0),
                 KMEM(part), KMEM(perr), KLOCAL(s->wg * 5 * sizeof(float))};
    if ((r = set_args(ctx, s->k[IE_K_P1_LSE], p1, NARGS(p1))) != IE_OK ||
        (r = launch_teams(ctx, s, IE_K_P1_LSE, teams, g.W)) != IE_OK ||
        (r = launch_lse_rows(ctx, s, part, perr, nb, g.nchunks, ST1_N, 0, rs, rerr)) != IE_OK)
      return r;
    karg p2[] = {KMEM(x->buf), KA(cl_ulong, xo), KA(cl_ulong, (cl_ulong)x->stride),
                 KA(cl_int, (cl_int)x->dtype), KA(cl_float, it), KMEM(shift), KMEM(out->buf),
                 KA(cl_ulong, oo), KA(cl_ulong, (cl_ulong)out->stride),
                 KA(cl_int, (cl_int)out->dtype), KA(cl_int, log_out != 0),
                 KA(cl_ulong, (cl_ulong)V), KA(cl_uint, (cl_uint)nb), KA(cl_uint, g.nchunks),
                 KA(cl_ulong, g.clen), KA(cl_uint, g.W), KMEM(rs), KMEM(rerr)};
    if ((r = set_args(ctx, s->k[IE_K_SOFTMAX_OUT], p2, NARGS(p2))) != IE_OK ||
        (r = launch_teams(ctx, s, IE_K_SOFTMAX_OUT, teams, g.W)) != IE_OK)
      return r;
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, rerr, CL_TRUE, 0, (size_t)nb * sizeof(cl_int),
                                  err + r0, 0, NULL, NULL));
  }
  return IE_OK;
}

/* ---- fill_nan ---------------------------------------------------------------------- */

ie_status ie__ocl_fill_nan(ie_context *ctx, const ie_mat *m) {
  ie_ocl *s = ctx->state;
  if (m->rows <= 0 || m->cols <= 0) return IE_OK;
  const size_t es = ie__dtype_size(m->dtype);
  const cl_uchar ones = 0xFF;
  if (m->stride == m->cols || m->rows == 1) {
    IE_CL_TRY(ctx, "clEnqueueFillBuffer",
              clEnqueueFillBuffer(s->queue, (cl_mem)m->buf, &ones, 1, m->offset,
                                  (size_t)m->rows * (size_t)m->cols * es, 0, NULL, NULL));
  } else {
    ie_status r = ie__ocl_build(ctx, s);
    if (r != IE_OK) return r;
    karg a[] = {KMEM(m->buf), KA(cl_ulong, (cl_ulong)m->offset),
                KA(cl_ulong, (cl_ulong)m->cols * es), KA(cl_ulong, (cl_ulong)m->stride * es),
                KA(cl_ulong, (cl_ulong)m->rows)};
    if ((r = set_args(ctx, s->k[IE_K_FILL_ONES], a, NARGS(a))) != IE_OK) return r;
    size_t global = 256 * 64, local = 64;
    IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
              clEnqueueNDRangeKernel(s->queue, s->k[IE_K_FILL_ONES], 1, NULL, &global, &local,
                                     0, NULL, NULL));
  }
  IE_CL_TRY(ctx, "clFinish", clFinish(s->queue));
  return IE_OK;
}
