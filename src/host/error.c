/*
 * error.c — recording a failure on a context, and the cancel flag: the
 * services every backend uses (declared in src/backend.h).  One copy in the
 * core library and one in each module (src/host/host.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "host.h"

ie_status ie__error(ie_context *ctx, ie_status s, const char *fmt, ...) {
  if (!ctx) return s;
  ctx->last = s;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
  va_end(ap);
  return s;
}

int ie__cancelled(const ie_context *ctx) {
  return ctx && ctx->cancel && __atomic_load_n(ctx->cancel, __ATOMIC_RELAXED) != 0;
}

ie_status ie__cancel(ie_context *ctx, const char *fn) {
  return ie__error(ctx, IE_CANCELLED, "%s: cancelled (the context's cancel flag is set)", fn);
}
