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

enum { RECORD_BYTES = 512 }; /* a job's copy, at most */

typedef struct {
  ie__finish_fn finish;
  unsigned char job[RECORD_BYTES];
} record;

typedef struct ie__pending {
  record *r;
  size_t n, cap;
} pending;

ie_status ie__async_push(ie_context *ctx, const char *fn, ie__finish_fn finish, const void *job,
                         size_t bytes) {
  if (bytes > RECORD_BYTES)
    return ie__error(ctx, IE_INTERNAL, "%s: an asynchronous job of %zu bytes (at most %d)", fn, bytes,
                     (int)RECORD_BYTES);
  pending *p = ctx->pending;
  if (!p) {
    p = ie__calloc(1, sizeof *p);
    if (!p) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    ctx->pending = p;
  }
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
   * first failure in call order is the one reported. */
  ie_status first = s;
  int64_t index = ctx->err_index, row = ctx->err_row, col = ctx->err_col;
  char msg[sizeof ctx->msg], tensor[sizeof ctx->err_tensor];
  memcpy(msg, ctx->msg, sizeof msg);
  memcpy(tensor, ctx->err_tensor, sizeof tensor);
  for (size_t i = 0; i < p->n; i++) {
    ie__clear_error(ctx);
    ie_status r = p->r[i].finish(ctx, p->r[i].job, first == IE_OK ? IE_OK : IE_BACKEND_FAILURE);
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
