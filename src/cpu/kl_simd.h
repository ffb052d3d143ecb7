/*
 * kl_simd.h — PRIVATE.  The inner sums of the f32 KL-family kernel (rows.c,
 * two_row_f32) and of the f32 logsumexp chunk, written once against a small
 * vector vocabulary and built twice: kl_avx2.c (8 lanes, AVX2 + FMA) and
 * kl_avx512.c (16 lanes, AVX-512F and DQ), picked at run time (rows.c).  The
 * portable loop in rows.c computes the same sums; these exist because
 * compilers schedule its two exps per element poorly (long FMA chains,
 * spilled accumulators), which halves its speed.
 *
 * The includer defines, for its ISA: KL_TARGET (the function attribute),
 * KL_SUFFIX (the name suffix), vec / vmask and the operations
 *   V_SET1 V_LOAD V_STORE V_ADD V_SUB V_MUL V_MAX V_MIN V_XOR V_OR
 *   V_FMADD(a,b,c) = a·b + c   V_FMSUB = a·b − c   V_FNMADD = c − a·b
 *   V_RCP (1/x to 2^-12 or better)   V_LT(a,b) V_EQ(a,b) (masks)  M_AND (a mask's and)
 *   V_BLEND(m, a, b) (b where m)  V_FIRST (lane 0)
 *   V_HSUM V_HMAX (across lanes)  V_EXP2N(p, t, n) (p·2^n, see exp_any)
 * and KL_LANES; KL_EXP2N_ANY_N 1 where V_EXP2N takes any n (AVX-512's
 * VSCALEFPS: 0 below float's range, inf above), 0 where it needs n + 127
 * in [0, 254] (the exponent bits of t); KL_HAVE_FRAC 1 where it has V_FRAC
 * (y − ⌊y⌋, exactly) and V_EXP2N(p, y, y) is p·2^⌊y⌋ (exp_weight).
 *
 * e^x as in vmath.h's expf_fast: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a
 * degree-6 minimax polynomial (degree 5 for the one-exp loop's weights,
 * exp_weight, which takes 2^y where the ISA has V_FRAC), 2^n by the ISA's
 * V_EXP2N.  What makes the
 * loop fast: no more operations than the sums need (the kind picks its
 * accumulators, no upper clamp on exp's argument), and prefetches, which
 * keep both streams ahead of a loop that is otherwise too busy to hide the
 * memory latency.
 */
#include <stdlib.h>

#include "rows_avx2.h"
#include "vmath.h"

#define KL_CAT_(a, b) a##b
#define KL_CAT(a, b) KL_CAT_(a, b)
#define KL_NAME(name) KL_CAT(name, KL_SUFFIX)

typedef struct {
  vec magic, log2e, ln2, lo, c2, c3, c4, c5, c6, one;
} KL_NAME(exp_consts);

/* With scale s a power of 2, exp_any returns s·e^x, exactly (each of the
 * polynomial's coefficients times s). */
KL_TARGET static inline KL_NAME(exp_consts) KL_NAME(exp_consts_make)(float s) {
  const KL_NAME(exp_consts) k = {V_SET1(12582912.0f + 127), V_SET1(1.44269504f),
                                 V_SET1(0.693147181f),       V_SET1(-88.0f),
                                 V_SET1(IE_EXPF_C2 * s),     V_SET1(IE_EXPF_C3 * s),
                                 V_SET1(IE_EXPF_C4 * s),     V_SET1(IE_EXPF_C5 * s),
                                 V_SET1(IE_EXPF_C6 * s),     V_SET1(s)};
  return k;
}

/* vmath.h's expf_fast, for x ≤ 88 only: it has no upper clamp, and above
 * 88 returns garbage (or inf).  Neither loop below passes such x to a sum
 * it keeps: the lse chunk's arguments are ≤ 0, and a KL chunk whose maxima
 * jump by more than 30 is summed again (rows.c, two_row_f32).
 *
 * Below, where V_EXP2N needs n + 127 ≥ 0, x is clamped at −88 (2^n then
 * +0 exactly); the clamp takes x as its second operand, so that a NaN x
 * stays NaN (MAXPS returns the second on NaN).  Where V_EXP2N takes any n,
 * the KL loop (exp_any) has no clamp: a finite x of any size gives its exp
 * (0 far below float's range).  −inf makes r NaN, which VSCALEFPS by 2^−inf
 * turns into 0 on the CPUs tried (a Sapphire Rapids Xeon): a probability 0,
 * as the double kernels take it (and where a CPU gives NaN, the chunk's sums
 * are not finite and the row goes to them).  The lse chunk, whose caller
 * does not look at its sum, always clamps (exp_clamped). */
KL_TARGET static inline vec KL_NAME(exp_any)(vec x, const KL_NAME(exp_consts) *k) {
#if !KL_EXP2N_ANY_N
  x = V_MAX(k->lo, x);
#endif
  const vec t = V_FMADD(x, k->log2e, k->magic);
  const vec n = V_SUB(t, k->magic);
  /* One-step reduction with a float ln2 (off by 1.9e-9): r is off by
   * ≤ |n|·1.9e-9, about an ulp of the result at the largest |n| that matters
   * (43, for the x ≤ 30 the KL loop allows before it re-sums a chunk; terms
   * below e^-20 are < 2e-9 of a sum whose largest term is ≥ 1). */
  const vec r = V_FNMADD(n, k->ln2, x);
  vec p = V_FMADD(k->c6, r, k->c5);
  p = V_FMADD(p, r, k->c4);
  p = V_FMADD(p, r, k->c3);
  p = V_FMADD(p, r, k->c2);
  p = V_FMADD(p, r, k->one);
  p = V_FMADD(p, r, k->one);
  return V_EXP2N(p, t, n);
}

KL_TARGET static inline vec KL_NAME(exp_clamped)(vec x, const KL_NAME(exp_consts) *k) {
#if KL_EXP2N_ANY_N
  x = V_MAX(k->lo, x); /* (exp_any clamps where it has to) */
#endif
  return KL_NAME(exp_any)(x, k);
}

/* φ(x)/x² (vmath.h, KL_PHI_G) for |x| < ½, truncated after the x^5 term:
 * < 8e-7 relative at |x| = ½ and falling as x^6 (two FMAs fewer in the
 * loop that bounds forward KL's speed). */
typedef struct {
  vec c[6];
} KL_NAME(phi_consts);

KL_TARGET static inline KL_NAME(phi_consts) KL_NAME(phi_consts_make)(void) {
  const KL_NAME(phi_consts) g = {{V_SET1((float)IE_PHI_C0), V_SET1((float)IE_PHI_C1),
                                  V_SET1((float)IE_PHI_C2), V_SET1((float)IE_PHI_C3),
                                  V_SET1((float)IE_PHI_C4), V_SET1((float)IE_PHI_C5)}};
  return g;
}

KL_TARGET static inline vec KL_NAME(phi_g)(vec x, const KL_NAME(phi_consts) *g) {
  vec p = V_FMADD(g->c[5], x, g->c[4]);
  for (int j = 3; j >= 0; j--) p = V_FMADD(p, x, g->c[j]);
  return p;
}

/* One block of KL_LANES: the sums' terms, and the maxima.  With V_FRAC the
 * plain sums (want 0: pass 1 of JS, and of TV where it keeps no exps, and
 * the references' sums in rows.c) take the weights' 2^y (exp_weight,
 * 1.5e-7: two operations fewer an exp than exp_any; JS 3–4% faster).
 * There a −inf entry's exp is 0 (VREDUCEPS of −inf is 0), as exp_any's
 * is on the CPUs tried (below): a probability 0, which pass 2 takes as
 * such or, JS's, sends to the double kernels (δ not finite). */
#define KL_BLOCK(I)                                                                      \
  do {                                                                                   \
    const vec P_ = V_LOAD(p + (I)), Q_ = V_LOAD(q + (I));                                \
    xp = V_MAX(xp, P_);                                                                  \
    xq = V_MAX(xq, Q_);                                                                  \
    if (KL_HAVE_FRAC && !want) { /* plain sums: 2^y as the weights' (see kl_loop) */    \
      sp = V_ADD(sp, KL_NAME(exp_weight)(V_MUL(V_SUB(P_, vrp), vwit), &kw));              \
      sq = V_ADD(sq, KL_NAME(exp_weight)(V_MUL(V_SUB(Q_, vrq), vwit), &kw));              \
      break;                                                                             \
    }                                                                                    \
    vec a_ = V_SUB(P_, vrp), b_ = V_SUB(Q_, vrq);                                        \
    if (scaled) a_ = V_MUL(a_, vit), b_ = V_MUL(b_, vit);                                \
    const vec e1 = KL_NAME(exp_any)(a_, &k), e2 = KL_NAME(exp_any)(b_, &k);              \
    if (want & IE_KL_CS) { /* (e1, e2 ≤ e^20: their squares are far inside float) */  \
      sp = V_FMADD(e1, e1, sp), sq = V_FMADD(e2, e2, sq), t1 = V_FMADD(e1, e2, t1);      \
      break;                                                                             \
    }                                                                                    \
    sp = V_ADD(sp, e1);                                                                  \
    sq = V_ADD(sq, e2);                                                                  \
    if (want & IE_KL_STORE) V_STORE(ep + (I), e1), V_STORE(eq + (I), e2);                \
    if (want & IE_KL_CE) {                                                               \
      t1 = V_FMADD(e1, b_, t1);                                                          \
    } else if (want & (IE_KL_T1 | IE_KL_T2)) {                                           \
      vec l_ = V_SUB(P_, Q_);                                                            \
      l_ = scaled ? V_FMSUB(l_, vit, vc) : V_SUB(l_, vc);                                \
      const vec l2_ = V_MUL(l_, l_);                                                     \
      const vmask small_ = V_LT(l2_, quarter); /* |l| < ½ */                               \
      if (want & IE_KL_T1) {                                                             \
        const vec far_ = V_FMADD(e1, l_, V_FMSUB(e2, vk, e1));                           \
        const vec near_ = V_MUL(V_MUL(e1, l2_), KL_NAME(phi_g)(l_, &g));                 \
        t1 = V_ADD(t1, V_BLEND(small_, far_, near_));                                    \
      }                                                                                  \
      if (want & IE_KL_T2) {                                                             \
        const vec nl_ = V_XOR(l_, sign);                                                 \
        const vec far_ = V_FMADD(e2, nl_, V_FMSUB(e1, vik, e2));                         \
        const vec near_ = V_MUL(V_MUL(e2, l2_), KL_NAME(phi_g)(nl_, &g));                \
        t2 = V_ADD(t2, V_BLEND(small_, far_, near_));                                    \
      }                                                                                  \
    }                                                                                    \
  } while (0)

/* Forward KL (t1) with one exp of the logits a pair, not two; reverse KL
 * (t2) likewise with p and q's roles swapped.  With x = −L, e2 = e1·e^x/k
 * comes from e1 and e^x, and e^x is what φ needs: φ(L) = e^x − 1 − x.
 * e^x is exp_split's 2^n·(1 + r + h·r²), h the polynomial's upper part, and
 * φ is phi_of's h·r² + (e^x − e^r) − n·ln2: exactly h·r² where n = 0 (|x| <
 * ln2/2, where e^x − 1 − x would cancel), with no select.  Jeffreys (t1
 * and t2) takes both from the same e^x:
 * e2·φ(−L) = (e1/k)·ψ, ψ = 1 − e^x·(1 − x), which is r²·(1 − h·(1 − r))
 * where n = 0.
 *
 * e1 is taken times 2^40 (KL_ONE_SCALE, in exp_weight's coefficients): so
 * its product with e^x keeps float's precision down to e1 = e^{−115}.  That
 * product, 2^40·e1·e^x = 2^40·k·e2 (reverse KL: 2^40·e1/k), is below 2^40
 * times the row's length (e1, e2 ≤ 1; k is near Sp/Sq), so it is summed as
 * it is and taken times xf (1/(k·2^40), or k/2^40) once, at the end.  Below,
 * e2's error is under 2^{−150}·e^{88.7}/(k·2^40), and where e1 is 0, e2 <
 * e^{−131 + 88.7}/k: with the caller's k near Sp/Sq ≥ 1/(the row's length),
 * terms far below a float sum's last digit (the sums are ≥ 1).  Where e^x passes float's
 * range (x > 88.7: p and q far apart) the sums are not finite, and
 * ie__kl_chunk takes the chunk again with two exps.
 *
 * Where V_EXP2N needs n + 127 in [0, 254] (AVX2), the 2^40 goes into the
 * exponent bits instead (weight_consts_make), so that e1 keeps its digits
 * down to e^{−115} (below, e2 < e^{−115 + 88}/k, a relative 2e-12 of the
 * row's q-mass a term), and exp_split clamps x at −88 (e^x is +0 below, as
 * exp_any's); the loop keeps the largest x (and, for g < 0, the smallest):
 * a chunk with an x above 88 (g·x above 88: exps whose 2^n the exponent
 * bits do not hold) is taken as one whose sums are not finite. */
#define KL_ONE_SCALE 0x1p40f

/* The weights' exp, KL_ONE_SCALE·e^x for the one-exp loop's e1: a degree-5
 * polynomial (minimax of e^r's relative error on |r| ≤ ln2/2 with c0 = c1
 * = 1, fitted by Lawson's algorithm and rounded to float: 1.1e-7), one
 * degree below exp_any's.  A weight's relative error is at most the sums'
 * (each of Sp, Sq and the φ or ψ sum is a sum of weights times terms), so
 * 1.1e-7 is 1% of docs/SPEC.md §1's 1e-5.  Evaluated by Horner's scheme,
 * five FMAs: Estrin's (r², then three FMAs on the longest chain) takes one
 * operation more, and the loop is bound by its operations, not by its
 * chains' latency (forward KL 2–4% faster with Horner's); Horner's rounds
 * less here too (1.6e-7 evaluated in float, against 2.0e-7).  The scale is in the
 * coefficients where V_EXP2N takes any n; else in t's exponent bits (n +
 * 127 + 40 ≥ 0, the clamp at −115 instead of −88), so that no product
 * leaves float's normal range before it. */
#define KL_EXPW_C2 0.49999231f
#define KL_EXPW_C3 0.16667114f
#define KL_EXPW_C4 0.041890107f
#define KL_EXPW_C5 0.0083125122f

/* Where the ISA has V_FRAC (y − ⌊y⌋, exactly: AVX-512DQ's VREDUCEPS) and
 * its V_EXP2N floors n (VSCALEFPS), the weight is KL_ONE_SCALE·2^y with y
 * = x·log2 e, which its caller forms with its own product (it·log2 e, one
 * factor): 2^f for f = y − ⌊y⌋ in [0, 1) by a degree-5 polynomial
 * (minimax of the relative error, Lawson's algorithm, float coefficients:
 * 9e-8; 1.5e-7 evaluated in float by Horner's scheme, as above), times
 * 2^⌊y⌋.  That is one operation
 * fewer than exp_weight's reduction (t, n, r) at T = 1, and two at other
 * temperatures (forward KL 4–5% faster at 256 × 128256 f32).
 * y's rounding is |x|·6e-8 relative, as x's own (m − rm, rounded) is; the
 * factor's rounding is a common one of every weight's exponent, a
 * temperature off by 6e-8 relative. */
#define KL_EXP2W_C0 0.99999994f
#define KL_EXP2W_C1 0.693153083f
#define KL_EXP2W_C2 0.240153611f
#define KL_EXP2W_C3 0.0558263212f
#define KL_EXP2W_C4 0.00898934249f
#define KL_EXP2W_C5 0.00187757413f

#if !KL_HAVE_FRAC
typedef struct {
  vec magic, log2e, ln2, lo, c2, c3, c4, c5, s;
} KL_NAME(weight_consts);

KL_TARGET static inline KL_NAME(weight_consts) KL_NAME(weight_consts_make)(void) {
#if KL_EXP2N_ANY_N
  const float s = KL_ONE_SCALE, magic = 12582912.0f + 127, lo = -88.0f;
#else
  const float s = 1.0f, magic = 12582912.0f + 127 + 40, lo = -115.0f;
#endif
  const KL_NAME(weight_consts) k = {V_SET1(magic),          V_SET1(1.44269504f),
                                    V_SET1(0.693147181f),   V_SET1(lo),
                                    V_SET1(KL_EXPW_C2 * s), V_SET1(KL_EXPW_C3 * s),
                                    V_SET1(KL_EXPW_C4 * s), V_SET1(KL_EXPW_C5 * s),
                                    V_SET1(s)};
  return k;
}

KL_TARGET static inline __attribute__((always_inline)) vec
KL_NAME(exp_weight)(vec x, const KL_NAME(weight_consts) *k) {
#if !KL_EXP2N_ANY_N
  x = V_MAX(k->lo, x); /* (x second: a NaN stays NaN) */
#endif
  const vec t = V_FMADD(x, k->log2e, k->magic), n = V_SUB(t, k->magic);
  const vec r = V_FNMADD(n, k->ln2, x);
  vec e = V_FMADD(k->c5, r, k->c4);
  e = V_FMADD(e, r, k->c3), e = V_FMADD(e, r, k->c2), e = V_FMADD(e, r, k->s);
  return V_EXP2N(V_FMADD(e, r, k->s), t, n);
}
#else
typedef struct {
  vec c0, c1, c2, c3, c4, c5;
} KL_NAME(weight_consts);

KL_TARGET static inline KL_NAME(weight_consts) KL_NAME(weight_consts_make)(void) {
  const float s = KL_ONE_SCALE;
  const KL_NAME(weight_consts) k = {V_SET1(KL_EXP2W_C0 * s), V_SET1(KL_EXP2W_C1 * s),
                                    V_SET1(KL_EXP2W_C2 * s), V_SET1(KL_EXP2W_C3 * s),
                                    V_SET1(KL_EXP2W_C4 * s), V_SET1(KL_EXP2W_C5 * s)};
  return k;
}

KL_TARGET static inline __attribute__((always_inline)) vec
KL_NAME(exp_weight)(vec y, const KL_NAME(weight_consts) *k) {
  const vec f = V_FRAC(y);
  vec e = V_FMADD(k->c5, f, k->c4);
  e = V_FMADD(e, f, k->c3), e = V_FMADD(e, f, k->c2), e = V_FMADD(e, f, k->c1);
  return V_EXP2N(V_FMADD(e, f, k->c0), y, y);
}
#endif

/* e^x's pieces as exp_any takes them: x = n·ln2 + r (t the rounding sum
 * whose low bits hold n), h the polynomial's upper part (e^r = 1 + r +
 * h·r²), u = e^r − 1, er = e^r and e = e^x = 2^n·er (exactly). */
typedef struct {
  vec t, n, r, r2, h, u, er, e;
} KL_NAME(exp_parts);

KL_TARGET static inline __attribute__((always_inline)) KL_NAME(exp_parts)
KL_NAME(exp_split)(vec x, const KL_NAME(exp_consts) *k) {
  KL_NAME(exp_parts) s;
#if !KL_EXP2N_ANY_N
  x = V_MAX(k->lo, x); /* (x second: a NaN stays NaN) */
#endif
  s.t = V_FMADD(x, k->log2e, k->magic), s.n = V_SUB(s.t, k->magic);
  s.r = V_FNMADD(s.n, k->ln2, x), s.r2 = V_MUL(s.r, s.r);
  /* h = (c2 + c3·r) + r²·((c4 + c5·r) + c6·r²), Estrin's scheme (see
   * exp_weight), and e^r = (1 + r) + h·r²: no step waits on u */
  const vec lo = V_FMADD(k->c3, s.r, k->c2), hi = V_FMADD(k->c5, s.r, k->c4);
  s.h = V_FMADD(V_FMADD(k->c6, s.r2, hi), s.r2, lo);
  s.u = V_FMADD(s.h, s.r2, s.r);
  s.er = V_FMADD(s.h, s.r2, V_ADD(s.r, k->one));
  s.e = V_EXP2N(s.er, s.t, s.n);
  return s;
}

/* e^x − 1 from exp_split's pieces, as 2^n·u + (2^n − 1) in one FMA (one
 * rounding): exactly u where n = 0 (|x| < ln2/2, where e^x − 1 would
 * cancel), and 2^n − 1 is exact for the n that matter.  (JS's pass 2, the
 * entropies' V.) */
KL_TARGET static inline __attribute__((always_inline)) vec
KL_NAME(expm1_of)(const KL_NAME(exp_parts) *x, vec one) {
  const vec e = V_EXP2N(one, x->t, x->n);
  return V_FMADD(e, x->u, V_SUB(e, one));
}

/* φ(x) = e^x − 1 − x from exp_split's pieces, with no cancellation of
 * order x and no select: e^x − 1 − x = h·r² + (e − er) − n·ln2, since
 * e − er = (2^n − 1)·er and x = n·ln2 + r.  Where n = 0, e − er and n·ln2
 * are exactly 0 and φ is h·r² (one rounding); elsewhere the parts do not
 * cancel (n = −1, the worst: ln2 − er/2 ≥ −0.015 against h·r² ≥ 0.05).
 * Where exp_split clamped x (AVX2, x < −88), n·ln2 is x − r with x the
 * caller's own, unclamped: φ = h·r² + (e − er) + (r − x), exact where n =
 * 0 as well. */
KL_TARGET static inline __attribute__((always_inline)) vec
KL_NAME(phi_of)(const KL_NAME(exp_parts) *ex, vec x, const KL_NAME(exp_consts) *k) {
#if KL_EXP2N_ANY_N
  (void)x;
  return V_FMADD(ex->h, ex->r2, V_FNMADD(ex->n, k->ln2, V_SUB(ex->e, ex->er)));
#else
  (void)k;
  return V_FMADD(ex->h, ex->r2, V_ADD(V_SUB(ex->e, ex->er), V_SUB(ex->r, x)));
#endif
}

/* The power family's term in the same read (IE_KL_POW): with g = 1 − α
 * (q-form g = α, the rows swapped), Σ p̂^α·q̂^{1−α} − 1 = Σ p̂·ψ(x) for
 * x = log q̂/p̂ (Σ p̂ = Σ q̂ = 1), where
 *   ψ(x) = e^{gx} − 1 − g·(e^x − 1),
 * ≤ 0 for every x when g is in (0, 1), ≥ 0 otherwise: a sum that does not
 * cancel.  Where both exps reduce with n = 0 (|x|, |gx| < ln2/2), r is x
 * and gx exactly and e^r − 1 − r = h·r², so ψ = g·x²·(g·h(gx) − h(x)),
 * with no cancellation of order x (|g − 1| ≥ ½ in both forms bounds the
 * difference's); elsewhere (e^{gx} − 1) − g·(e^x − 1), each e^y − 1 taken
 * as u where its own n is 0.  *egx gets e^{gx}. */
KL_TARGET static inline __attribute__((always_inline)) vec
KL_NAME(power_psi)(vec x, const KL_NAME(exp_parts) *ex, vec vg, vec zero,
                   const KL_NAME(exp_consts) *k, vec *egx) {
  const KL_NAME(exp_parts) eg = KL_NAME(exp_split)(V_MUL(vg, x), k);
  const vmask n0 = V_EQ(ex->n, zero), ng0 = V_EQ(eg.n, zero);
  const vec em1 = V_BLEND(n0, V_SUB(ex->e, k->one), ex->u);
  const vec egm1 = V_BLEND(ng0, V_SUB(eg.e, k->one), eg.u);
  const vec near = V_MUL(V_MUL(vg, ex->r2), V_FMSUB(vg, eg.h, ex->h));
  *egx = eg.e;
  return V_BLEND(M_AND(n0, ng0), V_FNMADD(vg, em1, egm1), near);
}

/* IE_KL_POW with g < 0 (ie__kl_chunk adds it): the sums with gb.  Where g
 * is in (0, 1), e^{gx} < max(1, e^x): its error from x's rounding (about
 * |gx|·1.2e-7 relative, |gx| < 44 with g ≤ ½ before e^x leaves float's
 * range) stays under the tolerance, as e^x's does for KL; where g < 0 a
 * term e^{gx} grows where e^x shrinks, so rows with terms past |gx| = 12
 * take the double kernels (as pass2_f32's). */
#define KL_POW_GUARD 32

#define KL_BLOCK_ONE(I)                                                                  \
  do {                                                                                   \
    const vec P_ = V_LOAD(p + (I)), Q_ = V_LOAD(q + (I));                                \
    xp = V_MAX(xp, P_);                                                                  \
    xq = V_MAX(xq, Q_);                                                                  \
    const vec M_ = rev ? Q_ : P_, O_ = rev ? P_ : Q_; /* e^{(M − rm)·it} the one exp */  \
    vec m_ = V_SUB(M_, vrm); /* (times it, and log2 e where exp_weight takes 2^y) */     \
    if (scaled || KL_HAVE_FRAC) m_ = V_MUL(m_, vwit);                                    \
    const vec x_ = scaled ? V_FMADD(V_SUB(O_, M_), vit, vxc) : V_ADD(V_SUB(O_, M_), vxc); \
    const vec em_ = KL_NAME(exp_weight)(m_, &kw);                                        \
    const KL_NAME(exp_parts) e_ = KL_NAME(exp_split)(x_, &k);                            \
    if (!KL_EXP2N_ANY_N) xhi = V_MAX(xhi, x_);                                           \
    if (!KL_EXP2N_ANY_N && guard) xlo = V_MIN(xlo, x_);                                  \
    sm = V_ADD(sm, em_);                                                                 \
    so = V_FMADD(em_, e_.e, so); /* (times xf at the end) */                             \
    if (pow) {                                                                           \
      vec egx_;                                                                          \
      st = V_FMADD(em_, KL_NAME(power_psi)(x_, &e_, vg, zero, &k, &egx_), st);           \
      if (guard) { /* |gx| of the terms above e^−20 of the row's max */                  \
        const vec agx_ = V_MUL(vag, V_MAX(x_, V_XOR(x_, sign)));                         \
        gb = V_MAX(gb, V_BLEND(V_LT(vbig, V_MUL(em_, egx_)), zero, agx_));               \
      }                                                                                  \
    } else {                                                                             \
      st = V_FMADD(em_, KL_NAME(phi_of)(&e_, x_, &k), st);                                \
      if (both) {                                                                        \
        const vmask n0_ = V_EQ(e_.n, zero);                                              \
        const vec psi_ = V_BLEND(n0_, V_FMADD(e_.e, x_, V_SUB(k.one, e_.e)),             \
                                 V_MUL(e_.r2, V_FMADD(e_.h, V_SUB(e_.r, k.one), k.one))); \
        su = V_FMADD(em_, psi_, su);                                                     \
      }                                                                                  \
    }                                                                                    \
  } while (0)

/* The loop, inlined for each set of sums, with the temperature factor and
 * without it (it = 1, the usual case, saves three multiplies), and with one
 * exp a pair (KL_BLOCK_ONE: `one`, the KL family but cross-entropy, and the
 * power family's sum) or two. */
KL_TARGET static inline __attribute__((always_inline)) void
KL_NAME(kl_loop)(const float *p, const float *q, int n, float it, float rp, float rq, float c,
                 float kr, float gpow, int want, int scaled, int one, float out[7], float *ep,
                 float *eq) {
  const KL_NAME(exp_consts) k = KL_NAME(exp_consts_make)(1.0f);
  const KL_NAME(phi_consts) g = KL_NAME(phi_consts_make)();
  const vec vit = V_SET1(it), vrp = V_SET1(rp), vrq = V_SET1(rq);
  const vec vc = V_SET1(c), vk = V_SET1(kr), vik = V_SET1(1 / kr);
  const vec sign = V_SET1(-0.0f), quarter = V_SET1(0.25f);
  vec sp = V_SET1(0.0f), sq = sp, t1 = sp, t2 = sp;
  vec xp = V_SET1(-INFINITY), xq = xp;
  const int pow = want & IE_KL_POW;
  /* KL_BLOCK_ONE's: m the one exp's row (q for t2), x = −L (L for t2), and
   * the other row's exp e^{(o − ro)·it} = s·e^{(m − rm)·it}·e^x·xf */
  const int rev = (want & ~(IE_KL_POW | KL_POW_GUARD)) == IE_KL_T2, guard = want & KL_POW_GUARD;
  const int both = want == (IE_KL_T1 | IE_KL_T2);
  const KL_NAME(weight_consts) kw = KL_NAME(weight_consts_make)();
  const vec vwit = V_SET1(KL_HAVE_FRAC ? it * 1.44269504f : it);
  const vec vrm = rev ? vrq : vrp, vxc = V_SET1(rev ? -c : c), zero = V_SET1(0.0f);
  const vec vxf = V_SET1(rev ? kr / KL_ONE_SCALE : 1 / (kr * KL_ONE_SCALE));
  vec sm = zero, so = zero, st = zero, su = zero;
  /* IE_KL_POW's: g, |g|, and the weight of a term e^−20 (on the one exp's
   * scale); gb the largest |gx| of a term above it */
  const vec vg = V_SET1(gpow), vag = V_SET1(fabsf(gpow)), vbig = V_SET1(KL_ONE_SCALE * 2.0611536e-9f);
  vec gb = zero;
  vec xhi = V_SET1(-INFINITY), xlo = V_SET1(INFINITY); /* (exp_split's clamp) */
#define KL_STEP(I)                                                                       \
  do {                                                                                   \
    if (one) KL_BLOCK_ONE(I);                                                            \
    else KL_BLOCK(I);                                                                    \
  } while (0)
  int i = 0;
  /* Differences (p − rp, q − rq, p − q) are formed before the temperature:
   * equal entries give exactly 0, with no product for a compiler to contract
   * into an FMA that would not.  (q − rq)·it is also cross-entropy's term. */
  for (; i + 2 * KL_LANES <= n; i += 2 * KL_LANES) {
    /* 4 KB ahead (into the next chunk): at 512 bytes the lines came late
     * on a loaded 2-core Xeon (KL 5–9% slower at 256 × 128256 f32) */
    __builtin_prefetch(p + i + 1024);
    __builtin_prefetch(q + i + 1024);
#if KL_LANES == 16
    __builtin_prefetch(p + i + 1040);
    __builtin_prefetch(q + i + 1040);
#endif
    KL_STEP(i);
    KL_STEP(i + KL_LANES);
  }
  for (; i + KL_LANES <= n; i += KL_LANES) KL_STEP(i);
#undef KL_STEP
  if (KL_HAVE_FRAC && !want) { /* (the plain sums' weights, as KL_BLOCK_ONE's) */
    const vec back = V_SET1(1 / KL_ONE_SCALE);
    sp = V_MUL(sp, back), sq = V_MUL(sq, back);
  }
  if (one) { /* back to the sums' own scale (exactly: a power of 2) */
    const vec back = V_SET1(1 / KL_ONE_SCALE);
    if (rev) sq = V_MUL(sm, back), sp = V_MUL(so, vxf), t2 = V_MUL(st, back);
    else sp = V_MUL(sm, back), sq = V_MUL(so, vxf), t1 = V_MUL(st, back);
    if (both) t2 = V_MUL(su, vxf); /* e1/k = s·e1·xf */
  }
  float s[7] = {V_HSUM(sp), V_HSUM(sq), V_HSUM(t1), V_HSUM(t2), V_HMAX(xp), V_HMAX(xq), 0};
  if (pow) s[6] = V_HMAX(gb);
  /* an x that exp_split clamped, where its exp mattered: sums not finite */
  if (!KL_EXP2N_ANY_N && one &&
      (V_HMAX(xhi) > 88 || (guard && gpow * -V_HMAX(V_XOR(xlo, sign)) > 88)))
    s[2] = s[3] = NAN;
  for (; i < n; i++) { /* the tail, one lane at a time */
    const float e1 = V_FIRST(KL_NAME(exp_any)(V_SET1((p[i] - rp) * it), &k));
    const float e2 = V_FIRST(KL_NAME(exp_any)(V_SET1((q[i] - rq) * it), &k));
    const float l = (p[i] - q[i]) * it - c, l2 = l * l;
    const int small = l2 < 0.25f;
    if (want & IE_KL_CS) /* (one FMA each, as the blocks': identical rows give equal sums) */
      s[0] = fmaf(e1, e1, s[0]), s[1] = fmaf(e2, e2, s[1]), s[2] = fmaf(e1, e2, s[2]);
    else s[0] += e1, s[1] += e2;
    if (want & IE_KL_STORE) ep[i] = e1, eq[i] = e2;
    if (pow) { /* KL_BLOCK_ONE's x, and its ψ on one lane */
      const float om = rev ? p[i] - q[i] : q[i] - p[i], xc = rev ? -c : c;
      const float x = scaled ? om * it + xc : om + xc, w = rev ? e2 : e1;
      const KL_NAME(exp_parts) ex = KL_NAME(exp_split)(V_SET1(x), &k);
      vec egx;
      s[rev ? 3 : 2] += w * V_FIRST(KL_NAME(power_psi)(V_SET1(x), &ex, vg, zero, &k, &egx));
      if (guard && w * V_FIRST(egx) > 2.0611536e-9f && fabsf(gpow * x) > s[6]) s[6] = fabsf(gpow * x);
      if (!KL_EXP2N_ANY_N && (x > 88 || gpow * x > 88)) s[2] = s[3] = NAN; /* (as above) */
    } else {
      if (want & IE_KL_CE) s[2] += e1 * ((q[i] - rq) * it);
      if (want & IE_KL_T1) s[2] += small ? e1 * l2 * KL_PHI_G(float, l) : e2 * kr - e1 + e1 * l;
      if (want & IE_KL_T2) s[3] += small ? e2 * l2 * KL_PHI_G(float, -l) : e1 / kr - e2 - e2 * l;
    }
    s[4] = p[i] > s[4] ? p[i] : s[4];
    s[5] = q[i] > s[5] ? q[i] : s[5];
  }
  for (int j = 0; j < 7; j++) out[j] = s[j];
}

KL_TARGET void KL_NAME(ie__kl_chunk)(const float *p, const float *q, int n, float it, float rp,
                                     float rq, float c, float k, float g, int want, float out[7],
                                     float *ep, float *eq) {
  if ((want & IE_KL_POW) && g < 0) want |= KL_POW_GUARD;
#define KL_WANT(W, ONE)                                                                  \
  case W:                                                                                \
    if (it == 1.0f) KL_NAME(kl_loop)(p, q, n, it, rp, rq, c, k, g, W, 0, ONE, out, ep, eq); \
    else KL_NAME(kl_loop)(p, q, n, it, rp, rq, c, k, g, W, 1, ONE, out, ep, eq);            \
    break;
  switch (want) {
    KL_WANT(0, 0)
    KL_WANT(IE_KL_STORE, 0)
    KL_WANT(IE_KL_T1, 1)
    KL_WANT(IE_KL_T2, 1)
    KL_WANT(IE_KL_T1 | IE_KL_T2, 1)
    KL_WANT(IE_KL_CE, 0)
    KL_WANT(IE_KL_CS, 0)
    KL_WANT(IE_KL_POW | IE_KL_T1, 1)
    KL_WANT(IE_KL_POW | IE_KL_T2, 1)
    KL_WANT(IE_KL_POW | IE_KL_T1 | KL_POW_GUARD, 1)
    KL_WANT(IE_KL_POW | IE_KL_T2 | KL_POW_GUARD, 1)
  default:
    for (int j = 0; j < 7; j++) out[j] = NAN; /* not a set the kernel asks for */
    return;
  }
  /* one exp's sums not finite (e^x past float's range, or a bad entry):
   * the chunk again with two (which finds a bad entry as it always did);
   * the power family's have no two-exp loop (the caller's double kernels) */
  if ((want & (IE_KL_T1 | IE_KL_T2)) && !(want & IE_KL_POW) &&
      !(isfinite(out[0]) && isfinite(out[1]) && isfinite(out[2]) && isfinite(out[3]))) {
    if (it == 1.0f) KL_NAME(kl_loop)(p, q, n, it, rp, rq, c, k, g, want, 0, 0, out, ep, eq);
    else KL_NAME(kl_loop)(p, q, n, it, rp, rq, c, k, g, want, 1, 0, out, ep, eq);
  }
#undef KL_WANT
}

/* logsumexp's chunk in one read: out = {Σ e^{(p − rm)·it}, max p} over
 * p[0..n), with the weights' exp (exp_weight: 1.5e-7, taken times
 * KL_ONE_SCALE and scaled back, exactly, at the end).  The caller keeps the
 * sum only where max p < rm (the chunk does not hold the row's max: every
 * term is below 1) and the sum is finite (a NaN entry makes it NaN, +inf
 * the max +inf; a −inf entry's weight is 0, or NaN where a CPU's VREDUCEPS
 * makes it so); else it takes the chunk again its own way.  The scan in the
 * same loop as the exps spares a second pass over the chunk. */
KL_TARGET void KL_NAME(ie__lse_chunk)(const float *p, int n, float it, float rm, float out[2]) {
  const KL_NAME(weight_consts) kw = KL_NAME(weight_consts_make)();
  const float wit = KL_HAVE_FRAC ? it * 1.44269504f : it; /* (log2 e where it takes 2^y) */
  const vec vwit = V_SET1(wit), vm = V_SET1(rm);
  vec s0 = V_SET1(0.0f), s1 = s0, hi = V_SET1(-INFINITY);
#define LSE_BLOCK(I, ACC)                                                                \
  do {                                                                                   \
    const vec P_ = V_LOAD(p + (I));                                                      \
    hi = V_MAX(hi, P_);                                                                  \
    ACC = V_ADD(ACC, KL_NAME(exp_weight)(V_MUL(V_SUB(P_, vm), vwit), &kw));               \
  } while (0)
  int i = 0;
  for (; i + 2 * KL_LANES <= n; i += 2 * KL_LANES) {
    __builtin_prefetch(p + i + 1024); /* 4 KB ahead */
#if KL_LANES == 16
    __builtin_prefetch(p + i + 1040);
#endif
    LSE_BLOCK(i, s0);
    LSE_BLOCK(i + KL_LANES, s1);
  }
  for (; i + KL_LANES <= n; i += KL_LANES) LSE_BLOCK(i, s0);
#undef LSE_BLOCK
  float s = V_HSUM(V_ADD(s0, s1)), mx = V_HMAX(hi);
  for (; i < n; i++) { /* the tail, one lane at a time */
    s += V_FIRST(KL_NAME(exp_weight)(V_SET1((p[i] - rm) * wit), &kw));
    mx = p[i] > mx ? p[i] : mx;
  }
  out[0] = s * (1 / KL_ONE_SCALE), out[1] = mx;
}

/* Entropy's sums over a chunk that does not hold its row's max, with d =
 * (p − rm)·(it + itl) (1/T as two floats, rows.c's ent_row_f32):
 * out = {Σ e^d, Σ e^d·d, max p} for Shannon (pow 0), and for Rényi and
 * Tsallis of order α, out[1] = Σ e^d·expm1((α−1)·d), every term of one
 * sign (as ent_row_f32's loop).  That term is e^d·expm1(y), y = (α−1)·d,
 * where |y| < ½ (expm1_of: no cancellation), else e^{αd} − e^d (no e^y to
 * pass float's range where α < 1 and d is far below 0): one exp_split, of
 * y or of αd as the lane needs.  The caller keeps them only where max p < rm and both sums are
 * finite: a NaN or ±inf entry makes a sum non-finite (−inf: exp_any's NaN,
 * or on AVX2, whose exp clamps, a NaN made where d is −inf) or the max
 * +inf. */
KL_TARGET static inline __attribute__((always_inline)) void
KL_NAME(ent_loop)(const float *p, int n, float it, float itl, float rm, float al, float am1,
                  int scaled, int split, int pow, float out[3]) {
  const KL_NAME(exp_consts) k = KL_NAME(exp_consts_make)(1.0f);
  const vec vit = V_SET1(it), vitl = V_SET1(itl), vm = V_SET1(rm);
  const vec val = V_SET1(al), vam1 = V_SET1(am1), half = V_SET1(0.5f), nhalf = V_SET1(-0.5f);
  const vec one = V_SET1(1.0f), ninf = V_SET1(-INFINITY), nan = V_SET1(NAN);
  vec s0 = V_SET1(0.0f), s1 = s0, t0 = s0, t1 = s0, x0 = V_SET1(-INFINITY), x1 = x0;
#define ENT_BLOCK(I, S, T, X)                                                            \
  do {                                                                                   \
    const vec P_ = V_LOAD(p + (I));                                                      \
    X = V_MAX(X, P_);                                                                    \
    vec d_ = V_SUB(P_, vm);                                                              \
    if (split) d_ = V_FMADD(d_, vit, V_MUL(d_, vitl));                                   \
    else if (scaled) d_ = V_MUL(d_, vit);                                                \
    const vec e_ = KL_NAME(exp_any)(d_, &k);                                             \
    S = V_ADD(S, e_);                                                                    \
    if (!pow) {                                                                          \
      T = V_FMADD(e_, d_, T);                                                            \
    } else {                                                                             \
      const vec y_ = V_MUL(vam1, d_);                                                    \
      const vmask near_ = M_AND(V_LT(y_, half), V_LT(nhalf, y_));                        \
      const KL_NAME(exp_parts) x_ = KL_NAME(exp_split)(V_BLEND(near_, V_MUL(val, d_), y_), &k); \
      const vec em_ = KL_NAME(expm1_of)(&x_, one);                                       \
      vec v_ = V_BLEND(near_, V_SUB(x_.e, e_), V_MUL(e_, em_)); /* (em_: near lanes) */  \
      if (!KL_EXP2N_ANY_N) v_ = V_BLEND(V_EQ(d_, ninf), v_, nan); /* (see above) */      \
      T = V_ADD(T, v_);                                                                  \
    }                                                                                    \
  } while (0)
  int i = 0;
  for (; i + 2 * KL_LANES <= n; i += 2 * KL_LANES) {
    __builtin_prefetch(p + i + 1024); /* 4 KB ahead */
#if KL_LANES == 16
    __builtin_prefetch(p + i + 1040);
#endif
    ENT_BLOCK(i, s0, t0, x0);
    ENT_BLOCK(i + KL_LANES, s1, t1, x1);
  }
  for (; i + KL_LANES <= n; i += KL_LANES) ENT_BLOCK(i, s0, t0, x0);
#undef ENT_BLOCK
  float s = V_HSUM(V_ADD(s0, s1)), t = V_HSUM(V_ADD(t0, t1)), x = V_HMAX(V_MAX(x0, x1));
  for (; i < n; i++) { /* the tail, one lane at a time */
    const float dx = p[i] - rm, d = split ? dx * it + dx * itl : dx * it;
    const float e = V_FIRST(KL_NAME(exp_any)(V_SET1(d), &k));
    s += e, x = p[i] > x ? p[i] : x;
    if (!pow) {
      t += e * d;
    } else {
      const float y = am1 * d;
      t += y < 0.5f && y > -0.5f ? e * expm1f_small(y) : V_FIRST(KL_NAME(exp_any)(V_SET1(al * d), &k)) - e;
      if (d == -INFINITY) t = NAN;
    }
  }
  out[0] = s, out[1] = t, out[2] = x;
}

KL_TARGET void KL_NAME(ie__ent_chunk)(const float *p, int n, float it, float itl, float rm,
                                      float al, float am1, float out[3]) {
  const int pow = am1 != 0.0f;
  if (itl != 0.0f) {
    if (pow) KL_NAME(ent_loop)(p, n, it, itl, rm, al, am1, 1, 1, 1, out);
    else KL_NAME(ent_loop)(p, n, it, itl, rm, al, am1, 1, 1, 0, out);
  } else if (it != 1.0f) {
    if (pow) KL_NAME(ent_loop)(p, n, it, itl, rm, al, am1, 1, 0, 1, out);
    else KL_NAME(ent_loop)(p, n, it, itl, rm, al, am1, 1, 0, 0, out);
  } else {
    if (pow) KL_NAME(ent_loop)(p, n, it, itl, rm, al, am1, 0, 0, 1, out);
    else KL_NAME(ent_loop)(p, n, it, itl, rm, al, am1, 0, 0, 0, out);
  }
}

/* JS's pass 2 over whole blocks of a chunk, from the logits alone (rows.c,
 * pass2_f32; β and 1 − β ≤ 0.55).  With δ = log q/p (from differences of
 * logits first), b the larger of p, q (log b the larger of log p, log q,
 * each from its own logit: log p + max(δ, 0) would lose ulps of log p, a
 * relative error of b), a = −|δ|, w_m the smaller's weight (β for p, 1 − β
 * for q) and y = w_m·expm1(a) in (−0.55, 0], the mixture is M = b·(1 + y)
 * and the pair's term
 *   w_b·b·log(b/M) + w_m·m·log(m/M) = b·((w_m + y)·a − (1 + y)·log1p(y)),
 * with (1 + y)·log1p(y) = y·T(y), T a degree-8 polynomial (a minimax fit of
 * its relative error on [−0.56, 0] by Lawson's algorithm, float
 * coefficients: 1.2e-8).  expm1(a) is expm1_of's, exactly e^r − 1 where
 * |a| < ln2/2, so near pairs (a student near its teacher), whose term is
 * about β(1 − β)·b·a²/2, lose no digits to cancellation; a = 0 (identical
 * rows) gives exactly 0.  Two
 * exps a pair (b's shares exp_split's constants: fewer registers, fewer
 * copies) and no division, so the chains are short: the loop is bound by
 * its chains' latency as much as by its operations.  Nothing is kept from
 * pass 1: its stores (two floats a pair, a row a thread, out of the L2 and
 * back) cost more than the exps they saved.  β = ½, the usual JS, has one
 * weight and no select.  A pair whose δ is not finite makes the sum
 * non-finite (the caller's double kernels take the row). */
#define JS_T1 0.49999696f
#define JS_T2 -0.166798428f
#define JS_T3 0.0811438113f
#define JS_T4 -0.0680880621f
#define JS_T5 -0.0491896383f
#define JS_T6 -0.237649128f
#define JS_T7 -0.28298381f
#define JS_T8 -0.202485144f

KL_TARGET static inline __attribute__((always_inline)) float
KL_NAME(js_loop)(const float *p, const float *q, int n, const ie_js_consts *jc, int half) {
  const KL_NAME(exp_consts) k = KL_NAME(exp_consts_make)(1.0f);
  const vec it = V_SET1(jc->it), rp = V_SET1(jc->rp), dr = V_SET1(jc->dr);
  const vec rq = V_SET1(jc->rq), dls = V_SET1(jc->dls);
  const vec wq = V_SET1(jc->be), wp = V_SET1(jc->be1);
  const vec zero = V_SET1(0.0f), one = V_SET1(1.0f), sign = V_SET1(-0.0f);
#if KL_HAVE_FRAC
  /* b as the weights' 2^y (exp_weight, times KL_ONE_SCALE): log b in
   * log2 units, with log2 e in the FMA's factor and the shifts */
  const KL_NAME(weight_consts) kw = KL_NAME(weight_consts_make)();
  const vec itb = V_SET1((float)((double)jc->it * 1.4426950408889634));
  const vec lsbp = V_SET1((float)((double)jc->lsp * 1.4426950408889634));
  const vec lsbq = V_SET1((float)((double)jc->lsq * 1.4426950408889634));
#else
  const vec itb = it, lsbp = V_SET1(jc->lsp), lsbq = V_SET1(jc->lsq);
#endif
  const vec t1 = V_SET1(JS_T1), t2 = V_SET1(JS_T2), t3 = V_SET1(JS_T3), t4 = V_SET1(JS_T4);
  const vec t5 = V_SET1(JS_T5), t6 = V_SET1(JS_T6), t7 = V_SET1(JS_T7), t8 = V_SET1(JS_T8);
  vec acc0 = zero, acc1 = zero;
#if KL_HAVE_FRAC
#define JS_B(y) KL_NAME(exp_weight)(y, &kw)
#else
#define JS_B(x) KL_NAME(exp_any)(x, &k)
#endif
#define JS_BLOCK(I, ACC)                                                                 \
  do {                                                                                   \
    const vec P_ = V_LOAD(p + (I)), Q_ = V_LOAD(q + (I));                                \
    const vec d_ = V_FMSUB(V_SUB(V_SUB(Q_, P_), dr), it, dls);                           \
    const vec lb_ = V_MAX(V_FMSUB(V_SUB(P_, rp), itb, lsbp), V_FMSUB(V_SUB(Q_, rq), itb, lsbq)); \
    vec a_ = V_OR(d_, sign);                                                             \
    if (!KL_EXP2N_ANY_N) a_ = V_MAX(a_, k.lo); /* (exp_split's clamp: e^a·a → 0) */      \
    const vec b_ = JS_B(lb_);                                                            \
    const KL_NAME(exp_parts) e_ = KL_NAME(exp_split)(a_, &k);                            \
    const vec em_ = KL_NAME(expm1_of)(&e_, one);                                         \
    const vec wm_ = half ? wq : V_BLEND(V_LT(zero, d_), wp, wq); /* q the larger: w_m = β */ \
    const vec y_ = V_MUL(wm_, em_), y2_ = V_MUL(y_, y_), y4_ = V_MUL(y2_, y2_);          \
    const vec t01_ = V_FMADD(t1, y_, one), t23_ = V_FMADD(t3, y_, t2);                   \
    const vec t45_ = V_FMADD(t5, y_, t4), t67_ = V_FMADD(t7, y_, t6);                    \
    const vec tl_ = V_FMADD(t23_, y2_, t01_), th_ = V_FMADD(V_FMADD(t8, y2_, t67_), y2_, t45_); \
    const vec g_ = V_FNMADD(y_, V_FMADD(th_, y4_, tl_), V_MUL(V_ADD(wm_, y_), a_));      \
    ACC = V_FMADD(b_, g_, ACC);                                                          \
  } while (0)
  int i = 0;
  for (; i + 2 * KL_LANES <= n; i += 2 * KL_LANES) {
    __builtin_prefetch(p + i + 1024); /* 4 KB ahead */
    __builtin_prefetch(q + i + 1024);
#if KL_LANES == 16
    __builtin_prefetch(p + i + 1040);
    __builtin_prefetch(q + i + 1040);
#endif
    JS_BLOCK(i, acc0);
    JS_BLOCK(i + KL_LANES, acc1);
  }
  for (; i + KL_LANES <= n; i += KL_LANES) JS_BLOCK(i, acc0);
#undef JS_BLOCK
#undef JS_B
  return V_HSUM(V_ADD(acc0, acc1)) * (KL_HAVE_FRAC ? 1 / KL_ONE_SCALE : 1);
}

KL_TARGET float KL_NAME(ie__js_chunk)(const float *p, const float *q, int n,
                                      const ie_js_consts *jc) {
  /* β = ½ (the usual JS): one weight, no select */
  return jc->be == 0.5f && jc->be1 == 0.5f ? KL_NAME(js_loop)(p, q, n, jc, 1)
                                           : KL_NAME(js_loop)(p, q, n, jc, 0);
}

#undef KL_BLOCK
#undef KL_BLOCK_ONE
#undef KL_NAME
#undef KL_CAT
#undef KL_CAT_
