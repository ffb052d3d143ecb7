/*
 * spectral.cl — similarity matrices for the spectral measures (docs/SPEC.md §6),
 * built on the device; the eigen step runs on the host (src/opencl/spectral.c).
 * Self-contained (names ie_sp_*), OpenCL C 1.2.  Every kernel comes in a
 * float version (_f32) and, where the device has cl_khr_fp64, a double one
 * (_f64): T is the working precision of the Gram and of the eigen step.
 *
 * Matrices: x is row-major with row stride `stride` elements, dtype dt
 * (0 f32, 1 f16, 2 bf16; the codes of ie_dtype), starting `off` bytes into
 * its buffer; `sets` sets of n rows follow each other.  out holds sets·m·m
 * elements of T.
 */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define IE_SP_F32 0
#define IE_SP_F16 1
#define IE_SP_BF16 2
#define IE_SP_ROW_NONFINITE 1
#define IE_SP_ROW_EMPTY 3
#define IE_SP_COSINE 0
#define IE_SP_RBF 1

/* Element i of a matrix of dtype dt at byte offset off, widened to float. */
static inline float ie_sp_load(global const uchar *b, ulong off, ulong i, int dt) {
  b += off;
  if (dt == IE_SP_F16) return vload_half(i, (global const half *)b);
  if (dt == IE_SP_BF16) return as_float((uint)((global const ushort *)b)[i] << 16);
  return ((global const float *)b)[i];
}

/*
 * ie_sp_rows_T — one work-item a sample row r: ‖x_r‖², a finiteness check,
 * and the row copied to xw (compact, rows × d) in T; under cosine divided by
 * its norm (x̂ = x/‖x‖).  err[r]: 1 NaN/inf, 3 zero row under cosine.
 *
 * ie_sp_gram_T — one work-item an entry (a, b) of set s: G = x_a·x_b over
 * the d features (primal) or G = Σ_i x̂_ia x̂_ib over the n samples (dual);
 * rbf: exp(−γ max(0, ‖x_a‖² + ‖x_b‖² − 2G)); the primal diagonal is exactly
 * 1.  out = scale·G (mul: out ∘= scale·G).  Both triangles use the same
 * summation order, so the matrix is exactly symmetric.
 *
 * ie_sp_given_T — one work-item a row a of a given K: out = scale·½(K + Kᵀ)
 * (or ∘=), dev[a] = max_b max(|K_ab − K_ba|, |K_aa − 1|), err[a] = 1 for NaN
 * or ±inf in the row.
 */
#define IE_SP_KERNELS(T, SUF)                                                             \
  kernel void ie_sp_rows_##SUF(global const uchar *x, ulong off, long stride, int dt,     \
                               long rows, long d, int cosine, global T *xw,               \
                               global T *sq, global int *err) {                           \
    long r = get_global_id(0);                                                            \
    if (r >= rows) return;                                                                \
    T q = 0;                                                                              \
    int finite = 1;                                                                       \
    for (long k = 0; k < d; k++) {                                                        \
      T v = (T)ie_sp_load(x, off, (ulong)(r * stride + k), dt);                           \
      finite &= isfinite(v) ? 1 : 0;                                                      \
      q += v * v;                                                                         \
      xw[r * d + k] = v;                                                                  \
    }                                                                                     \
    int e = !finite ? IE_SP_ROW_NONFINITE : (cosine && !(q > 0)) ? IE_SP_ROW_EMPTY : 0;   \
    err[r] = e;                                                                           \
    sq[r] = q;                                                                            \
    if (cosine && !e) {                                                                   \
      T inv = (T)1 / sqrt(q);                                                             \
      for (long k = 0; k < d; k++) xw[r * d + k] *= inv;                                  \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  kernel void ie_sp_gram_##SUF(global const T *xw, global const T *sq, long n, long d,    \
                               long m, int kernel_kind, int dual, T gamma, T scale,       \
                               int mul, global T *out) {                                  \
    long a = get_global_id(0), b = get_global_id(1), s = get_global_id(2);                \
    if (a >= m || b >= m) return;                                                         \
    global const T *xs = xw + s * n * d;                                                  \
    T g = 0;                                                                              \
    if (dual) {                                                                           \
      for (long i = 0; i < n; i++) g += xs[i * d + a] * xs[i * d + b];                    \
    } else {                                                                              \
      for (long k = 0; k < d; k++) g += xs[a * d + k] * xs[b * d + k];                    \
    }                                                                                     \
    if (kernel_kind == IE_SP_RBF)                                                         \
      g = a == b ? (T)1                                                                   \
                 : exp(-gamma * fmax((T)0, sq[s * n + a] + sq[s * n + b] - 2 * g));      \
    else if (!dual && a == b)                                                             \
      g = (T)1;                                                                           \
    global T *o = out + (s * m + a) * m + b;                                              \
    *o = mul ? *o * (scale * g) : scale * g;                                              \
  }                                                                                       \
                                                                                          \
  kernel void ie_sp_given_##SUF(global const uchar *x, ulong off, long stride, int dt,    \
                                long n, long sets, T scale, int mul, global T *out,       \
                                global int *err, global T *dev) {                         \
    long r = get_global_id(0);                                                            \
    if (r >= n * sets) return;                                                            \
    long s = r / n, a = r - s * n, base = s * n;                                          \
    T kaa = (T)ie_sp_load(x, off, (ulong)(r * stride + a), dt);                           \
    T dv = fabs(kaa - (T)1);                                                              \
    int finite = 1;                                                                       \
    for (long b = 0; b < n; b++) {                                                        \
      T kab = (T)ie_sp_load(x, off, (ulong)(r * stride + b), dt);                         \
      T kba = (T)ie_sp_load(x, off, (ulong)((base + b) * stride + a), dt);                \
      finite &= isfinite(kab) ? 1 : 0;                                                    \
      dv = fmax(dv, fabs(kab - kba));                                                     \
      global T *o = out + (s * n + a) * n + b;                                            \
      T v = scale * (T)0.5 * (kab + kba);                                                 \
      *o = mul ? *o * v : v;                                                              \
    }                                                                                     \
    err[r] = finite ? 0 : IE_SP_ROW_NONFINITE;                                            \
    dev[r] = finite ? dv : (T)0;                                                          \
  }

IE_SP_KERNELS(float, f32)
#ifdef cl_khr_fp64
IE_SP_KERNELS(double, f64)
#endif
