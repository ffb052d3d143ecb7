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
#include <sys/types.h>
#include <unistd.h>

#include "backend.h"

/* The process the library was loaded in (src/host/fork.c). */
extern pid_t ie__load_pid;

/* The most a context may ask for (include/infoest.h, ie_context_options). */
enum { IE_MAX_THREADS = 4096 };

/* The context's thread count, or OpenMP's when it set none (0); one in a
 * process forked after the library was loaded, where OpenMP's threads are
 * gone (src/host/fork.c). */
static inline int ie__threads(const ie_context *ctx) {
  if (getpid() != ie__load_pid) return 1;
  return ctx && ctx->threads > 0 ? ctx->threads : omp_get_max_threads();
}

/* The rows a thread takes at a time in a row loop's dynamic schedule: up to
 * `most`, fewer where that would leave threads of the team idle (4 rows on
 * 2 threads in chunks of 4: one thread did them all). */
static inline int ie__row_chunk(int64_t rows, int team, int most) {
  const int64_t c = rows / (4 * (int64_t)(team > 0 ? team : 1));
  return c < 1 ? 1 : c > most ? most : (int)c;
}

#endif
