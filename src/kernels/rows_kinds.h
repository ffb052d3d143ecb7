/*
 * rows_kinds.h — the codes that the row kernels (rows.cl) and their host
 * launchers (src/opencl/ocl_rows.c, src/cuda/rows.cu, through rows_plan.h)
 * share: written once here, never mirrored by hand.
 *
 * docs/KERNELS.md is the arithmetic these codes name.
 */
#ifndef IE_KERNELS_ROWS_KINDS_H
#define IE_KERNELS_ROWS_KINDS_H

/* Element types: ie_dtype of src/backend.h (checked below on the host). */
#define ROWS_F32 0
#define ROWS_F16 1
#define ROWS_BF16 2
#define ROWS_F64 3

/* Row errors: ie_rowerr_code of src/backend.h, worst last, plus one code
 * that never leaves the kernels: an NLL row whose label is the ignore
 * index (value 0, no error). */
#define ROWS_ERR_NONFINITE 1
#define ROWS_ERR_NEGATIVE 2
#define ROWS_ERR_EMPTY 3
#define ROWS_ERR_BAD_LABEL 4
#define ROWS_ERR_IGNORED 64

/* Input kinds: ie_input_kind. */
#define ROWS_LOGITS 0
#define ROWS_PROBS 1

/* What one row's value is (the finish kernels' switch). */
#define ROWS_LOGSUMEXP 0
#define ROWS_NLL 1
#define ROWS_SHANNON 2
#define ROWS_RENYI 3          /* Rényi entropy, finite order */
#define ROWS_RENYI_INF 4      /* Rényi entropy of order ∞: −log max p */
#define ROWS_TSALLIS 5        /* Tsallis entropy */
#define ROWS_CROSS_ENTROPY 6
#define ROWS_KL 7
#define ROWS_REVERSE_KL 8
#define ROWS_JEFFREYS 9
#define ROWS_JS 10
#define ROWS_TV 11
#define ROWS_HELLINGER 12
#define ROWS_BHATTACHARYYA 13
#define ROWS_CHI2 14
#define ROWS_ALPHA_DIV 15     /* Amari α-divergence */
#define ROWS_RENYI_DIV 16     /* Rényi divergence, finite order */
#define ROWS_TSALLIS_DIV 17
#define ROWS_RENYI_INF_DIV 18 /* Rényi divergence of order ∞ */
#define ROWS_CAUCHY_SCHWARZ 19

/* Pass 1: what the online state of one read accumulates. */
#define ROWS_STATE_LSE 0     /* one matrix: max, Σ e^{z−m} */
#define ROWS_STATE_SHANNON 1 /* + T = Σ e^{z−m}(z − m) */
#define ROWS_STATE_POWER 2   /* + U = Σ e^{α(z−m)}, V = Σ e^{z−m}·expm1((α−1)(z−m)) */
#define ROWS_STATE_NLL 3     /* max, Σ; the label's log-weight */
#define ROWS_STATE_PAIR 4    /* two matrices: both (max, Σ), B = Σ e^{zp−mp}(zq − mq) */

/* Pass 2: which terms the second read sums (kinds that need normalised p, q). */
#define ROWS_TERMS_NONE (-1) /* the value comes from pass 1 alone */
#define ROWS_TERMS_KL 0      /* Σ p·φ(−δ), Σ q·φ(δ): KL, reverse KL, Jeffreys */
#define ROWS_TERMS_JS 1
#define ROWS_TERMS_TV 2
#define ROWS_TERMS_HELLINGER 3
#define ROWS_TERMS_BHATTACHARYYA 4
#define ROWS_TERMS_CHI2 5
#define ROWS_TERMS_POWER_P 6 /* alpha, Rényi, Tsallis, α ≥ ½: W = Σ p·expm1((1−α)δ) */
#define ROWS_TERMS_POWER_Q 7 /* the same, α < ½: W = Σ q·expm1(−αδ) */
#define ROWS_TERMS_RENYI_INF 8
#define ROWS_TERMS_CAUCHY_SCHWARZ 9

/* Floats a partial state holds (one per (row, chunk) team). */
#define ROWS_ONE_N 7  /* m, S, X (T or U), V, y; the low parts of log m, log y */
#define ROWS_PAIR_N 8 /* mp, Sp, B, mq, Sq, flags; the low parts of log mp, log mq */
#define ROWS_SUMS_N 6 /* pass-2 sums s0 .. s5 */
#define ROWS_STATS_N 5 /* doubles a row hands to pass 2: mp, Lp, mq, Lq, C */

/* Work-items of a work-group (CUDA block), at most: the local arrays of the
 * row kernels are sized for it. */
#define ROWS_WG_MAX 256

/* The host's codes are the kernels' (host compilers only). */
#if defined(IE_BACKEND_H) && !defined(__CUDA_ARCH__)
#ifdef __cplusplus
#define ROWS_KINDS_ASSERT(c, m) static_assert(c, m)
#else
#define ROWS_KINDS_ASSERT(c, m) _Static_assert(c, m)
#endif
ROWS_KINDS_ASSERT(ROWS_F32 == IE_DT_F32 && ROWS_F16 == IE_DT_F16 && ROWS_BF16 == IE_DT_BF16 &&
                      ROWS_F64 == IE_DT_F64,
                  "rows_kinds.h dtype codes");
ROWS_KINDS_ASSERT(ROWS_ERR_NONFINITE == IE_ROW_NONFINITE && ROWS_ERR_NEGATIVE == IE_ROW_NEGATIVE &&
                      ROWS_ERR_EMPTY == IE_ROW_EMPTY && ROWS_ERR_BAD_LABEL == IE_ROW_BAD_LABEL &&
                      sizeof(ie_rowerr) == 4,
                  "rows_kinds.h row error codes");
ROWS_KINDS_ASSERT(ROWS_LOGITS == IE_INPUT_LOGITS && ROWS_PROBS == IE_INPUT_PROBS,
                  "rows_kinds.h input kinds");
#undef ROWS_KINDS_ASSERT
#endif

#endif /* IE_KERNELS_ROWS_KINDS_H */
