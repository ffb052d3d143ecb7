/*
 * internal.h — PRIVATE helpers of the dispatcher (the src/ files): argument checks,
 * staging of host tensors into backend memory, and result handling.
 */
#ifndef IE_INTERNAL_H
#define IE_INTERNAL_H

#include <stdlib.h>

#include "backend.h"
#include "host/host.h"

/* Fault injection and ie__malloc / ie__calloc: src/host/host.h. */

/* Backend memory: an injected fault is IE_OUT_OF_MEMORY. */
static inline ie_status ie__be_alloc(ie_context *ctx, size_t bytes, void **buf) {
  if (ie__fault())
    return ie__error(ctx, IE_OUT_OF_MEMORY, "injected fault: %s backend allocation of %zu bytes",
                     ctx->ops->name, bytes);
  return ctx->ops->alloc(ctx, bytes, buf);
}

/* Any other backend call: IE__BE(ctx, upload, args...) is
 * ctx->ops->upload(ctx, args...); an injected fault is IE_BACKEND_FAILURE. */
#define IE__BE(ctx, call, ...)                                                 \
  (ie__fault() ? ie__error((ctx), IE_BACKEND_FAILURE,                          \
                           "injected fault: %s backend call '%s' failed",     \
                           (ctx)->ops->name, #call)                            \
               : (ctx)->ops->call((ctx), __VA_ARGS__))

/* Copy a caller's versioned options struct over zeroed defaults. */
#define IE__OPTIONS(dst, src)                                           \
  do {                                                                  \
    memset(&(dst), 0, sizeof(dst));                                     \
    if (src) {                                                          \
      size_t n_ = (src)->size ? (src)->size : sizeof(dst);              \
      memcpy(&(dst), (src), n_ < sizeof(dst) ? n_ : sizeof(dst));       \
    }                                                                   \
  } while (0)

/* Return the status of `expr` when it is not IE_OK. */
#define IE__CHECK(expr)              \
  do {                               \
    ie_status s_ = (expr);           \
    if (s_ != IE_OK) return s_;      \
  } while (0)

/* Start a public call: the context must exist and hold a backend, and
 * `supported` says whether that backend has the call's ops (IE_UNSUPPORTED
 * naming `family` otherwise).  Clears the last message. */
ie_status ie__begin(ie_context *ctx, const char *fn, int supported, const char *family);

/* A checked tensor argument, in backend memory after ie__stage. */
typedef struct {
  const char *fn;   /* the public call, for messages */
  const char *name; /* the tensor's name in that call */
  const DLTensor *t;
  int on_host;      /* the caller's memory is host memory */
  ie_mat m;         /* the view the backend gets */
  void *owned;      /* backend buffer we allocated for staging, or NULL */
  char *host;       /* host address of element [0,0] when on_host */
  int64_t host_stride; /* the caller's row stride, in elements */
} ie__arg;

/* Accepted dtypes, as a bit set of (1 << ie_dtype). */
#define IE__FLOATS ((1u << IE_DT_F32) | (1u << IE_DT_F16) | (1u << IE_DT_BF16) | (1u << IE_DT_F64))
#define IE__INTS ((1u << IE_DT_I32) | (1u << IE_DT_I64))

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

/* Widen one stored element. */
double ie__load_double(const void *p, ie_dtype t);

#endif
