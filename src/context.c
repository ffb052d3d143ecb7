/*
 * context.c — version, status codes, backend names and contexts (the
 * registry of backends and their modules: src/registry.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "threads.h"

int ie_version(void) { return IE_VERSION_NUMBER; }
const char *ie_version_string(void) { return IE_VERSION_STRING; }

const char *ie_status_name(ie_status s) {
  switch (s) {
#define IE__STATUS_NAME(name, code, msg) \
  case IE_##name:                        \
    return "IE_" #name;
    IE_STATUS_MAP(IE__STATUS_NAME)
#undef IE__STATUS_NAME
  default:
    return "IE_UNKNOWN";
  }
}

const char *ie_status_string(ie_status s) {
  switch (s) {
#define IE__STATUS_MSG(name, code, msg) \
  case IE_##name:                       \
    return msg;
    IE_STATUS_MAP(IE__STATUS_MSG)
#undef IE__STATUS_MSG
  default:
    return "unknown status code";
  }
}

static const char *const div_names[] = {
#define IE__DIV_NAME(name, str) str,
    IE_DIVERGENCE_MAP(IE__DIV_NAME)
#undef IE__DIV_NAME
};

const char *ie_divergence_name(ie_divergence_kind k) {
  if ((unsigned)k >= (unsigned)IE_DIV_COUNT_) return "unknown";
  return div_names[k];
}

int ie_divergence_parse(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < IE_DIV_COUNT_; k++)
    if (strcmp(name, div_names[k]) == 0) return k;
  return -1;
}

/* ---- Backends (the registry is src/registry.c) ------------------------------ */

const char *ie_backend_name(ie_backend b) {
  switch (b) {
  case IE_BACKEND_AUTO: return "auto";
  case IE_BACKEND_CPU: return "cpu";
  case IE_BACKEND_CUDA: return "cuda";
  case IE_BACKEND_OPENCL: return "opencl";
  }
  return "unknown";
}

int ie_backend_parse(const char *name) {
  if (!name) return -1;
  for (int b = IE_BACKEND_AUTO; b <= IE_BACKEND_OPENCL; b++)
    if (strcmp(name, ie_backend_name((ie_backend)b)) == 0) return b;
  return -1;
}

/* ---- Errors ------------------------------------------------------------- */

/* ie__error: src/host/error.c (each module has its own copy). */

void ie__clear_error(ie_context *ctx) {
  if (!ctx) return;
  ctx->last = IE_OK;
  ctx->msg[0] = 0;
  ctx->err_index = ctx->err_row = ctx->err_col = -1;
  ctx->err_tensor[0] = 0;
}

void ie__locate(ie_context *ctx, const char *tensor, int64_t index, int64_t row, int64_t col) {
  if (!ctx) return;
  ctx->err_index = index;
  ctx->err_row = row;
  ctx->err_col = col;
  snprintf(ctx->err_tensor, sizeof ctx->err_tensor, "%s", tensor ? tensor : "");
}

/* The location is that of the last call's failure; a success cleared it. */
int64_t ie_error_index(const ie_context *ctx) { return ctx && ctx->last != IE_OK ? ctx->err_index : -1; }
int64_t ie_error_row(const ie_context *ctx) { return ctx && ctx->last != IE_OK ? ctx->err_row : -1; }
int64_t ie_error_column(const ie_context *ctx) { return ctx && ctx->last != IE_OK ? ctx->err_col : -1; }
const char *ie_error_tensor(const ie_context *ctx) {
  return ctx && ctx->last != IE_OK && ctx->err_tensor[0] ? ctx->err_tensor : NULL;
}

const char *ie_errmsg(const ie_context *ctx) {
  if (!ctx) return "no context (out of memory while creating it?)";
  if (ctx->last == IE_OK) return "not an error";
  return ctx->msg;
}

ie_status ie_errcode(const ie_context *ctx) {
  return ctx ? ctx->last : IE_OUT_OF_MEMORY;
}

void ie_context_set_cancel_flag(ie_context *ctx, const volatile int *flag) {
  if (ctx) ctx->cancel = flag;
}

/* ie__cancelled, ie__cancel: src/host/error.c. */

/* ---- Contexts ------------------------------------------------------------- */

/* Open backend b on ctx; on failure ctx keeps the message. */
static ie_status open_backend(ie_context *ctx, ie_backend b, int device) {
  ctx->backend = b; /* on failure, ie_context_backend names the backend tried */
  const ie_backend_ops *ops = ie__backend_load(ctx, b);
  if (!ops) return ctx->last; /* the message says why */
  void *state = NULL;
  ie_status s = ops->open(ctx, device, &state);
  if (s != IE_OK) return s;
  ctx->ops = ops;
  ctx->state = state;
  ctx->backend = b;
  ctx->device = device;
  return IE_OK;
}

ie_status ie_context_create(ie_context **out, const ie_context_options *opt) {
  if (!out) return IE_INVALID_ARGUMENT;
  *out = NULL;
  ie_context_options o;
  const int size_ok = ie__options_copy(&o, sizeof o, opt, opt ? opt->size : 0, IE__FIRST_SIZE(o, device));
  ie_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return IE_OUT_OF_MEMORY;
  *out = ctx;
  ie__clear_error(ctx);
  /* What ie_context_backend reports if creation fails before a backend is
   * tried: the one asked for, or for auto (or a bad value) the CPU, auto's
   * last resort; never AUTO (include/infoest.h).  open_backend updates it. */
  ctx->backend = size_ok && o.backend > IE_BACKEND_AUTO && o.backend <= IE_BACKEND_OPENCL ? o.backend
                                                                                        : IE_BACKEND_CPU;
  if (!size_ok)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "ie_context_create: options size %zu is smaller than the struct's first version "
                     "(%zu bytes); set size = sizeof the struct, or 0",
                     opt->size, IE__FIRST_SIZE(o, device));
  if (o.device < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "ie_context_create: device index %d is negative", o.device);
  if ((int)o.backend < IE_BACKEND_AUTO || o.backend > IE_BACKEND_OPENCL)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "ie_context_create: unknown backend %d", (int)o.backend);
  if (o.threads < 0 || o.threads > IE_MAX_THREADS)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "ie_context_create: threads %d is outside [0, %d] (0: OpenMP's count)",
                     o.threads, (int)IE_MAX_THREADS);
  ctx->threads = o.threads;
  if (o.async != 0 && o.async != 1)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "ie_context_create: async %d is neither 0 nor 1", o.async);

  ie_status s;
  if (o.backend != IE_BACKEND_AUTO) {
    s = open_backend(ctx, o.backend, o.device);
  } else {
    /* A working CUDA device, else an OpenCL GPU, else the CPU.  Failures of
     * the GPU probes are not errors here. */
    s = IE_BACKEND_UNAVAILABLE;
    if (ie_backend_compiled(IE_BACKEND_CUDA))
      s = open_backend(ctx, IE_BACKEND_CUDA, o.device);
    if (s != IE_OK && ie_backend_compiled(IE_BACKEND_OPENCL)) {
      s = open_backend(ctx, IE_BACKEND_OPENCL, o.device);
      if (s == IE_OK && !(ctx->ops->is_gpu && ctx->ops->is_gpu(ctx->state))) {
        ctx->ops->close(ctx->state);
        ctx->ops = NULL;
        ctx->state = NULL;
        s = IE_BACKEND_UNAVAILABLE;
      }
    }
    if (s != IE_OK) s = open_backend(ctx, IE_BACKEND_CPU, 0);
  }
  if (s == IE_OK) ie__clear_error(ctx); /* the probes' failures are not this call's */
  if (s == IE_OK) ctx->async = o.async && ctx->ops->synchronize != NULL;
  return s;
}

void ie_context_destroy(ie_context *ctx) {
  if (!ctx) return;
  if (ctx->ops) {
    /* Nothing may run on freed memory: pending calls' work is waited for.
     * Without them every call has waited for its own, and the caller's
     * stream or queue need not outlive its last use. */
    if (ctx->ops->synchronize && ie__async_pending(ctx)) ctx->ops->synchronize(ctx);
    ie__async_forget(ctx);
    ie__ws_free(ctx);
    ctx->ops->close(ctx->state);
  }
  free(ctx);
}

/* ---- Workspace and asynchronous mode ----------------------------------------- */

ie_status ie_workspace_reserve(ie_context *ctx, size_t device_bytes) {
  IE__CHECK(ie__begin(ctx, "ie_workspace_reserve", 1, ""));
  if (!ctx->ops->sub) return IE_OK; /* the CPU: no device memory to hold */
  const ie_status s = ie__ws_reserve(ctx, device_bytes);
  if (s != IE_OK && strncmp(ctx->msg, "ie_workspace_reserve:", 21) != 0) {
    /* The backend's allocator does not know the call: name it (every
     * message does, include/infoest.h). */
    char why[sizeof ctx->msg];
    memcpy(why, ctx->msg, sizeof why);
    return ie__error(ctx, s, "ie_workspace_reserve: no device arena of %zu bytes: %s", device_bytes, why);
  }
  return s;
}

ie_status ie_workspace_release(ie_context *ctx) {
  IE__CHECK(ie__begin(ctx, "ie_workspace_release", 1, ""));
  ie_status s = ie_synchronize(ctx);
  ie__ws_free(ctx);
  return s;
}

ie_status ie_workspace_query(ie_context *ctx, ie_workspace_info *info) {
  const char *fn = "ie_workspace_query";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  if (!info) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: info is NULL", fn);
  const size_t first = offsetof(ie_workspace_info, bytes_to_host) + sizeof info->bytes_to_host;
  if (info->size < first)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: info->size %zu is smaller than the struct's first version (%zu bytes); "
                     "set it to sizeof(ie_workspace_info)",
                     fn, info->size, first);
  ie_workspace_info w = ctx->ws.info;
  const size_t n = info->size < sizeof w ? info->size : sizeof w;
  w.size = info->size;
  memcpy(info, &w, n);
  return IE_OK;
}

ie_backend ie_context_backend(const ie_context *ctx) {
  /* A context whose creation failed: the backend it asked for, or the one
   * auto tried last (ie_context_create); never AUTO. */
  return ctx ? ctx->backend : IE_BACKEND_AUTO;
}

const char *ie_context_device_name(const ie_context *ctx) {
  if (!ctx || !ctx->ops) return "none";
  return ctx->ops->device_name ? ctx->ops->device_name(ctx->state) : ctx->ops->name;
}

void ie__end_previous(ie_context *ctx) {
  if (!ctx) return;
  if (ctx->pending) ie__async_note_writes(ctx);
  ctx->n_spans = 0;
  ie__clear_error(ctx);
}

ie_status ie__begin(ie_context *ctx, const char *fn, int supported, const char *family) {
  if (!ctx) return IE_INVALID_ARGUMENT;
  ie__end_previous(ctx);
  if (!ctx->ops)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: this context failed to open a backend", fn);
  ctx->ws.stage_next = 0;
  if (!supported)
    return ie__error(ctx, IE_UNSUPPORTED, "%s: the %s backend has no %s", fn, ctx->ops->name, family);
  return IE_OK;
}

ie_status ie_host_alloc(ie_context *ctx, size_t bytes, void **ptr) {
  if (ptr) *ptr = NULL;
  IE__CHECK(ie__begin(ctx, "ie_host_alloc", 1, "")); /* (before the checks: see ie__end_previous) */
  if (!ptr) return ie__error(ctx, IE_INVALID_ARGUMENT, "ie_host_alloc: ptr is NULL");
  if (ctx->ops->host_alloc) return ctx->ops->host_alloc(ctx, bytes, ptr);
  *ptr = malloc(bytes ? bytes : 1);
  if (!*ptr) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_host_alloc: no host memory for %zu bytes", bytes);
  return IE_OK;
}

void ie_host_free(ie_context *ctx, void *ptr) {
  if (!ptr) return;
  if (ctx && ctx->ops && ctx->ops->host_free) ctx->ops->host_free(ctx, ptr);
  else free(ptr);
}
