/*
 * spectral.cl — similarity matrices for the spectral measures (docs/SPEC.md §6)
 * on a GPU: compiled as OpenCL C by the OpenCL backend (src/opencl/spectral.c)
 * and as CUDA C++ by the CUDA backend (src/cuda/spectral.cu).  Names start
 * with spec_.  Every kernel comes in a float version (_f32) and a double one
 * (_f64; OpenCL: where the device has cl_khr_fp64): T is the working dtype of
 * the matrices; sums and entries are computed in spec_real (double, but for
 * an OpenCL device without fp64) and rounded to T once.
 *
 * A matrix is built in three steps, the same on both backends:
 *  1. spec_rows: one group (SPEC_NT work-items) a sample row: ‖x_r‖² and a
 *     finiteness check (a tree of partial sums in a fixed order), the row
 *     copied to xw (compact rows × d, in T), under cosine as x̂ = x/‖x‖;
 *  2. the Gram G = X Xᵀ (primal, per set of n rows) or X̂ᵀX̂ (dual): cuBLAS
 *     on CUDA, spec_product on OpenCL (one work-item an entry; both
 *     triangles summed in the same order, so G is exactly symmetric);
 *  3. spec_finish: the kernel value of each entry (spectral_terms.h), out =
 *     scale·v, or out ∘= scale·v.
 * A given K (precomputed) is one step, spec_given: one work-item a row.
 * spec_flags then finds the first flagged row (a bad row; a given K's
 * first row off symmetry or off the unit diagonal), the only bytes that
 * cross to the host.
 * Matrices: x is row-major with row stride `stride` elements, of dtype dt
 * (widen.h's codes), starting `off` bytes into its buffer; `sets` sets of n
 * rows follow each other.  out holds sets·m·m elements of T.
 */
#include "vendor.h"
#include "widen.h"
#include "spectral_terms.h"

#define SPEC_NT 64 /* work-items a group in spec_rows (a power of two) */

#if defined(IE_KERNEL_OPENCL) && !defined(cl_khr_fp64)
#define spec_load widen_load_f
#else
#define spec_load widen_load
#endif

#define SPEC_KERNELS(T, SUF)                                                                   \
  /* err[r]: SPEC_ROW_NONFINITE, or SPEC_ROW_EMPTY for a zero row under cosine. */             \
  KERNEL void spec_rows_##SUF(GLOBAL const ie_u8 *x, ie_u64 off, ie_i64 stride, int dt,        \
                              ie_i64 rows, ie_i64 d, int cosine, GLOBAL T *xw, GLOBAL T *sq,   \
                              GLOBAL ie_i32 *err)                                              \
  {                                                                                            \
    LOCAL_ARRAY(spec_real, qs, SPEC_NT);                                                       \
    LOCAL_ARRAY(int, fs, SPEC_NT);                                                             \
    const int lane = (int)LOCAL_ID();                                                          \
    GLOBAL const ie_u8 *base = x + off;                                                        \
    for (ie_i64 r = GROUP_ID(); r < rows; r += NUM_GROUPS()) {                                 \
      spec_real q = 0;                                                                         \
      int finite = 1;                                                                          \
      for (ie_i64 k = lane; k < d; k += SPEC_NT) {                                             \
        const spec_real v = spec_load(base, r * stride + k, dt);                               \
        finite &= isfinite(v) ? 1 : 0;                                                         \
        q += v * v;                                                                            \
      }                                                                                        \
      qs[lane] = q;                                                                            \
      fs[lane] = finite;                                                                       \
      BARRIER();                                                                               \
      for (int s = SPEC_NT / 2; s > 0; s >>= 1) {                                              \
        if (lane < s) {                                                                        \
          qs[lane] += qs[lane + s];                                                            \
          fs[lane] &= fs[lane + s];                                                            \
        }                                                                                      \
        BARRIER();                                                                             \
      }                                                                                        \
      q = qs[0];                                                                               \
      finite = fs[0];                                                                          \
      BARRIER(); /* qs and fs are the next row's */                                            \
      const int e = !finite ? SPEC_ROW_NONFINITE : (cosine && !(q > 0)) ? SPEC_ROW_EMPTY : 0;  \
      const spec_real inv = cosine && !e ? (spec_real)1 / sqrt(q) : (spec_real)1;              \
      for (ie_i64 k = lane; k < d; k += SPEC_NT)                                               \
        xw[r * d + k] = (T)(spec_load(base, r * stride + k, dt) * inv);                        \
      if (lane == 0) {                                                                         \
        err[r] = e;                                                                            \
        sq[r] = (T)q;                                                                          \
      }                                                                                        \
    }                                                                                          \
  }                                                                                            \
                                                                                               \
  /* g[s, a, b] = Σ_k x_ak x_bk over set s's n rows of d (primal, m = n) or         \
   * Σ_i x̂_ia x̂_ib over its n samples (dual, m = d). */                                   \
  KERNEL void spec_product_##SUF(GLOBAL const T *xw, ie_i64 sets, ie_i64 n, ie_i64 d,          \
                                 ie_i64 m, int dual, GLOBAL T *g)                              \
  {                                                                                            \
    const ie_i64 total = sets * m * m;                                                         \
    for (ie_i64 e = GLOBAL_ID(); e < total; e += GLOBAL_SIZE()) {                              \
      const ie_i64 s = e / (m * m), ab = e - s * m * m, a = ab / m, b = ab - a * m;            \
      GLOBAL const T *xs = xw + s * n * d;                                                     \
      spec_real acc = 0;                                                                       \
      if (dual)                                                                                \
        for (ie_i64 i = 0; i < n; i++) acc += (spec_real)xs[i * d + a] * xs[i * d + b];        \
      else                                                                                     \
        for (ie_i64 k = 0; k < d; k++) acc += (spec_real)xs[a * d + k] * xs[b * d + k];        \
      g[e] = (T)acc;                                                                           \
    }                                                                                          \
  }                                                                                            \
                                                                                               \
  /* out[s, a, b] = scale·v (mul: out ∘= scale·v), v the kernel value of g's entry. */        \
  KERNEL void spec_finish_##SUF(GLOBAL const T *g, GLOBAL const T *sq, ie_i64 sets, ie_i64 n,  \
                                ie_i64 m, int rbf, int dual, spec_real gamma,                  \
                                spec_real scale, int mul, GLOBAL T *out)                       \
  {                                                                                            \
    const ie_i64 total = sets * m * m;                                                         \
    for (ie_i64 i = GLOBAL_ID(); i < total; i += GLOBAL_SIZE()) {                              \
      const ie_i64 s = i / (m * m), ab = i - s * m * m, a = ab / m, b = ab - a * m;            \
      const spec_real v =                                                                      \
          scale * spec_kernel_value(rbf, dual, a == b, g[i], rbf ? sq[s * n + a] : 0,          \
                                    rbf ? sq[s * n + b] : 0, gamma);                           \
      out[i] = mul ? (T)((spec_real)out[i] * v) : (T)v;                                        \
    }                                                                                          \
  }                                                                                            \
                                                                                               \
  /* One work-item a row a of a given K (sets of n × n): out = scale·½(K + Kᵀ)   \
   * (or ∘=), dev[a] = max_b max(|K_ab − K_ba|, |K_aa − 1|), err[a] for NaN or  \
   * ±inf in the row (then dev[a] = 0). */                                                  \
  KERNEL void spec_given_##SUF(GLOBAL const ie_u8 *x, ie_u64 off, ie_i64 stride, int dt,       \
                               ie_i64 n, ie_i64 sets, spec_real scale, int mul, GLOBAL T *out, \
                               GLOBAL ie_i32 *err, GLOBAL spec_real *dev)                      \
  {                                                                                            \
    GLOBAL const ie_u8 *base = x + off;                                                        \
    for (ie_i64 r = GLOBAL_ID(); r < n * sets; r += GLOBAL_SIZE()) {                           \
      const ie_i64 s = r / n, a = r - s * n, first = s * n;                                    \
      spec_real dv = fabs(spec_load(base, r * stride + a, dt) - (spec_real)1);                 \
      int finite = 1;                                                                          \
      for (ie_i64 b = 0; b < n; b++) {                                                         \
        const spec_real kab = spec_load(base, r * stride + b, dt);                             \
        const spec_real kba = spec_load(base, (first + b) * stride + a, dt);                   \
        finite &= isfinite(kab) ? 1 : 0;                                                       \
        dv = fmax(dv, fabs(kab - kba));                                                        \
        GLOBAL T *o = out + (s * n + a) * n + b;                                               \
        const spec_real v = spec_given_value(scale, kab, kba);                                 \
        *o = mul ? (T)((spec_real)*o * v) : (T)v;                                              \
      }                                                                                        \
      err[r] = finite ? 0 : SPEC_ROW_NONFINITE;                                                \
      dev[r] = finite ? dv : (spec_real)0;                                                     \
    }                                                                                          \
  }

/* The flags of a Gram step, found on the device so that only they cross to
 * the host: one group of SPEC_NT work-items scans err (and dev, has_dev)
 * of `rows` rows; flag[0] = the first row with a non-zero code (−1: none),
 * flag[1] = its code, flag[2] = the first row whose deviation exceeds tol
 * (−1: none). */
KERNEL void spec_flags(GLOBAL const ie_i32 *err, GLOBAL const spec_real *dev, ie_i64 rows, int has_dev,
                       spec_real tol, GLOBAL ie_i64 *flag)
{
  LOCAL_ARRAY(ie_i64, fe, SPEC_NT);
  LOCAL_ARRAY(ie_i64, fd, SPEC_NT);
  const int lane = (int)LOCAL_ID();
  ie_i64 e = rows, dv = rows;
  for (ie_i64 r = lane; r < rows && (e == rows || (has_dev && dv == rows)); r += SPEC_NT) {
    if (e == rows && err[r]) e = r;
    if (has_dev && dv == rows && dev[r] > tol) dv = r;
  }
  fe[lane] = e;
  fd[lane] = dv;
  BARRIER();
  for (int s = SPEC_NT / 2; s > 0; s >>= 1) {
    if (lane < s) {
      fe[lane] = fe[lane + s] < fe[lane] ? fe[lane + s] : fe[lane];
      fd[lane] = fd[lane + s] < fd[lane] ? fd[lane + s] : fd[lane];
    }
    BARRIER();
  }
  if (lane == 0) {
    flag[0] = fe[0] < rows ? fe[0] : -1;
    flag[1] = fe[0] < rows ? (ie_i64)err[fe[0]] : 0;
    flag[2] = fd[0] < rows ? fd[0] : -1;
  }
}

SPEC_KERNELS(float, f32)
#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)
SPEC_KERNELS(double, f64)
#endif
