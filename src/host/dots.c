/*
 * dots.c — the float dot products of MAUVE's k-means (docs/SPEC.md §8): a
 * block of rows against a few hundred centres of a few dozen coordinates.
 *
 * An sgemm call for such a block repacks the centres every time, and its
 * threads (OpenBLAS's own pool) fight the OpenMP team that runs the blocks:
 * measured on the 2-core development machine, the k-means steps took as
 * long on two threads as on one.  The tile below keeps 4 rows × 16
 * columns of sums in registers and reads the centres as they lie, so a
 * caller's OpenMP thread runs it on its own block with no BLAS call.
 */
#include "host.h"

/* 16 floats: one AVX-512 register, two AVX2 ones; the compiler splits it
 * where the clone's ISA is narrower.  The second type loads unaligned. */
typedef float f32x16 __attribute__((vector_size(64)));
typedef float f32x16u __attribute__((vector_size(64), aligned(4)));

IE_CPU_CLONES
void ie__dots_f32(const float *y, size_t ys, int64_t rows, int64_t r, const float *ct, size_t ldc, int64_t cols,
                  float *out, size_t ldo) {
  /* columns outer: a 16-column strip of the centres (r × 64 bytes) stays
   * in the L1 cache while every row of the block passes it */
  for (int64_t j = 0; j < cols; j += 16) {
    const float *cj = ct + (size_t)j;
    int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
      const float *y0 = y + (size_t)i * ys, *y1 = y0 + ys, *y2 = y1 + ys, *y3 = y2 + ys;
      f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
      for (int64_t t = 0; t < r; t++) {
        const f32x16 c = *(const f32x16u *)(cj + (size_t)t * ldc);
        a0 += y0[t] * c;
        a1 += y1[t] * c;
        a2 += y2[t] * c;
        a3 += y3[t] * c;
      }
      float *o = out + (size_t)i * ldo + (size_t)j;
      *(f32x16u *)o = a0;
      *(f32x16u *)(o + ldo) = a1;
      *(f32x16u *)(o + 2 * ldo) = a2;
      *(f32x16u *)(o + 3 * ldo) = a3;
    }
    for (; i < rows; i++) { /* the same chain a lane, one row at a time */
      const float *y0 = y + (size_t)i * ys;
      f32x16 a0 = {0};
      for (int64_t t = 0; t < r; t++) a0 += y0[t] * *(const f32x16u *)(cj + (size_t)t * ldc);
      *(f32x16u *)(out + (size_t)i * ldo + (size_t)j) = a0;
    }
  }
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
      a0 += y[t] * *(const f32x16u *)(c0 + o);
      a1 += y[t] * *(const f32x16u *)(c1 + o);
      a2 += y[t] * *(const f32x16u *)(c2 + o);
      a3 += y[t] * *(const f32x16u *)(c3 + o);
    }
    *(f32x16u *)(out + (size_t)s * 16) = a0;
    *(f32x16u *)(out + (size_t)(s + 1) * 16) = a1;
    *(f32x16u *)(out + (size_t)(s + 2) * 16) = a2;
    *(f32x16u *)(out + (size_t)(s + 3) * 16) = a3;
  }
  for (; s < count; s++) {
    const float *c0 = ct + (size_t)strips[s] * 16;
    f32x16 a0 = {0};
    for (int64_t t = 0; t < r; t++) a0 += y[t] * *(const f32x16u *)(c0 + (size_t)t * ldc);
    *(f32x16u *)(out + (size_t)s * 16) = a0;
  }
}
