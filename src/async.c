/*
 * async.c — the asynchronous mode's bookkeeping (include/infoest.h,
 * "Asynchronous mode"): the calls whose device work is in flight, finished
 * in call order by ie_synchronize.
 *
 * A call that enqueues its work pushes a record: a finish function and a
 * copy of the little it needs to turn what the device wrote (a status word,
 * a partial state) into its result and message.  The records live in one
 * buffer of the context that grows and is reused, so a warm context pushes
 * without allocating.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/rows_outcome.h"

enum { RECORD_BYTES = IE__ASYNC_JOB_BYTES };

typedef struct {
  ie__finish_fn finish;
  unsigned char job[RECORD_BYTES];
} record;

typedef struct ie__pending {
  record *r;
  size_t n, cap;
  size_t outcomes; /* ring entries held by pending calls */
} pending;

static pending *get_pending(ie_context *ctx, const char *fn, ie_status *st) {
  if (!ctx->pending) {
    ctx->pending = ie__calloc(1, sizeof *ctx->pending);
    if (!ctx->pending) *st = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  }
  return ctx->pending;
}

/* ---- The outcome ring ----------------------------------------------------------
 * Each pending row call owns one outcome (src/kernels/rows_outcome.h) on the
 * device and one in host memory that its non-blocking read targets, until
 * ie_synchronize.  Entries live in RING_CHUNKS chunks of RING_FIRST·4^c
 * entries, each chunk a workspace slot of a fixed size (device slot
 * IE_WS_ROWS + RING_DEV + c, host slot IE_WSH_ROWS + RING_HOST + c: page-
 * locked where the backend has it): a chunk is made the first time the ring
 * reaches it and never resized, so host memory an in-flight read targets is
 * never moved, and a warm context allocates nothing. */
enum { RING_FIRST = 16, RING_CHUNKS = 3, RING_DEV = 8, RING_HOST = 1, ENTRY_BYTES = 1280 };

_Static_assert(ROWS_OC_WORDS * 8 <= ENTRY_BYTES, "an outcome fits a ring entry");

ie_status ie__async_outcome(ie_context *ctx, const char *fn, void **dev, size_t *dev_offset,
                            uint64_t **host) {
  ie_status st = IE_OK;
  pending *p = get_pending(ctx, fn, &st);
  if (!p) return st;
  size_t i = p->outcomes, n = RING_FIRST;
  int c = 0;
  while (c < RING_CHUNKS && i >= n) {
    i -= n;
    n *= 4;
    c++;
  }
  if (c == RING_CHUNKS)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: %zu row calls are already pending on this context; call ie_synchronize "
                     "before enqueuing more",
                     fn, p->outcomes);
  void *d = NULL, *h = NULL;
  IE__CHECK(ie__ws_device(ctx, IE_WS_ROWS + RING_DEV + c, n * ENTRY_BYTES, &d));
  IE__CHECK(ie__ws_host(ctx, IE_WSH_ROWS + RING_HOST + c, n * ENTRY_BYTES, &h));
  *dev = d;
  *dev_offset = i * ENTRY_BYTES;
  *host = (uint64_t *)((char *)h + i * ENTRY_BYTES);
  return IE_OK;
}

void ie__async_outcome_keep(ie_context *ctx) {
  if (ctx->pending) ctx->pending->outcomes++;
}

ie_status ie__async_push(ie_context *ctx, const char *fn, ie__finish_fn finish, const void *job,
                         size_t bytes) {
  if (bytes > RECORD_BYTES)
    return ie__error(ctx, IE_INTERNAL, "%s: an asynchronous job of %zu bytes (at most %d)", fn, bytes,
                     (int)RECORD_BYTES);
  ie_status st = IE_OK;
  pending *p = get_pending(ctx, fn, &st);
  if (!p) return st;
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 16;
    record *r = realloc(p->r, cap * sizeof *r);
    if (!r) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for its pending record", fn);
    p->r = r;
    p->cap = cap;
  }
  p->r[p->n].finish = finish;
  memcpy(p->r[p->n].job, job, bytes);
  p->n++;
  return IE_OK;
}

void ie__async_forget(ie_context *ctx) {
  pending *p = ctx->pending;
  if (!p) return;
  free(p->r);
  free(p);
  ctx->pending = NULL;
}

ie_status ie_synchronize(ie_context *ctx) {
  IE__CHECK(ie__begin(ctx, "ie_synchronize", 1, ""));
  ie_status s = ctx->ops->synchronize ? ctx->ops->synchronize(ctx) : IE_OK;
  pending *p = ctx->pending;
  if (!p || p->n == 0) return s;
  /* Every pending call is finished (its outputs written or spoiled); the
   * first failure in call order is the one reported.  Each record is told
   * only whether the device wait failed (its outcome is then unreliable): a
   * call after a failed call still ran and has its own results. */
  ie_status first = s;
  int64_t index = ctx->err_index, row = ctx->err_row, col = ctx->err_col;
  char msg[sizeof ctx->msg], tensor[sizeof ctx->err_tensor];
  memcpy(msg, ctx->msg, sizeof msg);
  memcpy(tensor, ctx->err_tensor, sizeof tensor);
  for (size_t i = 0; i < p->n; i++) {
    ie__clear_error(ctx);
    ie_status r = p->r[i].finish(ctx, p->r[i].job, s);
    if (r != IE_OK && first == IE_OK) {
      first = r;
      index = ctx->err_index;
      row = ctx->err_row;
      col = ctx->err_col;
      memcpy(msg, ctx->msg, sizeof msg);
      memcpy(tensor, ctx->err_tensor, sizeof tensor);
    }
  }
  p->n = 0;
  p->outcomes = 0;
  ie__clear_error(ctx);
  if (first != IE_OK) {
    ctx->last = first;
    memcpy(ctx->msg, msg, sizeof msg);
    memcpy(ctx->err_tensor, tensor, sizeof tensor);
    ctx->err_index = index;
    ctx->err_row = row;
    ctx->err_col = col;
  }
  return first;
}
