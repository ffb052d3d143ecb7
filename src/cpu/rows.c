/*
 * rows.c — the CPU reference for the row kernels of docs/KERNELS.md, OpenMP
 * across rows.  Each row is read in chunks that stay in L1: a chunk is
 * widened to log-weights z, its max moves the running max (rescaling the
 * accumulators), then its terms are summed.  All arithmetic is double,
 * with a vectorised exp (rows_impl.h holds the kernels).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../backend.h"
#include "convert.h"
#include "vmath.h"

enum { CHUNK = 512 };

typedef struct {
  double m, s; /* running max, Σ e^{z−m} */
  double t;    /* Σ e^{z−m}(z − m) */
  double u;    /* V = Σ e^{z−m}·expm1((α−1)(z−m)) = Σ e^{α(z−m)} − S */
} one_state;

typedef struct {
  double mp, sp, mq, sq;
  double a, aq, b; /* Σ e^{dp}(zp−zq), Σ e^{dq}(zq−zp), Σ e^{dp}(zq−mq) */
  int inf_a, inf_aq, inf_b;
} two_state;

static double entropy_value(const ie_rowargs *ra, const one_state *st) {
  double ls = log(st->s), al = ra->alpha;
  switch (ra->ent) {
  case IE_ENTROPY_SHANNON:
    return ls - st->t / st->s;
  case IE_ENTROPY_RENYI:
    /* log Σ p^α = log1p(V/S) + (1 − α) log S: no cancellation near α = 1. */
    if (isinf(al)) return ls; /* −log max p */
    return ls + log1p(st->u / st->s) / (1 - al);
  case IE_ENTROPY_TSALLIS:
    return -expm1(log1p(st->u / st->s) + (1 - al) * ls) / (al - 1);
  }
  return NAN;
}

static int is_kl_family(ie_divergence_kind k) {
  return k == IE_DIV_KL || k == IE_DIV_REVERSE_KL || k == IE_DIV_JEFFREYS || k == IE_DIV_CROSS_ENTROPY;
}

/* KERNELS.md, pass 1 final values. */
static double kl_value(const ie_rowargs *ra, const two_state *st) {
  double dlse = (st->mp - st->mq) + (log(st->sp) - log(st->sq)); /* lse_p − lse_q */
  switch (ra->div) {
  case IE_DIV_KL: return st->inf_a ? INFINITY : st->a / st->sp - dlse;
  case IE_DIV_REVERSE_KL: return st->inf_aq ? INFINITY : st->aq / st->sq + dlse;
  case IE_DIV_JEFFREYS: return st->inf_a || st->inf_aq ? INFINITY : st->a / st->sp + st->aq / st->sq;
  case IE_DIV_CROSS_ENTROPY: return st->inf_b ? INFINITY : log(st->sq) - st->b / st->sp;
  default: return NAN;
  }
}

/* renyi / tsallis / alpha from L = log Σ p^α q^{1−α} (normalised). */
static double power_value(const ie_rowargs *ra, double l) {
  const double al = ra->alpha;
  if (ra->div == IE_DIV_RENYI) return l / (al - 1);
  if (ra->div == IE_DIV_TSALLIS) return expm1(l) / (al - 1);
  return -expm1(l) / (al * (1 - al));
}

/* KERNELS.md, pass 2 final values.  For alpha / renyi / tsallis, s1 is
 * already log Σ p^α q^{1−α} (unnormalised). */
static double pass2_value(const ie_rowargs *ra, double s1, double s2, double s3,
                          double sp2, double sq2, double mx) {
  const double al = ra->alpha;
  switch (ra->div) {
  case IE_DIV_JS: return s1;
  case IE_DIV_TV: return 0.5 * s1;
  case IE_DIV_HELLINGER: return 0.5 * s1;
  case IE_DIV_BHATTACHARYYA: return -(log(s1) - 0.5 * log(sp2) - 0.5 * log(sq2));
  case IE_DIV_CHI2: return s1;
  case IE_DIV_CAUCHY_SCHWARZ: return -(log(s1) - 0.5 * log(s2) - 0.5 * log(s3));
  case IE_DIV_RENYI:
    if (isinf(al)) return mx;
    /* fall through */
  case IE_DIV_ALPHA:
  case IE_DIV_TSALLIS: {
    return power_value(ra, s1 - log(sq2) - al * (log(sp2) - log(sq2)));
  }
  default:
    return NAN;
  }
}

/* The kernels run in double for every input dtype: the reference must meet
 * SPEC §1's 1e-5 after cancellations (alpha divergences, temperatures), which
 * float arithmetic on z − m does not.  Loads widen f32 / f16 / bf16. */
#define R double
#define F(name) name##_d
#define VEXP exp_poly
#define VEXPM1 expm1_poly
#define VLOG1P01 log1p_poly01
#define SEXP exp
#define SLOG log
#define SLOG1P log1p
#define FABS fabs
#include "rows_impl.h"

ie_status ie__cpu_rows(ie_context *ctx, const ie_rowargs *ra, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
#pragma omp parallel for schedule(dynamic, 4) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    int e;
    if (ra->op == IE_OP_DIVERGENCE)
      e = row_two_d(ra, x, y, r, &val[r]);
    else
      e = row_one_d(ra, x, labels, r, &val[r]);
    err[r] = e;
    if (e) val[r] = NAN;
  }
  return IE_OK;
}

/* ---- Softmax output --------------------------------------------------------- */

static void store_nan(const ie_mat *o, int64_t r) {
  char *base = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * ie__dtype_size(o->dtype);
  memset(base, 0xff, (size_t)o->cols * ie__dtype_size(o->dtype));
}

/* Row r's lse (pass 1), then z − lse (or its exp) in chunks, converted to
 * out's dtype (pass 2). */
IE_CPU_CLONES static int softmax_row(const ie_mat *x, const ie_mat *o, int64_t r, int log_out,
                                     double inv_t) {
  one_state st1, *st = &st1;
  int e = pass1_one_d(x, r, IE_INPUT_LOGITS, inv_t, 0, 0, 0, st);
  if (e) return e;
  const double ls = log(st->s), m = st->m;
  const size_t osz = ie__dtype_size(o->dtype);
  char *orow = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * osz;
  double z[CHUNK];
  float zf[CHUNK];
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    char *dst = orow + (size_t)i0 * osz;
    load_z_d(x, r, i0, n, IE_INPUT_LOGITS, inv_t, z);
    if (log_out) {
#pragma omp simd
      for (int i = 0; i < n; i++) z[i] = (z[i] - m) - ls;
    } else {
#pragma omp simd
      for (int i = 0; i < n; i++) z[i] = exp_poly((z[i] - m) - ls);
    }
    if (o->dtype == IE_DT_F64) {
      memcpy(dst, z, (size_t)n * sizeof *z);
      continue;
    }
    for (int i = 0; i < n; i++) zf[i] = (float)z[i];
    switch (o->dtype) {
    case IE_DT_F32: memcpy(dst, zf, (size_t)n * 4); break;
    case IE_DT_F16: for (int i = 0; i < n; i++) ((uint16_t *)dst)[i] = ie__float_to_half(zf[i]); break;
    case IE_DT_BF16: for (int i = 0; i < n; i++) ((uint16_t *)dst)[i] = ie__float_to_bf16(zf[i]); break;
    default: break;
    }
  }
  return IE_ROW_OK;
}

ie_status ie__cpu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
#pragma omp parallel for schedule(dynamic, 4) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    int e = softmax_row(x, out, r, log_out, inv_temp);
    err[r] = e;
    if (e) store_nan(out, r);
  }
  return IE_OK;
}

ie_status ie__cpu_fill_nan(ie_context *ctx, const ie_mat *m) {
  (void)ctx;
  for (int64_t r = 0; r < m->rows; r++) store_nan(m, r);
  return IE_OK;
}
