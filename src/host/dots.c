/*
 * dots.c — the float dot products of MAUVE's k-means (docs/SPEC.md §8): a
 * block of rows against a few hundred centres of a few dozen coordinates.
 *
 * An sgemm call for such a block repacks the centres every time, and its
 * threads (OpenBLAS's own pool) fight the OpenMP team that runs the blocks:
 * measured on the 2-core development machine, the k-means steps took as
 * long on two threads as on one.  The tiles below keep 4 rows × 32 columns
 * of sums in registers where the CPU has AVX-512 (4 × 16 with AVX2, whose
 * 16 registers would spill the wider tile): eight chains of fused
 * multiply-adds in flight hide their latency (one thread: 4 × 16 tiles ran
 * at 25 G, 4 × 32 at 50 G multiply-adds a second on a Zen 4 core).  The
 * centres are read as they lie, so that a caller's OpenMP thread runs the
 * tile on its own block with no BLAS call.  Every sum is one chain over the
 * coordinates in order, whichever tile holds it.
 */
#include "host.h"

/* 16 floats: one AVX-512 register, two AVX2 ones; the compiler splits it
 * where the clone's ISA is narrower.  The second type loads unaligned. */
typedef float f32x16 __attribute__((vector_size(64)));
typedef float f32x16u __attribute__((vector_size(64), aligned(4)));

/* Inlined into each clone, so built for its ISA. */
#define INLINE static inline __attribute__((always_inline))
#define LOAD(p) (*(const f32x16u *)(p))
#define STORE(p, v) (*(f32x16u *)(p) = (v))

/* Four rows of 16 sums out, at o, o + ldo, ... (a macro: a vector passed
 * by value draws GCC's ABI note on the baseline build) */
#define STORE_4(o, ldo, a0, a1, a2, a3) \
  do {                                  \
    float *o_ = (o);                    \
    STORE(o_, a0);                      \
    STORE(o_ + (ldo), a1);              \
    STORE(o_ + 2 * (ldo), a2);          \
    STORE(o_ + 3 * (ldo), a3);          \
  } while (0)

/* Rows [i, rows) of the 16 columns at j, one row at a time. */
INLINE void rows_16(const float *y, size_t ys, int64_t i, int64_t rows, int64_t r, const float *cj,
                           size_t ldc, float *out, size_t ldo) {
  for (; i < rows; i++) {
    const float *y0 = y + (size_t)i * ys;
    f32x16 a = {0};
    for (int64_t t = 0; t < r; t++) a += y0[t] * LOAD(cj + (size_t)t * ldc);
    STORE(out + (size_t)i * ldo, a);
  }
}

/* The 16 columns at cj for every row, four rows a tile. */
INLINE void strip_16(const float *y, size_t ys, int64_t rows, int64_t r, const float *cj, size_t ldc,
                            float *out, size_t ldo) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float *y0 = y + (size_t)i * ys, *y1 = y0 + ys, *y2 = y1 + ys, *y3 = y2 + ys;
    f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (int64_t t = 0; t < r; t++) {
      const f32x16 c = LOAD(cj + (size_t)t * ldc);
      a0 += y0[t] * c;
      a1 += y1[t] * c;
      a2 += y2[t] * c;
      a3 += y3[t] * c;
    }
    STORE_4(out + (size_t)i * ldo, ldo, a0, a1, a2, a3);
  }
  rows_16(y, ys, i, rows, r, cj, ldc, out, ldo);
}

/* The 32 columns at cj for every row, four rows a tile. */
INLINE void strip_32(const float *y, size_t ys, int64_t rows, int64_t r, const float *cj, size_t ldc,
                            float *out, size_t ldo) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float *y0 = y + (size_t)i * ys, *y1 = y0 + ys, *y2 = y1 + ys, *y3 = y2 + ys;
    f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    for (int64_t t = 0; t < r; t++) {
      const f32x16 c = LOAD(cj + (size_t)t * ldc), d = LOAD(cj + (size_t)t * ldc + 16);
      a0 += y0[t] * c;
      a1 += y1[t] * c;
      a2 += y2[t] * c;
      a3 += y3[t] * c;
      b0 += y0[t] * d;
      b1 += y1[t] * d;
      b2 += y2[t] * d;
      b3 += y3[t] * d;
    }
    STORE_4(out + (size_t)i * ldo, ldo, a0, a1, a2, a3);
    STORE_4(out + (size_t)i * ldo + 16, ldo, b0, b1, b2, b3);
  }
  rows_16(y, ys, i, rows, r, cj, ldc, out, ldo);
  rows_16(y, ys, i, rows, r, cj + 16, ldc, out + 16, ldo);
}

/* Columns outer: a strip of the centres (r × 64 or 128 bytes) stays in the
 * L1 cache while every row of the block passes it. */
IE_CPU_CLONES
static void dots_narrow(const float *y, size_t ys, int64_t rows, int64_t r, const float *ct, size_t ldc, int64_t cols,
                        float *out, size_t ldo) {
  for (int64_t j = 0; j < cols; j += 16) strip_16(y, ys, rows, r, ct + j, ldc, out + j, ldo);
}

IE_CPU_CLONES
static void dots_wide(const float *y, size_t ys, int64_t rows, int64_t r, const float *ct, size_t ldc, int64_t cols,
                      float *out, size_t ldo) {
  int64_t j = 0;
  for (; j + 32 <= cols; j += 32) strip_32(y, ys, rows, r, ct + j, ldc, out + j, ldo);
  if (j < cols) strip_16(y, ys, rows, r, ct + j, ldc, out + j, ldo);
}

/* AVX-512: 32 vector registers, room for the wide tile. */
static int wide_tiles(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

void ie__dots_f32(const float *y, size_t ys, int64_t rows, int64_t r, const float *ct, size_t ldc, int64_t cols,
                  float *out, size_t ldo) {
  if (wide_tiles()) dots_wide(y, ys, rows, r, ct, ldc, cols, out, ldo);
  else dots_narrow(y, ys, rows, r, ct, ldc, cols, out, ldo);
}

IE_CPU_CLONES
void ie__dots_f32_strips(const float *y, int64_t r, const float *ct, size_t ldc, const int32_t *strips,
                         int64_t count, float *out) {
  int64_t s = 0;
  for (; s + 4 <= count; s += 4) { /* four chains side by side */
    const float *c0 = ct + (size_t)strips[s] * 16, *c1 = ct + (size_t)strips[s + 1] * 16;
    const float *c2 = ct + (size_t)strips[s + 2] * 16, *c3 = ct + (size_t)strips[s + 3] * 16;
    f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (int64_t t = 0; t < r; t++) {
      const size_t o = (size_t)t * ldc;
      a0 += y[t] * LOAD(c0 + o);
      a1 += y[t] * LOAD(c1 + o);
      a2 += y[t] * LOAD(c2 + o);
      a3 += y[t] * LOAD(c3 + o);
    }
    STORE_4(out + (size_t)s * 16, 16, a0, a1, a2, a3);
  }
  for (; s < count; s++) {
    const float *c0 = ct + (size_t)strips[s] * 16;
    f32x16 a = {0};
    for (int64_t t = 0; t < r; t++) a += y[t] * LOAD(c0 + (size_t)t * ldc);
    STORE(out + (size_t)s * 16, a);
  }
}
