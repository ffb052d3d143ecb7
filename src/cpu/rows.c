/*
 * rows.c — the CPU reference for the row kernels of docs/KERNELS.md, OpenMP
 * across rows.  Each row is read in chunks that stay in L1: a chunk is
 * widened to log-weights z, its max moves the running max (rescaling the
 * accumulators), then its terms are summed.  rows_impl.h holds the kernels,
 * built in double (every kind) and in float (the kinds whose sums do not
 * cancel, from non-f64 inputs); two_row_f32 is the hot KL-family case.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include "../backend.h"
#include "convert.h"
#include "rows_avx2.h"
#include "vmath.h"

enum { CHUNK = 512 };

/* Log-weights z are (x − c)/T for logits x and a shift c taken from the row
 * (rows_impl.h, row_shift), so that in float they keep the digits of the
 * differences between logits, not of the logits' size; the true log-weight
 * is z + c/T. */
typedef struct {
  double m, s; /* running max of z, Σ e^{z−m} */
  double t;    /* Σ e^{z−m}(z − m) */
  double u;    /* V = Σ e^{z−m}·expm1((α−1)(z−m)) = Σ e^{α(z−m)} − S */
  double c;    /* the shift */
} one_state;

typedef struct {
  double mp, sp, mq, sq;
  double a, aq, b; /* Σ e^{dp}(zp−zq), Σ e^{dq}(zq−zp), Σ e^{dp}(zq−mq) */
  int inf_a, inf_aq, inf_b;
  double cp, cq; /* the shifts of p's and q's log-weights */
} two_state;

/* Pass 2 of alpha / renyi / tsallis (rows_impl.h, pass2_power). */
typedef struct {
  double sp2, sq2; /* Σ e^{dp}, Σ e^{dq} */
  double mt, et;   /* log Σ e^t = mt + log et, t = α·dp + (1−α)·dq */
  double w, pp, qq; /* W, P, Q of the expm1 form */
  int diff;        /* dp ≠ dq somewhere */
} power_state;

/* Raise a one-row state's max to cm (if above it), rescaling its sums. */
static void one_raise(one_state *a, double cm, double alpha) {
  if (!(cm > a->m)) return;
  if (a->m > -INFINITY) {
    double k = exp(a->m - cm);
    a->t = k * (a->t + (a->m - cm) * a->s);
    /* V' = U' − S' with U' = r^α·U, U = S + V: for a small (α−1)(m − m')
     * as r·(V + U·expm1((α−1)(m − m'))), which keeps V's digits. */
    double x = (alpha - 1) * (a->m - cm);
    if (fabs(x) < 0.5) a->u = k * (a->u + (a->s + a->u) * expm1(x));
    else a->u = (a->s + a->u) * exp(alpha * (a->m - cm)) - k * a->s;
    a->s *= k;
  }
  a->m = cm;
}

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

/* KERNELS.md, pass 2 final values.  For bhattacharyya and the power family,
 * s2 and s3 are Σ e^{dp} and Σ e^{dq}; for alpha / renyi / tsallis, s1 is
 * already log Σ p^α q^{1−α} (unnormalised). */
static double pass2_value(const ie_rowargs *ra, double s1, double s2, double s3, double mx) {
  const double al = ra->alpha;
  switch (ra->div) {
  case IE_DIV_JS: return s1;
  case IE_DIV_TV: return 0.5 * s1;
  case IE_DIV_HELLINGER: return 0.5 * s1;
  case IE_DIV_CHI2: return s1;
  case IE_DIV_BHATTACHARYYA:
  case IE_DIV_CAUCHY_SCHWARZ: return -(log(s1) - 0.5 * log(s2) - 0.5 * log(s3));
  case IE_DIV_RENYI:
    if (isinf(al)) return mx;
    /* fall through */
  case IE_DIV_ALPHA:
  case IE_DIV_TSALLIS: {
    return power_value(ra, s1 - log(s3) - al * (log(s2) - log(s3)));
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
#define VEXPM1 expm1_small
#define VLOG1P01 log1p_poly01
#define SLOG log
#define SLOG1P log1p
#define FABS fabs
#define ROW_SHIFT 0 /* double keeps x/T's digits unshifted */
#include "rows_impl.h"
#undef R
#undef F
#undef VEXP
#undef VEXPM1
#undef VLOG1P01
#undef SLOG
#undef SLOG1P
#undef FABS
#undef ROW_SHIFT

#if IE_HAVE_AVX2_KL
static int avx2_flag;
static pthread_once_t avx2_once = PTHREAD_ONCE_INIT;
static void avx2_init(void) { avx2_flag = ie__kl_avx2_usable(); }
/* 1 where the AVX2 inner sums run (kl_avx2.c), decided once a process. */
static int cpu_avx2(void) {
  pthread_once(&avx2_once, avx2_init);
  return avx2_flag;
}
#else
static int cpu_avx2(void) { return 0; }
#endif

/* The max of p[0..n) (float logits) into *cm; 1 if they hold NaN or ±inf
 * (rows the general kernels take). */
IE_INLINE int scan_f32(const float *restrict p, int n, float *cm) {
  float m = -INFINITY, lo = INFINITY;
  int bad = 0;
#pragma omp simd reduction(max : m) reduction(min : lo) reduction(| : bad)
  for (int i = 0; i < n; i++) {
    bad |= !(p[i] < INFINITY);
    m = p[i] > m ? p[i] : m;
    lo = p[i] < lo ? p[i] : lo;
  }
  *cm = m;
  return bad || lo == -INFINITY;
}

/* The logsumexp state (max, Σ e^{z−max}) of one f32 logit row, the hot case
 * of logsumexp, NLL and softmax (the float pass 1 starts with it), shifted by
 * the row's max: one read
 * of the row, chunks summed in float and across chunks in double.  Returns -1 for a row with
 * -inf, NaN or +inf, which the general kernels then take. */
IE_CPU_CLONES static int lse_row_f32(const ie_mat *x, int64_t r, double inv_t, one_state *st) {
  if (x->dtype != IE_DT_F32 || x->offset % 4) return -1;
  const int avx2 = cpu_avx2();
  const float *xp = (const float *)x->buf + x->offset / 4 + (size_t)r * (size_t)x->stride;
  const float it = (float)inv_t;
  double m = -INFINITY, s = 0; /* m = rm·it exactly (a float product fits a double) */
  float rm = -INFINITY;         /* the running max before the temperature */
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    const float *restrict pp = xp + i0;
    float cm;
    /* The next chunk, requested now: this one is read twice, the second
     * time from cache, and the loops are too short to hide memory latency. */
    for (int64_t j = i0 + CHUNK; j < x->cols && j < i0 + 2 * CHUNK; j += 16) __builtin_prefetch(xp + j);
    if (scan_f32(pp, n, &cm)) return -1;
    if (cm > rm) {
      const double cmt = (double)cm * it;
      s = m > -INFINITY ? s * exp(m - cmt) : 0;
      m = cmt, rm = cm;
    }
    float cs = 0;
#if IE_HAVE_AVX2_KL
    if (avx2) {
      cs = ie__lse_chunk_avx2(pp, n, it, rm);
    } else
#endif
    {
      /* (p − rm)·it: no product for a compiler to contract */
#pragma omp simd reduction(+ : cs)
      for (int i = 0; i < n; i++) cs += expf_fast((pp[i] - rm) * it);
    }
    s += cs;
  }
  if (rm == -INFINITY) return -1; /* no columns */
  /* z shifted by the row's max: z's max is 0 */
  st->m = 0, st->s = s, st->t = 0, st->u = 0, st->c = rm;
  return IE_ROW_OK;
}

/* A chunk of a logit row as floats: f32 rows in place, f16 / bf16 widened
 * into buf.  NULL for other dtypes or a misaligned f32 view. */
static const float *row_chunk_f32(const ie_mat *x, int64_t r, int64_t i0, int n, float *buf) {
  const size_t at = (size_t)r * (size_t)x->stride + (size_t)i0;
  const char *base = (const char *)x->buf + x->offset;
  switch (x->dtype) {
  case IE_DT_F32:
    return x->offset % 4 ? NULL : (const float *)base + at;
  case IE_DT_BF16: {
    const uint16_t *h = (const uint16_t *)base + at;
#pragma omp simd
    for (int i = 0; i < n; i++) buf[i] = ie__bf16_to_float(h[i]);
    return buf;
  }
  case IE_DT_F16: {
    const uint16_t *h = (const uint16_t *)base + at;
    for (int i = 0; i < n; i++) buf[i] = ie__half_to_float(h[i]);
    return buf;
  }
  default:
    return NULL;
  }
}

/* The entropy state of one f32 / f16 / bf16 logit row in one read: (m, S, T)
 * for Shannon, (m, S, V) for Rényi / Tsallis of finite order (see
 * one_state).  Each chunk is scanned for its max, then its terms are formed
 * in float against shifts d = (x − rm)/T (an exact difference, then a
 * product) and summed in double: a row dominated by one term has S near 1,
 * and its entropy's digits are in S − 1.  T's terms e^d·d, and V's
 * e^d·expm1((α−1)d), all have one sign, so each keeps float's relative
 * accuracy.  Orders with |α − 1| < 1e-12 are not taken ((α−1)·d would
 * leave float's range).  Returns -1 for a row with NaN or ±inf, which the
 * general kernels take. */
IE_CPU_CLONES static int ent_row_f32(const ie_mat *x, int64_t r, double inv_t, int shannon,
                                     double alpha, one_state *st) {
  /* 1/T as it + itl (two floats) unless it is a float: shifts within an
   * ulp of (x − rm)/T, which one rounded factor would not give at T = 3. */
  const float it = (float)inv_t, itl = (float)(inv_t - it);
  const float al = (float)alpha, am1 = (float)(alpha - 1);
  one_state a = {-INFINITY, 0, 0, 0, 0};
  float rm = -INFINITY, buf[CHUNK], te[CHUNK], tv[CHUNK];
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    const float *restrict pp = row_chunk_f32(x, r, i0, n, buf);
    if (!pp) return -1;
    float cm;
    if (scan_f32(pp, n, &cm)) return -1;
    if (cm > rm) {
      one_raise(&a, (double)cm * inv_t, alpha);
      rm = cm;
    }
    if (shannon) {
#pragma omp simd
      for (int i = 0; i < n; i++) {
        const float dx = pp[i] - rm, d = dx * it + dx * itl, e = expf_fast(d);
        te[i] = e;
        tv[i] = e > 0 ? e * d : 0; /* d = −inf where (x − rm)/T overflows */
      }
    } else {
#pragma omp simd
      for (int i = 0; i < n; i++) {
        const float dx = pp[i] - rm, d = dx * it + dx * itl, e = expf_fast(d), y = am1 * d;
        te[i] = e;
        tv[i] = (y < 0.5f && y > -0.5f) ? e * expm1f_small(y) : expf_fast(al * d) - e;
      }
    }
    double s = 0, v = 0;
#pragma omp simd reduction(+ : s, v)
    for (int i = 0; i < n; i++) s += te[i], v += tv[i];
    a.s += s;
    if (shannon) a.t += v;
    else a.u += v;
  }
  if (a.m == -INFINITY) return -1; /* no columns */
  *st = a;
  return IE_ROW_OK;
}

/* The same kernels in float, for the KL family from f32 / f16 / bf16 inputs:
 * their terms have no cancellation within a chunk (e^{z−m} ≤ 1 summed in
 * chunks of CHUNK, chunks summed in double), so float keeps SPEC §1's 1e-5
 * at twice double's SIMD width.  Only pass 1 is used. */
static inline float log1pf_via_d(float x) { return (float)log1p_poly01(x); }
#define R float
#define F(name) name##_f
#define VEXP expf_fast /* arguments z − max ≤ 0 in the kinds routed here */
#define VEXPM1 expm1f_small
#define VLOG1P01 log1pf_via_d
#define SLOG logf
#define SLOG1P log1pf
#define FABS fabsf
#define FAST_PASS1 lse_row_f32
#define ROW_SHIFT 1
#include "rows_impl.h"
#undef FAST_PASS1

/* Raise the KL state's running maxima to the chunk's (raw maxima cpr, cqr of
 * p and q, before the temperature), rescaling its sums (KERNELS.md, pass 1).
 * The state's maxima are rp·it and rq·it exactly: a product of floats fits
 * a double, so the kernels' shifts (p − rp)·it agree with them. */
static void kl_raise(two_state *a, float *rp, float *rq, float cpr, float cqr, float it) {
  const double cp = (double)cpr * it, cq = (double)cqr * it;
  *rp = cpr > *rp ? cpr : *rp;
  *rq = cqr > *rq ? cqr : *rq;
  if (cp > a->mp) {
    if (a->mp > -INFINITY) {
      double k1 = exp(a->mp - cp);
      a->sp *= k1;
      a->a *= k1;
      a->b *= k1;
    }
    a->mp = cp;
  }
  if (cq > a->mq) {
    if (a->mq > -INFINITY) {
      double k1 = exp(a->mq - cq);
      a->b += (a->mq - cq) * a->sp;
      a->sq *= k1;
      a->aq *= k1;
    }
    a->mq = cq;
  }
}

/* The raw maxima of a chunk; 1 if it holds NaN or ±inf. */
static int kl_scan(const float *restrict pp, const float *restrict qq, int n, float *cp, float *cq) {
  float mp = -INFINITY, mq = -INFINITY, lo = INFINITY;
  int bad = 0;
#pragma omp simd reduction(max : mp, mq) reduction(min : lo) reduction(| : bad)
  for (int i = 0; i < n; i++) {
    const float u = pp[i], v = qq[i];
    bad |= !(u < INFINITY) | !(v < INFINITY);
    mp = u > mp ? u : mp;
    mq = v > mq ? v : mq;
    lo = u < lo ? u : lo;
    lo = v < lo ? v : lo;
  }
  *cp = mp, *cq = mq;
  return bad || lo == -INFINITY;
}

/* One chunk's sums against the shifts (rp, rq): o = {Σ e1, Σ e2, t1, t2,
 * max p, max q} as ie__kl_chunk_avx2 defines them (the portable loops
 * compute t2 whenever they compute t1 = Σ e1·(p − q)·it; the caller takes
 * only what it asked for). */
static void kl_sums(const float *restrict pp, const float *restrict qq, int n, float it, float rp,
                    float rq, int want, int avx2, float o[6]) {
#if IE_HAVE_AVX2_KL
  if (avx2) {
    ie__kl_chunk_avx2(pp, qq, n, it, rp, rq, want, o);
    return;
  }
#else
  (void)avx2;
#endif
  float sp = 0, sq = 0, t1 = 0, t2 = 0, xp = -INFINITY, xq = -INFINITY;
  if (want & IE_KL_CE) {
#pragma omp simd reduction(+ : sp, sq, t1) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      sp += e1, sq += e2, t1 += e1 * ((qq[i] - rq) * it); /* 0 at q's max */
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  } else {
#pragma omp simd reduction(+ : sp, sq, t1, t2) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      const float d = (pp[i] - qq[i]) * it; /* 0 for equal entries, contracted or not */
      sp += e1, sq += e2, t1 += e1 * d, t2 -= e2 * d;
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  }
  o[0] = sp, o[1] = sq, o[2] = t1, o[3] = t2, o[4] = xp, o[5] = xq;
}

/* The KL family from two f32 / f16 / bf16 logit rows (f32, the hot case,
 * straight from the input; the others widened a chunk at a time): one read
 * of each row.  The first chunk is scanned for its maxima (and for NaN,
 * ±inf) before its sums; later chunks are summed against the running maxima
 * in the same loop that finds their own, and are summed again only when a
 * maximum jumps by more than 30 (e^30 keeps float sums far from overflow).
 * Sums are float within a chunk, double across chunks.  A row
 * with NaN or ±inf (non-finite sums or maxima) returns -1, for the general
 * kernels to take (and to report).
 *
 * The same pass, with no sums but Σ e1 and Σ e2, is the first pass of the
 * kinds whose value does not depend on its accuracy (two_f32_ok); their
 * second pass is the double one. */
IE_CPU_CLONES static int two_row_f32(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y,
                                     int64_t r, double *val) {
  const int avx2 = cpu_avx2();
  const float it = (float)ra->inv_temp;
  const int want = ra->div == IE_DIV_CROSS_ENTROPY ? IE_KL_CE
                   : ra->div == IE_DIV_KL       ? IE_KL_T1
                   : ra->div == IE_DIV_REVERSE_KL ? IE_KL_T2
                   : ra->div == IE_DIV_JEFFREYS ? IE_KL_T1 | IE_KL_T2
                                                : 0;
  two_state a = {-INFINITY, 0, -INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  float rp = -INFINITY, rq = -INFINITY; /* running maxima before the temperature */
  float bp[CHUNK], bq[CHUNK];
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    const float *restrict pp = row_chunk_f32(x, r, i0, n, bp);
    const float *restrict qq = row_chunk_f32(y, r, i0, n, bq);
    if (!pp || !qq) return -1;
    float cp, cq, o[6];
    if (i0 == 0) {
      if (kl_scan(pp, qq, n, &cp, &cq)) return -1;
      kl_raise(&a, &rp, &rq, cp, cq, it);
    }
    kl_sums(pp, qq, n, it, rp, rq, want, avx2, o);
    if (!(o[4] * it <= a.mp + 30 && o[5] * it <= a.mq + 30)) { /* or +inf, NaN */
      if (kl_scan(pp, qq, n, &cp, &cq)) return -1;
      kl_raise(&a, &rp, &rq, cp, cq, it);
      kl_sums(pp, qq, n, it, rp, rq, want, avx2, o);
    }
    if (!(isfinite(o[0]) && isfinite(o[1]) && isfinite(o[2]) && isfinite(o[3]))) return -1;
    a.sp += o[0];
    a.sq += o[1];
    if (want & IE_KL_CE) a.b += o[2];
    else a.a += o[2], a.aq += o[3];
    kl_raise(&a, &rp, &rq, o[4], o[5], it);
  }
  *val = want ? kl_value(ra, &a) : pass2_two_d(ra, x, y, r, &a);
  return IE_ROW_OK;
}

/* Divergences whose first pass may be two_row_f32's: the KL family, and the
 * kinds whose second pass uses only the exact maxima of the first, or
 * renormalises by its own sums (bhattacharyya, cauchy-schwarz, alpha,
 * tsallis, renyi of finite order).  The latter's second pass scales by the
 * temperature in double, so a 1/T that a float does not hold (1/3) would
 * move the maxima: those rows take the double pass. */
static int two_f32_ok(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y) {
  if (x->dtype == IE_DT_F64 || y->dtype == IE_DT_F64 || ra->input != IE_INPUT_LOGITS ||
      ra->q_input != IE_INPUT_LOGITS)
    return 0;
  switch (ra->div) {
  case IE_DIV_KL:
  case IE_DIV_REVERSE_KL:
  case IE_DIV_JEFFREYS:
  case IE_DIV_CROSS_ENTROPY: return 1;
  case IE_DIV_RENYI:
    if (isinf(ra->alpha)) return 0;
    /* fall through */
  case IE_DIV_ALPHA:
  case IE_DIV_TSALLIS:
  case IE_DIV_BHATTACHARYYA:
  case IE_DIV_CAUCHY_SCHWARZ: return (double)(float)ra->inv_temp == ra->inv_temp;
  default: return 0;
  }
}

/* Rows that take the float kernels (non-f64 inputs): KL-family divergences,
 * logsumexp, NLL, Shannon entropy and Rényi entropy of order ∞, whose sums
 * all have non-negative terms or terms bounded by the row's spread. */
static int float_ok(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y) {
  if (x->dtype == IE_DT_F64) return 0;
  switch (ra->op) {
  case IE_OP_DIVERGENCE: return is_kl_family(ra->div) && y->dtype != IE_DT_F64;
  case IE_OP_LSE:
  case IE_OP_NLL: return 1;
  case IE_OP_ENTROPY: /* Shannon; Rényi of order ∞ is log S, a logsumexp */
    return ra->ent == IE_ENTROPY_SHANNON || (ra->ent == IE_ENTROPY_RENYI && isinf(ra->alpha));
  default: return 0;
  }
}

ie_status ie__cpu_rows(ie_context *ctx, const ie_rowargs *ra, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
  const int use_f = float_ok(ra, x, y);
  const int use_two32 = ra->op == IE_OP_DIVERGENCE && two_f32_ok(ra, x, y);
  const int shannon = ra->ent == IE_ENTROPY_SHANNON;
  const int use_ent32 = ra->op == IE_OP_ENTROPY && ra->input == IE_INPUT_LOGITS &&
                        (shannon || (!isinf(ra->alpha) && fabs(ra->alpha - 1) >= 1e-12));
#pragma omp parallel for schedule(dynamic, 4) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    /* The fast paths, then the float kernels, return -1 for rows they do
     * not take; the double kernels take every row. */
    const int div = ra->op == IE_OP_DIVERGENCE;
    int e = -1;
    one_state st;
    if (use_two32) e = two_row_f32(ra, x, y, r, &val[r]);
    if (e < 0 && use_ent32 &&
        (e = ent_row_f32(x, r, ra->inv_temp, shannon, shannon ? 1 : ra->alpha, &st)) >= 0)
      val[r] = entropy_value(ra, &st);
    if (e < 0 && use_f) e = div ? row_two_f(ra, x, y, r, &val[r]) : row_one_f(ra, x, labels, r, &val[r]);
    if (e < 0) e = div ? row_two_d(ra, x, y, r, &val[r]) : row_one_d(ra, x, labels, r, &val[r]);
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
  /* Inputs below f64 run in float (unless their shifted log-weights leave
   * float's range), f64 inputs in double. */
  int fl = x->dtype != IE_DT_F64, e = -1;
  if (fl) e = pass1_one_f(x, r, IE_INPUT_LOGITS, inv_t, 0, 0, 0, st);
  if (e < 0) fl = 0, e = pass1_one_d(x, r, IE_INPUT_LOGITS, inv_t, 0, 0, 0, st);
  if (e) return e;
  const double ls = log(st->s), m = st->m;
  const size_t osz = ie__dtype_size(o->dtype);
  char *orow = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * osz;
  double z[CHUNK];
  float zf[CHUNK];
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    char *dst = orow + (size_t)i0 * osz;
    if (fl) {
      /* z − m − ls in float: z − m ≤ 0 is exact to rounding, ls ≥ 0 */
      const float mf = (float)m, lf = (float)ls;
      load_z_f(x, r, i0, n, IE_INPUT_LOGITS, (float)inv_t, (float)st->c, zf);
      if (log_out) {
#pragma omp simd
        for (int i = 0; i < n; i++) zf[i] = (zf[i] - mf) - lf;
      } else {
#pragma omp simd
        for (int i = 0; i < n; i++) zf[i] = expf_fast((zf[i] - mf) - lf);
      }
      if (o->dtype == IE_DT_F64)
        for (int i = 0; i < n; i++) z[i] = zf[i];
    } else {
      load_z_d(x, r, i0, n, IE_INPUT_LOGITS, inv_t, st->c, z);
      if (log_out) {
#pragma omp simd
        for (int i = 0; i < n; i++) z[i] = (z[i] - m) - ls;
      } else {
#pragma omp simd
        for (int i = 0; i < n; i++) z[i] = exp_poly((z[i] - m) - ls);
      }
      if (o->dtype != IE_DT_F64)
        for (int i = 0; i < n; i++) zf[i] = (float)z[i];
    }
    switch (o->dtype) {
    case IE_DT_F64: memcpy(dst, z, (size_t)n * sizeof *z); break;
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
