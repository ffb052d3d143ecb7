/*
 * mauve.h — PRIVATE.  MAUVE (docs/SPEC.md §8): the backend sub-table that
 * src/mauve.c drives, the k-means++ starts (src/mauve_seed.c) and the host
 * frontier math (src/frontier.c).
 *
 * src/mauve.c runs the algorithm: it checks the inputs, finds the principal
 * axes on the host (LAPACK) from the covariance a backend computes, seeds
 * k-means on the host, and runs Lloyd iterations through `assign` and
 * `update`.  A backend does the O(n·d) and O(n·k·r) work.
 */
#ifndef IE_MAUVE_H
#define IE_MAUVE_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

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
   * err (host, x->rows) gets IE_ROW_NONFINITE for a row holding NaN or inf. */
  ie_status (*unit_rows)(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z,
                         int64_t row0, ie_rowerr *err);
  /* mean μ (host, d) and the covariance Σ (z_i − μ)ᵀ(z_i − μ) / (n − 1)
   * (host, d × d, both triangles) of z's rows; z is left centred (z − μ). */
  ie_status (*covariance)(ie_context *ctx, void *sess, const ie_mat *z, double *mean,
                          double *cov);
  /* y = z V for the centred z: V host, d × r row-major; y F32 compact
   * n × r, backend memory. */
  ie_status (*project)(ie_context *ctx, void *sess, const ie_mat *z, const double *v,
                       int64_t r, const ie_mat *y);
  /* labels (host, n) = argmin_j fl(‖c_j‖²) − 2 fl(y_i·c_j), in float, ties
   * to the lowest j (‖c_j‖² summed in double, then rounded); c F32 k × r. */
  ie_status (*assign)(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c,
                      int32_t *labels);
  /* c_j = the mean of rows perm[off[j]] .. perm[off[j+1] − 1] of y, summed
   * in double in that order and rounded to float; clusters with no rows are
   * left as they are.  perm (n) and off (k + 1) are host arrays. */
  ie_status (*update)(ie_context *ctx, void *sess, const ie_mat *y, const int32_t *perm,
                      const int64_t *off, const ie_mat *c);
  /* Optional (NULL: none): a new k-means start begins; the next assign's
   * centres are not the last ones moved (a backend keeping bounds between
   * assignments drops them). */
  void (*restart)(ie_context *ctx, void *sess);
} ie_mauve_ops;

extern const ie_mauve_ops ie__cpu_mauve_ops;
extern const ie_mauve_ops ie__opencl_mauve_ops;
extern const ie_mauve_ops ie__cuda_mauve_ops;

/* The k-means++ starts (src/mauve_seed.c): scratch made once for the rows
 * y (host, n × r float), k centres and `starts` starts run side by side,
 * on `threads` OpenMP threads (the centres do not depend on it). */
typedef struct ie__mauve_seed {
  const float *y;
  int64_t n, r, k, starts; /* starts: the most run side by side */
  int threads;
  int64_t live;            /* the starts of the current run (≤ starts) */
  int64_t t, tp, nb;   /* candidates a centre (2 + ⌊ln k⌋), t padded to 8 lanes, blocks of rows */
  int64_t lc;          /* columns of ct and dots: starts·tp rounded up to 16 */
  double *yn;          /* n: ‖y_i‖² */
  double *d2, *blk;    /* starts × n: D², the squared distance to the nearest centre; starts × nb: its block sums */
  double *bcum;        /* nb: the running block sums of the start drawing */
  double *potb;        /* nb × lc: each block's share of the candidates' potentials */
  float *ct, *dots;    /* r × lc: the candidates, transposed (zero pads); n × lc: the rows' dot products with them */
  int64_t *cand, *kept; /* lc: the candidates' rows; starts: the candidate each start kept last */
  double *pot, *cn;    /* lc: potentials, ‖x‖² of the candidates (+inf in the pad) */
} ie__mauve_seed;

/* 0, or -1 when out of memory (nothing left allocated). */
int ie__mauve_seed_init(ie__mauve_seed *s, const float *y, int64_t n, int64_t r, int64_t k, int64_t starts,
                        int threads);
void ie__mauve_seed_free(ie__mauve_seed *s);
/* For each of `count` (≤ starts) starts st: k centres (c[st], k × r float)
 * from the SplitMix64 stream at *rng[st]; the same as running the starts
 * one at a time. */
void ie__mauve_seed_run(ie__mauve_seed *s, int64_t count, uint64_t *const *rng, float *const *c);
/* The next uniform double in [0, 1) of the SplitMix64 stream (next >> 11)·2⁻⁵³. */
double ie__mauve_unit(uint64_t *state);

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
