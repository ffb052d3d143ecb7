/*
 * test_threads.c — concurrency.  The header's rule: a context is not
 * thread-safe; distinct contexts may be used at once, also on the same
 * device.  Here IE_TEST_THREADS threads (default 8), each with its own
 * context on every backend compiled in, run every operation of the table
 * (rel_ops.c), valid and with a bad value, IE_TEST_ITERS times (default 3)
 * in an order of their own, all at once.  Every result must be bit-identical
 * to the single-threaded run and every error the same status.
 * scripts/sanitize.sh runs this under ThreadSanitizer.
 *
 * IE_TEST_SKIP_OPENCL=1 leaves OpenCL out (the TSan run does: PoCL's own
 * threads are not instrumented, so TSan cannot see their synchronisation).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_ops.h"

enum { MAXB = 3, MAXOPS = 64 };
static ie_backend backends[MAXB];
static int nb;
static unsigned char *ref[MAXB][MAXOPS];
static size_t ref_n[MAXB][MAXOPS];
static ie_status ref_bad[MAXB][MAXOPS];
static int iters = 3;

typedef struct {
  int id;
  long long calls, fails;
} worker;

static ie_status run_bad0(const ro_op *op, ro_case *c) {
  const ro_bad *bv = &op->bad[0];
  if (bv->tweak) bv->tweak(c);
  if (bv->slot >= 0) {
    ro_slot *sl = &c->slot[bv->slot];
    if (sl->t.dtype.code == kDLInt) ((int64_t *)sl->data)[bv->elem] = (int64_t)bv->value;
    else ((float *)sl->data)[bv->elem] = (float)bv->value;
  }
  return op->call(c);
}

static void *work(void *arg) {
  worker *w = arg;
  ie_context *ctx[MAXB] = {0};
  for (int b = 0; b < nb; b++) {
    ie_context_options o = {.size = sizeof o, .backend = backends[b], .device = 0};
    if (ie_context_create(&ctx[b], &o) != IE_OK) {
      fprintf(stderr, "FAIL: thread %d: context on %s: %s\n", w->id, ie_backend_name(backends[b]),
              ie_errmsg(ctx[b]));
      w->fails++;
    }
  }
  for (int it = 0; it < iters; it++)
    for (int j = 0; j < ro_nops; j++) {
      int k = (j + w->id * 5 + it) % ro_nops; /* every thread its own order */
      for (int b = 0; b < nb; b++) {
        if (!ref[b][k] || !ctx[b]) continue;
        const ro_op *op = &ro_ops[k];
        ro_case c;
        ro_setup(op, &c, ctx[b]);
        ie_status s = op->call(&c);
        size_t n;
        unsigned char *r = ro_results(&c, &n);
        w->calls++;
        if (s != IE_OK || n != ref_n[b][k] || memcmp(r, ref[b][k], n) != 0) {
          fprintf(stderr, "FAIL: thread %d: %s on %s: %s, results %s the single-threaded run\n", w->id,
                  op->name, ie_backend_name(backends[b]), ie_status_name(s),
                  s == IE_OK ? "differ from" : "missing versus");
          w->fails++;
        }
        free(r);
        ro_free(&c);
        if (op->nbad) {
          ro_setup(op, &c, ctx[b]);
          s = run_bad0(op, &c);
          w->calls++;
          if (s != ref_bad[b][k] || (s != IE_OK && strstr(ie_errmsg(ctx[b]), op->name) == NULL)) {
            fprintf(stderr, "FAIL: thread %d: %s on %s, '%s': %s (%s), single-threaded %s\n", w->id,
                    op->name, ie_backend_name(backends[b]), op->bad[0].what, ie_status_name(s),
                    ie_errmsg(ctx[b]), ie_status_name(ref_bad[b][k]));
            w->fails++;
          }
          ro_free(&c);
        }
      }
    }
  for (int b = 0; b < nb; b++) ie_context_destroy(ctx[b]);
  return NULL;
}

int main(void) {
  int nthreads = getenv("IE_TEST_THREADS") ? atoi(getenv("IE_TEST_THREADS")) : 8;
  if (getenv("IE_TEST_ITERS")) iters = atoi(getenv("IE_TEST_ITERS"));
  if (nthreads < 2) nthreads = 2;
  if (nthreads > 64) nthreads = 64;
  int skip_ocl = getenv("IE_TEST_SKIP_OPENCL") && atoi(getenv("IE_TEST_SKIP_OPENCL"));
  const ie_backend all[3] = {IE_BACKEND_CPU, IE_BACKEND_OPENCL, IE_BACKEND_CUDA};
  long long fails = 0, skipped = 0;
  int ops_run = 0;
  for (int k = 0; k < 3; k++) {
    if (!ie_backend_compiled(all[k])) continue;
    if (all[k] == IE_BACKEND_OPENCL && skip_ocl) {
      printf("SKIPPED: opencl (IE_TEST_SKIP_OPENCL=1: PoCL's threads are not instrumented)\n");
      skipped++;
      continue;
    }
    ie_context_options o = {.size = sizeof o, .backend = all[k], .device = 0};
    ie_context *ctx = NULL;
    if (ie_context_create(&ctx, &o) != IE_OK) {
      printf("SKIPPED: backend %s: %s\n", ie_backend_name(all[k]), ie_errmsg(ctx));
      ie_context_destroy(ctx);
      skipped++;
      continue;
    }
    /* the single-threaded reference */
    for (int j = 0; j < ro_nops; j++) {
      const ro_op *op = &ro_ops[j];
      ro_case c;
      ro_setup(op, &c, ctx);
      ie_status s = op->call(&c);
      if (s == IE_OK) {
        ref[nb][j] = ro_results(&c, &ref_n[nb][j]);
        ops_run++;
      } else if (s == IE_UNSUPPORTED) {
        skipped++;
      } else {
        fprintf(stderr, "FAIL: %s on %s: %s\n", op->name, ie_backend_name(all[k]), ie_errmsg(ctx));
        fails++;
      }
      ro_free(&c);
      if (op->nbad) {
        ro_setup(op, &c, ctx);
        ref_bad[nb][j] = run_bad0(op, &c);
        ro_free(&c);
      }
    }
    ie_context_destroy(ctx);
    backends[nb++] = all[k];
  }
  pthread_t th[64];
  worker w[64];
  memset(w, 0, sizeof w);
  for (int t = 0; t < nthreads; t++) {
    w[t].id = t;
    if (pthread_create(&th[t], NULL, work, &w[t]) != 0) {
      fprintf(stderr, "FAIL: pthread_create\n");
      return 1;
    }
  }
  long long calls = 0;
  for (int t = 0; t < nthreads; t++) {
    pthread_join(th[t], NULL);
    calls += w[t].calls;
    fails += w[t].fails;
  }
  for (int b = 0; b < nb; b++)
    for (int j = 0; j < ro_nops; j++) free(ref[b][j]);
  const char *prog = "test_threads";
  ro_count(prog, "threads", nthreads);
  ro_count(prog, "op_backend_pairs", ops_run);
  ro_count(prog, "concurrent_calls", calls);
  ro_count(prog, "skipped", skipped);
  ro_count(prog, "failures", fails);
  printf("%s: %d threads, %lld concurrent calls, %lld failures\n", prog, nthreads, calls, fails);
  return fails ? 1 : 0;
}
