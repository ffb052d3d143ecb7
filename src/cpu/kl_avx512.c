/*
 * kl_avx512.c — kl_simd.h's sums with 16 lanes of AVX-512F (and DQ's
 * VREDUCEPS), for CPUs that have both (rows.c picks them at run time, before
 * the AVX2 ones).
 */
#include "rows_avx2.h"

#if IE_HAVE_AVX2_KL
#include <immintrin.h>

#define KL_TARGET __attribute__((target("avx512f,avx512dq,fma")))
#define KL_SUFFIX _avx512
#define KL_LANES 16
typedef __m512 vec;
typedef __mmask16 vmask;
#define V_SET1 _mm512_set1_ps
#define V_LOAD _mm512_loadu_ps
#define V_STORE _mm512_storeu_ps
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_MAX _mm512_max_ps
#define V_MIN _mm512_min_ps
#define V_XOR(a, b) _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define V_OR(a, b) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define V_FMADD _mm512_fmadd_ps
#define V_FMSUB _mm512_fmsub_ps
#define V_FNMADD _mm512_fnmadd_ps
#define V_LT(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define V_EQ(a, b) _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ)
#define M_AND(a, b) ((vmask)((a) & (b)))
#define V_BLEND(m, a, b) _mm512_mask_blend_ps(m, a, b)
#define V_FIRST _mm512_cvtss_f32
#define V_RCP _mm512_rcp14_ps /* 2^-14 relative */
#define V_HSUM _mm512_reduce_add_ps
#define V_HMAX _mm512_reduce_max_ps
/* p·2^n for any n (VSCALEFPS): one operation, and no clamp on exp's argument */
#define V_EXP2N(p, t, n) _mm512_scalef_ps(p, n)
#define KL_EXP2N_ANY_N 1
/* y − ⌊y⌋, exact (AVX-512DQ's VREDUCEPS, rounding down) */
#define V_FRAC(y) _mm512_reduce_ps(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
#define KL_HAVE_FRAC 1

#include "kl_simd.h"

int ie__kl_avx512_usable(void) {
  const char *off = getenv("IE_CPU_NO_AVX512"); /* tests of the AVX2 loops */
  if ((off && off[0] == '1') || !ie__kl_avx2_usable()) return 0;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

#endif
