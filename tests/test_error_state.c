/*
 * test_error_state.c — the error state of a context, call by call.
 *
 * include/infoest.h promises: every call that takes a (non-const) context and
 * returns an ie_status first forgets the context's last failure, so a
 * successful call after a failed one leaves ie_errcode at IE_OK, ie_errmsg at
 * "not an error" and ie_error_tensor/_index/_row/_column at NULL / -1.
 *
 * The calls are ENUMERATED here: the ops of rel_ops.c (every public
 * operation) and the `extras` table below.  `test_error_state --list` prints
 * them with the calls that keep the error state (`keeps`), and
 * tests/check_entry_points.py holds that list against every IE_API function
 * of include/infoest*.h that takes a context: a new entry point that is in
 * neither list fails that test.  On every backend here (CUDA without a
 * device: skipped), each call is made right after a failure that located an
 * element, and right after its own failure, and must then read clean.
 *
 * A plain program (no Criterion), like test_reliability.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_ops.h"

/* The GPU extras, declared with their handles as void * (cl_command_queue
 * and cudaStream_t are pointers), so that this test needs neither SDK. */
#if IE_TEST_HAVE_OPENCL
IE_API ie_status ie_opencl_set_queue(ie_context *ctx, void *queue);
#endif
#if IE_TEST_HAVE_CUDA
IE_API ie_status ie_cuda_set_stream(ie_context *ctx, void *stream);
#endif

static long long n_checks, n_fail, n_calls;

static void check(int ok, const char *what, const char *detail) {
  n_checks++;
  if (!ok) {
    n_fail++;
    fprintf(stderr, "FAIL: %s: %s\n", what, detail);
  }
}

/* ---- The calls that are not in rel_ops.c's table ----------------------------- */

/* A successful call; returns its status (-1: not on this backend). */
static int good_host_alloc(ie_context *ctx) {
  void *p = NULL;
  ie_status s = ie_host_alloc(ctx, 64, &p);
  ie_host_free(ctx, p); /* keeps the state: checked after it */
  return s;
}
/* Its own failure. */
static int bad_host_alloc(ie_context *ctx) { return ie_host_alloc(ctx, 64, NULL); }

static int good_workspace_reserve(ie_context *ctx) { return ie_workspace_reserve(ctx, 1 << 16); }
static int bad_workspace_reserve(ie_context *ctx) {
  /* More than any device holds (a CPU context holds nothing and succeeds). */
  if (ie_context_backend(ctx) == IE_BACKEND_CPU) return -1;
  return (int)ie_workspace_reserve(ctx, (size_t)-1);
}
static int good_workspace_release(ie_context *ctx) { return ie_workspace_release(ctx); }
static int good_workspace_query(ie_context *ctx) {
  ie_workspace_info w = {.size = sizeof w};
  return ie_workspace_query(ctx, &w);
}
static int bad_workspace_query(ie_context *ctx) {
  ie_workspace_info w = {.size = 8}; /* smaller than any version */
  return ie_workspace_query(ctx, &w);
}
static int good_synchronize(ie_context *ctx) { return ie_synchronize(ctx); }

static int good_opencl_set_queue(ie_context *ctx) {
#if IE_TEST_HAVE_OPENCL
  if (ie_context_backend(ctx) == IE_BACKEND_OPENCL) return ie_opencl_set_queue(ctx, NULL);
#endif
  (void)ctx;
  return -1;
}

static int good_cuda_set_stream(ie_context *ctx) {
#if IE_TEST_HAVE_CUDA
  if (ie_context_backend(ctx) == IE_BACKEND_CUDA) return ie_cuda_set_stream(ctx, NULL);
#endif
  (void)ctx;
  return -1;
}

/* The partial states: a state of two rows, then merged and finalized. */
static int good_partial_add(ie_context *ctx) {
  double v[2] = {1.0, 2.0};
  int64_t shape[1] = {2};
  DLTensor t = {v, {kDLCPU, 0}, 1, {kDLFloat, 64, 1}, shape, NULL, 0};
  ie_partial p;
  ie_partial_init(&p, 0);
  return ie_partial_add(ctx, &p, &t, NULL);
}
static int bad_partial_add(ie_context *ctx) {
  ie_partial p;
  memset(&p, 0, sizeof p); /* not made by the library */
  double v[1] = {1.0};
  int64_t shape[1] = {1};
  DLTensor t = {v, {kDLCPU, 0}, 1, {kDLFloat, 64, 1}, shape, NULL, 0};
  return ie_partial_add(ctx, &p, &t, NULL);
}
static int good_partial_merge(ie_context *ctx) {
  ie_partial a, b;
  ie_partial_init(&a, 0);
  ie_partial_init(&b, 0);
  return ie_partial_merge(ctx, &a, &b);
}
static int bad_partial_merge(ie_context *ctx) {
  ie_partial a, b;
  ie_partial_init(&a, 0);
  ie_partial_init(&b, 3); /* a gap: out of order */
  return ie_partial_merge(ctx, &a, &b);
}
static int good_partial_finalize(ie_context *ctx) {
  double v[1] = {0.5};
  int64_t shape[1] = {1};
  DLTensor t = {v, {kDLCPU, 0}, 1, {kDLFloat, 64, 1}, shape, NULL, 0};
  ie_partial p;
  ie_partial_init(&p, 0);
  if (ie_partial_add(ctx, &p, &t, NULL) != IE_OK) return IE_INTERNAL;
  ie_summary s;
  return ie_partial_finalize(ctx, &p, &s);
}
static int bad_partial_finalize(ie_context *ctx) {
  ie_partial p;
  ie_partial_init(&p, 0); /* no kept row */
  ie_summary s;
  return ie_partial_finalize(ctx, &p, &s);
}

/* MAUVE (one histogram pair; a tiny clustering) and discrete information. */
static DLTensor host_tensor(void *data, int ndim, int64_t *shape, uint8_t code, uint8_t bits) {
  DLTensor t = {data, {kDLCPU, 0}, ndim, {code, bits, 1}, shape, NULL, 0};
  return t;
}
static int good_mauve_histograms(ie_context *ctx) {
  double p[3] = {1, 2, 3}, q[3] = {3, 2, 1};
  int64_t n[1] = {3};
  DLTensor tp = host_tensor(p, 1, n, kDLFloat, 64), tq = host_tensor(q, 1, n, kDLFloat, 64);
  ie_mauve_scores sc;
  return ie_mauve_histograms(ctx, &tp, &tq, NULL, &sc, NULL);
}
static int bad_mauve_histograms(ie_context *ctx) {
  double p[3] = {1, -2, 3}, q[3] = {3, 2, 1};
  int64_t n[1] = {3};
  DLTensor tp = host_tensor(p, 1, n, kDLFloat, 64), tq = host_tensor(q, 1, n, kDLFloat, 64);
  ie_mauve_scores sc;
  return ie_mauve_histograms(ctx, &tp, &tq, NULL, &sc, NULL);
}
static int mauve_call(ie_context *ctx, int bad) {
  float p[8 * 3], q[8 * 3];
  for (int i = 0; i < 8 * 3; i++) {
    p[i] = (float)((i * 7) % 5) + 0.25f * (float)i;
    q[i] = (float)((i * 3) % 4) - 0.5f * (float)(i % 3);
  }
  if (bad) q[5] = 0.0f / 0.0f;
  int64_t n[2] = {8, 3};
  DLTensor tp = host_tensor(p, 2, n, kDLFloat, 32), tq = host_tensor(q, 2, n, kDLFloat, 32);
  const DLTensor *qs[1] = {&tq};
  ie_mauve_options o = {.size = sizeof o, .clusters = 2, .redo = 1};
  ie_mauve_scores sc;
  return ie_mauve(ctx, &tp, qs, 1, &o, &sc, NULL, NULL, NULL);
}
static int good_mauve(ie_context *ctx) { return mauve_call(ctx, 0); }
static int bad_mauve(ie_context *ctx) { return mauve_call(ctx, 1); }
static int count_call(ie_context *ctx, int64_t label) {
  int64_t x[4] = {0, 1, 1, 0}, y[4] = {1, 0, label, 1}, table[4] = {0};
  int64_t n[1] = {4}, ts[2] = {2, 2};
  DLTensor tx = host_tensor(x, 1, n, kDLInt, 64), ty = host_tensor(y, 1, n, kDLInt, 64);
  DLTensor tt = host_tensor(table, 2, ts, kDLInt, 64);
  return ie_count_pairs(ctx, &tx, &ty, &tt, NULL);
}
static int good_count_pairs(ie_context *ctx) { return count_call(ctx, 1); }
static int bad_count_pairs(ie_context *ctx) { return count_call(ctx, 7); }
static int pmi_call(ie_context *ctx, double cell) {
  float c[4] = {3, 1, (float)cell, 2}; /* f32: float64 tables are the CPU's only */
  float out[4];
  int64_t ts[2] = {2, 2};
  DLTensor tc = host_tensor(c, 2, ts, kDLFloat, 32), to = host_tensor(out, 2, ts, kDLFloat, 32);
  ie_pmi_result r;
  return ie_pmi(ctx, &tc, &to, NULL, &r);
}
static int good_pmi(ie_context *ctx) { return pmi_call(ctx, 1); }
static int bad_pmi(ie_context *ctx) { return pmi_call(ctx, -1); }
static int table_mi_call(ie_context *ctx, double cell) {
  float c[4] = {3, 1, (float)cell, 2};
  int64_t ts[2] = {2, 2};
  DLTensor tc = host_tensor(c, 2, ts, kDLFloat, 32);
  ie_table_mi_result r;
  return ie_table_mi(ctx, &tc, NULL, &r);
}
static int good_table_mi(ie_context *ctx) { return table_mi_call(ctx, 1); }
static int bad_table_mi(ie_context *ctx) { return table_mi_call(ctx, -1); }
static int pid_call(ie_context *ctx, double cell) {
  float j[8] = {0.25f, 0, 0, 0.25f, 0, 0.25f, (float)cell, 0}; /* XOR when cell = 0.25 */
  int64_t js[3] = {2, 2, 2};
  DLTensor tj = host_tensor(j, 3, js, kDLFloat, 32);
  ie_pid_result r;
  return ie_pid(ctx, &tj, NULL, &r, NULL);
}
static int good_pid(ie_context *ctx) { return pid_call(ctx, 0.25); }
static int bad_pid(ie_context *ctx) { return pid_call(ctx, -0.25); }
static int pid_gaussian_call(ie_context *ctx, double off) {
  float c[9] = {1, 0.2f, 0.3f, 0.2f, 1, (float)off, 0.3f, (float)off, 1};
  int64_t cs[2] = {3, 3}, sizes[3] = {1, 1, 1};
  DLTensor tc = host_tensor(c, 2, cs, kDLFloat, 32);
  ie_pid_result r;
  return ie_pid_gaussian(ctx, &tc, sizes, NULL, &r);
}
static int good_pid_gaussian(ie_context *ctx) { return pid_gaussian_call(ctx, 0.4); }
static int bad_pid_gaussian(ie_context *ctx) { return pid_gaussian_call(ctx, 5.0); }
static int pid_pointwise_call(ie_context *ctx, float v) {
  float i1[3] = {0.1f, 0.5f, 0.2f}, i2[3] = {0.3f, 0.2f, v}, i12[3] = {0.6f, 0.9f, 0.4f}, r[3];
  int64_t n[1] = {3};
  DLTensor a = host_tensor(i1, 1, n, kDLFloat, 32), b = host_tensor(i2, 1, n, kDLFloat, 32);
  DLTensor c = host_tensor(i12, 1, n, kDLFloat, 32), tr = host_tensor(r, 1, n, kDLFloat, 32);
  return ie_pid_pointwise(ctx, &a, &b, &c, &tr, NULL, NULL, NULL);
}
static int good_pid_pointwise(ie_context *ctx) { return pid_pointwise_call(ctx, 0.1f); }
static int bad_pid_pointwise(ie_context *ctx) { return pid_pointwise_call(ctx, 1.0f / 0.0f); }

static const struct {
  const char *name;
  int (*good)(ie_context *);
  int (*bad)(ie_context *); /* NULL, or -1 from it: only the generic failure */
} extras[] = {
    {"ie_host_alloc", good_host_alloc, bad_host_alloc},
    {"ie_workspace_reserve", good_workspace_reserve, bad_workspace_reserve},
    {"ie_workspace_release", good_workspace_release, NULL},
    {"ie_workspace_query", good_workspace_query, bad_workspace_query},
    {"ie_synchronize", good_synchronize, NULL},
    {"ie_opencl_set_queue", good_opencl_set_queue, NULL},
    {"ie_cuda_set_stream", good_cuda_set_stream, NULL},
    {"ie_partial_add", good_partial_add, bad_partial_add},
    {"ie_partial_merge", good_partial_merge, bad_partial_merge},
    {"ie_partial_finalize", good_partial_finalize, bad_partial_finalize},
    {"ie_mauve_histograms", good_mauve_histograms, bad_mauve_histograms},
    {"ie_mauve", good_mauve, bad_mauve},
    {"ie_count_pairs", good_count_pairs, bad_count_pairs},
    {"ie_pmi", good_pmi, bad_pmi},
    {"ie_table_mi", good_table_mi, bad_table_mi},
    {"ie_pid", good_pid, bad_pid},
    {"ie_pid_gaussian", good_pid_gaussian, bad_pid_gaussian},
    {"ie_pid_pointwise", good_pid_pointwise, bad_pid_pointwise},
};
enum { N_EXTRAS = sizeof extras / sizeof extras[0] };

/* The calls that take a context and leave its error state as it is: the
 * readers (a const context), and the void calls. */
static const char *const keeps[] = {
    "ie_errmsg",      "ie_errcode",          "ie_error_index",         "ie_error_row",
    "ie_error_column", "ie_error_tensor",    "ie_context_backend",     "ie_context_device_name",
    "ie_context_destroy", "ie_context_set_cancel_flag", "ie_host_free", "ie_opencl_get_context",
    "ie_cuda_get_stream",
};

/* ---- Checks --------------------------------------------------------------------- */

/* A failure that names an element: a NaN at logits[2][1] of ie_entropy. */
static void located_failure(ie_context *ctx, const char *before) {
  float v[3 * 4] = {0};
  v[2 * 4 + 1] = 0.0f / 0.0f;
  int64_t shape[2] = {3, 4};
  DLTensor t = {v, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
  ie_summary sm;
  ie_status s = ie_entropy(ctx, &t, NULL, NULL, &sm);
  char tag[200], d[1400];
  snprintf(tag, sizeof tag, "[%s] the failure before %s", ie_backend_name(ie_context_backend(ctx)), before);
  const char *tn = ie_error_tensor(ctx);
  snprintf(d, sizeof d, "%s, tensor %s index %lld row %lld column %lld: %s", ie_status_name(s),
           tn ? tn : "NULL", (long long)ie_error_index(ctx), (long long)ie_error_row(ctx),
           (long long)ie_error_column(ctx), ie_errmsg(ctx));
  check(s == IE_NONFINITE && ie_errcode(ctx) == IE_NONFINITE && tn && !strcmp(tn, "logits") &&
            ie_error_index(ctx) == -1 && ie_error_row(ctx) == 2 && ie_error_column(ctx) == 1,
        tag, d);
}

/* After the successful call `name`: nothing of the failure is left. */
static void expect_clean(ie_context *ctx, const char *name, int s, const char *after) {
  char tag[300], d[1400];
  snprintf(tag, sizeof tag, "%s [%s] after %s", name, ie_backend_name(ie_context_backend(ctx)), after);
  snprintf(d, sizeof d, "returned %s: %s", ie_status_name((ie_status)s), ie_errmsg(ctx));
  check(s == IE_OK, tag, d);
  const char *tn = ie_error_tensor(ctx);
  snprintf(d, sizeof d, "ie_errcode %s, ie_errmsg \"%s\", tensor %s, index %lld, row %lld, column %lld",
           ie_status_name(ie_errcode(ctx)), ie_errmsg(ctx), tn ? tn : "NULL", (long long)ie_error_index(ctx),
           (long long)ie_error_row(ctx), (long long)ie_error_column(ctx));
  check(ie_errcode(ctx) == IE_OK && !strcmp(ie_errmsg(ctx), "not an error") && tn == NULL &&
            ie_error_index(ctx) == -1 && ie_error_row(ctx) == -1 && ie_error_column(ctx) == -1,
        tag, d);
  n_calls++;
}

static int op_call(const ro_op *op, ie_context *ctx, const ro_bad *bad) {
  ro_case c;
  ro_setup(op, &c, ctx);
  if (bad) {
    if (bad->tweak) bad->tweak(&c);
    if (bad->slot >= 0) {
      ro_slot *sl = &c.slot[bad->slot];
      if (sl->t.dtype.code == kDLInt) ((int64_t *)sl->data)[bad->elem] = (int64_t)bad->value;
      else ((float *)sl->data)[bad->elem] = (float)bad->value;
    }
  }
  ie_status s = op->call(&c);
  ro_free(&c);
  return s;
}

static void run_backend(ie_backend b) {
  ie_context *ctx = NULL;
  ie_context_options o = {.size = sizeof o, .backend = b, .device = 0};
  if (ie_context_create(&ctx, &o) != IE_OK) {
    printf("SKIP %s: %s\n", ie_backend_name(b), ie_errmsg(ctx));
    ie_context_destroy(ctx);
    return;
  }
  for (int k = 0; k < ro_nops; k++) {
    const ro_op *op = &ro_ops[k];
    located_failure(ctx, op->name);
    expect_clean(ctx, op->name, op_call(op, ctx, NULL), "a located failure");
    /* its own first refused value */
    for (int j = 0; j < op->nbad; j++) {
      if (op->bad[j].expect <= 0) continue;
      int s = op_call(op, ctx, &op->bad[j]);
      char tag[300];
      snprintf(tag, sizeof tag, "%s [%s] %s", op->name, ie_backend_name(b), op->bad[j].what);
      check(s != IE_OK && (int)ie_errcode(ctx) == s, tag, "the bad call did not fail with its status");
      expect_clean(ctx, op->name, op_call(op, ctx, NULL), op->bad[j].what);
      break;
    }
  }
  for (int k = 0; k < N_EXTRAS; k++) {
    located_failure(ctx, extras[k].name);
    int s = extras[k].good(ctx);
    if (s < 0) continue; /* not on this backend */
    located_failure(ctx, extras[k].name);
    expect_clean(ctx, extras[k].name, extras[k].good(ctx), "a located failure");
    const int bad = extras[k].bad ? extras[k].bad(ctx) : -1; /* -1: none on this backend */
    if (bad >= 0) {
      check(bad != IE_OK, extras[k].name, "its bad call did not fail");
      expect_clean(ctx, extras[k].name, extras[k].good(ctx), "its own failure");
    }
  }
  ie_context_destroy(ctx);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--list")) {
    for (int k = 0; k < ro_nops; k++) printf("clears %s\n", ro_ops[k].name);
    for (int k = 0; k < N_EXTRAS; k++) printf("clears %s\n", extras[k].name);
    for (size_t k = 0; k < sizeof keeps / sizeof keeps[0]; k++) printf("keeps %s\n", keeps[k]);
    return 0;
  }
  const ie_backend all[3] = {IE_BACKEND_CPU, IE_BACKEND_OPENCL, IE_BACKEND_CUDA};
  for (int k = 0; k < 3; k++)
    if (ie_backend_compiled(all[k])) run_backend(all[k]);
  printf("test_error_state: %lld successful calls after a failure, %lld checks, %lld failures\n", n_calls,
         n_checks, n_fail);
  return n_fail || n_calls == 0 ? 1 : 0;
}
