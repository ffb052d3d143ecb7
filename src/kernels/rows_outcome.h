/*
 * rows_outcome.h — the outcome of a device-resident row call: what the
 * rows_outcome kernel (rows.cl) reduces on the device and the host reads back
 * in one small copy (src/rows.c), and the exact split of a double into the
 * fixed-point limbs of a partial state (src/partial.c uses the same split).
 *
 * The outcome is ROWS_OC_WORDS unsigned 64-bit words, zeroed before the call:
 *  - the exact sums Σ w·v and Σ w as IE_PARTIAL_LIMBS limbs each (limb k:
 *    weight 2^(32k − 1088)), added with 64-bit integer atomics: a negative
 *    piece is added as its two's complement, so each word ends as the signed
 *    sum of its pieces mod 2^64 (exact while a call has < 2^31 rows: every
 *    row adds less than 2^32 to a limb).  Integer addition in any order:
 *    the same bits as src/partial.c's sequential sum once normalised;
 *  - counts (kept rows, ±inf and NaN values, bad rows, bad weights);
 *  - "the least of" records (the first bad row and its code, the first bad
 *    weight, min and max of the kept values, the first kept zero and its
 *    sign) kept as an atomic maximum of a key where 0 means "none": a key
 *    that must be least is stored complemented.
 * Plain C for the host (through vendor.h), OpenCL C and CUDA for the kernel.
 */
#ifndef IE_KERNELS_ROWS_OUTCOME_H
#define IE_KERNELS_ROWS_OUTCOME_H

#include "vendor.h"

#define ROWS_OC_LIMBS 68 /* IE_PARTIAL_LIMBS (checked in src/rows.c) */
#define ROWS_OC_UNIT_EXP (-1088)

#define ROWS_OC_SUM 0                      /* [68] Σ w·v over finite kept values */
#define ROWS_OC_WSUM ROWS_OC_LIMBS         /* [68] Σ w over kept rows */
#define ROWS_OC_KEPT (2 * ROWS_OC_LIMBS)   /* rows with w != 0 */
#define ROWS_OC_PINF (ROWS_OC_KEPT + 1)    /* kept w·v = +inf */
#define ROWS_OC_NINF (ROWS_OC_KEPT + 2)    /* kept w·v = −inf */
#define ROWS_OC_NAN (ROWS_OC_KEPT + 3)     /* kept w·v NaN */
#define ROWS_OC_BAD (ROWS_OC_KEPT + 4)     /* rows with an error */
#define ROWS_OC_FIRST (ROWS_OC_KEPT + 5)   /* ~(row << 8 | code) of the first bad row */
#define ROWS_OC_WBAD (ROWS_OC_KEPT + 6)    /* weights not finite and >= 0 */
#define ROWS_OC_WFIRST (ROWS_OC_KEPT + 7)  /* ~row of the first bad weight */
#define ROWS_OC_MIN (ROWS_OC_KEPT + 8)     /* ~key(min v) */
#define ROWS_OC_MAX (ROWS_OC_KEPT + 9)     /* key(max v) */
#define ROWS_OC_ZERO (ROWS_OC_KEPT + 10)   /* ~(row << 1 | sign) of the first kept v = ±0 */
#define ROWS_OC_WORDS (ROWS_OC_KEPT + 11)  /* 147 words: 1176 bytes */

/* A double as an unsigned key that orders like the double (−0 < +0; no
 * NaN is ever keyed): flip every bit of a negative, the sign bit of the rest. */
FN ie_u64 rows_oc_key(double v) {
  const ie_u64 b = AS_ULONG(v);
  return (b >> 63) ? ~b : (b | ((ie_u64)1 << 63));
}
FN double rows_oc_unkey(ie_u64 k) {
  return AS_DOUBLE((k >> 63) ? (k & ~((ie_u64)1 << 63)) : ~k);
}

/* x (finite, != 0) = ±m·2^shift exactly, m < 2^53, shift >= −1074: three
 * 32-bit pieces p[0..2] for limbs k, k+1, k+2 (limb k has weight
 * 2^(32k − 1088)), each < 2^32.  Returns k; *neg is 1 for x < 0. */
FN int rows_oc_split(double x, ie_u64 *p, int *neg) {
  const ie_u64 b = AS_ULONG(x);
  const int e = (int)((b >> 52) & 0x7ff);
  const ie_u64 frac = b & (((ie_u64)1 << 52) - 1);
  const ie_u64 m = e ? frac | ((ie_u64)1 << 52) : frac; /* subnormal: no hidden bit */
  const int shift = e ? e - 1075 : -1074;
  const int pos = shift - ROWS_OC_UNIT_EXP; /* >= 14 */
  const int k = pos / 32, s = pos % 32;
  const ie_u64 rest = s ? m >> (32 - s) : m >> 32;
  p[0] = (m << s) & 0xffffffffu;
  p[1] = rest & 0xffffffffu;
  p[2] = rest >> 32;
  *neg = (int)(b >> 63);
  return k;
}

#endif /* IE_KERNELS_ROWS_OUTCOME_H */
