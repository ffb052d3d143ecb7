/*
 * rows_avx2.h — PRIVATE.  The AVX2/FMA inner sums of the f32 KL-family row
 * kernel (kl_avx2.c), on x86-64 with GCC or clang.
 */
#ifndef IE_CPU_ROWS_AVX2_H
#define IE_CPU_ROWS_AVX2_H

#if defined(__x86_64__) && defined(__GNUC__)
#define IE_HAVE_AVX2_KL 1
/* 1 if this CPU has AVX2 and FMA. */
int ie__kl_avx2_usable(void);
/* Over p[0..n), q[0..n) (finite f32 logits, times `it`): out = {Σ e1, Σ e2,
 * Σ e1·(u − v) or, with `ce`, Σ e1·(v − mq), Σ e2·(v − u)}, where u = it·p,
 * v = it·q, e1 = e^{u−mp}, e2 = e^{v−mq}. */
void ie__kl_chunk_avx2(const float *p, const float *q, int n, float it, float mp, float mq,
                       int ce, float out[4]);
/* Σ e^{it·p[i] − m} over p[0..n) (finite f32 logits, it·p ≤ m). */
float ie__lse_chunk_avx2(const float *p, int n, float it, float m);
#else
#define IE_HAVE_AVX2_KL 0
#endif

#endif
