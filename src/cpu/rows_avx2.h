/*
 * rows_avx2.h — PRIVATE.  The vector inner sums of the f32 row kernels
 * (the KL family, logsumexp, Shannon entropy: kl_simd.h, built for AVX2/FMA
 * in kl_avx2.c and for AVX-512F/DQ in kl_avx512.c) and their f16 widening, on
 * x86-64 with GCC or clang.
 */
#ifndef IE_CPU_ROWS_AVX2_H
#define IE_CPU_ROWS_AVX2_H

#include <stddef.h>
#include <stdint.h>

/* The sums a KL-family chunk needs (rows.c, two_row_f32). */
enum { IE_KL_T1 = 1, IE_KL_T2 = 2, IE_KL_CE = 4, IE_KL_STORE = 8, IE_KL_POW = 16, IE_KL_CS = 64 };

#if defined(__x86_64__) && defined(__GNUC__)
#define IE_HAVE_AVX2_KL 1
/* 1 if this CPU has AVX2, FMA and F16C, and IE_CPU_NO_AVX2=1 is not set in
 * the environment (the tests use it to run the portable loops). */
int ie__kl_avx2_usable(void);
/* 1 if it also has AVX-512F and AVX-512DQ, and IE_CPU_NO_AVX512=1 is not
 * set (the tests use it to run the AVX2 loops on such a CPU). */
int ie__kl_avx512_usable(void);
/* f16 bits h[0..n) to float (where ie__kl_avx2_usable). */
void ie__half_to_float_f16c(const uint16_t *h, float *out, int n);
/* bytes bytes of src to dst with non-temporal stores (where
 * ie__kl_avx2_usable); ie__stream_fence after the last. */
void ie__stream_bytes_avx2(void *dst, const void *src, size_t bytes);
void ie__stream_fence(void);
/* The last-level cache's size in bytes from CPUID, 0 where it does not say. */
int64_t ie__llc_bytes(void);
/* f[0..n) to f16 bits (where ie__kl_avx2_usable). */
void ie__float_to_half_f16c(const float *f, uint16_t *h, int n);
/* bf16 bits h[0..n) to float (where ie__kl_avx2_usable). */
void ie__bf16_to_float_avx2(const uint16_t *h, float *out, int n);
/* Over p[0..n), q[0..n) (f32 logits, temperature factor `it`): out =
 * {Σ e1, Σ e2, t1, t2, max p, max q, gb}, where e1 = e^{(p − rp)·it},
 * e2 = e^{(q − rq)·it} and `want` picks
 * the sums t1, t2 (those not picked, or with want = 0 both, are 0).  With
 * L = (p − q)·it − c, k = e^{c − (rp − rq)·it} and φ(x) = e^{−x} − 1 + x:
 *   IE_KL_T1    t1 = Σ e1·φ(L)          (e1·e^{−L} = k·e2)
 *   IE_KL_T2    t2 = Σ e2·φ(−L)         (e2·e^{L} = e1/k; or both, T1 | T2)
 *   IE_KL_CE    t1 = Σ e1·(q − rq)·it
 *   IE_KL_STORE (alone) no t1, t2; e1 and e2 themselves into ep[0..n), eq[0..n)
 *               (the second pass of JS reads them instead of taking exps)
 *   IE_KL_POW | IE_KL_T1  t1 = Σ e1·ψ(−L),
 *   IE_KL_POW | IE_KL_T2  t2 = Σ e2·ψ(L),
 *               ψ(x) = e^{gx} − 1 − g·(e^x − 1), the power family's sum
 *               (kl_simd.h, power_psi), and gb the largest |g·L| of a term
 *               e1·e^{−gL} (e2·e^{gL}) above e^−20 (gb is 0 for other sets)
 *   IE_KL_CS    Σ e1², Σ e2² in place of Σ e1, Σ e2, and t1 = Σ e1·e2
 *               (Cauchy–Schwarz's three sums)
 * Another set gives NaN sums.
 * The sums are garbage where an argument exceeds 88: the caller sums such a
 * chunk again against its own maxima.  NaN, ±inf entries make the sums
 * non-finite or the maxima +inf, except NaN/−inf cases that the AVX2 sums
 * carry as 0 (their exp clamps its argument at −88; the caller checks).
 * The AVX-512 sums do not clamp: an argument that a float does not hold
 * (−inf, or a difference of huge logits) makes them non-finite. */
void ie__kl_chunk_avx2(const float *p, const float *q, int n, float it, float rp, float rq,
                       float c, float k, float g, int want, float out[7], float *ep, float *eq);
/* Over p[0..n) (f32 logits): out = {Σ e^{(p − rm)·it}, max p},
 * logsumexp's sum for a chunk below its row's max rm with the chunk's scan.
 * The sum is meaningful only where max p < rm and the sum is finite (else
 * the caller takes the chunk its own way). */
void ie__lse_chunk_avx2(const float *p, int n, float it, float rm, float out[2]);
/* Over p[0..n) (f32 logits): out = {Σ e^d, Σ e^d·d, max p}, d = (p − rm)·(it
 * + itl), Shannon entropy's sums for a chunk below its row's max rm (am1 =
 * 0); with am1 = α − 1 ≠ 0 (al = α), Rényi's and Tsallis's, out[1] = Σ
 * e^d·expm1((α−1)·d).  Only meaningful where max p < rm and both sums are
 * finite (else the caller takes the chunk its own way). */
void ie__ent_chunk_avx2(const float *p, int n, float it, float itl, float rm, float al, float am1,
                        float out[3]);
/* JS's pass 2 from the logits (rows.c, pass2_f32, β in [0.45, 0.55]):
 * log p = (p − rp)·it − lsp, log q likewise, and δ = log q/p = ((q − p) −
 * dr)·it − dls. */
typedef struct {
  float it, rp, rq, dr, lsp, lsq, dls, be, be1;
} ie_js_consts;
/* Σ of JS's terms over the first n − n % 8 pairs of p, q (n − n % 16 for
 * the AVX-512 sum), the caller taking the rest. */
float ie__js_chunk_avx2(const float *p, const float *q, int n, const ie_js_consts *jc);
/* The same, 16 lanes at a time. */
float ie__js_chunk_avx512(const float *p, const float *q, int n, const ie_js_consts *jc);
void ie__kl_chunk_avx512(const float *p, const float *q, int n, float it, float rp, float rq,
                         float c, float k, float g, int want, float out[7], float *ep, float *eq);
void ie__lse_chunk_avx512(const float *p, int n, float it, float rm, float out[2]);
void ie__ent_chunk_avx512(const float *p, int n, float it, float itl, float rm, float al,
                          float am1, float out[3]);
#else
#define IE_HAVE_AVX2_KL 0
#endif

#endif
