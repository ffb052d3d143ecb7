/*
 * rows.c — the CPU reference for the row kernels of docs/KERNELS.md, OpenMP
 * across rows.  Each row is read in chunks that stay in L1: a chunk is
 * widened to log-weights z, its max moves the running max (rescaling the
 * accumulators), then its terms are summed.  rows_impl.h holds the kernels,
 * built in double (every kind) and in float (the kinds whose sums do not
 * cancel, from non-f64 inputs); two_row_f32 is the hot KL-family case.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include "../backend.h"
#include "../threads.h"
#include "convert.h"
#include "rows_avx2.h"
#include "vmath.h"
#include "../kernels/rows_final.h"

enum { CHUNK = 512, SPAN = 4 * CHUNK };

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
  double a, aq;  /* the f32 path's Σ e^{dp}·φ(L), Σ e^{dq}·φ(−L) (two_row_f32) */
  double b;      /* Σ e^{dp}(zq − mq), cross-entropy */
  int inf_a, inf_aq, inf_b;
  double cp, cq; /* the shifts of p's and q's log-weights */
  double cref, kref; /* the f32 path's reference for L, e^{cref − (mp − mq)} */
} two_state;

/* Pass 2 of alpha / renyi / tsallis (rows_impl.h, pass2_power). */
typedef struct {
  double sp2, sq2; /* Σ e^{dp}, Σ e^{dq} */
  double mt, et;   /* log Σ e^t = mt + log et, t = α·dp + (1−α)·dq */
  double w, pp, qq; /* W, P, Q of the expm1 form */
  int diff;        /* dp ≠ dq somewhere */
} power_state;

/* Add a sum s taken against m to the logsumexp (xm, xs) (s = 0: nothing). */
static void lse_merge(double *xm, double *xs, double m, double s) {
  if (!(s > 0)) return;
  if (m > *xm) *xs = (*xm == -INFINITY ? 0 : *xs * exp(*xm - m)) + s, *xm = m;
  else *xs += s * exp(m - *xm);
}

/* Raise a one-row state's max to cm (if above it), rescaling its sums. */
static void one_raise(one_state *a, double cm, double alpha) {
  if (!(cm > a->m)) return;
  if (a->m > -INFINITY && a->m - cm == -INFINITY) {
    /* a rise past double's range (float64 logits near ±DBL_MAX): the
     * entries before have probability 0 against it (d·S would be −inf·0) */
    a->s = a->t = a->u = 0;
  } else if (a->m > -INFINITY) {
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
    /* log Σ p^α from S, U = S + V and V (the GPUs' rows_final.h formula) */
    if (isinf(al)) return ls; /* −log max p */
    return rows_renyi_entropy(rows_log_power_sum(st->s, st->s + st->u, st->u, al), al);
  case IE_ENTROPY_TSALLIS:
    return rows_tsallis_entropy(rows_log_power_sum(st->s, st->s + st->u, st->u, al), al);
  }
  return NAN;
}

static int is_kl_family(ie_divergence_kind k) {
  return k == IE_DIV_KL || k == IE_DIV_REVERSE_KL || k == IE_DIV_JEFFREYS || k == IE_DIV_CROSS_ENTROPY;
}

static int is_power_family(ie_divergence_kind k) {
  return k == IE_DIV_ALPHA || k == IE_DIV_RENYI || k == IE_DIV_TSALLIS;
}

/* Cross-entropy from pass 1: −Σ p log q = log Sq + Σ p·(mq − zq), both
 * parts ≥ 0 (pass 1's b = Σ e^{zp−mp}(zq − mq) ≤ 0). */
static double ce_value(const two_state *st) {
  return st->inf_b ? INFINITY : log(st->sq) - st->b / st->sp;
}

/* The KL family's rows that pass 1 found infinite (p > 0 = q somewhere for
 * KL(p‖q), q > 0 = p for KL(q‖p)). */
static int kl_infinite(ie_divergence_kind k, const two_state *st) {
  switch (k) {
  case IE_DIV_KL: return st->inf_a;
  case IE_DIV_REVERSE_KL: return st->inf_aq;
  case IE_DIV_JEFFREYS: return st->inf_a || st->inf_aq;
  default: return 0;
  }
}

/* renyi / tsallis / alpha from L = log Σ p^α q^{1−α} (normalised). */
static double power_value(const ie_rowargs *ra, double l) {
  const int value = ra->div == IE_DIV_RENYI     ? ROWS_RENYI_DIV
                    : ra->div == IE_DIV_TSALLIS ? ROWS_TSALLIS_DIV
                                                : ROWS_ALPHA_DIV;
  return rows_power_value(value, l, ra->alpha);
}

/* KERNELS.md, pass 2 final values.  For bhattacharyya and the power family,
 * s2 and s3 are Σ e^{dp} and Σ e^{dq}; for alpha / renyi / tsallis, s1 is
 * already log Σ p^α q^{1−α} (unnormalised); for bhattacharyya and
 * cauchy-schwarz s1 is the log of the cross sum, and for bhattacharyya s4 is
 * Σ (√p − √q)². */
static double pass2_value(const ie_rowargs *ra, double s1, double s2, double s3, double s4,
                          double mx) {
  const double al = ra->alpha;
  switch (ra->div) {
  case IE_DIV_KL:
  case IE_DIV_REVERSE_KL:
  case IE_DIV_JEFFREYS:
  case IE_DIV_JS: return s1;
  case IE_DIV_TV: return 0.5 * s1;
  case IE_DIV_HELLINGER: return 0.5 * s1;
  case IE_DIV_CHI2: return s1;
  case IE_DIV_BHATTACHARYYA: return rows_bhattacharyya(s1, s2, s3, s4);
  case IE_DIV_CAUCHY_SCHWARZ: return rows_cauchy_schwarz(s1, s2, s3);
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
 * docs/SPEC.md §1's 1e-5 after cancellations (alpha divergences, temperatures), which
 * float arithmetic on z − m does not.  Loads widen f32 / f16 / bf16. */
#define R double
#define F(name) name##_d
#define VEXP exp_poly
#define VEXPM1 expm1_small
#define VLOG1P01 log1p_poly01
#define PHI_G kl_phi_g_d
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
#undef PHI_G
#undef SLOG
#undef SLOG1P
#undef FABS
#undef ROW_SHIFT

/* The vector inner sums this CPU runs (kl_simd.h): 0 the portable loops,
 * 1 AVX2, 2 AVX-512; decided once a process. */
#if IE_HAVE_AVX2_KL
static int simd_level;
static int64_t llc_bytes; /* (0: not known) */
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;
static void simd_init(void) {
  simd_level = ie__kl_avx512_usable() ? 2 : ie__kl_avx2_usable() ? 1 : 0;
  /* IE_CPU_LLC_BYTES: the size to assume (tests: 1 streams every
   * log-softmax output, stream_output) */
  const char *llc = getenv("IE_CPU_LLC_BYTES");
  llc_bytes = !simd_level ? 0 : llc ? atoll(llc) : ie__llc_bytes();
}
static int cpu_simd(void) {
  pthread_once(&simd_once, simd_init);
  return simd_level;
}
#else
static int cpu_simd(void) { return 0; }
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
#if IE_HAVE_AVX2_KL
    if (cpu_simd()) {
      ie__bf16_to_float_avx2(h, buf, n);
      return buf;
    }
#endif
#pragma omp simd
    for (int i = 0; i < n; i++) buf[i] = ie__bf16_to_float(h[i]);
    return buf;
  }
  case IE_DT_F16: {
    const uint16_t *h = (const uint16_t *)base + at;
#if IE_HAVE_AVX2_KL
    if (cpu_simd()) { /* F16C: a third of an f16 row's time went to this loop */
      ie__half_to_float_f16c(h, buf, n);
      return buf;
    }
#endif
    for (int i = 0; i < n; i++) buf[i] = ie__half_to_float(h[i]);
    return buf;
  }
  default:
    return NULL;
  }
}

/* Σ e^{(p[i] − rm)·it} over a chunk that holds the running max rm, as (the
 * entries equal to rm) + (the others, summed in float): a row dominated by
 * one entry has a sum of 1 + a small tail, whose digits (its log is a
 * logsumexp, a cross-entropy) float would lose adding the tail to the 1. */
IE_CPU_CLONES static double exp_sum_split(const float *restrict p, int n, float it, float rm) {
  float tail = 0, ones = 0;
#pragma omp simd reduction(+ : tail, ones)
  for (int i = 0; i < n; i++) {
    tail += p[i] < rm ? expf_fast((p[i] - rm) * it) : 0;
    ones += p[i] == rm ? 1 : 0;
  }
  return (double)tail + (double)ones;
}

/* Columns of a block of a row's logsumexp (lse_row_f32): blocks are summed
 * apart and merged in order, so a row's lse is the same taken whole or by
 * threads that each take whole blocks (softmax_row).  Each block's first
 * chunk takes the slower scanned path: blocks of 64 chunks cost batch
 * log-softmax 2–4% at 256 × 128256 f32, of 128 chunks 1–2%. */
enum { LSE_BLOCK = 128 * CHUNK };

/* The logsumexp state (max, Σ e^{z−max}) of columns [from, to) of one f32 /
 * f16 / bf16 logit row, the hot case of logsumexp, NLL and softmax (the
 * float pass 1 starts with it), shifted by their max: one read, chunks
 * summed in float and across chunks in double.  Each chunk after the first
 * is summed with its own scan, in one loop (ie__lse_chunk), and kept unless
 * it raises the max; a chunk that does, and the first, are scanned, then
 * summed as (its entries at the max) + (the rest).  Returns -1 for a row
 * with NaN or +inf, or −inf in a chunk scanned first, which the general
 * kernels then take (a −inf in the other chunks is a weight of 0, as it is
 * to them), or with no column above −inf. */
IE_CPU_CLONES static int lse_block_f32(const ie_mat *x, int64_t r, int64_t from, int64_t to,
                                       double inv_t, one_state *st) {
  const int simd = cpu_simd();
  const float it = (float)inv_t;
  double m = -INFINITY, s = 0; /* m = rm·it exactly (a float product fits a double) */
  float rm = -INFINITY;         /* the running max before the temperature */
  float buf[CHUNK];
  for (int64_t i0 = from; i0 < to; i0 += CHUNK) {
    const int n = to - i0 < CHUNK ? (int)(to - i0) : CHUNK;
    const float *restrict pp = row_chunk_f32(x, r, i0, n, buf);
    if (!pp) return -1;
#if IE_HAVE_AVX2_KL
    if (simd && i0 > from) { /* the usual chunk, below the running max: one loop */
      float o[2];
      if (simd == 2) ie__lse_chunk_avx512(pp, n, it, rm, o);
      else ie__lse_chunk_avx2(pp, n, it, rm, o);
      if (o[1] < rm && isfinite(o[0])) {
        s += o[0];
        continue;
      }
    }
#endif
    float cm;
    /* The next chunk, requested now: this one is read twice, the second
     * time from cache, and the loops are too short to hide memory latency. */
    if (pp != buf)
      for (int64_t j = CHUNK; j < to - i0 && j < 2 * CHUNK; j += 16) __builtin_prefetch(pp + j);
    if (scan_f32(pp, n, &cm)) return -1;
    if (cm > rm) {
      const double cmt = (double)cm * it;
      s = m > -INFINITY ? s * exp(m - cmt) : 0;
      m = cmt, rm = cm;
    }
    double cs = 0;
    if (cm == rm) {
      cs = exp_sum_split(pp, n, it, rm); /* the chunk holding the max */
    } else {
      /* (p − rm)·it: no product for a compiler to contract */
      float c = 0;
#pragma omp simd reduction(+ : c)
      for (int i = 0; i < n; i++) c += expf_fast((pp[i] - rm) * it);
      cs = c;
    }
    s += cs;
  }
  if (rm == -INFINITY) return -1; /* no columns */
  /* z shifted by the row's max: z's max is 0 */
  st->m = 0, st->s = s, st->t = 0, st->u = 0, st->c = rm;
  return IE_ROW_OK;
}

/* Fold block b's lse state (against its own max c, m = 0) into `all`, the
 * blocks before it, against the largest c so far (*m = all->c·it). */
static void lse_fold(double *m, one_state *all, const one_state *b, double inv_t) {
  const double it = (float)inv_t; /* (lse_block_f32's factor) */
  lse_merge(m, &all->s, b->c * it, b->s);
  all->c = b->c > all->c ? b->c : all->c;
}

/* The lse state of block k of row r. */
static int lse_block_k(const ie_mat *x, int64_t r, int64_t k, double inv_t, one_state *st) {
  const int64_t from = k * LSE_BLOCK, to = x->cols - from < LSE_BLOCK ? x->cols : from + LSE_BLOCK;
  return lse_block_f32(x, r, from, to, inv_t, st);
}

/* The lse state of row r, its blocks (LSE_BLOCK) folded in order. */
static int lse_row_f32(const ie_mat *x, int64_t r, double inv_t, one_state *st) {
  const int64_t n = (x->cols + LSE_BLOCK - 1) / LSE_BLOCK;
  if (n <= 1) return lse_block_f32(x, r, 0, x->cols, inv_t, st);
  double m = -INFINITY;
  one_state all = {0, 0, 0, 0, -INFINITY}, b;
  for (int64_t k = 0; k < n; k++) {
    const int e = lse_block_k(x, r, k, inv_t, &b);
    if (e) return e;
    lse_fold(&m, &all, &b, inv_t);
  }
  *st = all;
  return IE_ROW_OK;
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
#if IE_HAVE_AVX2_KL
  const int simd = cpu_simd();
#endif
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    const float *restrict pp = row_chunk_f32(x, r, i0, n, buf);
    if (!pp) return -1;
#if IE_HAVE_AVX2_KL
    if (simd && i0 > 0) {
      /* a chunk below the running max (the usual one): its sums in one
       * vector loop, in float (its terms are all < 1, none near S's
       * leading 1); others are taken below */
      float o[3];
      const float m1 = shannon ? 0.0f : am1;
      if (simd == 2) ie__ent_chunk_avx512(pp, n, it, itl, rm, al, m1, o);
      else ie__ent_chunk_avx2(pp, n, it, itl, rm, al, m1, o);
      if (o[2] < rm && isfinite(o[0]) && isfinite(o[1])) {
        a.s += o[0];
        if (shannon) a.t += o[1];
        else a.u += o[1];
        continue;
      }
    }
#endif
    float cm;
    if (scan_f32(pp, n, &cm)) return -1;
    if (cm > rm) {
      one_raise(&a, (double)cm * inv_t, alpha);
      rm = cm;
    }
    /* d is held at −FLT_MAX where x − rm or (x − rm)/T overflows (or
     * −inf·itl with itl = 0 makes a NaN): e^d is 0 there, and e^{αd} 1 at
     * α = 0, as for the tiny d it stands for. */
    if (shannon) {
#pragma omp simd
      for (int i = 0; i < n; i++) {
        const float dx = pp[i] - rm, dd = dx * it + dx * itl, d = dd > -FLT_MAX ? dd : -FLT_MAX;
        const float e = expf_fast(d);
        te[i] = e;
        tv[i] = e > 0 ? e * d : 0;
      }
    } else {
#pragma omp simd
      for (int i = 0; i < n; i++) {
        const float dx = pp[i] - rm, dd = dx * it + dx * itl, d = dd > -FLT_MAX ? dd : -FLT_MAX;
        const float e = expf_fast(d), y = am1 * d;
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
 * chunks of CHUNK, chunks summed in double), so float keeps docs/SPEC.md §1's 1e-5
 * at twice double's SIMD width.  Only pass 1 is used. */
static inline float log1pf_via_d(float x) { return (float)log1p_poly01(x); }
#define R float
#define F(name) name##_f
#define VEXP expf_fast /* arguments z − max ≤ 0 in the kinds routed here */
#define VEXPM1 expm1f_small
#define VLOG1P01 log1pf_via_d
#define PHI_G(x) KL_PHI_G(float, x)
#define SLOG logf
#define SLOG1P log1pf
#define FABS fabsf
#define FAST_PASS1 lse_row_f32
#define ROW_SHIFT 1
#include "rows_impl.h"
#undef FAST_PASS1

/* Raise the KL state's running maxima to (cpr, cqr), raw maxima of p and q
 * before the temperature, rescaling its sums.  The state's maxima are rp·it
 * and rq·it exactly (a product of floats fits a double), so the kernels'
 * shifts (p − rp)·it agree with them.  The reference cref is a difference
 * of unshifted log-weights and does not move; kref = e^{cref − (mp − mq)}
 * does. */
static void kl_raise(two_state *a, float *rp, float *rq, float cpr, float cqr, float it) {
  if (cpr > *rp) {
    const double cp = (double)cpr * it;
    if (a->mp > -INFINITY) {
      const double k1 = exp(a->mp - cp);
      a->sp *= k1, a->a *= k1, a->b *= k1;
    }
    a->mp = cp, *rp = cpr;
  }
  if (cqr > *rq) {
    const double cq = (double)cqr * it;
    if (a->mq > -INFINITY) {
      const double k1 = exp(a->mq - cq);
      a->b += (a->mq - cq) * a->sp; /* b is against mq */
      a->sq *= k1, a->aq *= k1;
    }
    a->mq = cq, *rq = cqr;
  }
  a->kref = exp(a->cref - (a->mp - a->mq));
}

/* Move the reference of the φ sums from cref to c.  With L = (p − q)·it −
 * cref, e^{dp}·e^{−L} = kref·e^{dq}, so G = Σ e^{dp}e^{−L} = kref·Sq and
 * H = Σ e^{dq}e^{L} = Sp/kref, and for Δ = c − cref:
 *   Σ e^{dp}·φ(L − Δ) = a + expm1(Δ)·G − Δ·Sp,
 *   Σ e^{dq}·φ(Δ − L) = aq + expm1(−Δ)·H + Δ·Sq.
 * Their error is |Δ| times the sums' (float chunk sums, 1e-7 relative): the
 * caller moves the reference only to better estimates of the final one. */
static void kl_move_ref(two_state *a, double c) {
  const double dl = c - a->cref;
  if (a->sp > 0) { /* (no sums yet: nothing to move) */
    a->a += expm1(dl) * a->kref * a->sq - dl * a->sp;
    a->aq += expm1(-dl) * a->sp / a->kref + dl * a->sq;
  }
  a->cref = c;
  a->kref = exp(c - (a->mp - a->mq));
}

/* The same move for the power family's sum (IE_KL_POW: V = Σ e^{dp}·ψ(−L)
 * in a, or the q-form's Σ e^{dq}·ψ(L) in aq; kl_simd.h, power_psi).  From
 * ψ's definition, ψ(x + d) = e^{gd}·ψ(x) + (1 − g)·expm1(gd) +
 * g·e^x·(expm1(gd) − expm1(d)), so with G and H as above
 *   V' = e^{g·dl}·V + (1 − g)·expm1(g·dl)·Sp + g·(expm1(g·dl) − expm1(dl))·G,
 * and the q-form's likewise with −dl, Sq and H.  As kl_move_ref's, its
 * error is |dl| times the sums'. */
static void pow_move_ref(two_state *a, double c, double g, int qform) {
  const double dl = qform ? a->cref - c : c - a->cref, eg = expm1(g * dl);
  if (a->sp > 0) {
    if (qform) a->aq += eg * a->aq + (1 - g) * eg * a->sq + g * (eg - expm1(dl)) * a->sp / a->kref;
    else a->a += eg * a->a + (1 - g) * eg * a->sp + g * (eg - expm1(dl)) * a->kref * a->sq;
  }
  a->cref = c;
  a->kref = exp(c - (a->mp - a->mq));
}

/* The move for the sums `want` names (two_row_f32). */
static void move_ref(two_state *a, double c, int want, float g) {
  if (want & IE_KL_POW) pow_move_ref(a, c, g, want & IE_KL_T2);
  else kl_move_ref(a, c);
}

/* KL(p‖q), KL(q‖p) and Jeffreys from the fast state: with δ = C − cref,
 * C = lse_p − lse_q the exact reference, a/Sp = KL(p‖q) + φ(δ) and
 * aq/Sq = KL(q‖p) + φ(−δ) (Σ p·φ(L + δ) = Σ p·φ(L) + φ(δ) for normalised
 * p, q).  δ is small (cref follows C chunk by chunk), so φ(δ) is far below
 * the sums' rounding and a difference below 0 is rounding of a 0. */
static double kl_fast_value(const ie_rowargs *ra, const two_state *st) {
  if (ra->div == IE_DIV_CROSS_ENTROPY) return ce_value(st);
  const double dl = (st->mp - st->mq) + log(st->sp / st->sq) - st->cref;
  /* a reference far from C (a float cref of a C past 2^22, or k past
   * float's range): φ(δ) would swamp the sums; the general kernels */
  if (!(fabs(dl) < 0.5)) return NAN;
  double kl = st->a / st->sp - kl_phi(dl), rkl = st->aq / st->sq - kl_phi(-dl);
  kl = kl > 0 ? kl : 0;
  rkl = rkl > 0 ? rkl : 0;
  return ra->div == IE_DIV_KL ? kl : ra->div == IE_DIV_REVERSE_KL ? rkl : kl + rkl;
}

/* The kinds pow_one_read names, from the fast state (IE_KL_POW): V moved to
 * the exact reference C, then v = V/Sp (q-form V/Sq) = Σ p̂^α q̂^{1−α} − 1,
 * and L = log1p(v).  (A v of the wrong sign, rounding of a 0, gives a value
 * below 0, which src/rows.c's clamp makes +0 for every backend.)  Far rows
 * (1 + v < 1/16, where the sum's rounding would reach the value's 1e-5) go
 * to the double kernels. */
static double pow_fast_value(const ie_rowargs *ra, two_state st, float g, int qform) {
  const double c = (st.mp - st.mq) + log(st.sp / st.sq);
  if (!(fabs(c - st.cref) < 0.5)) return NAN; /* (as kl_fast_value) */
  pow_move_ref(&st, c, g, qform);
  const double v = qform ? st.aq / st.sq : st.a / st.sp;
  if (!(1 + v >= 1.0 / 16)) return NAN;
  switch (ra->div) {
  case IE_DIV_HELLINGER: return -v;
  case IE_DIV_BHATTACHARYYA: return -log1p(v);
  case IE_DIV_CHI2: return v;
  default: return power_value(ra, log1p(v));
  }
}

/* The raw maxima of a chunk; 1 if it holds NaN or ±inf. */
IE_INLINE int kl_scan(const float *restrict pp, const float *restrict qq, int n, float *cp, float *cq) {
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

/* A row's e1 = e^{(p − rp_c)·it} and e2 = e^{(q − rq_c)·it} as pass 1 summed
 * them, with each chunk c's shifts (rp_c, rq_c): the pass 2 of the kinds
 * keeps_exps names scales them instead of taking their exps again.  One a
 * thread, `cols` + `cols` floats and a pair of shifts a chunk. */
typedef struct {
  float *ep, *eq, *crp, *crq;
} exp_store;

/* Whether two_row_f32 and pass2_f32 read a row pair in spans of SPAN: f32
 * rows, read in place, with no exps kept (whose store is a chunk's).  One
 * vector call a span, not four: a call's reductions and the steps between
 * calls were a tenth of KL's time. */
static int in_spans(const ie_mat *x, const ie_mat *y, const exp_store *store) {
  return !store && x->dtype == IE_DT_F32 && y->dtype == IE_DT_F32;
}

/* The length of a row's chunk at i0: CHUNK, or in spans SPAN after the
 * first chunk.  Chunks start at the same columns wherever the row lies in
 * memory: a row's sums (and so its bits) may not depend on its address.
 * (Cutting the first chunk short so that the spans start on a 64-byte line
 * saved 3% of KL's time, but a row then summed differently at another
 * address: another --memory-budget, or its rows one further down.) */
static int chunk_len(const ie_mat *x, int64_t i0, int spans) {
  const int len = spans && i0 > 0 ? SPAN : CHUNK;
  return x->cols - i0 < len ? (int)(x->cols - i0) : len;
}

/* The kinds two_row_f32 takes as a power sum Σ p̂^α·q̂^{1−α} in its one read
 * (IE_KL_POW): its sums (IE_KL_POW | IE_KL_T1, or | IE_KL_T2 for
 * the q-form, α < ½ as in pass2_f32), and *g, 1 − α (q-form α) rounded once
 * from double; 0 for the others (and a g past float: the double kernels).  Hellinger is 1 − Σ√(p̂q̂) and Bhattacharyya −log Σ√(p̂q̂), the
 * sum at α = ½; χ² is Σ p̂²/q̂ − 1, at α = 2. */
static int pow_one_read(const ie_rowargs *ra, float *g) {
  double al;
  switch (ra->div) {
  case IE_DIV_ALPHA:
  case IE_DIV_RENYI:
  case IE_DIV_TSALLIS: al = ra->alpha; break;
  case IE_DIV_HELLINGER:
  case IE_DIV_BHATTACHARYYA: al = 0.5; break;
  case IE_DIV_CHI2: al = 2; break;
  default: return 0;
  }
  *g = (float)(al < 0.5 ? al : 1 - al);
  if (!isfinite(*g)) return 0; /* (g = 0: ψ = 0, V = 0, and the value 0) */
  return IE_KL_POW | (al < 0.5 ? IE_KL_T2 : IE_KL_T1);
}

static int keeps_exps(const ie_rowargs *ra) { return ra->div == IE_DIV_TV; }

/* kl_simd.h's ψ(x) = e^{gx} − 1 − g·(e^x − 1) in the portable loop: for
 * |x|, |gx| < ½, g·x²·(g·h(gx) − h(x)) with h(y) = (e^y − 1 − y)/y² (φ(−y)/y²,
 * KL_PHI_G), which does not cancel; beyond, from expm1f_full, exact for its
 * n = 0 as kl_simd.h's u.  *egx gets e^{gx}. */
IE_INLINE float power_psi(float x, float g, float *egx) {
  const float gx = g * x, em1g = expm1f_full(gx);
  *egx = em1g + 1;
  if (fabsf(x) < 0.5f && fabsf(gx) < 0.5f)
    return g * x * x * (g * KL_PHI_G(float, -gx) - KL_PHI_G(float, -x));
  return em1g - g * expm1f_full(x);
}

/* One chunk's sums against the shifts (rp, rq) and the reference (c, k =
 * e^{c − (rp − rq)·it}): o = {Σ e1, Σ e2, t1, t2, max p, max q, gb} as
 * ie__kl_chunk_avx2 defines them (the portable loops compute t2 whenever
 * they compute the φ sum t1; the caller takes only what it asked for).
 * IE_KL_POW takes the power family's g. */
static void kl_sums(const float *restrict pp, const float *restrict qq, int n, float it, float rp,
                    float rq, float c, float k, float g, int want, int simd, float o[7], float *ep,
                    float *eq) {
#if IE_HAVE_AVX2_KL
  if (simd == 2) {
    ie__kl_chunk_avx512(pp, qq, n, it, rp, rq, c, k, g, want, o, ep, eq);
    return;
  }
  if (simd == 1) {
    ie__kl_chunk_avx2(pp, qq, n, it, rp, rq, c, k, g, want, o, ep, eq);
    return;
  }
#else
  (void)simd;
#endif
  float sp = 0, sq = 0, t1 = 0, t2 = 0, xp = -INFINITY, xq = -INFINITY, gb = 0;
  if (want & IE_KL_POW) { /* kl_simd.h's sum: V = Σ w·ψ(x), the weight w e1 (q-form e2) */
    const int qform = want & IE_KL_T2;
    float v = 0;
#pragma omp simd reduction(+ : sp, sq, v) reduction(max : xp, xq, gb)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      const float x = qform ? (pp[i] - qq[i]) * it - c : (qq[i] - pp[i]) * it + c, w = qform ? e2 : e1;
      float egx;
      v += w * power_psi(x, g, &egx);
      sp += e1, sq += e2;
      /* a term past float's exp: +inf, the double kernels; else as kl_simd.h's guard */
      const float gx = g * x, big = x > 80 || gx > 80                   ? INFINITY
                                    : g < 0 && w * egx > 2.0611536e-9f ? fabsf(gx)
                                                                       : 0;
      gb = big > gb ? big : gb;
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
    if (qform) t2 = v;
    else t1 = v;
  } else if (want & IE_KL_CE) {
#pragma omp simd reduction(+ : sp, sq, t1) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      sp += e1, sq += e2, t1 += e1 * ((qq[i] - rq) * it); /* 0 at q's max */
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  } else if (want & IE_KL_CS) { /* Σ e1², Σ e2² (in sp, sq) and Σ e1·e2 */
#pragma omp simd reduction(+ : sp, sq, t1) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      sp += e1 * e1, sq += e2 * e2, t1 += e1 * e2;
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  } else if (want & IE_KL_STORE) {
#pragma omp simd reduction(+ : sp, sq) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      sp += e1, sq += e2, ep[i] = e1, eq[i] = e2;
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  } else if (want) {
    const float ik = 1 / k;
#pragma omp simd reduction(+ : sp, sq, t1, t2) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      const float e1 = expf_fast((pp[i] - rp) * it), e2 = expf_fast((qq[i] - rq) * it);
      /* L − Δ: 0 for equal entries and c = 0 (identical rows) */
      const float l = (pp[i] - qq[i]) * it - c, l2 = l * l;
      const int small = fabsf(l) < 0.5f;
      sp += e1, sq += e2;
      t1 += small ? e1 * l2 * KL_PHI_G(float, l) : e2 * k - e1 + e1 * l;
      t2 += small ? e2 * l2 * KL_PHI_G(float, -l) : e1 * ik - e2 - e2 * l;
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  } else {
#pragma omp simd reduction(+ : sp, sq) reduction(max : xp, xq)
    for (int i = 0; i < n; i++) {
      sp += expf_fast((pp[i] - rp) * it), sq += expf_fast((qq[i] - rq) * it);
      xp = pp[i] > xp ? pp[i] : xp;
      xq = qq[i] > xq ? qq[i] : xq;
    }
  }
  o[0] = sp, o[1] = sq, o[2] = t1, o[3] = t2, o[4] = xp, o[5] = xq, o[6] = gb;
}

/* JS's term of pass2_f32 for one pair of logits (see there): with a =
 * −|δ|, b the larger of p, q and sm = b·e^a the smaller, w_s and w_b their
 * weights (β for p, 1 − β for q) and l = log1p(w_s·expm1(a)),
 *   w_s·sm·(a − l) − w_b·b·l
 * (js_sides, given b; js_term takes b's exp too).  `near`: β and 1 − β are
 * ≤ 0.55, so log1p's argument lies in (−0.55, 0] (log1pf_neg055). */
IE_INLINE float js_sides(float b, float a, float ws, float wb, int near) {
  const float e = expf_fast(a) - 1, sm = b + b * e;
  const float y = ws * e, l = near ? log1pf_neg055(y) : log1pf_fast(y);
  return ws * sm * (a - l) - wb * b * l;
}

IE_INLINE float js_term(float p, float q, float rp, float rq, float dr, float it, float lsp,
                        float lsq, float dls, float be, float be1, int near) {
  const float d = ((q - p) - dr) * it - dls;
  const int le = d <= 0; /* q ≤ p: p is the larger */
  const float lb = le ? (p - rp) * it - lsp : (q - rq) * it - lsq;
  return js_sides(expf_fast(lb), le ? d : -d, le ? be1 : be, le ? be : be1, near);
}

/* pass 1's e1, e2 of one chunk for pass 2 (keeps_exps), and the factors
 * that make them p and q (e1 == NULL: none kept, the exps are taken
 * again) */
typedef struct {
  const float *e1, *e2;
  float kp, kq;
} chunk_exps;

/* One chunk's sums of pass2_f32 (see there): c[0..2] = c1..c3.  Inlined
 * twice, with the temperature factor it and with it = 1 (the usual case: no
 * products). */
typedef struct {
  float rp, rq, dr, lsp, lsq, dls, be, be1;
  ie_divergence_kind k;
  int simd; /* cpu_simd() */
} pass2_consts;

IE_INLINE float pass2_chunk(const pass2_consts *pc, const float *restrict pp, const float *restrict qq,
                            int n, float it, const chunk_exps *ex) {
  const float rp = pc->rp, rq = pc->rq, dr = pc->dr, lsp = pc->lsp, lsq = pc->lsq, dls = pc->dls;
  const float be = pc->be, be1 = pc->be1;
  /* pass 1's exps and their factors, for the kinds that keep them (e1 NULL: none) */
  const float *restrict e1 = ex->e1, *restrict e2 = ex->e2;
  const float kp = ex->kp, kq = ex->kq;
  float c1 = 0;
  if (pc->k == IE_DIV_JS) {
    /* log1p's argument (1 − β)·expm1(δ) or β·expm1(−δ) lies in
     * (−max(β, 1 − β), 0]: within log1pf_neg055's range for β in [0.45, 0.55] */
    if (be <= 0.55f && be1 <= 0.55f) {
      int i0 = 0; /* whole vector blocks: ie__js_chunk's */
#if IE_HAVE_AVX2_KL
      const ie_js_consts jc = {it, rp, rq, dr, lsp, lsq, dls, be, be1};
      if (pc->simd == 2) c1 = ie__js_chunk_avx512(pp, qq, n, &jc), i0 = n - n % 16;
      else if (pc->simd == 1) c1 = ie__js_chunk_avx2(pp, qq, n, &jc), i0 = n - n % 8;
#endif
#pragma omp simd reduction(+ : c1)
      for (int i = i0; i < n; i++) c1 += js_term(pp[i], qq[i], rp, rq, dr, it, lsp, lsq, dls, be, be1, 1);
    } else {
#pragma omp simd reduction(+ : c1)
      for (int i = 0; i < n; i++) c1 += js_term(pp[i], qq[i], rp, rq, dr, it, lsp, lsq, dls, be, be1, 0);
    }
  } else { /* TV */
    if (e1) { /* |p − q| from pass 1's exps alone: no exp, no logits */
      /* as kp·(e1 − e2) + e2·(kp − kq), exactly 0 for identical rows even
       * where the compiler fuses a product into the sum (e1·kp − e2·kq
       * would leave e2·kq's rounding) */
      const float dk = kp - kq;
#pragma omp simd reduction(+ : c1)
      for (int i = 0; i < n; i++) c1 += fabsf(kp * (e1[i] - e2[i]) + e2[i] * dk);
      return c1;
    }
#pragma omp simd reduction(+ : c1)
    for (int i = 0; i < n; i++) { /* |p − q| = b·|expm1(−|δ|)|, b the larger */
      const float d = ((qq[i] - pp[i]) - dr) * it - dls;
      const float l = d <= 0 ? (pp[i] - rp) * it - lsp : (qq[i] - rq) * it - lsq;
      c1 -= expf_fast(l) * (expf_fast(d <= 0 ? d : -d) - 1);
    }
  }
  return c1;
}

/* Pass 2 of JS and TV from f32 / f16 / bf16 logits, in
 * float, after two_row_f32's first pass (raw maxima rp, rq; Sp, Sq against
 * them).  Terms use δ = lq − lp = ((q − p) − (rq − rp))·it − (log Sq − log
 * Sp), a difference of inputs first, and are written on the side (p or q)
 * whose expm1 argument −|δ| is ≤ 0, so that near-equal rows lose nothing to
 * cancellation (as src/kernels/rows.cl's pass 2).  Their expm1 is e^x − 1:
 * its absolute error (6e-8) is a relative one of the terms' first-order
 * factor (TV, JS's log1p), so a sum's error stays below 6e-8·Σ p|δ|.
 *   TV  |p − q| = p·|expm1(δ)|,
 *   JS  −β·p·g + (1−β)·q·(δ − g), g = lm − lp = log(β + (1−β)e^δ)
 *       = log1p((1−β)·expm1(δ)), or δ + log1p(β·expm1(−δ)) for δ > 0.
 * (p ↔ q swaps δ's sign.)  Sums are float within a chunk (or span,
 * chunk_len), double across.
 * JS takes both exps again (ie__js_chunk: kept ones were slower, see
 * there), with β and 1 − β ≤ 0.55 (js_term's `near`).  TV with `store`
 * takes |p − q| from them alone, with no exp and no logits (identical rows
 * give exactly 0; rows that differ by a shift, their rounding): p and q
 * each carry pass 1's exp error and two roundings (the chunk's factor, the
 * product), a few ulps, so the sum is off by a few 1e-7 of the row's mass
 * at most, under SPEC's 1e-6 absolute (4e-8 on language-model rows).
 * Returns NAN where rq − rp is not a float, for the double kernels. */
IE_CPU_CLONES static double pass2_f32(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y,
                                      int64_t r, float rp, float rq, const two_state *st,
                                      const exp_store *store) {
  const double drd = (double)rq - (double)rp;
  const float it = (float)ra->inv_temp, dr = (float)drd;
  if ((double)dr != drd) return NAN;
  const float be = (float)ra->beta, be1 = (float)(1 - ra->beta);
  /* δ from the same rounded log-sums as lp, lq: q/p = e^δ holds for the
   * p and q the terms use */
  const double lsp_d = log(st->sp), lsq_d = log(st->sq);
  const float lsp = (float)lsp_d, lsq = (float)lsq_d, dls = lsq - lsp;
  const ie_divergence_kind k = ra->div;
  const pass2_consts pc = {rp, rq, dr, lsp, lsq, dls, be, be1, k, cpu_simd()};
  /* TV takes pass 2 from pass 1's exps alone: no logits to read (its pass
   * 2 is bound by memory: two streams, not four) */
  const int logits = !store || k != IE_DIV_TV;
  float bp[CHUNK], bq[CHUNK];
  double s1 = 0;
  /* the chunks' factors, taken again only where a chunk's shifts differ
   * from the one before's (most share them; two exps and two logs in
   * double a chunk were a tenth of TV's time) */
  float crp = NAN, crq = NAN, kp = 0, kq = 0;
  const int spans = in_spans(x, y, store);
  int n = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += n) {
    n = chunk_len(x, i0, spans);
    const float *restrict pp = logits ? row_chunk_f32(x, r, i0, n, bp) : NULL;
    const float *restrict qq = logits ? row_chunk_f32(y, r, i0, n, bq) : NULL;
    chunk_exps ex = {NULL, NULL, 0, 0};
    if (store) { /* (keeps_exps) p = e1·e^{(rp_c − rp)·it − log Sp}, q likewise */
      const int64_t ch = i0 / CHUNK;
      if (store->crp[ch] != crp) crp = store->crp[ch], kp = (float)exp(((double)crp - rp) * it - lsp_d);
      if (store->crq[ch] != crq) crq = store->crq[ch], kq = (float)exp(((double)crq - rq) * it - lsq_d);
      ex.e1 = store->ep + i0, ex.e2 = store->eq + i0, ex.kp = kp, ex.kq = kq;
    }
    s1 += it == 1.0f ? pass2_chunk(&pc, pp, qq, n, 1.0f, &ex) : pass2_chunk(&pc, pp, qq, n, it, &ex);
  }
  if (k == IE_DIV_TV) return 0.5 * s1;
  /* JS (below 0: rounding of a 0, clamped in src/rows.c) */
  return isfinite(s1) ? s1 : NAN; /* (a δ past float: 1/T huge) */
}

/* The kinds pass2_f32 takes. */
static int pass2_f32_kind(const ie_rowargs *ra) {
  return ra->div == IE_DIV_JS || ra->div == IE_DIV_TV;
}

/* Whether a chunk's sums are finite, and no power term above e^−20 has a
 * |g·L| of 12 or more (IE_KL_POW with g < 0: its float L's rounding would
 * be its relative error, as in pass2_f32); else the double kernels. */
static int kl_sums_ok(const float o[7]) {
  return isfinite(o[0]) && isfinite(o[1]) && isfinite(o[2]) && isfinite(o[3]) && o[6] < 12;
}

/* Raise cs_row_f32's maxima to (cp, cq) where above them, and its sums
 * {Σ e1², Σ e2², Σ e1·e2} with them. */
static void cs_raise(double s[3], float *rp, float *rq, float cp, float cq, float it) {
  const double dp = cp > *rp ? ((double)*rp - cp) * it : 0;
  const double dq = cq > *rq ? ((double)*rq - cq) * it : 0;
  if (dp < 0 || dq < 0) s[0] *= exp(2 * dp), s[1] *= exp(2 * dq), s[2] *= exp(dp + dq);
  if (cp > *rp) *rp = cp;
  if (cq > *rq) *rq = cq;
}

/* Cauchy–Schwarz from two f32 / f16 / bf16 logit rows, in one read: its
 * value −log(Σ pq / √(Σ p² Σ q²)) does not depend on the scale of p or q,
 * so the three sums need no normaliser.  They are taken against the
 * running maxima, e1 = e^{(p − rp)·it} and e2 likewise (kl_sums'
 * IE_KL_CS), float within a chunk and double across.  A chunk
 * whose maxima rose by at most 20 keeps its sums (its terms below e^40,
 * far inside float's range), raised with the state's; a larger rise, or
 * sums not finite, takes the chunk again against its own maxima (kl_scan,
 * which finds NaN and ±inf: -1, for the general kernels).  So does a
 * cross sum below 1e-20 (rows far apart: its float terms may have left
 * float's range), for the double kernels, which sum it as a logsumexp. */
IE_CPU_CLONES static int cs_row_f32(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y,
                                    int64_t r, double *val) {
  const int simd = cpu_simd();
  const float it = (float)ra->inv_temp;
  float rp = -INFINITY, rq = -INFINITY, bp[CHUNK], bq[CHUNK];
  double s[3] = {0, 0, 0};
  /* (in chunks, not spans: the value is a difference of the sums' logs,
   * so their float rounding is its error; spans of four chunks took the
   * worst on near-identical rows from 0.07 to 0.15 of SPEC's tolerance,
   * for 9% less time) */
  int n = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += n) {
    n = chunk_len(x, i0, 0);
    const float *restrict pp = row_chunk_f32(x, r, i0, n, bp);
    const float *restrict qq = row_chunk_f32(y, r, i0, n, bq);
    if (!pp || !qq) return -1;
    float o[7];
    int fresh = i0 == 0;
    if (!fresh) {
      kl_sums(pp, qq, n, it, rp, rq, 0, 1, 0, IE_KL_CS, simd, o, NULL, NULL);
      fresh = !(kl_sums_ok(o) && (o[4] - rp) * it <= 20 && (o[5] - rq) * it <= 20);
    }
    if (fresh) {
      float cp, cq;
      if (kl_scan(pp, qq, n, &cp, &cq)) return -1;
      cs_raise(s, &rp, &rq, cp, cq, it);
      kl_sums(pp, qq, n, it, rp, rq, 0, 1, 0, IE_KL_CS, simd, o, NULL, NULL);
      if (!kl_sums_ok(o)) return -1;
    }
    s[0] += o[0], s[1] += o[1], s[2] += o[2];
    cs_raise(s, &rp, &rq, o[4], o[5], it); /* (a rise kept: the chunk's sums with the rest) */
  }
  if (!(s[2] >= 1e-20)) return -1;
  *val = rows_cauchy_schwarz(log(s[2]), s[0], s[1]);
  return 0;
}

/* Whether the sums of a chunk whose maxima rose, taken against the old
 * maxima and reference, can be kept as they are (the state raised after
 * them, kl_raise), sparing the rise its three more reads (two for pass
 * 1's plain sums; not cross-entropy, whose sums are against q's max, nor a
 * pass 1 that stores its exps: against the old maxima, TV's p − q as
 * kp·(e1 − e2) + e2·(kp − kq) cancels, and scaled to the new ones, p and q
 * round apart, which took TV's worst error on near-identical
 * language-model rows from 9% to 44% of the tolerance): they are finite;
 * no entry is more than 20 above the old maxima (its terms, below e^20, are
 * far inside float's range, and with AVX2 inside the exponent bits of
 * kl_simd.h's 2^n); and, for the φ sums, with them the reference drifts by
 * less than 1/16.
 * A move of the reference carries |Δ| times the sums' rounding, and a chunk
 * holding a new max carries much of a row's mass: at ¼ (the bound on any
 * chunk's drift below) Rényi of order 5's worst error on language-model
 * rows went from 7% to 17% of the tolerance, at 1/16 it is unchanged, and
 * 93% of the rises of i.i.d. logit rows stay in place.  A row's first chunk,
 * and rises past these bounds (the one logit far above the rest of a
 * confident row), take the three reads. */
static int rise_in_place(const two_state *a, const float o[7], float rp, float rq, float it,
                         int want) {
  if (want & (IE_KL_CE | IE_KL_STORE)) return 0; /* (see above) */
  if (!kl_sums_ok(o) || !((o[4] - rp) * it <= 20 && (o[5] - rq) * it <= 20)) return 0;
  if (!(want & (IE_KL_T1 | IE_KL_T2))) return 1; /* (plain sums: no reference) */
  const double drift = a->kref * (a->sq + o[1]) / (a->sp + o[0]);
  return drift > 0.939413 && drift < 1.064494; /* e^{∓1/16} */
}

/* Add one chunk's sums to the KL state. */
static void kl_add(two_state *a, const float o[7], double sp, double sq, int want) {
  a->sp += sp;
  a->sq += sq;
  if (want & IE_KL_CE) a->b += o[2];
  else a->a += o[2], a->aq += o[3];
}

/* The KL family from two f32 / f16 / bf16 logit rows (f32, the hot case,
 * straight from the input; the others widened a chunk at a time), in one
 * read of each row, rarely two.
 *
 * KL(p‖q) is summed in its non-negative form Σ p·φ(L), φ(x) = e^{−x} − 1 +
 * x, L = log p/q, whose terms have no cancellation; but L needs C = lse_p −
 * lse_q, known only at the end.  So the sums run against a reference cref:
 * each chunk that raises a maximum (the first among them) first sets cref to
 * the estimate of C that includes its own plain sums, moving the earlier
 * chunks' sums exactly (kl_move_ref); after each chunk, cref follows the
 * running estimate when it drifts by more than 1/64; the end corrects for
 * the last gap (kl_fast_value).  A chunk that moves C by more than ¼
 * without raising a maximum has its terms against a stale reference, whose
 * move would cancel: such rows are summed again, against the final C (the
 * second read).  Reverse KL likewise with Σ q·φ(−L); Jeffreys is both.
 * Cross-entropy is log Sq + Σ p·(mq − zq), both parts ≥ 0, with Sq from the
 * chunks holding q's max summed as (its entries) + (the tail).
 *
 * Chunks are summed against the running maxima in the same loop that finds
 * their own, and again when a maximum rises (so every term e^{z − max} is
 * ≤ 1), unless a small rise's sums may be kept (rise_in_place: a row of
 * i.i.d. logits raises its maxima about ln(the number of chunks) times,
 * each three reads of a chunk otherwise).  f32 rows go in spans of four
 * chunks after the first (chunk_len); a span whose maxima rose, unless in
 * place, is taken again a chunk at a time.  Sums are float within a chunk
 * or span, double across them.  A row with
 * NaN or ±inf returns -1, for the general kernels to take (and to report).
 *
 * The power family, Hellinger, Bhattacharyya and χ² take the
 * same read with one sum Σ e^{dp}·ψ(−L) in place of the φ sum (pow_one_read,
 * kl_simd.h's power_psi), moved with the reference by pow_move_ref.
 *
 * The same pass, with no sums but Σ e1 and Σ e2 (or with them kept: exp_store),
 * is the first pass of the other kinds that two_f32_ok names; their second
 * pass is pass2_f32. */
#define KL_APART_MAX 64.0f /* (two_row_f32) */

IE_CPU_CLONES static int two_row_f32(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y,
                                     int64_t r, exp_store *store, double *val) {
  const int simd = cpu_simd();
  const float it = (float)ra->inv_temp;
  float g = 0;
  const int pow = pow_one_read(ra, &g);
  const int want = pow                           ? pow
                   : ra->div == IE_DIV_CROSS_ENTROPY ? IE_KL_CE
                   : ra->div == IE_DIV_KL       ? IE_KL_T1
                   : ra->div == IE_DIV_REVERSE_KL ? IE_KL_T2
                   : ra->div == IE_DIV_JEFFREYS ? IE_KL_T1 | IE_KL_T2
                   : store                      ? IE_KL_STORE
                                                : 0;
  const int phi = want & (IE_KL_T1 | IE_KL_T2);
  two_state a = {-INFINITY, 0, -INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  float rp = -INFINITY, rq = -INFINITY; /* running maxima before the temperature */
  float bp[CHUNK], bq[CHUNK];
  int again = 0; /* the second read is needed */
  /* (not cross-entropy, whose rises never stay in place: each would take
   * its span twice) */
  const int spans = !(want & IE_KL_CE) && in_spans(x, y, store);
  int64_t chunks_to = 0; /* (a span whose maxima rose: its chunks one by one) */
  int n = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += n) {
    n = chunk_len(x, i0, spans && i0 >= chunks_to);
    const float *restrict pp = row_chunk_f32(x, r, i0, n, bp);
    const float *restrict qq = row_chunk_f32(y, r, i0, n, bq);
    if (!pp || !qq) return -1;
    float cp, cq, o[7];
    int rose = i0 == 0, kept = 0;
    float *ep = store ? store->ep + i0 : NULL, *eq = store ? store->eq + i0 : NULL;
    if (!rose) {
      kl_sums(pp, qq, n, it, rp, rq, (float)a.cref, (float)a.kref, g, want, simd, o, ep, eq);
      rose = !(o[4] <= rp && o[5] <= rq); /* a maximum rose (or +inf, NaN) */
      if (rose && rise_in_place(&a, o, rp, rq, it, want)) {
        if (phi) kl_add(&a, o, o[0], o[1], want); /* (plain sums: below, raised) */
        kl_raise(&a, &rp, &rq, o[4], o[5], it);
        rose = 0, kept = 1;
      } else if (rose && n > CHUNK) {
        chunks_to = i0 + n, n = 0;
        continue;
      }
    }
    if (rose) {
      if (kl_scan(pp, qq, n, &cp, &cq)) return -1;
      kl_raise(&a, &rp, &rq, cp, cq, it);
      if (phi) { /* the reference first, from this chunk's plain sums too */
        kl_sums(pp, qq, n, it, rp, rq, 0, 1, 0, 0, simd, o, NULL, NULL);
        const float c = (float)((a.mp - a.mq) + log((a.sp + o[0]) / (a.sq + o[1])));
        /* a large move of earlier chunks' sums (their terms against a
         * reference far from this one: rows far apart whose maxima lie in
         * later chunks) would carry e^{|Δ|} times their rounding, or find
         * them rescaled to 0 and not move them at all: a second read */
        again |= i0 > 0 && !(fabs(c - a.cref) < 8);
        move_ref(&a, c, want, g);
      }
      kl_sums(pp, qq, n, it, rp, rq, (float)a.cref, (float)a.kref, g, want, simd, o, ep, eq);
    }
    if (store) store->crp[i0 / CHUNK] = rp, store->crq[i0 / CHUNK] = rq; /* e1, e2's shifts */
    if (!kl_sums_ok(o)) return -1;
    /* the sums of chunks holding a max, as (its entries) + (the tail),
     * for the kinds whose value needs log S to its last digits (a kept
     * rise's plain sums: the chunk holding a raised max is summed so, and
     * a row whose max did not rise has its shift as before) */
    if (!(kept && phi))
      kl_add(&a, o, o[4] == rp && !phi ? exp_sum_split(pp, n, it, rp) : o[0],
             o[5] == rq && !phi ? exp_sum_split(qq, n, it, rq) : o[1], want);
    /* kref·Sq/Sp = e^{cref − C}: follow C when it drifts */
    const double drift = a.kref * a.sq / a.sp;
    if (phi && !(drift > 0.984496 && drift < 1.015748)) { /* e^{∓1/64} */
      again |= !(drift > 0.7788 && drift < 1.2840);      /* e^{∓1/4} */
      move_ref(&a, (float)((a.mp - a.mq) + log(a.sp / a.sq)), want, g);
    }
  }
  if (again) { /* the final maxima and C: no raise, no move */
    a.sp = a.sq = a.a = a.aq = 0;
    for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
      const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
      const float *restrict pp = row_chunk_f32(x, r, i0, n, bp);
      const float *restrict qq = row_chunk_f32(y, r, i0, n, bq);
      float o[7];
      kl_sums(pp, qq, n, it, rp, rq, (float)a.cref, (float)a.kref, g, want, simd, o, NULL, NULL);
      if (!kl_sums_ok(o)) return -1; /* (terms against the final reference may pass float) */
      kl_add(&a, o, o[0], o[1], want);
    }
  }
  /* L = (p − q)·it − cref (the KL family's and pow_one_read's), and
   * pass2_f32's δ, round p − q to an ulp of the larger.  Where the rows'
   * maxima lie more than KL_APART_MAX temperatures apart (logits of very
   * different scale, or a small T against their offset), that rounding
   * times 1/T passed the tolerance on a row's large terms (KL of logits
   * near 3000 against logits near 3: 3e-5 relative at T = 1; 5e-3 where
   * the true value is 0, both rows one-hot at T = 1e-3; Bhattacharyya
   * 1e-4 relative; JS of logits near 1e28 against logits near 10, half its
   * value), and the double kernels take the row (pass2_fast's L). */
  if (!(want & IE_KL_CE) && !(fabsf(rp - rq) * it <= KL_APART_MAX)) return -1;
  if (want & (IE_KL_T1 | IE_KL_T2 | IE_KL_CE)) {
    *val = want & IE_KL_POW ? pow_fast_value(ra, a, g, want & IE_KL_T2) : kl_fast_value(ra, &a);
    if (isnan(*val)) return -1;
  } else if (pass2_f32_kind(ra)) {
    const double v = pass2_f32(ra, x, y, r, rp, rq, &a, store);
    if (isnan(v)) return -1; /* the double kernels take the row */
    *val = v;
  } else {
    *val = pass2_two_d(ra, x, y, r, &a);
  }
  return IE_ROW_OK;
}

/* Divergences that two_row_f32 takes from f32 / f16 / bf16 logits: the KL
 * family in one read, and the power family, Hellinger, Bhattacharyya and
 * χ² too (pow_one_read); JS and TV with pass2_f32 as their second read
 * (the others, where pow_one_read does not take a row: the double one).
 * Cauchy–Schwarz, in one read, takes cs_row_f32 instead. */
static int two_f32_ok(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y) {
  if (x->dtype == IE_DT_F64 || y->dtype == IE_DT_F64 || ra->input != IE_INPUT_LOGITS ||
      ra->q_input != IE_INPUT_LOGITS)
    return 0;
  switch (ra->div) {
  case IE_DIV_KL:
  case IE_DIV_REVERSE_KL:
  case IE_DIV_JEFFREYS:
  case IE_DIV_CROSS_ENTROPY:
  case IE_DIV_JS:
  case IE_DIV_TV:
  case IE_DIV_HELLINGER:
  case IE_DIV_CHI2:
  case IE_DIV_BHATTACHARYYA:
  case IE_DIV_CAUCHY_SCHWARZ:
  case IE_DIV_ALPHA:
  case IE_DIV_TSALLIS: return 1; /* pass 2: pass2_f32 */
  case IE_DIV_RENYI: return !isinf(ra->alpha);
  default: return 0;
  }
}

/* Divergences from two rows of probabilities at T = 1, with p̂ = p/Sp and
 * q̂ = q/Sq in double (two reads).  The KL family takes one log a pair (of
 * p/q, or of q for cross-entropy: below), JS two log1p, where the general
 * kernels take logs of p and q and go back through exps.  TV, Hellinger,
 * Bhattacharyya and χ² take none: TV = ½Σ|p̂ − q̂|, H² = ½Σ(√p̂ − √q̂)²,
 * Bhattacharyya −log BC, BC = Σ√(p̂q̂) = 1 − H² for normalised rows (as
 * −log1p(−H²) where H² < ½: the squares keep near-identical rows' digits),
 * χ² = Σ(p̂ − q̂)²/q̂ (+inf where q̂ = 0 < p̂).  The general kernels, through
 * log p and back, were 10–20× slower for these (TV 198 ms at 256 × 128256
 * f32, PyTorch's composition 225 ms).  The power family takes orders ½ and
 * 2 from Hellinger's and χ²'s sums (Σ p̂^½ q̂^½ = 1 − H², Σ p̂² q̂^{−1} = 1 +
 * χ²), and the other orders in (0, 1) and (1, 4] with one log and the exps
 * of one exponent a pair (power_sums).
 * f32 / f16 / bf16 rows; -1 for the rows the general kernels decide (a
 * negative, NaN or infinite entry, a zero row). */
static int probs_direct_kind(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y) {
  if (ra->op != IE_OP_DIVERGENCE || ra->input != IE_INPUT_PROBS || ra->q_input != IE_INPUT_PROBS ||
      ra->inv_temp != 1.0 || x->dtype == IE_DT_F64 || y->dtype == IE_DT_F64)
    return 0;
  return ra->div == IE_DIV_TV || ra->div == IE_DIV_HELLINGER || ra->div == IE_DIV_BHATTACHARYYA ||
         ra->div == IE_DIV_CHI2 || ra->div == IE_DIV_JS || is_kl_family(ra->div) ||
         (is_power_family(ra->div) && ra->alpha > 0 && ra->alpha <= 4 && ra->alpha != 1);
}

/* The power family's sums over n pairs of raw probabilities, for an order α
 * in (0, 1) or (1, 4], in its p-form (g = 1 − α; the q-form, α < ½, swaps
 * the rows and takes g = α): with x = g·log(q/p), the term p^{1−g}·q^g =
 * p·e^x.  w[0] += Σ p·expm1(x), which keeps its digits where p and q are
 * close (its terms' sum is of second order there; p·e^x − p would cancel);
 * w[1] += Σ p·e^x itself, for rows far apart, where Σ p^α q^{1−α} is far
 * from Σ p and P + W would be all rounding.  A zero p adds 0 to both; a
 * zero q adds −p to w[0] and 0 to w[1] for g > 0, +inf to both for g < 0
 * (α > 1: the divergence is infinite).  Float inputs have |log(q/p)| ≤ 192,
 * so |x| ≤ 576: no e^x leaves double's range. */
IE_INLINE void power_sums(const float *restrict pp, const float *restrict qq, int n, double g,
                          double w[2]) {
  double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int i = 0; i < n; i++) {
    const double pv = pp[i], qv = qq[i], x = g * log_poly(qv / pv), ex = exp_poly(x);
    const double em1 = x > -0.5 && x < 0.5 ? expm1_small(x) : ex - 1;
    const double q0 = g > 0 ? -pv : INFINITY; /* (q = 0 < p) */
    a += pv == 0 ? 0 : qv == 0 ? q0 : pv * em1;
    b += pv == 0 ? 0 : qv == 0 ? (g > 0 ? 0 : INFINITY) : pv * ex;
  }
  w[0] += a, w[1] += b;
}

IE_CPU_CLONES static int probs_row_direct(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y,
                                          int64_t r, double *val) {
  float bp[CHUNK], bq[CHUNK];
  double sp = 0, sq = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    const float *restrict pp = row_chunk_f32(x, r, i0, n, bp);
    const float *restrict qq = row_chunk_f32(y, r, i0, n, bq);
    if (!pp || !qq) return -1;
    double a = 0, b = 0;
    int bad = 0;
#pragma omp simd reduction(+ : a, b) reduction(| : bad)
    for (int i = 0; i < n; i++) {
      bad |= !(pp[i] >= 0 && pp[i] < INFINITY) | !(qq[i] >= 0 && qq[i] < INFINITY);
      a += pp[i], b += qq[i];
    }
    if (bad) return -1;
    sp += a, sq += b;
  }
  if (!(sp > 0 && sq > 0 && sp < INFINITY && sq < INFINITY)) return -1;
  const double ip = 1 / sp, iq = 1 / sq, rp = sqrt(ip), rq = sqrt(iq);
  /* p̂ − q̂ as (p − q)/Sp where the sums are equal: exactly 0 for equal
   * entries whatever FMAs a compiler makes of it (p/Sp − q/Sq, contracted,
   * leaves q/Sq's rounding); else as p/Sp − q/Sq, within an ulp of each
   * (with (p − q)/Sp + q·(1/Sp − 1/Sq), rows whose sums were 1e9 apart lost
   * 7 digits); √p̂ − √q̂ likewise */
  const int same = sp == sq; /* (one formula for both, with no select in the loops) */
  const double e3 = same ? ip : 0, e1 = same ? 0 : ip, e2 = same ? 0 : iq;
  const double f3 = same ? rp : 0, f1 = same ? 0 : rp, f2 = same ? 0 : rq;
#define PQ_DIFF(pv, qv) (((double)(pv) - (qv)) * e3 + ((pv) * e1 - (qv) * e2))
#define SQRT_DIFF(u, v) (((u) - (v)) * f3 + ((u) * f1 - (v) * f2))
  const double lr = log(sq) - log(sp), lsq = log(sq); /* (log Sq/Sp: exactly 0 for equal sums) */
  /* (the power family's orders ½ and 2 take Hellinger's and χ²'s sums) */
  const int pf = is_power_family(ra->div);
  const int order_half = pf && ra->alpha == 0.5, order_two = pf && ra->alpha == 2;
  const int power = pf && !order_half && !order_two;
  const ie_divergence_kind k = order_half ? IE_DIV_HELLINGER : order_two ? IE_DIV_CHI2 : ra->div;
  const int qform = ra->alpha < 0.5; /* (power_sums' rows swapped) */
  double s = 0, bc = 0, pw[2] = {0, 0}; /* (bc: Σ√(p̂q̂); pw: power_sums') */
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    const float *restrict pp = row_chunk_f32(x, r, i0, n, bp);
    const float *restrict qq = row_chunk_f32(y, r, i0, n, bq);
    double c = 0;
    if (power) {
      if (qform) power_sums(qq, pp, n, ra->alpha, pw);
      else power_sums(pp, qq, n, 1 - ra->alpha, pw);
    } else if (k == IE_DIV_TV) {
#pragma omp simd reduction(+ : c)
      for (int i = 0; i < n; i++) c += fabs(PQ_DIFF(pp[i], qq[i]));
    } else if (k == IE_DIV_CHI2) {
#pragma omp simd reduction(+ : c)
      for (int i = 0; i < n; i++) {
        const double d = PQ_DIFF(pp[i], qq[i]), q1 = qq[i] * iq;
        c += q1 > 0 ? d * d / q1 : pp[i] > 0 ? INFINITY : 0;
      }
    } else if (k == IE_DIV_CROSS_ENTROPY) { /* p̂·(log Sq − log q) ≥ 0 */
#pragma omp simd reduction(+ : c)
      for (int i = 0; i < n; i++)
        c += pp[i] > 0 ? pp[i] * ip * (lsq - log_poly(qq[i])) : 0; /* (q = 0 < p: +inf) */
    } else if (k == IE_DIV_JS) {
      /* with m̂ = βp̂ + (1 − β)q̂ and u = (p̂ − q̂)/m̂: p̂/m̂ = 1 + (1 − β)u and
       * q̂/m̂ = 1 − βu, so the terms are β·p̂·log1p((1 − β)u) and
       * (1 − β)·q̂·log1p(−βu): no log of a ratio near 1 loses its digits,
       * and their sum, about β(1 − β)·m̂·u²/2, is left in double */
      const double be = ra->beta, be1 = 1 - ra->beta;
#pragma omp simd reduction(+ : c)
      for (int i = 0; i < n; i++) {
        const double pv = pp[i], qv = qq[i], d = PQ_DIFF(pv, qv);
        const double p1 = pv * ip, q1 = qv * iq, m = be * p1 + be1 * q1, u = d / m;
        const double yp = be1 * u, yq = -be * u; /* p̂/m̂ − 1, q̂/m̂ − 1 */
        /* (their log1p by the series near 0, else the log of the ratio
         * itself: 1 + y, rounded, can fall below 0 where p̂ ≪ m̂) */
        const double lp = yp >= -0.5 && yp <= 1 ? log1p_poly01(yp) : log_poly(p1 / m);
        const double lq = yq >= -0.5 && yq <= 1 ? log1p_poly01(yq) : log_poly(q1 / m);
        const double tp = p1 > 0 ? be * p1 * lp : 0, tq = q1 > 0 ? be1 * q1 * lq : 0;
        c += m > 0 ? tp + tq : 0;
      }
    } else if (is_kl_family(k)) {
      /* with L = log p̂/q̂ = log(p/q) + log(Sq/Sp), one log a pair in double:
       * KL's terms p̂·L − (p̂ − q̂) and reverse KL's (p̂ − q̂) − q̂·L, each ≥ 0
       * (the logits' φ form), Jeffreys' (p̂ − q̂)·L; a side that is 0 gives
       * the term its limit (q̂, p̂, 0 or +inf) */
      if (k == IE_DIV_KL) {
#pragma omp simd reduction(+ : c)
        for (int i = 0; i < n; i++) {
          const double pv = pp[i], qv = qq[i], d = PQ_DIFF(pv, qv);
          const double t = pv * ip * (log_poly(pv / qv) + lr) - d;
          c += qv == 0 ? (pv > 0 ? INFINITY : 0) : pv == 0 ? -d : t;
        }
      } else if (k == IE_DIV_REVERSE_KL) {
#pragma omp simd reduction(+ : c)
        for (int i = 0; i < n; i++) {
          const double pv = pp[i], qv = qq[i], d = PQ_DIFF(pv, qv);
          const double t = d - qv * iq * (log_poly(pv / qv) + lr);
          c += pv == 0 ? (qv > 0 ? INFINITY : 0) : qv == 0 ? d : t;
        }
      } else {
#pragma omp simd reduction(+ : c)
        for (int i = 0; i < n; i++) {
          const double pv = pp[i], qv = qq[i], d = PQ_DIFF(pv, qv);
          const double t = d * (log_poly(pv / qv) + lr);
          c += (pv == 0) != (qv == 0) ? INFINITY : pv == 0 ? 0 : t;
        }
      }
    } else {
      double g = 0;
#pragma omp simd reduction(+ : c, g)
      for (int i = 0; i < n; i++) {
        const double u = sqrt((double)pp[i]), v = sqrt((double)qq[i]), d = SQRT_DIFF(u, v);
        c += d * d, g += u * v;
      }
      bc += g * rp * rq;
    }
    s += c;
  }
#undef PQ_DIFF
#undef SQRT_DIFF
  const double half = 0.5 * s < 1 ? 0.5 * s : 1; /* (TV and H² are at most 1) */
  /* Bhattacharyya: −log1p(−H²) near identical rows, −log BC far apart (BC
   * itself where it is small: exactly 0, +inf, for disjoint rows) */
  const double bhat = half < 0.5 ? -log1p(-half) : -log(bc);
  if (pf) {
    /* l = log Σ p̂^α q̂^{1−α}: −bhat at order ½, log1p(χ²) at order 2;
     * else log(Sp + W) − α·log Sp − (1 − α)·log Sq (p-form; the q-form
     * swaps the rows and α with 1 − α), from W where it is small against
     * Sp, else from the plain sum (rows_power_log's choice) */
    const double S1 = qform ? sq : sp, S2 = qform ? sp : sq, g = qform ? ra->alpha : 1 - ra->alpha;
    const double ws = pw[0] / S1;
    const double l = order_half        ? -bhat
                     : order_two       ? log1p(s)
                     : fabs(ws) < 0.5 ? log1p(ws) + g * (log(S1) - log(S2))
                                      : log(pw[1]) - (1 - g) * log(S1) - g * log(S2);
    *val = l == 0 ? 0 : power_value(ra, l); /* (+0, not −0, for equal rows) */
    return IE_ROW_OK;
  }
  *val = k == IE_DIV_CHI2 || k == IE_DIV_JS || is_kl_family(k) ? s
         : k != IE_DIV_BHATTACHARYYA                           ? half
                                                               : bhat;
  return IE_ROW_OK;
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

/* A float kernel's row error e and value v, as the dispatcher keeps them:
 * a value that is not finite goes to the double kernels (-1).  Where a
 * log-weight's gap to its row's max passes float's range (logits of ±3e38
 * in one row, or of 1e38 at T = 0.1), the float kernels take the entry as
 * probability 0, and a KL, cross-entropy or NLL of it as +inf, where the
 * value in double is finite (reverse KL of [3e38, −3e38, 3e38] against
 * [1, 0, 1] is 9.3e37).  Infinite values are rare (p > 0 = q), and the
 * double kernels give them too. */
static int float_kept(int e, double v) {
  return e == IE_ROW_OK && !isfinite(v) ? -1 : e;
}

ie_status ie__cpu_rows(ie_context *ctx, const ie_rowargs *ra, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  const int64_t rows = x->rows;
  const int use_f = float_ok(ra, x, y);
  const int use_two32 = ra->op == IE_OP_DIVERGENCE && two_f32_ok(ra, x, y);
  const int use_probs = probs_direct_kind(ra, x, y);
  const int shannon = ra->ent == IE_ENTROPY_SHANNON;
  const int use_ent32 = ra->op == IE_OP_ENTROPY && ra->input == IE_INPUT_LOGITS &&
                        (shannon || (!isinf(ra->alpha) && fabs(ra->alpha - 1) >= 1e-12));
  const int team = rows < ie__threads(ctx) ? (int)rows : ie__threads(ctx);
  /* The kinds keeps_exps names keep pass 1's exps for pass 2 (exp_store), a
   * row a thread; without the memory they take them again (same values to
   * rounding).  (Bhattacharyya, which would save one exp of its two, was
   * measured no faster: the stores cost as much; JS, which saved both of
   * its pass 2's, was 5–12% slower than it is with none.) */
  const int64_t nch = (x->cols + CHUNK - 1) / CHUNK, words = 2 * x->cols + 2 * nch;
  float *keep = use_two32 && keeps_exps(ra) && team >= 1
                    ? ie__malloc((size_t)team * (size_t)words * sizeof(float))
                    : NULL;
  const int chunk = ie__row_chunk(rows, team, 4);
#pragma omp parallel for schedule(dynamic, chunk) if (rows > 1 && rows * x->cols > 65536) num_threads(team)
  for (int64_t r = 0; r < rows; r++) {
    /* The fast paths, then the float kernels, return -1 for rows they do
     * not take; the double kernels take every row. */
    const int div = ra->op == IE_OP_DIVERGENCE;
    int e = -1;
    one_state st;
    exp_store kept = {NULL, NULL, NULL, NULL};
    if (keep) {
      float *mine = keep + (int64_t)omp_get_thread_num() * words;
      kept = (exp_store){mine, mine + x->cols, mine + 2 * x->cols, mine + 2 * x->cols + nch};
    }
    if (use_two32) {
      e = ra->div == IE_DIV_CAUCHY_SCHWARZ ? cs_row_f32(ra, x, y, r, &val[r])
                                           : two_row_f32(ra, x, y, r, keep ? &kept : NULL, &val[r]);
      e = float_kept(e, val[r]);
    }
    if (use_probs) e = probs_row_direct(ra, x, y, r, &val[r]);
    if (e < 0 && use_ent32 &&
        (e = ent_row_f32(x, r, ra->inv_temp, shannon, shannon ? 1 : ra->alpha, &st)) >= 0)
      e = float_kept(e, val[r] = entropy_value(ra, &st));
    if (e < 0 && use_f) {
      e = div ? row_two_f(ra, x, y, r, &val[r]) : row_one_f(ra, x, labels, r, &val[r]);
      e = float_kept(e, val[r]);
    }
    if (e < 0) e = div ? row_two_d(ra, x, y, r, &val[r]) : row_one_d(ra, x, labels, r, &val[r]);
    err[r] = e;
    if (e) val[r] = NAN;
  }
  free(keep);
  return IE_OK;
}

/* ---- Softmax output --------------------------------------------------------- */

static void store_nan(const ie_mat *o, int64_t r) {
  char *base = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * ie__dtype_size(o->dtype);
  memset(base, 0xff, (size_t)o->cols * ie__dtype_size(o->dtype));
}

/* f[0..n) to f16 bits: F16C's conversion where the CPU has it (22% less
 * time for log-softmax into f16 at 256 × 128256 than the portable loop). */
static void floats_to_half(const float *f, uint16_t *h, int n) {
#if IE_HAVE_AVX2_KL
  if (cpu_simd()) {
    ie__float_to_half_f16c(f, h, n);
    return;
  }
#endif
  for (int i = 0; i < n; i++) h[i] = ie__float_to_half(f[i]);
}

/* Whether softmax_pass2 writes its output with non-temporal stores:
 * log-softmax's, where the whole output is larger than the last-level
 * cache, so that it cannot stay there for the caller anyway; the stores
 * then skip each line's read for ownership (256 × 128256 f32 on 2 threads
 * of a 32 MiB-L3 EPYC: 16–18% less time).  Not softmax's, whose exps bound
 * it: no faster. */
static int stream_output(const ie_mat *o, int log_out) {
#if IE_HAVE_AVX2_KL
  const double bytes = (double)o->rows * (double)o->cols * (double)ie__dtype_size(o->dtype);
  return log_out && cpu_simd() && llc_bytes > 0 && bytes > (double)llc_bytes;
#else
  (void)o, (void)log_out;
  return 0;
#endif
}

/* Softmax's pass 2 over columns [from, to) of row r (from a multiple of
 * CHUNK): z − lse (or its exp) in chunks, converted to out's dtype, from
 * the row's lse state st, in float (fl) or double; with `stream`
 * (stream_output), each chunk in out's dtype goes out with non-temporal
 * stores. */
IE_CPU_CLONES static void softmax_pass2(const ie_mat *x, const ie_mat *o, int64_t r,
                                        int64_t from, int64_t to_col, int log_out,
                                        double inv_t, const one_state *st, int fl, int stream) {
  const double ls = log(st->s), m = st->m;
  const size_t osz = ie__dtype_size(o->dtype);
  char *orow = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * osz;
  double z[CHUNK];
  float zf[CHUNK], zin[CHUNK];
  uint16_t zh[CHUNK]; /* (16-bit output, streamed) */
  for (int64_t i0 = from; i0 < to_col; i0 += CHUNK) {
    int n = to_col - i0 < CHUNK ? (int)(to_col - i0) : CHUNK;
    char *dst = orow + (size_t)i0 * osz;
    if (fl) {
      /* z − m − ls in float, z = (x − c)·it as load_z_f forms it: z − m ≤ 0
       * is exact to rounding, ls ≥ 0.  Straight from the row (f32, or a
       * chunk widened from 16 bits) into out where out is aligned f32 (and
       * not streamed). */
      const float mf = (float)m, lf = (float)ls;
      float it = (float)inv_t, cf = (float)st->c;
      float *restrict to = o->dtype == IE_DT_F32 && (uintptr_t)dst % 4 == 0 && !stream ? (float *)dst : zf;
      const float *restrict pp = row_chunk_f32(x, r, i0, n, zin);
      if (!pp) { /* (f32 at an offset that is not a float's) */
        load_z_f(x, r, i0, n, IE_INPUT_LOGITS, it, cf, zin);
        pp = zin, cf = 0, it = 1;
      }
      if (log_out) {
#pragma omp simd
        for (int i = 0; i < n; i++) to[i] = ((pp[i] - cf) * it - mf) - lf;
      } else {
#pragma omp simd
        for (int i = 0; i < n; i++) to[i] = expf_fast(((pp[i] - cf) * it - mf) - lf);
      }
      if (to != zf) continue;
      if (o->dtype == IE_DT_F64)
        for (int i = 0; i < n; i++) z[i] = zf[i];
    } else {
      /* straight into out where out is aligned f64 (and not streamed):
       * a copy through z was a quarter of f64 log-softmax's time */
      double *restrict to = o->dtype == IE_DT_F64 && (uintptr_t)dst % 8 == 0 && !stream ? (double *)dst : z;
      load_z_d(x, r, i0, n, IE_INPUT_LOGITS, inv_t, st->c, z);
      if (log_out) {
#pragma omp simd
        for (int i = 0; i < n; i++) to[i] = (z[i] - m) - ls;
      } else {
#pragma omp simd
        for (int i = 0; i < n; i++) to[i] = exp_poly((z[i] - m) - ls);
      }
      if (to != z) continue;
      if (o->dtype != IE_DT_F64)
        for (int i = 0; i < n; i++) zf[i] = (float)z[i];
    }
    /* 16-bit output converted straight into out, unless streamed */
    const int half = o->dtype == IE_DT_F16 || o->dtype == IE_DT_BF16;
    uint16_t *h = stream ? zh : (uint16_t *)dst;
    if (o->dtype == IE_DT_F16)
      floats_to_half(zf, h, n);
    else if (o->dtype == IE_DT_BF16)
      for (int i = 0; i < n; i++) h[i] = ie__float_to_bf16(zf[i]);
    const void *chunk = o->dtype == IE_DT_F64 ? (const void *)z : o->dtype == IE_DT_F32 ? (const void *)zf : zh;
#if IE_HAVE_AVX2_KL
    if (stream) {
      ie__stream_bytes_avx2(dst, chunk, (size_t)n * osz);
      continue;
    }
#endif
    if (!half) memcpy(dst, chunk, (size_t)n * osz);
  }
#if IE_HAVE_AVX2_KL
  if (stream) ie__stream_fence();
#endif
}

/* The most blocks of a row whose lse a team takes (lse_row_split). */
enum { SPLIT_BLOCKS_MAX = 256 };

/* lse_row_f32 by a team of threads, each taking whole blocks, folded in
 * order: the same bits.  -1 where a block is not taken (the caller's pass 1
 * then finds it again, and takes the row as it would alone). */
static int lse_row_split(const ie_mat *x, int64_t r, double inv_t, int team, one_state *st) {
  one_state block[SPLIT_BLOCKS_MAX];
  const int64_t n = (x->cols + LSE_BLOCK - 1) / LSE_BLOCK;
  int failed = 0;
#pragma omp parallel for num_threads(team) schedule(static) reduction(| : failed)
  for (int64_t k = 0; k < n; k++) failed |= lse_block_k(x, r, k, inv_t, &block[k]) != 0;
  if (failed) return -1;
  double m = -INFINITY;
  one_state all = {0, 0, 0, 0, -INFINITY};
  for (int64_t k = 0; k < n; k++) lse_fold(&m, &all, &block[k], inv_t);
  *st = all;
  return IE_ROW_OK;
}

/* Row r's lse (pass 1), then pass 2, by a team of threads where team > 1
 * (rows fewer than threads: an inference server's one row): pass 1 by
 * whole blocks (lse_row_split), pass 2 by whole chunks, each thread its
 * share of the columns.  A row's bits are the same taken by a team or alone
 * (a row of a batch, another --memory-budget).
 * Cloned per CPU (IE_CPU_CLONES) for the double kernels' pass 1 that it
 * inlines (f64 rows): built for the baseline ISA, f64 log-softmax had run
 * 4.2× slower (150 against 36 ms at 256 × 128256, 2 threads). */
IE_CPU_CLONES static int softmax_row(const ie_mat *x, const ie_mat *o, int64_t r, int log_out,
                                     double inv_t, int stream, int team) {
  one_state st;
  /* Inputs below f64 run in float (unless their shifted log-weights leave
   * float's range), f64 inputs in double. */
  int fl = x->dtype != IE_DT_F64, e = -1;
  if (fl && team > 1 && x->cols > LSE_BLOCK && x->cols <= (int64_t)SPLIT_BLOCKS_MAX * LSE_BLOCK)
    e = lse_row_split(x, r, inv_t, team, &st); /* (pass1_one_f's FAST_PASS1) */
  if (fl && e < 0) e = pass1_one_f(x, r, IE_INPUT_LOGITS, inv_t, 0, 0, 0, &st);
  if (e < 0) fl = 0, e = pass1_one_d(x, r, IE_INPUT_LOGITS, inv_t, 0, 0, 0, &st);
  if (e) return e;
  if (team < 2) {
    softmax_pass2(x, o, r, 0, x->cols, log_out, inv_t, &st, fl, stream);
    return IE_ROW_OK;
  }
  const int64_t chunks = (x->cols + CHUNK - 1) / CHUNK;
#pragma omp parallel num_threads(team)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t from = chunks * t / nt * CHUNK, to = chunks * (t + 1) / nt * CHUNK;
    softmax_pass2(x, o, r, from, to < x->cols ? to : x->cols, log_out, inv_t, &st, fl, stream);
  }
  return IE_ROW_OK;
}

ie_status ie__cpu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err) {
  (void)ctx;

  const int64_t rows = x->rows;
  const int threads = ie__threads(ctx);
  const int stream = stream_output(out, log_out);
  /* Fewer rows than threads: each row split over the threads, a share of at
   * least 16 chunks a thread (at 8, 1 × 8192 f32 took as long as one
   * thread: the team's start costs what it saves), where the float path
   * takes it (1 × 128256: a third less time on 2 threads) */
  int64_t split = x->cols / (16 * CHUNK);
  split = split < threads ? split : threads;
  if (rows < threads && split >= 2) {
    for (int64_t r = 0; r < rows; r++) {
      int e = softmax_row(x, out, r, log_out, inv_temp, stream, (int)split);
      err[r] = e;
      if (e) store_nan(out, r);
    }
    return IE_OK;
  }
  const int team = rows < threads ? (int)rows : threads;
  const int chunk = ie__row_chunk(rows, team, 4);
#pragma omp parallel for schedule(dynamic, chunk) if (rows > 1 && rows * x->cols > 65536) num_threads(team)
  for (int64_t r = 0; r < rows; r++) {
    int e = softmax_row(x, out, r, log_out, inv_temp, stream, 1);
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
