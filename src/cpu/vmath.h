/*
 * vmath.h — PRIVATE.  Vectorisable elementary functions for the CPU kernels
 * (libm's exp and log do not vectorise inside `omp simd` loops).  The
 * function-multiversioning attribute the hot loops use, IE_CPU_CLONES, is in
 * src/host/host.h.
 */
#ifndef IE_CPU_VMATH_H
#define IE_CPU_VMATH_H

#include <math.h>
#include <stdint.h>

#include "../host/host.h" /* IE_CPU_CLONES */

#ifdef __GNUC__
#define IE_INLINE static inline __attribute__((always_inline))
#else
#define IE_INLINE static inline
#endif

/* e^x in double, written so that `omp simd` loops vectorise it (libm's exp
 * does not): x = n·ln2 + r, |r| ≤ ln2/2, e^r by its degree-12 Taylor
 * polynomial (relative error < 1e-15), 2^n built in the exponent bits.  The
 * range reduction is in double, so the result keeps its digits whatever |x|
 * (a float reduction would lose |x|·2^-24).  Below −708 and at −inf: 0;
 * above 709 (within 0.8 of DBL_MAX's log): +inf. */
IE_INLINE double exp_poly(double x) {
  const double magic = 6755399441055744.0; /* 1.5·2^52: adding it rounds */
  double xc = x > 709.0 ? 709.0 : x;
  xc = xc < -708.0 ? -708.0 : xc;
  double t = xc * 1.4426950408889634 + magic;
  double n = t - magic;
  double r = xc - n * 0.6931471803691238;
  r = r - n * 1.9082149292705877e-10;
  double p = 1.0 / 39916800 + r * (1.0 / 479001600);
  p = 1.0 / 3628800 + r * p;
  p = 1.0 / 362880 + r * p;
  p = 1.0 / 40320 + r * p;
  p = 1.0 / 5040 + r * p;
  p = 1.0 / 720 + r * p;
  p = 1.0 / 120 + r * p;
  p = 1.0 / 24 + r * p;
  p = 1.0 / 6 + r * p;
  p = 0.5 + r * p;
  p = 1.0 + r * p;
  p = 1.0 + r * p;
  union { double d; uint64_t i; } u = {t};
  u.i = (u.i + 1023) << 52; /* n sits in the low bits of t */
  return x < -708.0 ? 0.0 : x > 709.0 ? INFINITY : p * u.d;
}

/* e^x − 1 in double for |x| < ½ only (callers take e^x − 1 from exp_poly
 * beyond), vectorisable: Taylor to degree 15, relative error < 1e-16. */
IE_INLINE double expm1_small(double x) {
  double p = 1.0 / 87178291200.0 + x * (1.0 / 1307674368000.0);
  p = 1.0 / 6227020800.0 + x * p;
  p = 1.0 / 479001600 + x * p;
  p = 1.0 / 39916800 + x * p;
  p = 1.0 / 3628800 + x * p;
  p = 1.0 / 362880 + x * p;
  p = 1.0 / 40320 + x * p;
  p = 1.0 / 5040 + x * p;
  p = 1.0 / 720 + x * p;
  p = 1.0 / 120 + x * p;
  p = 1.0 / 24 + x * p;
  p = 1.0 / 6 + x * p;
  p = 0.5 + x * p;
  p = 1.0 + x * p;
  return x * p;
}

/* log x in double, vectorisable (libm's log is not): x = m·2^k with m in
 * [√½, √2) (subnormal x first scaled by 2^54), then log m = 2·atanh(s), s =
 * (m − 1)/(m + 1), |s| ≤ 0.172, by its odd series to s^21 (truncation <
 * 3e-17 relative), and k·ln 2 in two parts.  0 gives −inf, +inf +inf, and
 * a negative x or NaN gives NaN. */
IE_INLINE double log_poly(double x) {
  const int sub = x < 0x1p-1022;
  union { double d; uint64_t i; } u = {sub ? x * 0x1p54 : x};
  const uint64_t ix = u.i + (0x3ff0000000000000u - 0x3fe6a09e667f3bcdu); /* (√½'s bits) */
  const double k = (double)((int64_t)(ix >> 52) - 0x3ff - (sub ? 54 : 0));
  u.i = (ix & 0x000fffffffffffffu) + 0x3fe6a09e667f3bcdu;
  const double s = (u.d - 1.0) / (u.d + 1.0), s2 = s * s;
  double p = 2.0 / 21;
  for (int j = 19; j >= 1; j -= 2) p = 2.0 / j + s2 * p;
  const double r = k * 1.9082149292705877e-10 + s * p + k * 0.6931471803691238;
  return x > 0 && x < INFINITY ? r : x == 0 ? -INFINITY : x == INFINITY ? x : NAN;
}

/* log(1 + y) for y in [0, 1], vectorisable: 2·atanh(s), s = y/(2 + y) ≤ ⅓,
 * by its odd series to s^31 (relative error < 1e-15). */
IE_INLINE double log1p_poly01(double y) {
  double s = y / (2.0 + y), s2 = s * s, p = 1.0 / 31;
  for (int k = 29; k >= 1; k -= 2) p = 1.0 / k + s2 * p;
  return 2.0 * s * p;
}

/* Coefficients of a degree-6 polynomial for e^r, |r| ≤ ln2/2, fitted for
 * least maximum relative error (2e-8 with these float values); c0 = c1 = 1. */
#define IE_EXPF_C2 0.49999991059303284f
#define IE_EXPF_C3 0.16666419804096222f
#define IE_EXPF_C4 0.04166822507977486f
#define IE_EXPF_C5 0.008374815806746483f
#define IE_EXPF_C6 0.0013836845755577087f

/* e^x in float for the fp32 fast paths, whose arguments are log-weights
 * less a running max (≤ 0, or a little above it while a max catches up):
 * x = n·ln2 + r, |r| ≤ ln2/2, e^r by the polynomial above, 2^n in the
 * exponent bits.  x is clamped to [−88, 88]: at −88, n = −127 makes the 2^n
 * factor +0 exactly, so that x ≤ −88 (and −inf) gives 0 with no select;
 * NaN stays NaN.  The one-step reduction with a float ln2 leaves r off by
 * ≤ |n|·1.9e-9: about an ulp of the result at |n| = 43 (x = 30, the most the
 * KL loop allows), and beyond float's precision only for terms below e^−20,
 * which are < 2e-9 of sums whose largest term is ≥ 1. */
IE_INLINE float expf_fast(float x) {
  const float magic = 12582912.0f + 127; /* 1.5·2^23 (adding it rounds) + the bias */
  float xc = x < -88.0f ? -88.0f : x > 88.0f ? 88.0f : x;
  float t = xc * 1.44269504f + magic;
  float n = t - magic;
  float r = xc - n * 0.693147181f;
  float p = IE_EXPF_C5 + r * IE_EXPF_C6;
  p = IE_EXPF_C4 + r * p;
  p = IE_EXPF_C3 + r * p;
  p = IE_EXPF_C2 + r * p;
  p = 1.0f + r * p;
  p = 1.0f + r * p;
  union { float f; uint32_t i; } u = {t};
  u.i <<= 23; /* n + 127 ∈ [0, 254] sits in the low bits of t */
  return p * u.f;
}

/* e^x − 1 in float for |x| < ½ only (callers take e^x − 1 from expf_fast
 * beyond), vectorisable: Taylor to degree 8 (truncation < 1.1e-8 relative). */
IE_INLINE float expm1f_small(float x) {
  float p = 1.0f / 40320 + x * (1.0f / 362880);
  p = 1.0f / 5040 + x * p;
  p = 1.0f / 720 + x * p;
  p = 1.0f / 120 + x * p;
  p = 1.0f / 24 + x * p;
  p = 1.0f / 6 + x * p;
  p = 0.5f + x * p;
  p = 1.0f + x * p;
  return x * p;
}

/* e^x − 1 in float for x ≤ 88, vectorisable: the Taylor polynomial on
 * (−½, ½), e^x − 1 beyond (no cancellation there). */
IE_INLINE float expm1f_fast(float x) {
  return x < 0.5f && x > -0.5f ? expm1f_small(x) : expf_fast(x) - 1.0f;
}

/* e^x − 1 in float for any x ≤ 88, vectorisable, with no branch: x = n·ln2
 * + r as in expf_fast, e^r − 1 by its Taylor polynomial to r^7 (truncation
 * < 2e-8 relative at |r| = ln2/2), then 2^n·(e^r − 1) + (2^n − 1), which is
 * e^r − 1 itself for n = 0 (|x| < ln2/2: no cancellation) and has none
 * worth a digit elsewhere; −1 below −88.  One exp's work where
 * expm1f_fast's select computes both of its sides. */
IE_INLINE float expm1f_full(float x) {
  const float magic = 12582912.0f + 127;
  const float xc = x < -88.0f ? -88.0f : x > 88.0f ? 88.0f : x;
  const float t = xc * 1.44269504f + magic, n = t - magic, r = xc - n * 0.693147181f;
  float p = 1.0f / 720 + r * (1.0f / 5040);
  p = 1.0f / 120 + r * p;
  p = 1.0f / 24 + r * p;
  p = 1.0f / 6 + r * p;
  p = 0.5f + r * p;
  p = 1.0f + r * p;
  union { float f; uint32_t i; } u = {t};
  u.i <<= 23; /* 2^n */
  return u.f * (r * p) + (u.f - 1.0f);
}

/* log x in float for normal x > 0, vectorisable: x = m·2^k with m in
 * [√½, √2) (the mantissa moved by the bits of √½, as in musl's logf), then
 * log m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172, to s^9
 * (truncation < 3e-9 relative). */
IE_INLINE float logf_fast(float x) {
  union { float f; uint32_t i; } u = {x};
  const uint32_t ix = u.i + (0x3f800000u - 0x3f3504f3u);
  const float k = (float)((int32_t)(ix >> 23) - 0x7f);
  u.i = (ix & 0x007fffffu) + 0x3f3504f3u;
  const float s = (u.f - 1.0f) / (u.f + 1.0f), s2 = s * s;
  const float p = 2.0f + s2 * (2.0f / 3 + s2 * (2.0f / 5 + s2 * (2.0f / 7 + s2 * (2.0f / 9))));
  return k * 0.693147181f + s * p;
}

/* log(1 + y) in float for y > −1, vectorisable: log u·(y/(u − 1)) with u =
 * 1 + y rounded, which corrects u's rounding (Goldberg); y itself where u
 * rounds to 1. */
IE_INLINE float log1pf_fast(float y) {
  const float u = 1.0f + y, d = u - 1.0f;
  return d == 0.0f ? y : logf_fast(u) * (y / d);
}

/* log(1 + y) in float for −0.55 < y ≤ 0 only, with one division and no
 * range reduction: 2·atanh(s), s = y/(2 + y), |s| < 0.38, by its series to
 * s^15 (truncation < 2e-8 relative), the 2 folded into the coefficients.
 * JS's log1p((1 − β)·expm1(δ)) for δ ≤ 0 has such arguments when β and
 * 1 − β are ≤ 0.55. */
IE_INLINE float log1pf_neg055(float y) {
  const float s = y / (2.0f + y), s2 = s * s;
  float p = 2.0f / 15;
  p = 2.0f / 13 + s2 * p;
  p = 2.0f / 11 + s2 * p;
  p = 2.0f / 9 + s2 * p;
  p = 2.0f / 7 + s2 * p;
  p = 2.0f / 5 + s2 * p;
  p = 2.0f / 3 + s2 * p;
  p = 2.0f + s2 * p;
  return s * p;
}

/* φ(x)/x² for φ(x) = e^{−x} − 1 + x, |x| < ½: Σ_k (−x)^k/(k+2)! to k = 7
 * (truncation < 3e-9 relative).  φ ≥ 0 is the term of KL in its
 * non-negative form, Σ p·φ(log p/q) = Σ p log(p/q) − p + q; as x²·g(x) it
 * keeps its digits where e^{−x} − 1 + x would cancel.  KL_PHI_G(T, x)
 * instantiates it in any float type (the AVX2 loop repeats its
 * coefficients). */
#define IE_PHI_C0 (1.0 / 2)
#define IE_PHI_C1 (-1.0 / 6)
#define IE_PHI_C2 (1.0 / 24)
#define IE_PHI_C3 (-1.0 / 120)
#define IE_PHI_C4 (1.0 / 720)
#define IE_PHI_C5 (-1.0 / 5040)
#define IE_PHI_C6 (1.0 / 40320)
#define IE_PHI_C7 (-1.0 / 362880)
#define KL_PHI_G(T, x)                                                                    \
  ((T)IE_PHI_C0 +                                                                         \
   (x) * ((T)IE_PHI_C1 +                                                                  \
          (x) * ((T)IE_PHI_C2 +                                                           \
                 (x) * ((T)IE_PHI_C3 +                                                    \
                        (x) * ((T)IE_PHI_C4 +                                             \
                               (x) * ((T)IE_PHI_C5 + (x) * ((T)IE_PHI_C6 + (x) * (T)IE_PHI_C7)))))))

/* φ(x)/x² in double, |x| < ½: the same series to k = 13 (truncation < 6e-18
 * relative).  KL_PHI_G's k = 7 (3e-9) had put the double kernels' KL of
 * f64 language-model logits 9e-10 (relative) from float64 NumPy. */
IE_INLINE double kl_phi_g_d(double x) {
  double g = 1.0 / 87178291200.0 - x * (1.0 / 1307674368000.0); /* 1/14!, −1/15! */
  g = -1.0 / 6227020800.0 + x * g;                                /* −1/13! */
  g = 1.0 / 479001600.0 + x * g;                                  /* 1/12! */
  g = -1.0 / 39916800.0 + x * g;                                  /* −1/11! */
  g = 1.0 / 3628800.0 + x * g;                                    /* 1/10!: the k = 8 term */
  g = IE_PHI_C7 + x * g;
  g = IE_PHI_C6 + x * g;
  g = IE_PHI_C5 + x * g;
  g = IE_PHI_C4 + x * g;
  g = IE_PHI_C3 + x * g;
  g = IE_PHI_C2 + x * g;
  g = IE_PHI_C1 + x * g;
  return IE_PHI_C0 + x * g;
}

/* φ(x) = e^{−x} − 1 + x in double, for any x (the KL-family state updates). */
IE_INLINE double kl_phi(double x) {
  return fabs(x) < 0.5 ? x * x * kl_phi_g_d(x) : expm1(-x) + x;
}
#endif
