/*
 * kl_avx2.c — kl_simd.h's sums with 8 lanes of AVX2 + FMA, for CPUs that
 * have them (rows.c picks them at run time).
 */
#include "rows_avx2.h"

#if IE_HAVE_AVX2_KL
#include "convert.h"
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#define KL_TARGET __attribute__((target("avx2,fma")))
#define KL_SUFFIX _avx2
#define KL_LANES 8
typedef __m256 vec;
typedef __m256 vmask;
#define V_SET1 _mm256_set1_ps
#define V_LOAD _mm256_loadu_ps
#define V_STORE _mm256_storeu_ps
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_MAX _mm256_max_ps
#define V_MIN _mm256_min_ps
#define V_XOR _mm256_xor_ps
#define V_OR _mm256_or_ps
#define V_FMADD _mm256_fmadd_ps
#define V_FMSUB _mm256_fmsub_ps
#define V_FNMADD _mm256_fnmadd_ps
#define V_LT(a, b) _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define V_EQ(a, b) _mm256_cmp_ps(a, b, _CMP_EQ_OQ)
#define M_AND _mm256_and_ps
#define V_BLEND(m, a, b) _mm256_blendv_ps(a, b, m)
#define V_FIRST _mm256_cvtss_f32
#define V_RCP _mm256_rcp_ps /* 1.5·2^-12 relative */
/* p·2^n: n + 127 ∈ [0, 254] sits in the low bits of t (the bias is folded
 * into the rounding constant) */
#define V_EXP2N(p, t, n) _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)))
#define KL_EXP2N_ANY_N 0
#define KL_HAVE_FRAC 0 /* (no V_FRAC) */

KL_TARGET static float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

KL_TARGET static float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#define V_HSUM hsum8
#define V_HMAX hmax8

#include "kl_simd.h"

int ie__kl_avx2_usable(void) {
  const char *off = getenv("IE_CPU_NO_AVX2"); /* tests of the portable loops */
  if (off && off[0] == '1') return 0;
  __builtin_cpu_init();
  /* (F16C too, for the row kernels' f16 widening: CPUs with AVX2 have it;
   * CPUID, as clang's __builtin_cpu_supports does not name it) */
  unsigned a, b, c, d;
  const int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

/* F16C's VCVTPH2PS: exact for every f16 value, as ie__half_to_float. */
__attribute__((target("avx2,f16c"))) void ie__half_to_float_f16c(const uint16_t *h, float *out,
                                                                 int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __builtin_prefetch(h + i + 2048); /* (as ie__bf16_to_float_avx2) */
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    _mm256_storeu_ps(out + i + 8, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8))));
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
  for (; i < n; i++) out[i] = ie__half_to_float(h[i]);
}

/* float to f16 by F16C's VCVTPS2PH, rounding to nearest even: the same bits
 * as ie__float_to_half for every value but NaN (a NaN either way). */
__attribute__((target("avx2,f16c"))) void ie__float_to_half_f16c(const float *f, uint16_t *h,
                                                                 int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++) h[i] = ie__float_to_half(f[i]);
}

/* bytes bytes of src to dst with non-temporal stores (dst's aligned 32-byte
 * blocks; plain copies of its head and tail): lines written whole, with no
 * read for ownership, and not kept in the cache. */
__attribute__((target("avx2"))) void ie__stream_bytes_avx2(void *dst, const void *src,
                                                         size_t bytes) {
  char *d = dst;
  const char *s = src;
  size_t head = (32 - (uintptr_t)d % 32) % 32, i;
  head = head < bytes ? head : bytes;
  memcpy(d, s, head);
  for (i = head; i + 32 <= bytes; i += 32)
    _mm256_stream_si256((__m256i *)(d + i), _mm256_loadu_si256((const __m256i *)(s + i)));
  memcpy(d + i, s + i, bytes - i);
}

/* SFENCE: a thread's non-temporal stores ordered before its later stores
 * (and so before the barrier that ends its share of a call). */
void ie__stream_fence(void) { _mm_sfence(); }

/* The size of one CPUID cache-parameters leaf's largest cache of level 2 or
 * more (leaf 4, Intel; 0x8000001D, AMD): ways × partitions × line × sets. */
static int64_t largest_cache(unsigned leaf) {
  int64_t best = 0;
  for (unsigned sub = 0; sub < 16; sub++) {
    unsigned a, b, c, d;
    __cpuid_count(leaf, sub, a, b, c, d);
    if ((a & 31) == 0) break; /* no more caches */
    if (((a >> 5) & 7) < 2) continue;
    const int64_t size = (int64_t)((b >> 22) + 1) * (((b >> 12) & 1023) + 1) * ((b & 4095) + 1) * ((int64_t)c + 1);
    best = size > best ? size : best;
  }
  return best;
}

int64_t ie__llc_bytes(void) {
  /* (sysconf's figure came from an older leaf: 320 MiB for a 32 MiB L3) */
  const unsigned ext = __get_cpuid_max(0x80000000u, NULL), basic = __get_cpuid_max(0, NULL);
  int64_t size = ext >= 0x8000001Du ? largest_cache(0x8000001Du) : 0;
  if (size == 0 && basic >= 4) size = largest_cache(4);
  return size;
}

/* bf16 to float, exactly: the 16 bits are a float's upper half.  With the
 * source requested 4 KB ahead (the caller's loops prefetch their f32 rows,
 * not the 16-bit rows they widen).  Compiled for AVX2: the portable loop
 * ran as SSE2 in the row kernels, a quarter of a bf16 KL's time. */
__attribute__((target("avx2"))) void ie__bf16_to_float_avx2(const uint16_t *h, float *out, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __builtin_prefetch(h + i + 2048);
    const __m256i lo = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i)));
    const __m256i hi = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i + 8)));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(lo, 16)));
    _mm256_storeu_ps(out + i + 8, _mm256_castsi256_ps(_mm256_slli_epi32(hi, 16)));
  }
  for (; i < n; i++) out[i] = ie__bf16_to_float(h[i]);
}

#endif
