/*
 * kl_avx2.c — the inner sums of the f32 KL-family kernel (rows.c,
 * kl_row_f32) written with AVX2/FMA intrinsics, picked at run time on CPUs
 * that have them.  The portable loop in rows.c computes the same sums; this
 * one exists because compilers schedule its two exps per element poorly
 * (long FMA chains, spilled accumulators), which halves its speed.
 *
 * e^x for x ≤ 0 as in vmath.h's expf_neg: x = n·ln2 + r, |r| ≤ ln2/2,
 * e^r by a degree-6 minimax polynomial, 2^n in the exponent bits.
 */
#include "rows_avx2.h"
#include "vmath.h"

#if IE_HAVE_AVX2_KL
#include <immintrin.h>
#include <stdlib.h>

#define IE_AVX2 __attribute__((target("avx2,fma")))

typedef struct {
  __m256 magic, log2e, ln2, lo, zero, c2, c3, c4, c5, c6, one;
  __m256i bias;
} exp_consts;

/* e^x for x ≤ 0.  x is clamped at −88, where n = −127 makes the 2^n factor
 * +0 exactly, so that x ≤ −88 (and −inf) gives 0 with no select; and at 0,
 * since z·(1/T) − max, if contracted to an FMA, can land an ulp of z above 0. */
IE_AVX2 static inline __m256 exp_neg8(__m256 x, const exp_consts *k) {
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, k->lo), k->zero);
  __m256 t = _mm256_fmadd_ps(xc, k->log2e, k->magic);
  __m256 n = _mm256_sub_ps(t, k->magic);
  /* One-step reduction with a float ln2: r is off by ≤ |n|·2e-9, which only
   * terms below e^{-20} (|n| > 30) carry beyond float's precision, and
   * those are < 2e-9 of the largest term, e^0 = 1. */
  __m256 r = _mm256_fnmadd_ps(n, k->ln2, xc);
  __m256 p = _mm256_fmadd_ps(k->c6, r, k->c5);
  p = _mm256_fmadd_ps(p, r, k->c4);
  p = _mm256_fmadd_ps(p, r, k->c3);
  p = _mm256_fmadd_ps(p, r, k->c2);
  p = _mm256_fmadd_ps(p, r, k->one);
  p = _mm256_fmadd_ps(p, r, k->one);
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t), k->bias), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

IE_AVX2 static float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

IE_AVX2 void ie__kl_chunk_avx2(const float *p, const float *q, int n, float it, float mp, float mq,
                               float rq, int ce, float out[4]) {
  const exp_consts k = {_mm256_set1_ps(12582912.0f), _mm256_set1_ps(1.44269504f),
                        _mm256_set1_ps(0.693147181f),  _mm256_set1_ps(-88.0f),
                        _mm256_setzero_ps(),
                        _mm256_set1_ps(IE_EXPF_C2),    _mm256_set1_ps(IE_EXPF_C3),
                        _mm256_set1_ps(IE_EXPF_C4),    _mm256_set1_ps(IE_EXPF_C5),
                        _mm256_set1_ps(IE_EXPF_C6),    _mm256_set1_ps(1.0f),
                        _mm256_set1_epi32(127)};
  const __m256 vit = _mm256_set1_ps(it), vmp = _mm256_set1_ps(mp), vmq = _mm256_set1_ps(mq);
  const __m256 vrq = _mm256_set1_ps(rq);
  __m256 sp = _mm256_setzero_ps(), sq = sp, t1 = sp, t2 = sp;
  int i = 0;
  /* Two blocks of 8 an iteration: four independent exps keep the FMA units
   * busy while each one's dependency chain runs. */
  for (; i + 16 <= n; i += 16) {
    const __m256 u0 = _mm256_mul_ps(_mm256_loadu_ps(p + i), vit);
    const __m256 v0 = _mm256_mul_ps(_mm256_loadu_ps(q + i), vit);
    const __m256 u1 = _mm256_mul_ps(_mm256_loadu_ps(p + i + 8), vit);
    const __m256 v1 = _mm256_mul_ps(_mm256_loadu_ps(q + i + 8), vit);
    const __m256 e10 = exp_neg8(_mm256_sub_ps(u0, vmp), &k);
    const __m256 e20 = exp_neg8(_mm256_sub_ps(v0, vmq), &k);
    const __m256 e11 = exp_neg8(_mm256_sub_ps(u1, vmp), &k);
    const __m256 e21 = exp_neg8(_mm256_sub_ps(v1, vmq), &k);
    sp = _mm256_add_ps(sp, _mm256_add_ps(e10, e11));
    sq = _mm256_add_ps(sq, _mm256_add_ps(e20, e21));
    if (ce) {
      /* (q − rq)·it: 0 at q's max, whatever the compiler contracts */
      t1 = _mm256_fmadd_ps(e10, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(q + i), vrq), vit), t1);
      t1 = _mm256_fmadd_ps(e11, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(q + i + 8), vrq), vit), t1);
    } else {
      /* (p − q)·it: 0 for equal entries, whatever the compiler contracts */
      const __m256 d0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(q + i)), vit);
      const __m256 d1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i + 8), _mm256_loadu_ps(q + i + 8)), vit);
      t1 = _mm256_fmadd_ps(e10, d0, _mm256_fmadd_ps(e11, d1, t1));
      t2 = _mm256_fnmadd_ps(e20, d0, _mm256_fnmadd_ps(e21, d1, t2));
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 u = _mm256_mul_ps(_mm256_loadu_ps(p + i), vit);
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(q + i), vit);
    const __m256 e1 = exp_neg8(_mm256_sub_ps(u, vmp), &k);
    const __m256 e2 = exp_neg8(_mm256_sub_ps(v, vmq), &k);
    sp = _mm256_add_ps(sp, e1);
    sq = _mm256_add_ps(sq, e2);
    if (ce) {
      t1 = _mm256_fmadd_ps(e1, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(q + i), vrq), vit), t1);
    } else {
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(q + i)), vit);
      t1 = _mm256_fmadd_ps(e1, d, t1);
      t2 = _mm256_fnmadd_ps(e2, d, t2);
    }
  }
  float s[4] = {hsum8(sp), hsum8(sq), hsum8(t1), hsum8(t2)};
  for (; i < n; i++) { /* the tail, one lane at a time */
    const float u = p[i] * it, v = q[i] * it;
    const float e1 = _mm256_cvtss_f32(exp_neg8(_mm256_set1_ps(u - mp), &k));
    const float e2 = _mm256_cvtss_f32(exp_neg8(_mm256_set1_ps(v - mq), &k));
    s[0] += e1, s[1] += e2;
    const float d = (p[i] - q[i]) * it;
    s[2] += e1 * (ce ? (q[i] - rq) * it : d), s[3] -= e2 * d;
  }
  for (int j = 0; j < 4; j++) out[j] = s[j];
}

IE_AVX2 float ie__lse_chunk_avx2(const float *p, int n, float it, float m) {
  const exp_consts k = {_mm256_set1_ps(12582912.0f), _mm256_set1_ps(1.44269504f),
                        _mm256_set1_ps(0.693147181f),  _mm256_set1_ps(-88.0f),
                        _mm256_setzero_ps(),
                        _mm256_set1_ps(IE_EXPF_C2),    _mm256_set1_ps(IE_EXPF_C3),
                        _mm256_set1_ps(IE_EXPF_C4),    _mm256_set1_ps(IE_EXPF_C5),
                        _mm256_set1_ps(IE_EXPF_C6),    _mm256_set1_ps(1.0f),
                        _mm256_set1_epi32(127)};
  const __m256 vit = _mm256_set1_ps(it), vm = _mm256_set1_ps(m);
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_add_ps(s0, exp_neg8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), vit), vm), &k));
    s1 = _mm256_add_ps(s1, exp_neg8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i + 8), vit), vm), &k));
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_add_ps(s0, exp_neg8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), vit), vm), &k));
  float s = hsum8(_mm256_add_ps(s0, s1));
  for (; i < n; i++) s += _mm256_cvtss_f32(exp_neg8(_mm256_set1_ps(p[i] * it - m), &k));
  return s;
}

int ie__kl_avx2_usable(void) {
  const char *off = getenv("IE_CPU_NO_AVX2"); /* tests of the portable loops */
  if (off && off[0] == '1') return 0;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#endif
