/*
 * mauve.h — PRIVATE.  MAUVE (docs/SPEC.md §8): the backend sub-table that
 * src/mauve.c drives and the host frontier math (src/frontier.c).
 *
 * src/mauve.c runs the algorithm: it checks the inputs, finds the principal
 * axes on the host (LAPACK) from the covariance a backend computes, and
 * runs the k-means starts and Lloyd iterations through the ops below.  A
 * backend does all the work on rows, where the rows are: the rows, the
 * labels and the centres stay in backend memory, and what reaches the host
 * is O(d² + k) a call, however many rows (the server's rule,
 * docs/SERVER.md).
 */
#ifndef IE_MAUVE_H
#define IE_MAUVE_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The workspace slots of one ie_mauve call on a GPU: src/mauve.c's are
 * IE_WS_MAUVE + 0 .. IE_MAUVE_SLOT_BACKEND − 1, a backend's the rest. */
enum { IE_MAUVE_SLOT_BACKEND = IE_WS_MAUVE + 6 };

typedef struct ie_mauve_ops {
  /* The dtype of the unit rows z the backend works on (F32 on the CPU, F64
   * on CUDA and OpenCL).  src/ allocates z (compact, n × d) in that dtype. */
  ie_dtype zdt;
  /* Optional (NULL: none): state for one ie_mauve call (a BLAS handle,
   * buffers kept between iterations), made before the first op below and
   * freed after the last; every op gets it as `sess`. */
  ie_status (*begin)(ie_context *ctx, void **sess);
  void (*end)(ie_context *ctx, void *sess);
  /* z[row0 + i] = x_i / ‖x_i‖₂ for the rows of x (a zero row stays zero).
   * *bad: the first row of x holding NaN or inf, or −1.  x is f32, f16 or
   * bf16 on a GPU backend: ie__check_matrix keeps f64 on the CPU. */
  ie_status (*unit_rows)(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z,
                         int64_t row0, int64_t *bad);
  /* mean μ (host, d) and the covariance Σ (z_i − μ)ᵀ(z_i − μ) / (n − 1)
   * (host, d × d, both triangles) of z's rows; z is left centred (z − μ). */
  ie_status (*covariance)(ie_context *ctx, void *sess, const ie_mat *z, double *mean,
                          double *cov);
  /* y = z V for the centred z: V host, d × r row-major; y F32 compact
   * n × r, backend memory. */
  ie_status (*project)(ie_context *ctx, void *sess, const ie_mat *z, const double *v,
                       int64_t r, const ie_mat *y);
  /* c (F32 k × r, backend memory) = the greedy k-means++ centres of start
   * `start` (of `starts`, called in order: a backend may run several side
   * by side) from the stream km_stream(seed, start)
   * (src/kernels/kmeans_terms.h).  Every backend picks the same rows. */
  ie_status (*seed)(ie_context *ctx, void *sess, const ie_mat *y, uint64_t seed, int64_t start,
                    int64_t starts, const ie_mat *c);
  /* labels (backend memory, n int32) = argmin_j fl(‖c_j‖²) − 2 fl(y_i·c_j),
   * in float, ties to the lowest j (‖c_j‖² summed in double, then
   * rounded); c F32 k × r.  With prev (the last labels, backend memory),
   * *changed = the rows whose label differs from it. */
  ie_status (*assign)(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, void *labels,
                      const void *prev, int64_t *changed);
  /* c_j = the mean of the rows of y labelled j, summed in double in row
   * order and rounded to float; clusters with no rows are left as they
   * are. */
  ie_status (*update)(ie_context *ctx, void *sess, const ie_mat *y, const void *labels, const ie_mat *c);
  /* *inertia = Σ ‖y_i − c_{l_i}‖², each row's in double from differences. */
  ie_status (*inertia)(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, const void *labels,
                       double *inertia);
  /* hist (host, sets × k) = the rows of each set in each cluster; the sets
   * are consecutive runs of rows[s] rows from row 0. */
  ie_status (*histogram)(ie_context *ctx, void *sess, const void *labels, const int64_t *rows, int64_t sets,
                         int64_t k, double *hist);
  /* Optional (NULL: none): a new k-means start begins; the next assign's
   * centres are not the last ones moved (a backend keeping bounds between
   * assignments drops them). */
  void (*restart)(ie_context *ctx, void *sess);
} ie_mauve_ops;

/* Rows a chunk of the GPUs' grouping (kmeans.cl, km_group_*): the chunks'
 * counts (chunks × k) stay under 2²² entries, a chunk at least 256 rows. */
static inline int64_t ie__mauve_chunk_rows(int64_t n, int64_t k) {
  const int64_t least = (n * k + ((int64_t)1 << 22) - 1) >> 22;
  return least > 256 ? least : 256;
}

extern const ie_mauve_ops ie__cpu_mauve_ops;
extern const ie_mauve_ops ie__opencl_mauve_ops;
extern const ie_mauve_ops ie__cuda_mauve_ops;

/* The frontier and integrals of count histograms pc, qc (k bins, checked
 * non-negative with positive sums) as mauve-text computes them.  curve
 * (2·(grid + 2) doubles) may be NULL.  scratch: 3k + 2·(grid + 2)
 * doubles. */
void ie__frontier(const double *pc, const double *qc, int64_t k, int64_t grid,
                  double scaling, double *scratch, ie_mauve_scores *s,
                  double *curve);

#ifdef __cplusplus
}
#endif
#endif
