/*
 * convert.h — PRIVATE.  fp16 / bf16 to and from wider floats, on the host.
 */
#ifndef IE_CPU_CONVERT_H
#define IE_CPU_CONVERT_H

#include <stdint.h>
#include <string.h>

static inline float ie__f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline uint32_t ie__bits_from_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* IEEE binary16 to float: exact. */
static inline float ie__half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0x1f) return ie__f32_from_bits(sign | 0x7f800000u | (m << 13));
  if (e == 0) { /* zero or subnormal: m · 2^-24 */
    float v = (float)m * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return ie__f32_from_bits(sign | ((e + 112) << 23) | (m << 13));
}

static inline float ie__bf16_to_float(uint16_t h) {
  return ie__f32_from_bits((uint32_t)h << 16);
}

/* float to bfloat16, round to nearest even; NaN stays NaN. */
static inline uint16_t ie__float_to_bf16(float f) {
  uint32_t u = ie__bits_from_f32(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* float to binary16, round to nearest even, overflow to inf. */
static inline uint16_t ie__float_to_half(float f) {
  uint32_t u = ie__bits_from_f32(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00; /* NaN */
  if (a >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: inf */
  if (a < 0x38800000u) { /* below 2^-14: subnormal or zero */
    /* Adding 0.5 (2^-1) aligns the binary point at 2^-24 and rounds RNE. */
    float v = ie__f32_from_bits(a) + 0.5f;
    return sign | (uint16_t)(ie__bits_from_f32(v) - 0x3f000000u);
  }
  uint32_t mant_odd = (a >> 13) & 1u;
  a += 0xc8000fffu + mant_odd; /* rebias exponent (-112 << 23) and round */
  return sign | (uint16_t)(a >> 13);
}

#endif
