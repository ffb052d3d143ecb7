/*
 * knn_dev.h — PRIVATE.  The device-resident k-nearest-neighbour sub-table a
 * GPU backend fills (docs/SPEC.md §5), reached through
 * ie_backend_ops.knn_dev, and what the dispatcher (src/knn.c) hands it.
 *
 * On a GPU context every sample, neighbour list and per-point term of the
 * kNN family stays in device memory: the dispatcher loads the caller's
 * tensors into compact float32 workspace buffers (load, which also finds a
 * non-finite row), searches with the sorted neighbours going straight into
 * the caller's output tensors or into per-point vectors (search), counts
 * (range_count), and reduces the per-point terms of knn_terms.h to
 * KNN_STATS doubles (reduce), the only bytes read back besides the bad
 * row's number.  Vectors are device buffers of doubles at offset 0 (the
 * workspace's slots IE_WS_KNN + 0 .. IE_KNN_SLOT_BACKEND − 1); the backend
 * keeps its own temporaries (heaps, the status words) in the slots from
 * IE_KNN_SLOT_BACKEND on.
 */
#ifndef IE_KNN_DEV_H
#define IE_KNN_DEV_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The backend's workspace slots: heap distances, heap indices, status words. */
#define IE_KNN_SLOT_BACKEND (IE_WS_KNN + 8)
/* The two-stage Euclidean search's (src/kernels/knn.cl, knn_filter): the
 * centred float32 points and their norms, the references' mean, the
 * candidate lists and counts. */
#define IE_KNN_SLOT_CENTRED (IE_WS_KNN_TILE + 0)
#define IE_KNN_SLOT_MEAN (IE_WS_KNN_TILE + 1)
#define IE_KNN_SLOT_CAND (IE_WS_KNN_TILE + 2)

/* Where a search's sorted neighbours go: columns [col0, k) of query i's
 * list to element (i, c − col0) of idx (I32/I64) and dist (F32/F64),
 * matrices in device memory (either may be NULL). */
typedef struct {
  const ie_mat *idx, *dist;
  int64_t col0;
} ie_knn_sink;

/* A reduction of knn_terms.h: n points of the double vectors v and w (w may
 * be NULL), term `op` of divergence kind `kind` with parameters p. */
typedef struct {
  void *v, *w;
  int64_t n;
  int op, kind;
  double p[5];
} ie_knn_red;

typedef struct ie_knn_ops {
  /* src (a caller's matrix in device memory: F32/F16/BF16, any offset and
   * row stride) into columns [col0, col0 + src->cols) of dst (a compact
   * float32 device buffer of dst_cols columns).  *bad_row: the first row
   * holding a NaN or ±inf, −1 if none (four bytes read back). */
  ie_status (*load)(ie_context *ctx, const ie_mat *src, void *dst, int64_t dst_cols, int64_t col0,
                    int64_t *bad_row);
  /* The k nearest rows of r for each row of q (compact float32 device
   * buffers, offset 0; `self`: r's row i is not a neighbour of query i),
   * sorted by (distance, index), distances in double; into out. */
  ie_status (*search)(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, const ie_knn_sink *out);
  /* count[i] = #{j (≠ i with self) : ‖r_j − q_i‖∞ < radius[i]} (device
   * double vectors of q->rows). */
  ie_status (*range_count)(ie_context *ctx, const ie_mat *q, const ie_mat *r, void *radius, int self,
                           void *count);
  /* NNR's ratios r[M] from the sorted k distances dx, dy (M × k doubles). */
  ie_status (*nnr)(ie_context *ctx, void *dx, void *dy, int64_t M, int64_t k, double eta, void *r);
  /* stats (host, KNN_STATS doubles) of a reduction. */
  ie_status (*reduce)(ie_context *ctx, const ie_knn_red *a, double *stats);
} ie_knn_ops;

#ifdef IE_HAVE_CUDA
extern const ie_knn_ops ie__cuda_knn_ops;
#endif
#ifdef IE_HAVE_OPENCL
extern const ie_knn_ops ie__opencl_knn_ops;
#endif

#ifdef __cplusplus
}
#endif
#endif
