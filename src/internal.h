/*
 * internal.h — PRIVATE helpers of the dispatcher (the src/ files): argument checks,
 * staging of host tensors into backend memory, and result handling.
 */
#ifndef IE_INTERNAL_H
#define IE_INTERNAL_H

#include <stdlib.h>

#include "backend.h"
#include "options.h"
#include "host/host.h"

/* Fault injection and ie__malloc / ie__calloc: src/host/host.h. */

/* Backend memory: an injected fault is IE_OUT_OF_MEMORY. */
static inline ie_status ie__be_alloc(ie_context *ctx, size_t bytes, void **buf) {
  if (ie__fault())
    return ie__error(ctx, IE_OUT_OF_MEMORY, "injected fault: %s backend allocation of %zu bytes",
                     ctx->ops->name, bytes);
  return ctx->ops->alloc(ctx, bytes, buf);
}

/* A temporary of one call: on a GPU context the workspace's slot `slot`
 * (IE_WS_* / IE_WSH_*: kept and reused, so a warm context allocates
 * nothing), on the CPU fresh memory (a CPU context has no workspace).
 * Give each back with ie__tmp_*_done, which frees only the CPU's. */
static inline ie_status ie__tmp_device(ie_context *ctx, int slot, size_t bytes, void **buf) {
  if (ctx->backend == IE_BACKEND_CPU) return ie__be_alloc(ctx, bytes, buf);
  if (ie__fault())
    return ie__error(ctx, IE_OUT_OF_MEMORY, "injected fault: %s workspace slot of %zu bytes",
                     ctx->ops->name, bytes);
  return ie__ws_device(ctx, slot, bytes, buf);
}
static inline void ie__tmp_device_done(ie_context *ctx, void *buf) {
  if (ctx->backend == IE_BACKEND_CPU && buf) ctx->ops->free(ctx, buf);
}
static inline ie_status ie__tmp_host(ie_context *ctx, int slot, size_t bytes, void **p) {
  *p = NULL;
  if (ctx->backend != IE_BACKEND_CPU) {
    if (ie__fault())
      return ie__error(ctx, IE_OUT_OF_MEMORY, "injected fault: host workspace slot of %zu bytes", bytes);
    return ie__ws_host(ctx, slot, bytes, p);
  }
  *p = ie__malloc(bytes ? bytes : 1);
  return *p ? IE_OK : ie__error(ctx, IE_OUT_OF_MEMORY, "no host memory for %zu bytes of scratch", bytes);
}
static inline void ie__tmp_host_done(ie_context *ctx, void *p) {
  if (ctx->backend == IE_BACKEND_CPU) free(p);
}

/* Any other backend call: IE__BE(ctx, upload, args...) is
 * ctx->ops->upload(ctx, args...); an injected fault is IE_BACKEND_FAILURE. */
#define IE__BE(ctx, call, ...)                                                 \
  (ie__fault() ? ie__error((ctx), IE_BACKEND_FAILURE,                          \
                           "injected fault: %s backend call '%s' failed",     \
                           (ctx)->ops->name, #call)                            \
               : (ctx)->ops->call((ctx), __VA_ARGS__))

/* Read a caller's versioned options struct `src` (may be NULL) into `dst`
 * by the rule of src/options.h; `last_v1` is the last field of the struct's
 * first version.  An expression: IE_OK, or IE_INVALID_ARGUMENT recorded on
 * ctx for public call `fn`. */
#define IE__OPTIONS(ctx, fn, dst, src, last_v1)                                            \
  (ie__options_copy(&(dst), sizeof(dst), (src), (src) ? (src)->size : 0,                  \
                    IE__FIRST_SIZE(dst, last_v1))                                         \
       ? IE_OK                                                                            \
       : ie__error((ctx), IE_INVALID_ARGUMENT,                                            \
                   "%s: options size %zu is smaller than the struct's first version "     \
                   "(%zu bytes); set size = sizeof the struct, or 0",                     \
                   (fn), (src)->size, IE__FIRST_SIZE(dst, last_v1)))

/* Return the status of `expr` when it is not IE_OK. */
#define IE__CHECK(expr)              \
  do {                               \
    ie_status s_ = (expr);           \
    if (s_ != IE_OK) return s_;      \
  } while (0)

/* Record where the failure being reported is (ie_error_tensor, _index, _row,
 * _column): the tensor's name in the call, and the element's position in the
 * tensor's own shape ([B, n, k]: index, row, column; [n, k]: row, column;
 * a 1-D tensor of one value a row: row; -1 for what it does not name).
 * Call it next to the ie__error of that failure. */
void ie__locate(ie_context *ctx, const char *tensor, int64_t index, int64_t row, int64_t col);

/* Start a public call: the context must exist and hold a backend, and
 * `supported` says whether that backend has the call's ops (IE_UNSUPPORTED
 * naming `family` otherwise).  Clears the last error first (ie__clear_error),
 * whatever it returns. */
ie_status ie__begin(ie_context *ctx, const char *fn, int supported, const char *family);
/* What ie__begin does with the call before it, for the entry points that are
 * not calls of a family (ie_cuda_set_stream, ie_opencl_set_queue): its
 * writes noted while calls are pending (by whether it failed, so before the
 * error goes), its spans dropped, the error cleared. */
void ie__end_previous(ie_context *ctx);

/* A checked tensor argument, in backend memory after ie__stage. */
typedef struct {
  const char *fn;   /* the public call, for messages */
  const char *name; /* the tensor's name in that call */
  const DLTensor *t;
  int on_host;      /* the caller's memory is host memory */
  ie_mat m;         /* the view the backend gets */
  void *owned;      /* the workspace's staging buffer holding it, or NULL */
  char *host;       /* host address of element [0,0] when on_host */
  int64_t host_stride; /* the caller's row stride, in elements */
} ie__arg;

/* Accepted dtypes, as a bit set of (1 << ie_dtype). */
#define IE__FLOATS ((1u << IE_DT_F32) | (1u << IE_DT_F16) | (1u << IE_DT_BF16) | (1u << IE_DT_F64))
#define IE__INTS ((1u << IE_DT_I32) | (1u << IE_DT_I64))
/* With the dtypes of an output that the dispatcher writes itself (from host
 * values, in any memory): float64 is then taken on every backend. */
#define IE__HOST_WRITTEN (1u << 31)
/* With the dtypes of an output: it may share no memory with any other
 * tensor of the call (IE_INVALID_ARGUMENT; inputs are never modified). */
#define IE__OUTPUT (1u << 30)

/* Check `t` as a [rows, cols] matrix (1-D is one row) of one of `dtypes`,
 * in memory usable by ctx.  Fills a->m (pointing at the caller's memory). */
ie_status ie__check_matrix(ie_context *ctx, ie__arg *a, const char *fn,
                           const char *name, const DLTensor *t,
                           unsigned dtypes);
/* Check `t` as a 1-D vector of n elements of one of `dtypes`. */
ie_status ie__check_vector(ie_context *ctx, ie__arg *a, const char *fn,
                           const char *name, const DLTensor *t, int64_t n,
                           unsigned dtypes);

/* Make a->m usable by the backend: host tensors on a GPU context are copied
 * into a compact device buffer. */
ie_status ie__stage_in(ie_context *ctx, ie__arg *a);
/* For an output matrix: give the backend somewhere to write (the caller's
 * memory, or a compact device buffer for host memory on a GPU context). */
ie_status ie__stage_out(ie_context *ctx, ie__arg *a);
/* Copy a staged output back into the caller's host memory. */
ie_status ie__unstage_out(ie_context *ctx, ie__arg *a);
void ie__release(ie_context *ctx, ie__arg *a);
/* After a failure: make the caller's memory of output `a` NaN (all-ones
 * bytes) so that nothing there looks like a result (docs/SPEC.md §1).  Keeps the
 * context's message. */
void ie__spoil(ie_context *ctx, const ie__arg *a);

/* Partial states (partial.c): add rows of values (w NULL: all weight 1) to
 * a state; the summary of a state (IE_EMPTY_REDUCTION with no kept row). */
void ie__partial_add_rows(ie_partial *p, const double *val, const double *w, int64_t n);
ie_status ie__partial_summary(ie_context *ctx, const char *fn, const ie_partial *p, ie_summary *sm);
/* Add the sums of a device outcome (src/kernels/rows_outcome.h) of n rows. */
void ie__partial_add_outcome(ie_partial *p, const uint64_t *oc, int64_t n);

/* Row weights: 1-D [rows], read to a host array of doubles (NULL t: none). */
ie_status ie__read_weights(ie_context *ctx, const char *fn, const DLTensor *t,
                           int64_t rows, double **w);

/* Write per-row doubles into the caller's 1-D [rows] f32/f64 tensor. */
ie_status ie__write_per_row(ie_context *ctx, ie__arg *out, const double *val);

/* The element of a host/backend row, widened to double (error paths). */
ie_status ie__fetch_row(ie_context *ctx, const ie__arg *a, int64_t row,
                        double **vals);

/* A checked 1-D tensor (the caller's memory) as doubles. */
ie_status ie__read_vector(ie_context *ctx, const ie__arg *a, double *out);

/* ---- Asynchronous mode (async.c) ----------------------------------------------
 * A call that only enqueued its work (ctx->async, device tensors) pushes a
 * record; ie_synchronize, once the device is done, calls `finish` on a copy
 * of `job` (at most 1024 bytes), in call order, to write the call's results
 * and return its status (with its message, as the call would have).  `prior`
 * is IE_OK, or the failure of the device wait (what the device wrote is then
 * not to be trusted: the job spoils its outputs and returns `prior`); an
 * earlier record's failure is not passed on: that call's work ran, and so
 * did this one's. */
typedef ie_status (*ie__finish_fn)(ie_context *ctx, void *job, ie_status prior);
#define IE__ASYNC_JOB_BYTES 1024 /* a job's copy, at most */
ie_status ie__async_push(ie_context *ctx, const char *fn, ie__finish_fn finish, const void *job,
                         size_t bytes);
/* The outcome (src/kernels/rows_outcome.h) of the next device-resident row
 * call: a device buffer and byte offset, and the host memory it is read to,
 * neither in use by a pending call.  ie__async_outcome_keep after pushing
 * the call's record keeps them until ie_synchronize; a call that finishes
 * at once leaves them to the next.  A `blocking` call (one that waits for
 * its outcome) gets one also when the ring is full. */
ie_status ie__async_outcome(ie_context *ctx, const char *fn, int blocking, void **dev, size_t *dev_offset,
                            uint64_t **host);
void ie__async_outcome_keep(ie_context *ctx);
/* Drop every record unfinished (ie_context_destroy). */
void ie__async_forget(ie_context *ctx);
/* 1 while calls are pending (their work may still run on the device). */
int ie__async_pending(const ie_context *ctx);
/* The outputs the call that just ended wrote, noted while records are
 * pending (ie__begin calls it, before that call's status and spans go). */
void ie__async_note_writes(ie_context *ctx);
/* fill_nan of a failed call's device output, in stream order: while
 * ie_synchronize finishes a record, not over rows a later call wrote. */
ie_status ie__async_fill_nan(ie_context *ctx, const ie_mat *m);

/* Widen one stored element. */
double ie__load_double(const void *p, ie_dtype t);

#endif
