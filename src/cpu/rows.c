/*
 * rows.c — the CPU reference for the row kernels of docs/KERNELS.md, OpenMP
 * across rows.  Each row is read in chunks that stay in L1: a chunk is
 * widened to log-weights z, its max moves the running max (rescaling the
 * accumulators), then its terms are summed.  f64 inputs run in double;
 * f32 / f16 / bf16 inputs in float with a vectorised exp (rows_impl.h).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../backend.h"
#include "convert.h"

enum { CHUNK = 512 };

/* The hot row functions are built twice, for x86-64-v3 (AVX2, FMA) and for
 * the baseline, and picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define IE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define IE_CPU_CLONES
#endif
#ifdef __GNUC__
#define IE_INLINE static inline __attribute__((always_inline))
#else
#define IE_INLINE static inline
#endif

typedef struct {
  double m, s; /* running max, Σ e^{z−m} */
  double t;    /* Σ e^{z−m}(z − m) */
  double u;    /* Σ e^{α(z−m)} */
} one_state;

typedef struct {
  double mp, sp, mq, sq;
  double a, aq, b; /* Σ e^{dp}(zp−zq), Σ e^{dq}(zq−zp), Σ e^{dp}(zq−mq) */
  int inf_a, inf_aq, inf_b;
} two_state;

/* e^x for float x, written so that `omp simd` loops vectorise it: x = n·ln2
 * + r, |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial (relative error
 * < 1e-8 before rounding), 2^n through the exponent bits.  Below −87 (where
 * e^x is under FLT_MIN) and at −inf it returns 0. */

static inline float expf_poly(float x) {
  const float big = 12582912.0f; /* 1.5 · 2^23: adding it rounds to integer */
  float xc = x > 88.0f ? 88.0f : x;
  xc = xc < -87.0f ? -87.0f : xc;
  float n = (xc * 1.44269504f + big) - big;
  float r = xc - n * 0.693145751953125f;
  r = r - n * 1.428606765330187e-6f;
  float p = 1.0f / 5040 + r * (1.0f / 40320);
  p = 1.0f / 720 + r * p;
  p = 1.0f / 120 + r * p;
  p = 1.0f / 24 + r * p;
  p = 1.0f / 6 + r * p;
  p = 0.5f + r * p;
  p = 1.0f + r * p;
  p = 1.0f + r * p;
  union { int32_t i; float f; } scale = {((int32_t)n + 127) << 23};
  return x < -87.0f ? 0.0f : p * scale.f;
}

static double entropy_value(const ie_rowargs *ra, const one_state *st) {
  double ls = log(st->s), al = ra->alpha;
  switch (ra->ent) {
  case IE_ENTROPY_SHANNON:
    return ls - st->t / st->s;
  case IE_ENTROPY_RENYI:
    if (isinf(al)) return ls; /* −log max p */
    return (log(st->u) - al * ls) / (1 - al);
  case IE_ENTROPY_TSALLIS:
    return -expm1(log(st->u) - al * ls) / (al - 1);
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
    double l = s1 - log(sq2) - al * (log(sp2) - log(sq2));
    if (ra->div == IE_DIV_RENYI) return l / (al - 1);
    if (ra->div == IE_DIV_TSALLIS) return expm1(l) / (al - 1);
    return -expm1(l) / (al * (1 - al));
  }
  default:
    return NAN;
  }
}

/* double working precision */
#define R double
#define F(name) name##_d
#define VEXP exp
#define SEXP exp
#define SLOG log
#define SLOG1P log1p
#define FABS fabs
#include "rows_impl.h"
#undef R
#undef F
#undef VEXP
#undef SEXP
#undef SLOG
#undef SLOG1P
#undef FABS

/* float working precision */
#define R float
#define F(name) name##_f
#define VEXP expf_poly
#define SEXP expf
#define SLOG logf
#define SLOG1P log1pf
#define FABS fabsf
#include "rows_impl.h"

static int wants_double(const ie_mat *x, const ie_mat *y) {
  return x->dtype == IE_DT_F64 || (y && y->dtype == IE_DT_F64);
}

ie_status ie__cpu_rows(ie_context *ctx, const ie_rowargs *ra, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
  const int dbl = wants_double(x, y);
#pragma omp parallel for schedule(dynamic, 4) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    int e;
    if (ra->op == IE_OP_DIVERGENCE)
      e = dbl ? row_two_d(ra, x, y, r, &val[r]) : row_two_f(ra, x, y, r, &val[r]);
    else
      e = dbl ? row_one_d(ra, x, labels, r, &val[r]) : row_one_f(ra, x, labels, r, &val[r]);
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

/* Write z − lse (or its exp) for row r, in chunks, converted to out's dtype. */
IE_CPU_CLONES static void softmax_row(const ie_mat *x, const ie_mat *o, int64_t r, int log_out,
                        double inv_t, const one_state *st, int dbl) {
  const double ls = log(st->s);
  const size_t osz = ie__dtype_size(o->dtype);
  char *orow = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * osz;
  double zd[CHUNK];
  float zf[CHUNK];
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    char *dst = orow + (size_t)i0 * osz;
    if (dbl || o->dtype == IE_DT_F64) {
      load_z_d(x, r, i0, n, IE_INPUT_LOGITS, inv_t, zd);
      for (int i = 0; i < n; i++) {
        double v = (zd[i] - st->m) - ls;
        zd[i] = log_out ? v : exp(v);
      }
      if (o->dtype == IE_DT_F64) memcpy(dst, zd, (size_t)n * 8);
      else for (int i = 0; i < n; i++) zf[i] = (float)zd[i];
    } else {
      load_z_f(x, r, i0, n, IE_INPUT_LOGITS, (float)inv_t, zf);
      const float m = (float)st->m, lsf = (float)ls;
      if (log_out) {
#pragma omp simd
        for (int i = 0; i < n; i++) zf[i] = (zf[i] - m) - lsf;
      } else {
#pragma omp simd
        for (int i = 0; i < n; i++) zf[i] = expf_poly((zf[i] - m) - lsf);
      }
    }
    switch (o->dtype) {
    case IE_DT_F32: memcpy(dst, zf, (size_t)n * 4); break;
    case IE_DT_F16: for (int i = 0; i < n; i++) ((uint16_t *)dst)[i] = ie__float_to_half(zf[i]); break;
    case IE_DT_BF16: for (int i = 0; i < n; i++) ((uint16_t *)dst)[i] = ie__float_to_bf16(zf[i]); break;
    default: break;
    }
  }
}

ie_status ie__cpu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
  const int dbl = x->dtype == IE_DT_F64;
#pragma omp parallel for schedule(dynamic, 4) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    one_state st;
    int e = dbl ? pass1_one_d(x, r, IE_INPUT_LOGITS, inv_temp, 0, 0, 0, &st)
                : pass1_one_f(x, r, IE_INPUT_LOGITS, inv_temp, 0, 0, 0, &st);
    err[r] = e;
    if (e) store_nan(out, r);
    else softmax_row(x, out, r, log_out, inv_temp, &st, dbl);
  }
  return IE_OK;
}

ie_status ie__cpu_fill_nan(ie_context *ctx, const ie_mat *m) {
  (void)ctx;
  for (int64_t r = 0; r < m->rows; r++) store_nan(m, r);
  return IE_OK;
}
