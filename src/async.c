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

/* Memory a successful call wrote (an output span, src/tensor.c) while
 * records were pending: `tag` is the number of records pushed before that
 * call began, so the write comes after records 0 .. tag-1 in stream order. */
typedef struct {
  ie__span span;
  size_t tag;
} written;

typedef struct ie__pending {
  record *r;
  size_t n, cap;
  size_t outcomes; /* ring entries held by pending calls */
  /* Outputs written since records were pending (ie__async_note_writes),
   * for ie_synchronize's spoils: a list that grows (doubling) and is kept,
   * so a warm context's pattern allocates nothing; `lost`: one could not be
   * noted (no host memory): every spoil then fills its whole output. */
  written *w;
  size_t nw, wcap;
  int lost;
  size_t begin_tag; /* records pushed when the current call began */
  int finishing;    /* ie_synchronize is finishing record `at` */
  size_t at;
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
 * never moved, and a warm context allocates nothing.  A blocking call takes
 * the next free entry without keeping it; when the ring is full, the first
 * device entry (the queue is in order: every pending read of it was
 * enqueued before) and a host entry of its own (host slot IE_WSH_ROWS +
 * RING_HOST + RING_CHUNKS, made then). */
enum { RING_FIRST = 16, RING_CHUNKS = 3, RING_DEV = 8, RING_HOST = 1, ENTRY_BYTES = 1280 };

_Static_assert(ROWS_OC_WORDS * 8 <= ENTRY_BYTES, "an outcome fits a ring entry");

ie_status ie__async_outcome(ie_context *ctx, const char *fn, int blocking, void **dev, size_t *dev_offset,
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
  if (c == RING_CHUNKS && blocking) {
    void *d = NULL, *h = NULL;
    IE__CHECK(ie__ws_device(ctx, IE_WS_ROWS + RING_DEV, RING_FIRST * ENTRY_BYTES, &d));
    IE__CHECK(ie__ws_host(ctx, IE_WSH_ROWS + RING_HOST + RING_CHUNKS, ENTRY_BYTES, &h));
    *dev = d;
    *dev_offset = 0;
    *host = h;
    return IE_OK;
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

int ie__async_pending(const ie_context *ctx) { return ctx->pending && ctx->pending->n > 0; }

void ie__async_forget(ie_context *ctx) {
  pending *p = ctx->pending;
  if (!p) return;
  free(p->r);
  free(p->w);
  free(p);
  ctx->pending = NULL;
}

/* ---- Spoils in stream order ------------------------------------------------------
 * A call that fails in ie_synchronize spoils its outputs (NaN) then, after
 * the device ran everything enqueued: also the calls after it, which may
 * have written the same memory with their own results (include/infoest.h:
 * the calls after a failed one still run and have their results).  So the
 * spoil of record i leaves alone the rows that a successful call made after
 * record i was pushed wrote: the failed call's value there was overwritten
 * in stream order anyway.  (A failed later call's outputs are NaN either
 * way: it spoils them itself.) */

void ie__async_note_writes(ie_context *ctx) {
  pending *p = ctx->pending;
  if (!p) return;
  const size_t tag = p->begin_tag; /* records before the call that just ended */
  p->begin_tag = p->n;             /* ... and before the one beginning now */
  if (tag == 0 || tag > p->n || ctx->last != IE_OK) return;
  for (int k = 0; k < ctx->n_spans && k < IE__SPANS; k++) {
    const ie__span *sp = &ctx->spans[k];
    if (!sp->output) continue;
    size_t i = 0;
    for (; i < p->nw; i++) {
      const ie__span *o = &p->w[i].span;
      if (o->space == sp->space && o->first == sp->first && o->end == sp->end &&
          o->row_step == sp->row_step && o->row_bytes == sp->row_bytes)
        break;
    }
    if (i < p->nw) {
      p->w[i].tag = tag; /* tags only grow: the latest covers the most records */
      continue;
    }
    if (p->nw == p->wcap) {
      const size_t cap = p->wcap ? 2 * p->wcap : 64;
      written *w = realloc(p->w, cap * sizeof *w);
      if (!w) {
        p->lost = 1;
        continue;
      }
      p->w = w;
      p->wcap = cap;
    }
    p->w[p->nw].span = *sp;
    p->w[p->nw].tag = tag;
    p->nw++;
  }
}

/* Does byte range [a, b) of space `space` meet the rows of o? */
static int range_meets(uintptr_t space, uint64_t a, uint64_t b, const ie__span *o) {
  if (o->space != space || b <= o->first || a >= o->end) return 0;
  const uint64_t step = o->row_step;
  if (step == 0 || o->row_bytes >= step || a < o->first) return 1;
  const uint64_t k = (a - o->first) / step, lag = (a - o->first) % step;
  if (lag < o->row_bytes) return 1;
  const uint64_t next = o->first + (k + 1) * step; /* the row of o after a */
  return next < b && next < o->end;
}

/* Does [a, b) meet memory written after record `at`? */
static int written_after(const pending *p, size_t at, uintptr_t space, uint64_t a, uint64_t b) {
  for (size_t i = 0; i < p->nw; i++)
    if (p->w[i].tag > at && range_meets(space, a, b, &p->w[i].span)) return 1;
  return 0;
}

typedef ie_status (*fill_fn)(ie_context *, const ie_mat *);
enum { PIECES_MAX = 64 };

/* Row r of m, bytes [a, a + rowb), of which a write after record p->at
 * covered a part (another layout: a column slice, a span ending within the
 * row): the pieces that no such write covered are filled, in whole
 * elements (an element a later write covered in part is left to it).  A
 * row met by more than PIECES_MAX written pieces is left whole. */
static ie_status fill_row_rest(ie_context *ctx, const pending *p, uintptr_t space, const ie_mat *m, int64_t r,
                               uint64_t a, uint64_t rowb, uint64_t esz, fill_fn fill) {
  const uint64_t b = a + rowb;
  uint64_t lo[PIECES_MAX], hi[PIECES_MAX];
  int n = 0;
  for (size_t i = 0; i < p->nw; i++) {
    const ie__span *o = &p->w[i].span;
    if (p->w[i].tag <= p->at || o->space != space || b <= o->first || a >= o->end) continue;
    const int whole = o->row_step == 0 || o->row_bytes >= o->row_step;
    uint64_t k = whole || a <= o->first ? 0 : (a - o->first) / o->row_step;
    for (;; k++) { /* the rows of o that meet [a, b) */
      const uint64_t s0 = whole ? o->first : o->first + k * o->row_step;
      const uint64_t s1 = whole ? o->end : s0 + o->row_bytes;
      if (s0 >= b || s0 >= o->end) break;
      if (s1 > a) {
        if (n == PIECES_MAX) return IE_OK;
        lo[n] = s0 > a ? s0 : a;
        hi[n] = s1 < b ? (s1 < o->end ? s1 : o->end) : b;
        n++;
      }
      if (whole) break;
    }
  }
  for (int i = 1; i < n; i++) /* by start (insertion: n is small) */
    for (int j = i; j > 0 && lo[j] < lo[j - 1]; j--) {
      const uint64_t tl = lo[j], th = hi[j];
      lo[j] = lo[j - 1], hi[j] = hi[j - 1], lo[j - 1] = tl, hi[j - 1] = th;
    }
  ie_status s = IE_OK;
  uint64_t at = a; /* the end of what is covered so far */
  for (int i = 0; i <= n; i++) {
    const uint64_t g1 = i < n ? lo[i] : b; /* a gap [at, g1) */
    const uint64_t e0 = a + (at - a + esz - 1) / esz * esz, e1 = a + (g1 > at ? g1 - a : 0) / esz * esz;
    if (g1 > at && e1 > e0) {
      ie_mat part = *m;
      part.offset = m->offset + (size_t)((uint64_t)r * (uint64_t)m->stride * esz + (e0 - a));
      part.rows = 1;
      part.cols = (int64_t)((e1 - e0) / esz);
      const ie_status f = fill(ctx, &part);
      if (s == IE_OK) s = f;
    }
    if (i < n && hi[i] > at) at = hi[i];
  }
  return s;
}

/* The backend's fill_nan of device memory m for a failed call's spoil
 * (src/tensor.c): while ie_synchronize finishes a record, only the memory
 * of m that no later successful call wrote. */
ie_status ie__async_fill_nan(ie_context *ctx, const ie_mat *m) {
  const pending *p = ctx->pending;
  const fill_fn fill = ctx->ops->fill_nan;
  if (!p || !p->finishing || p->nw == 0 || p->lost) return fill(ctx, m);
  if (m->rows <= 0 || m->cols <= 0) return IE_OK;
  const int on_cl = ctx->backend == IE_BACKEND_OPENCL;
  const uintptr_t space = on_cl ? (uintptr_t)m->buf : 0;
  const uint64_t esz = ie__dtype_size(m->dtype), step = (uint64_t)m->stride * esz,
                 rowb = (uint64_t)m->cols * esz;
  const uint64_t first = on_cl ? (uint64_t)m->offset : (uint64_t)(uintptr_t)((char *)m->buf + m->offset);
  if (!written_after(p, p->at, space, first, first + (uint64_t)(m->rows - 1) * step + rowb))
    return fill(ctx, m); /* the usual case: nothing later wrote there */
  ie_status s = IE_OK;
  int64_t run = -1; /* the first row of the run of rows to fill */
  for (int64_t r = 0; r <= m->rows; r++) {
    const uint64_t a = first + (uint64_t)r * step;
    const int keep = r == m->rows || written_after(p, p->at, space, a, a + rowb);
    if (keep && r < m->rows) {
      const ie_status f = fill_row_rest(ctx, p, space, m, r, a, rowb, esz, fill);
      if (s == IE_OK) s = f;
    }
    if (!keep && run < 0) run = r;
    if (keep && run >= 0) {
      ie_mat part = *m;
      part.offset = m->offset + (size_t)((uint64_t)run * step);
      part.rows = r - run;
      const ie_status f = fill(ctx, &part);
      if (s == IE_OK) s = f;
      run = -1;
    }
  }
  return s;
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
  p->finishing = 1; /* the records' spoils: ie__async_fill_nan */
  for (size_t i = 0; i < p->n; i++) {
    ie__clear_error(ctx);
    p->at = i;
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
  p->finishing = 0;
  p->n = 0;
  p->outcomes = 0;
  p->nw = 0;
  p->lost = 0;
  p->begin_tag = 0;
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
