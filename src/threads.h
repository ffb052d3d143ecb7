/*
 * threads.h — PRIVATE: how many host threads an OpenMP region of a call may
 * use.  Every `omp parallel` of the library names its team size with
 * num_threads(ie__threads(ctx)): a clause, not omp_set_num_threads, because
 * that ICV belongs to the calling thread and the caller's (a server's)
 * OpenMP settings are its own.  C files compiled with OpenMP only.
 */
#ifndef IE_THREADS_H
#define IE_THREADS_H

#include <omp.h>

#include "backend.h"

/* The most a context may ask for (include/infoest.h, ie_context_options). */
enum { IE_MAX_THREADS = 4096 };

/* The context's thread count, or OpenMP's when it set none (0). */
static inline int ie__threads(const ie_context *ctx) {
  return ctx && ctx->threads > 0 ? ctx->threads : omp_get_max_threads();
}

#endif
