/*
 * test_faults.c — fault injection (a build with -DIE_FAULT_INJECTION=ON).
 *
 * For every operation of the table (rel_ops.c), on every backend compiled in,
 * for its valid call and for each of its bad-value calls, sweep n = 1, 2, ...:
 * make the n-th hook point (a dispatcher host allocation, a backend
 * allocation, a backend call) fail, and check that the call
 *   - returns IE_OUT_OF_MEMORY or IE_BACKEND_FAILURE (or the bad input's own
 *     status, found before the fault), with a message;
 *   - leaves outputs untouched or NaN, inputs untouched;
 *   - leaves the context usable: the next valid call is bit-identical to
 *     the one before any fault.
 * The sweep ends at the first n that the call no longer reaches.  Leaks are
 * LeakSanitizer's business (scripts/sanitize.sh runs this under ASan).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infoest_testing.h"
#include "rel_ops.h"

static long long n_checks, n_fail, n_faults, n_calls;
static const char *PROG = "test_faults";

static void check(int ok, const char *what, const char *detail) {
  n_checks++;
  if (!ok) {
    n_fail++;
    fprintf(stderr, "FAIL: %s: %s\n", what, detail);
  }
}

static void prepare(const ro_op *op, ro_case *c, ie_context *ctx, int bad) {
  ro_setup(op, c, ctx);
  if (bad < 0) return;
  const ro_bad *bv = &op->bad[bad];
  if (bv->tweak) bv->tweak(c);
  if (bv->slot >= 0) {
    ro_slot *sl = &c->slot[bv->slot];
    if (sl->t.dtype.code == kDLInt) ((int64_t *)sl->data)[bv->elem] = (int64_t)bv->value;
    else ((float *)sl->data)[bv->elem] = (float)bv->value;
    memcpy(sl->orig, sl->data, sl->bytes);
  }
}

static void sweep(const ro_op *op, ie_context *ctx, int bad, const unsigned char *base, size_t base_n,
                  long long *max_points) {
  char tag[256], d[1400];
  /* the unarmed status of this call */
  ro_case c;
  prepare(op, &c, ctx, bad);
  ie_testing_fail_after(0);
  ie_status plain = op->call(&c);
  long points = ie_testing_fault_count();
  ro_free(&c);
  if (points > *max_points) *max_points = points;
  for (long n = 1; n <= points + 1; n++) {
    prepare(op, &c, ctx, bad);
    ie_testing_fail_after(n);
    ie_status s = op->call(&c);
    int fired = ie_testing_fault_fired();
    ie_testing_fail_after(0);
    n_calls++;
    snprintf(tag, sizeof tag, "%s [%s] %s, fault at point %ld of %ld", op->name,
             ie_backend_name(ie_context_backend(ctx)), bad < 0 ? "valid call" : op->bad[bad].what, n,
             points);
    snprintf(d, sizeof d, "got %s (%s); unarmed %s", ie_status_name(s), s ? ie_errmsg(ctx) : "",
             ie_status_name(plain));
    if (!fired) {
      check(n == points + 1, tag, "the hook points differ from the unarmed call");
      check(s == plain, tag, d);
      ro_free(&c);
      break;
    }
    n_faults++;
    /* A fault while re-reading a bad row for the message leaves the kernel's
     * code, which may name another problem that also applies (a -inf
     * probability is negative and infinite). */
    int bad_value = s == IE_NONFINITE || s == IE_NEGATIVE || s == IE_EMPTY_ROW;
    int plain_bad_value = plain == IE_NONFINITE || plain == IE_NEGATIVE || plain == IE_EMPTY_ROW;
    int ok = s == IE_OUT_OF_MEMORY || s == IE_BACKEND_FAILURE || (s == plain && s != IE_OK) ||
             (bad_value && plain_bad_value);
    if (s == IE_OK && plain == IE_OK) {
      /* a fault the call could absorb: the results must still be exact */
      size_t rn;
      unsigned char *r = ro_results(&c, &rn);
      ok = bad < 0 && rn == base_n && memcmp(r, base, rn) == 0;
      free(r);
    }
    check(ok, tag, d);
    if (s != IE_OK) {
      check(strlen(ie_errmsg(ctx)) > 10, tag, "no message");
      char why[256];
      check(ro_outputs_clean(&c, why, sizeof why), tag, why);
    }
    check(ro_inputs_unchanged(&c), tag, "an input was modified");
    ro_free(&c);
    /* the context is still usable */
    prepare(op, &c, ctx, -1);
    s = op->call(&c);
    snprintf(d, sizeof d, "next valid call: %s (%s)", ie_status_name(s), s ? ie_errmsg(ctx) : "");
    check(s == IE_OK, tag, d);
    size_t rn;
    unsigned char *r = ro_results(&c, &rn);
    check(rn == base_n && memcmp(r, base, rn) == 0, tag, "next valid call: results differ");
    free(r);
    ro_free(&c);
  }
}

int main(void) {
  const ie_backend all[3] = {IE_BACKEND_CPU, IE_BACKEND_OPENCL, IE_BACKEND_CUDA};
  long long skipped = 0, max_points = 0, inputs = 0;
  check(ie_testing_enabled() == 1, "ie_testing_enabled", "not 1");
  for (int b = 0; b < 3; b++) {
    if (!ie_backend_compiled(all[b])) continue;
    ie_context_options o = {.size = sizeof o, .backend = all[b], .device = 0};
    ie_context *ctx = NULL;
    ie_status s = ie_context_create(&ctx, &o);
    if (s != IE_OK) {
      printf("SKIPPED: backend %s: %s\n", ie_backend_name(all[b]), ie_errmsg(ctx));
      ie_context_destroy(ctx);
      skipped++;
      continue;
    }
    for (int k = 0; k < ro_nops; k++) {
      const ro_op *op = &ro_ops[k];
      ro_case c;
      ro_setup(op, &c, ctx);
      s = op->call(&c);
      if (s == IE_UNSUPPORTED) {
        printf("SKIPPED: %s on %s: %s\n", op->name, ie_backend_name(all[b]), ie_errmsg(ctx));
        skipped++;
        ro_free(&c);
        continue;
      }
      check(s == IE_OK, op->name, ie_errmsg(ctx));
      size_t base_n;
      unsigned char *base = ro_results(&c, &base_n);
      ro_free(&c);
      for (int bad = -1; bad < op->nbad; bad++) {
        sweep(op, ctx, bad, base, base_n, &max_points);
        inputs++;
      }
      free(base);
    }
    ie_context_destroy(ctx);
  }
  ro_count(PROG, "inputs_swept", inputs);
  ro_count(PROG, "faults_injected", n_faults);
  ro_count(PROG, "calls", n_calls);
  ro_count(PROG, "max_hook_points_per_call", max_points);
  ro_count(PROG, "checks", n_checks);
  ro_count(PROG, "skipped", skipped);
  ro_count(PROG, "failures", n_fail);
  printf("%s: %lld faults injected over %lld inputs, %lld checks, %lld failures\n", PROG, n_faults,
         inputs, n_checks, n_fail);
  return n_fail ? 1 : 0;
}
