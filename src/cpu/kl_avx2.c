/*
 * kl_avx2.c — the inner sums of the f32 KL-family kernel (rows.c,
 * two_row_f32) written with AVX2/FMA intrinsics, picked at run time on CPUs
 * that have them.  The portable loop in rows.c computes the same sums; this
 * one exists because compilers schedule its two exps per element poorly
 * (long FMA chains, spilled accumulators), which halves its speed.
 *
 * e^x as in vmath.h's expf_fast: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a
 * degree-6 minimax polynomial, 2^n in the exponent bits.  What makes this
 * loop fast: no more operations than the sums need (the kind picks its
 * accumulators, no upper clamp on exp's argument, the exponent bias folded
 * into the rounding constant), and prefetches, which keep both streams
 * ahead of a loop that is otherwise too busy to hide the memory latency.
 */
#include "rows_avx2.h"
#include "vmath.h"

#if IE_HAVE_AVX2_KL
#include <immintrin.h>
#include <stdlib.h>

#define IE_AVX2 __attribute__((target("avx2,fma")))

typedef struct {
  __m256 magic, log2e, ln2, lo, c2, c3, c4, c5, c6, one;
} exp_consts;

IE_AVX2 static inline exp_consts exp_consts_make(void) {
  const exp_consts k = {_mm256_set1_ps(12582912.0f + 127), _mm256_set1_ps(1.44269504f),
                        _mm256_set1_ps(0.693147181f),       _mm256_set1_ps(-88.0f),
                        _mm256_set1_ps(IE_EXPF_C2),         _mm256_set1_ps(IE_EXPF_C3),
                        _mm256_set1_ps(IE_EXPF_C4),         _mm256_set1_ps(IE_EXPF_C5),
                        _mm256_set1_ps(IE_EXPF_C6),         _mm256_set1_ps(1.0f)};
  return k;
}

/* vmath.h's expf_fast, 8 lanes, for x ≤ 88 only: it has no upper clamp, and
 * above 88 returns garbage.  Neither loop below passes such x to a sum it
 * keeps: the lse chunk's arguments are ≤ 0, and a KL chunk whose maxima
 * jump by more than 30 is summed again (rows.c, two_row_f32).  The clamp takes
 * x as its second operand, so that a NaN x stays NaN (MAXPS returns the
 * second on NaN). */
IE_AVX2 static inline __m256 exp_fast8(__m256 x, const exp_consts *k) {
  __m256 xc = _mm256_max_ps(k->lo, x);
  __m256 t = _mm256_fmadd_ps(xc, k->log2e, k->magic);
  __m256 n = _mm256_sub_ps(t, k->magic);
  /* One-step reduction with a float ln2 (off by 1.9e-9): r is off by
   * ≤ |n|·1.9e-9, about an ulp of the result at the largest |n| that matters
   * (43, for the x ≤ 30 the KL loop allows before it re-sums a chunk; terms
   * below e^-20 are < 2e-9 of a sum whose largest term is ≥ 1). */
  __m256 r = _mm256_fnmadd_ps(n, k->ln2, xc);
  __m256 p = _mm256_fmadd_ps(k->c6, r, k->c5);
  p = _mm256_fmadd_ps(p, r, k->c4);
  p = _mm256_fmadd_ps(p, r, k->c3);
  p = _mm256_fmadd_ps(p, r, k->c2);
  p = _mm256_fmadd_ps(p, r, k->one);
  p = _mm256_fmadd_ps(p, r, k->one);
  __m256i e = _mm256_slli_epi32(_mm256_castps_si256(t), 23); /* n + 127 is in t's low bits */
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

IE_AVX2 static float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

IE_AVX2 static float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* φ(x)/x² (vmath.h, KL_PHI_G), 8 lanes, for |x| < ½, truncated after
 * the x^5 term: < 8e-7 relative at |x| = ½ and falling as x^6 (two FMAs
 * fewer in the loop that bounds forward KL's speed). */
typedef struct {
  __m256 c[6];
} phi_consts;

IE_AVX2 static inline phi_consts phi_consts_make(void) {
  const phi_consts g = {{_mm256_set1_ps((float)IE_PHI_C0), _mm256_set1_ps((float)IE_PHI_C1),
                         _mm256_set1_ps((float)IE_PHI_C2), _mm256_set1_ps((float)IE_PHI_C3),
                         _mm256_set1_ps((float)IE_PHI_C4), _mm256_set1_ps((float)IE_PHI_C5)}};
  return g;
}

IE_AVX2 static inline __m256 phi_g8(__m256 x, const phi_consts *g) {
  __m256 p = _mm256_fmadd_ps(g->c[5], x, g->c[4]);
  for (int j = 3; j >= 0; j--) p = _mm256_fmadd_ps(p, x, g->c[j]);
  return p;
}

/* One block of 8: the sums' terms, and the maxima. */
#define KL_BLOCK(P, Q)                                                                   \
  do {                                                                                   \
    const __m256 P_ = (P), Q_ = (Q);                                                     \
    xp = _mm256_max_ps(xp, P_);                                                          \
    xq = _mm256_max_ps(xq, Q_);                                                          \
    __m256 a_ = _mm256_sub_ps(P_, vrp), b_ = _mm256_sub_ps(Q_, vrq);                     \
    if (scaled) a_ = _mm256_mul_ps(a_, vit), b_ = _mm256_mul_ps(b_, vit);                \
    const __m256 e1 = exp_fast8(a_, &k), e2 = exp_fast8(b_, &k);                         \
    sp = _mm256_add_ps(sp, e1);                                                          \
    sq = _mm256_add_ps(sq, e2);                                                          \
    if (want & IE_KL_CE) {                                                               \
      t1 = _mm256_fmadd_ps(e1, b_, t1);                                                  \
    } else if (want) {                                                                   \
      __m256 l_ = _mm256_sub_ps(P_, Q_);                                                 \
      l_ = scaled ? _mm256_fmsub_ps(l_, vit, vc) : _mm256_sub_ps(l_, vc);                \
      const __m256 l2_ = _mm256_mul_ps(l_, l_);                                          \
      const __m256 small_ = _mm256_cmp_ps(_mm256_andnot_ps(sign, l_), half, _CMP_LT_OQ); \
      if (want & IE_KL_T1) {                                                             \
        const __m256 far_ = _mm256_fmadd_ps(e1, l_, _mm256_fmsub_ps(e2, vk, e1));        \
        const __m256 near_ = _mm256_mul_ps(_mm256_mul_ps(e1, l2_), phi_g8(l_, &g));     \
        t1 = _mm256_add_ps(t1, _mm256_blendv_ps(far_, near_, small_));                   \
      }                                                                                  \
      if (want & IE_KL_T2) {                                                             \
        const __m256 nl_ = _mm256_xor_ps(l_, sign);                                      \
        const __m256 far_ = _mm256_fmadd_ps(e2, nl_, _mm256_fmsub_ps(e1, vik, e2));      \
        const __m256 near_ = _mm256_mul_ps(_mm256_mul_ps(e2, l2_), phi_g8(nl_, &g));    \
        t2 = _mm256_add_ps(t2, _mm256_blendv_ps(far_, near_, small_));                   \
      }                                                                                  \
    }                                                                                    \
  } while (0)

/* The loop, inlined for each set of sums, with the temperature factor and
 * without it (it = 1, the usual case, saves three multiplies). */
IE_AVX2 static inline __attribute__((always_inline)) void
kl_loop(const float *p, const float *q, int n, float it, float rp, float rq, float c, float kr,
        int want, int scaled, float out[6]) {
  const exp_consts k = exp_consts_make();
  const phi_consts g = phi_consts_make();
  const __m256 vit = _mm256_set1_ps(it), vrp = _mm256_set1_ps(rp), vrq = _mm256_set1_ps(rq);
  const __m256 vc = _mm256_set1_ps(c), vk = _mm256_set1_ps(kr), vik = _mm256_set1_ps(1 / kr);
  const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f);
  __m256 sp = _mm256_setzero_ps(), sq = sp, t1 = sp, t2 = sp;
  __m256 xp = _mm256_set1_ps(-INFINITY), xq = xp;
  int i = 0;
  /* Differences (p − rp, q − rq, p − q) are formed before the temperature:
   * equal entries give exactly 0, with no product for a compiler to contract
   * into an FMA that would not.  (q − rq)·it is also cross-entropy's term. */
  for (; i + 16 <= n; i += 16) {
    _mm_prefetch((const char *)(p + i + 128), _MM_HINT_T0); /* 512 bytes ahead */
    _mm_prefetch((const char *)(q + i + 128), _MM_HINT_T0);
    KL_BLOCK(_mm256_loadu_ps(p + i), _mm256_loadu_ps(q + i));
    KL_BLOCK(_mm256_loadu_ps(p + i + 8), _mm256_loadu_ps(q + i + 8));
  }
  for (; i + 8 <= n; i += 8) KL_BLOCK(_mm256_loadu_ps(p + i), _mm256_loadu_ps(q + i));
  float s[6] = {hsum8(sp), hsum8(sq), hsum8(t1), hsum8(t2), hmax8(xp), hmax8(xq)};
  for (; i < n; i++) { /* the tail, one lane at a time */
    const float e1 = _mm256_cvtss_f32(exp_fast8(_mm256_set1_ps((p[i] - rp) * it), &k));
    const float e2 = _mm256_cvtss_f32(exp_fast8(_mm256_set1_ps((q[i] - rq) * it), &k));
    const float l = (p[i] - q[i]) * it - c, l2 = l * l;
    const int small = fabsf(l) < 0.5f;
    s[0] += e1, s[1] += e2;
    if (want & IE_KL_CE) s[2] += e1 * ((q[i] - rq) * it);
    if (want & IE_KL_T1) s[2] += small ? e1 * l2 * KL_PHI_G(float, l) : e2 * kr - e1 + e1 * l;
    if (want & IE_KL_T2) s[3] += small ? e2 * l2 * KL_PHI_G(float, -l) : e1 / kr - e2 - e2 * l;
    s[4] = p[i] > s[4] ? p[i] : s[4];
    s[5] = q[i] > s[5] ? q[i] : s[5];
  }
  for (int j = 0; j < 6; j++) out[j] = s[j];
}

IE_AVX2 void ie__kl_chunk_avx2(const float *p, const float *q, int n, float it, float rp,
                               float rq, float c, float k, int want, float out[6]) {
#define KL_WANT(W)                                                                       \
  case W:                                                                                \
    if (it == 1.0f) kl_loop(p, q, n, it, rp, rq, c, k, W, 0, out);                       \
    else kl_loop(p, q, n, it, rp, rq, c, k, W, 1, out);                                  \
    return;
  switch (want) {
    KL_WANT(0)
    KL_WANT(IE_KL_T1)
    KL_WANT(IE_KL_T2)
    KL_WANT(IE_KL_T1 | IE_KL_T2)
    KL_WANT(IE_KL_CE)
  }
#undef KL_WANT
  for (int j = 0; j < 6; j++) out[j] = NAN; /* not a set the kernel asks for */
}

IE_AVX2 float ie__lse_chunk_avx2(const float *p, int n, float it, float rm) {
  const exp_consts k = exp_consts_make();
  const __m256 vit = _mm256_set1_ps(it), vm = _mm256_set1_ps(rm);
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_add_ps(s0, exp_fast8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), vit), &k));
    s1 = _mm256_add_ps(s1, exp_fast8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i + 8), vm), vit), &k));
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_add_ps(s0, exp_fast8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), vit), &k));
  float s = hsum8(_mm256_add_ps(s0, s1));
  for (; i < n; i++) s += _mm256_cvtss_f32(exp_fast8(_mm256_set1_ps((p[i] - rm) * it), &k));
  return s;
}

int ie__kl_avx2_usable(void) {
  const char *off = getenv("IE_CPU_NO_AVX2"); /* tests of the portable loops */
  if (off && off[0] == '1') return 0;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#endif
