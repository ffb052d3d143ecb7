/*
 * kl_simd.h — PRIVATE.  The inner sums of the f32 KL-family kernel (rows.c,
 * two_row_f32) and of the f32 logsumexp chunk, written once against a small
 * vector vocabulary and built twice: kl_avx2.c (8 lanes, AVX2 + FMA) and
 * kl_avx512.c (16 lanes, AVX-512F), picked at run time (rows.c).  The
 * portable loop in rows.c computes the same sums; these exist because
 * compilers schedule its two exps per element poorly (long FMA chains,
 * spilled accumulators), which halves its speed.
 *
 * The includer defines, for its ISA: KL_TARGET (the function attribute),
 * KL_SUFFIX (the name suffix), vec / vmask and the operations
 *   V_SET1 V_LOAD V_STORE V_ADD V_SUB V_MUL V_MAX V_XOR
 *   V_FMADD(a,b,c) = a·b + c   V_FMSUB = a·b − c   V_FNMADD = c − a·b
 *   V_LT(a,b) (a mask)  V_BLEND(m, a, b) (b where m)  V_FIRST (lane 0)
 *   V_HSUM V_HMAX (across lanes)  V_EXP2N(p, t, n) (p·2^n, see exp_any)
 * and KL_LANES; KL_EXP2N_ANY_N 1 where V_EXP2N takes any n (AVX-512's
 * VSCALEFPS: 0 below float's range, inf above), 0 where it needs
 * n + 127 in [0, 254] (the exponent bits of t).
 *
 * e^x as in vmath.h's expf_fast: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a
 * degree-6 minimax polynomial, 2^n by the ISA's V_EXP2N.  What makes the
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

KL_TARGET static inline KL_NAME(exp_consts) KL_NAME(exp_consts_make)(void) {
  const KL_NAME(exp_consts) k = {V_SET1(12582912.0f + 127), V_SET1(1.44269504f),
                                 V_SET1(0.693147181f),       V_SET1(-88.0f),
                                 V_SET1(IE_EXPF_C2),         V_SET1(IE_EXPF_C3),
                                 V_SET1(IE_EXPF_C4),         V_SET1(IE_EXPF_C5),
                                 V_SET1(IE_EXPF_C6),         V_SET1(1.0f)};
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
 * (0 far below float's range), and −inf gives NaN, which makes the chunk's
 * sums non-finite, so that the row goes to the double kernels as a row with
 * −inf does.  The lse chunk, whose caller does not look at its sum, always
 * clamps (exp_clamped). */
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

/* One block of KL_LANES: the sums' terms, and the maxima. */
#define KL_BLOCK(I)                                                                      \
  do {                                                                                   \
    const vec P_ = V_LOAD(p + (I)), Q_ = V_LOAD(q + (I));                                \
    xp = V_MAX(xp, P_);                                                                  \
    xq = V_MAX(xq, Q_);                                                                  \
    vec a_ = V_SUB(P_, vrp), b_ = V_SUB(Q_, vrq);                                        \
    if (scaled) a_ = V_MUL(a_, vit), b_ = V_MUL(b_, vit);                                \
    const vec e1 = KL_NAME(exp_any)(a_, &k), e2 = KL_NAME(exp_any)(b_, &k);              \
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

/* The loop, inlined for each set of sums, with the temperature factor and
 * without it (it = 1, the usual case, saves three multiplies). */
KL_TARGET static inline __attribute__((always_inline)) void
KL_NAME(kl_loop)(const float *p, const float *q, int n, float it, float rp, float rq, float c,
                 float kr, int want, int scaled, float out[6], float *ep, float *eq) {
  const KL_NAME(exp_consts) k = KL_NAME(exp_consts_make)();
  const KL_NAME(phi_consts) g = KL_NAME(phi_consts_make)();
  const vec vit = V_SET1(it), vrp = V_SET1(rp), vrq = V_SET1(rq);
  const vec vc = V_SET1(c), vk = V_SET1(kr), vik = V_SET1(1 / kr);
  const vec sign = V_SET1(-0.0f), quarter = V_SET1(0.25f);
  vec sp = V_SET1(0.0f), sq = sp, t1 = sp, t2 = sp;
  vec xp = V_SET1(-INFINITY), xq = xp;
  int i = 0;
  /* Differences (p − rp, q − rq, p − q) are formed before the temperature:
   * equal entries give exactly 0, with no product for a compiler to contract
   * into an FMA that would not.  (q − rq)·it is also cross-entropy's term. */
  for (; i + 2 * KL_LANES <= n; i += 2 * KL_LANES) {
    __builtin_prefetch(p + i + 128); /* 512 bytes ahead */
    __builtin_prefetch(q + i + 128);
#if KL_LANES == 16
    __builtin_prefetch(p + i + 144);
    __builtin_prefetch(q + i + 144);
#endif
    KL_BLOCK(i);
    KL_BLOCK(i + KL_LANES);
  }
  for (; i + KL_LANES <= n; i += KL_LANES) KL_BLOCK(i);
  float s[6] = {V_HSUM(sp), V_HSUM(sq), V_HSUM(t1), V_HSUM(t2), V_HMAX(xp), V_HMAX(xq)};
  for (; i < n; i++) { /* the tail, one lane at a time */
    const float e1 = V_FIRST(KL_NAME(exp_any)(V_SET1((p[i] - rp) * it), &k));
    const float e2 = V_FIRST(KL_NAME(exp_any)(V_SET1((q[i] - rq) * it), &k));
    const float l = (p[i] - q[i]) * it - c, l2 = l * l;
    const int small = l2 < 0.25f;
    s[0] += e1, s[1] += e2;
    if (want & IE_KL_STORE) ep[i] = e1, eq[i] = e2;
    if (want & IE_KL_CE) s[2] += e1 * ((q[i] - rq) * it);
    if (want & IE_KL_T1) s[2] += small ? e1 * l2 * KL_PHI_G(float, l) : e2 * kr - e1 + e1 * l;
    if (want & IE_KL_T2) s[3] += small ? e2 * l2 * KL_PHI_G(float, -l) : e1 / kr - e2 - e2 * l;
    s[4] = p[i] > s[4] ? p[i] : s[4];
    s[5] = q[i] > s[5] ? q[i] : s[5];
  }
  for (int j = 0; j < 6; j++) out[j] = s[j];
}

KL_TARGET void KL_NAME(ie__kl_chunk)(const float *p, const float *q, int n, float it, float rp,
                                     float rq, float c, float k, int want, float out[6],
                                     float *ep, float *eq) {
#define KL_WANT(W)                                                                       \
  case W:                                                                                \
    if (it == 1.0f) KL_NAME(kl_loop)(p, q, n, it, rp, rq, c, k, W, 0, out, ep, eq);      \
    else KL_NAME(kl_loop)(p, q, n, it, rp, rq, c, k, W, 1, out, ep, eq);                 \
    return;
  switch (want) {
    KL_WANT(0)
    KL_WANT(IE_KL_STORE)
    KL_WANT(IE_KL_T1)
    KL_WANT(IE_KL_T2)
    KL_WANT(IE_KL_T1 | IE_KL_T2)
    KL_WANT(IE_KL_CE)
  }
#undef KL_WANT
  for (int j = 0; j < 6; j++) out[j] = NAN; /* not a set the kernel asks for */
}

KL_TARGET float KL_NAME(ie__lse_chunk)(const float *p, int n, float it, float rm) {
  const KL_NAME(exp_consts) k = KL_NAME(exp_consts_make)();
  const vec vit = V_SET1(it), vm = V_SET1(rm);
  vec s0 = V_SET1(0.0f), s1 = s0;
  int i = 0;
  for (; i + 2 * KL_LANES <= n; i += 2 * KL_LANES) {
    s0 = V_ADD(s0, KL_NAME(exp_clamped)(V_MUL(V_SUB(V_LOAD(p + i), vm), vit), &k));
    s1 = V_ADD(s1, KL_NAME(exp_clamped)(V_MUL(V_SUB(V_LOAD(p + i + KL_LANES), vm), vit), &k));
  }
  for (; i + KL_LANES <= n; i += KL_LANES)
    s0 = V_ADD(s0, KL_NAME(exp_clamped)(V_MUL(V_SUB(V_LOAD(p + i), vm), vit), &k));
  float s = V_HSUM(V_ADD(s0, s1));
  for (; i < n; i++) s += V_FIRST(KL_NAME(exp_clamped)(V_SET1((p[i] - rm) * it), &k));
  return s;
}

#undef KL_BLOCK
#undef KL_NAME
#undef KL_CAT
#undef KL_CAT_
