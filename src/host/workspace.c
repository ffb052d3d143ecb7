/*
 * workspace.c — the scratch of a GPU context, kept between calls (the
 * "Workspace" of include/infoest.h; the slots are listed in src/backend.h).
 *
 * A slot is one temporary of one family.  Its buffer is replaced by a larger
 * one when a call needs more, and reused otherwise, so a warm context
 * allocates nothing.  With an arena (ie_workspace_reserve), a slot that
 * grows is carved from the arena's unused end while there is room (ops->sub:
 * an OpenCL sub-buffer, a CUDA pointer), else allocated on its own.  The
 * arena is only ever bumped: a slot that grows again leaves its old piece
 * unused, which the next reserve (or release) reclaims.
 *
 * Compiled into the core and into each module (src/host/): the dispatcher
 * stages host tensors through it, and the backends take their temporaries
 * from it, on the same ie_context.
 */
#include <stdlib.h>
#include <string.h>

#include "host.h"

static void drop_slot(ie_context *ctx, ie_ws_slot *sl) {
  if (!sl->buf) return;
  if (sl->carved) {
    if (ctx->ops->sub_free) ctx->ops->sub_free(ctx, sl->buf);
  } else {
    ctx->ops->free(ctx, sl->buf);
    ctx->ws.info.device_bytes -= sl->size;
  }
  sl->buf = NULL;
  sl->size = 0;
  sl->carved = 0;
}

/* Round up to the carving granularity; 0 on overflow. */
static size_t aligned(size_t bytes) {
  if (bytes > (size_t)-1 - IE_WS_ALIGN) return 0;
  return (bytes + IE_WS_ALIGN - 1) / IE_WS_ALIGN * IE_WS_ALIGN;
}

ie_status ie__ws_device(ie_context *ctx, int slot, size_t bytes, void **buf) {
  ie_workspace *ws = &ctx->ws;
  ie_ws_slot *sl = &ws->dev[slot];
  if (bytes == 0) bytes = 1;
  if (sl->buf && sl->size >= bytes) {
    *buf = sl->buf;
    return IE_OK;
  }
  *buf = NULL;
  drop_slot(ctx, sl);
  /* Grow by half again at least, so that slowly growing calls settle. */
  size_t want = bytes + bytes / 2 > bytes ? bytes + bytes / 2 : bytes;
  size_t need = aligned(want);
  if (ws->arena && ctx->ops->sub && need && need <= ws->arena_size - ws->arena_used) {
    void *view = NULL;
    ie_status s = ctx->ops->sub(ctx, ws->arena, ws->arena_used, need, &view);
    if (s != IE_OK) return s;
    ws->arena_used += need;
    sl->buf = view;
    sl->size = need;
    sl->carved = 1;
    *buf = view;
    return IE_OK;
  }
  void *m = NULL;
  ie_status s = ctx->ops->alloc(ctx, want, &m);
  if (s != IE_OK) return s;
  if (!m) return ie__error(ctx, IE_INTERNAL, "workspace: the %s backend returned no buffer", ctx->ops->name);
  ws->info.device_allocations++;
  ws->info.device_bytes += want;
  sl->buf = m;
  sl->size = want;
  *buf = m;
  return IE_OK;
}

ie_status ie__ws_host(ie_context *ctx, int slot, size_t bytes, void **ptr) {
  ie_workspace *ws = &ctx->ws;
  if (bytes == 0) bytes = 1;
  if (ws->host[slot] && ws->host_size[slot] >= bytes) {
    *ptr = ws->host[slot];
    return IE_OK;
  }
  *ptr = NULL;
  if (ws->host[slot]) {
    if (ctx->ops->host_free) ctx->ops->host_free(ctx, ws->host[slot]);
    else free(ws->host[slot]);
    ws->info.host_bytes -= ws->host_size[slot];
    ws->host[slot] = NULL;
    ws->host_size[slot] = 0;
  }
  size_t want = bytes + bytes / 2 > bytes ? bytes + bytes / 2 : bytes;
  void *p = NULL;
  if (ctx->ops->host_alloc) {
    ie_status s = ctx->ops->host_alloc(ctx, want, &p);
    if (s != IE_OK) return s;
  } else {
    p = malloc(want);
    if (!p)
      return ie__error(ctx, IE_OUT_OF_MEMORY, "workspace: no host memory for %zu bytes of staging", want);
  }
  ws->info.host_allocations++;
  ws->info.host_bytes += want;
  ws->host[slot] = p;
  ws->host_size[slot] = want;
  *ptr = p;
  return IE_OK;
}

void ie__ws_copied(ie_context *ctx, int to_device, size_t bytes) {
  if (to_device) {
    ctx->ws.info.copies_to_device++;
    ctx->ws.info.bytes_to_device += bytes;
  } else {
    ctx->ws.info.copies_to_host++;
    ctx->ws.info.bytes_to_host += bytes;
  }
}

static void drop_arena(ie_context *ctx) {
  ie_workspace *ws = &ctx->ws;
  for (int i = 0; i < IE_WS_SLOTS; i++)
    if (ws->dev[i].carved) drop_slot(ctx, &ws->dev[i]);
  if (ws->arena) {
    ctx->ops->free(ctx, ws->arena);
    ws->info.device_bytes -= ws->arena_size;
  }
  ws->arena = NULL;
  ws->arena_size = ws->arena_used = 0;
}

void ie__ws_free(ie_context *ctx) {
  ie_workspace *ws = &ctx->ws;
  if (!ctx->ops) return;
  for (int i = 0; i < IE_WS_SLOTS; i++) drop_slot(ctx, &ws->dev[i]);
  drop_arena(ctx);
  for (int i = 0; i < IE_WSH_SLOTS; i++) {
    if (!ws->host[i]) continue;
    if (ctx->ops->host_free) ctx->ops->host_free(ctx, ws->host[i]);
    else free(ws->host[i]);
    ws->info.host_bytes -= ws->host_size[i];
    ws->host[i] = NULL;
    ws->host_size[i] = 0;
  }
}

ie_status ie__ws_reserve(ie_context *ctx, size_t bytes) {
  ie_workspace *ws = &ctx->ws;
  if (bytes <= ws->arena_size) return IE_OK;
  size_t need = aligned(bytes);
  if (!need)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_workspace_reserve: %zu bytes is more than any device holds", bytes);
  drop_arena(ctx);
  /* The slots allocated on their own go too: the arena is meant to hold them. */
  for (int i = 0; i < IE_WS_SLOTS; i++) drop_slot(ctx, &ws->dev[i]);
  void *m = NULL;
  ie_status s = ctx->ops->alloc(ctx, need, &m);
  if (s != IE_OK) return s;
  ws->info.device_allocations++;
  ws->info.device_bytes += need;
  ws->arena = m;
  ws->arena_size = need;
  ws->arena_used = 0;
  return IE_OK;
}
