/*
 * test_reliability.c — the bad-input matrix: every public function, on every
 * backend compiled in (CUDA with no device here: skipped, said so), gets
 *   - NULL context, a context whose creation failed, NULL tensors and
 *     pointers;
 *   - for every tensor argument: NULL data, a negative dimension, a shape
 *     whose byte size overflows, a wrong rank, unsupported dtypes (complex,
 *     vector lanes, int8, float labels), rows that overlap or run backwards,
 *     a non-contiguous last dimension, a misaligned pointer, memory of a
 *     device the context cannot use, a leading dimension that disagrees with
 *     the other tensors, zero-sized dimensions;
 *   - the function's own bad values and options (NaN, ±inf, negative
 *     probabilities, empty rows, bad labels, orders, ε, ...).
 * Each must return its status (docs/SPEC.md §1) with a message in ie_errmsg that
 * names the call, leave inputs untouched, leave outputs untouched or NaN
 * (never a plausible partial result), and leave the context usable: the
 * valid call made next gives bit-identical results to the first one.
 *
 * A plain program (no Criterion): it runs unchanged under ASan, UBSan and
 * valgrind, and prints its counts for docs/RELIABILITY.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_ops.h"

static long long n_checks, n_fail, n_bad_inputs, n_skipped;
static const char *PROG = "test_reliability";

#define FAILF(...)                      \
  do {                                  \
    n_fail++;                           \
    fprintf(stderr, "FAIL: " __VA_ARGS__); \
    fputc('\n', stderr);                \
  } while (0)

static void check(int ok, const char *what, const char *detail) {
  n_checks++;
  if (!ok) FAILF("%s: %s", what, detail);
}

/* ---- functions that take no context ----------------------------------------------- */

static void scalar_api(void) {
  char d[256];
  long long checks0 = n_checks;
  check(ie_version() == IE_VERSION_NUMBER, "ie_version", "differs from the header");
  check(ie_version_string() && strcmp(ie_version_string(), IE_VERSION_STRING) == 0,
        "ie_version_string", "differs from the header");
  check(strcmp(ie_status_name((ie_status)-1), "IE_UNKNOWN") == 0, "ie_status_name(-1)", "not IE_UNKNOWN");
  check(strcmp(ie_status_name((ie_status)9999), "IE_UNKNOWN") == 0, "ie_status_name(9999)", "not IE_UNKNOWN");
  check(ie_status_string((ie_status)-7) != NULL, "ie_status_string(-7)", "NULL");
  check(ie_status_string(IE_STATUS_COUNT_) != NULL, "ie_status_string(COUNT)", "NULL");
  check(ie_backend_name((ie_backend)99) != NULL, "ie_backend_name(99)", "NULL");
  check(ie_backend_parse(NULL) == -1, "ie_backend_parse(NULL)", "not -1");
  check(ie_backend_parse("") == -1, "ie_backend_parse(\"\")", "not -1");
  check(ie_backend_parse("CPU ") == -1, "ie_backend_parse(\"CPU \")", "not -1");
  check(ie_backend_compiled((ie_backend)-1) == 0, "ie_backend_compiled(-1)", "not 0");
  check(ie_backend_compiled((ie_backend)99) == 0, "ie_backend_compiled(99)", "not 0");
  check(ie_backend_compiled(IE_BACKEND_AUTO) == 0, "ie_backend_compiled(AUTO)", "not 0");
  check(ie_divergence_name((ie_divergence_kind)-1) != NULL, "ie_divergence_name(-1)", "NULL");
  check(ie_divergence_name(IE_DIV_COUNT_) != NULL, "ie_divergence_name(COUNT)", "NULL");
  check(ie_divergence_parse(NULL) == -1, "ie_divergence_parse(NULL)", "not -1");
  check(ie_divergence_parse("KL") == -1, "ie_divergence_parse(\"KL\")", "not -1");
  check(ie_context_create(NULL, NULL) == IE_INVALID_ARGUMENT, "ie_context_create(NULL)", "not IE_INVALID_ARGUMENT");
  ie_context_destroy(NULL);
  check(ie_context_backend(NULL) == IE_BACKEND_AUTO, "ie_context_backend(NULL)", "not AUTO");
  check(ie_context_device_name(NULL) != NULL, "ie_context_device_name(NULL)", "NULL");
  check(ie_errmsg(NULL) != NULL, "ie_errmsg(NULL)", "NULL");
  (void)ie_errcode(NULL);
  ie_context_set_cancel_flag(NULL, NULL); /* a no-op */

  /* contexts that cannot be made: the status, a message, destroy works */
  struct {
    const char *what;
    ie_context_options o;
    ie_status expect;
  } bad[] = {
      {"backend 99", {sizeof(ie_context_options), (ie_backend)99, 0, 0, 0}, IE_INVALID_ARGUMENT},
      {"backend -3", {sizeof(ie_context_options), (ie_backend)-3, 0, 0, 0}, IE_INVALID_ARGUMENT},
      {"device -1", {sizeof(ie_context_options), IE_BACKEND_CPU, -1, 0, 0}, IE_INVALID_ARGUMENT},
      {"threads -1", {sizeof(ie_context_options), IE_BACKEND_CPU, 0, -1, 0}, IE_INVALID_ARGUMENT},
      {"threads 5000", {sizeof(ie_context_options), IE_BACKEND_CPU, 0, 5000, 0}, IE_INVALID_ARGUMENT},
      {"async 2", {sizeof(ie_context_options), IE_BACKEND_CPU, 0, 0, 2}, IE_INVALID_ARGUMENT},
      {"options size 2^40", {(size_t)1 << 40, IE_BACKEND_CPU, 0, 0, 0}, IE_OK},
      /* no version of the struct was this small: a garbage size */
      {"options size 1", {1, IE_BACKEND_CPU, 0, 0, 0}, IE_INVALID_ARGUMENT},
      {"options size 8", {8, IE_BACKEND_CPU, 0, 0, 0}, IE_INVALID_ARGUMENT},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    ie_context *ctx = (ie_context *)&bad; /* must be overwritten */
    ie_status s = ie_context_create(&ctx, &bad[k].o);
    snprintf(d, sizeof d, "got %s (%s), expected %s", ie_status_name(s), ctx ? ie_errmsg(ctx) : "-",
             ie_status_name(bad[k].expect));
    check(s == bad[k].expect, bad[k].what, d);
    check(ctx != (ie_context *)&bad, bad[k].what, "*out not set");
    if (s != IE_OK) check(ctx && strlen(ie_errmsg(ctx)) > 10, bad[k].what, "no message");
    if (ctx != (ie_context *)&bad) ie_context_destroy(ctx);
    n_bad_inputs++;
  }
  /* CUDA or OpenCL asked for where they are not compiled in */
  for (int b = IE_BACKEND_CUDA; b <= IE_BACKEND_OPENCL; b++) {
    if (ie_backend_compiled((ie_backend)b)) continue;
    ie_context_options o = {.size = sizeof o, .backend = (ie_backend)b, .device = 0};
    ie_context *ctx = NULL;
    ie_status s = ie_context_create(&ctx, &o);
    check(s == IE_BACKEND_UNAVAILABLE, ie_backend_name((ie_backend)b), "not IE_BACKEND_UNAVAILABLE");
    ie_context_destroy(ctx);
    n_bad_inputs++;
  }
  n_bad_inputs += n_checks - checks0;
}

/* ---- one bad call ---------------------------------------------------------------- */

static unsigned char *baseline;
static size_t baseline_n;

static int has_name(const char *msg, const char *name) {
  char q[64];
  snprintf(q, sizeof q, "'%s'", name);
  return strstr(msg, q) || (strlen(name) > 2 && strstr(msg, name));
}

/* Run the prepared bad call in c and check everything a failure must hold. */
static void run_bad(const ro_op *op, ro_case *c, const char *what, int expect, const char *slotname) {
  char tag[256], d[1400];
  snprintf(tag, sizeof tag, "%s [%s] %s", op->name, ie_backend_name(ie_context_backend(c->ctx)), what);
  ie_status s = op->call(c);
  n_bad_inputs++;
  const char *msg = ie_errmsg(c->ctx);
  snprintf(d, sizeof d, "got %s (%s), expected %s", ie_status_name(s), s == IE_OK ? "" : msg,
           expect < 0 ? "any" : ie_status_name((ie_status)expect));
  if (expect >= 0) check(s == (ie_status)expect, tag, d);
  if (s != IE_OK) {
    check(ie_errcode(c->ctx) == s, tag, "ie_errcode differs from the returned status");
    check(msg && strlen(msg) > 10 && strcmp(msg, "not an error") != 0, tag, "no message");
    check(strstr(msg, op->name) != NULL, tag, d);
    if (slotname) {
      snprintf(d, sizeof d, "message does not name tensor '%s': %s", slotname, msg);
      check(has_name(msg, slotname), tag, d);
    }
    char why[256];
    check(ro_outputs_clean(c, why, sizeof why), tag, why);
  }
  check(ro_inputs_unchanged(c), tag, "an input was modified");
}

/* A bad element that is the failure (NaN, a negative probability, a bad
 * label): ie_error_tensor/_index/_row/_column name it, in the tensor's own
 * shape (compact here, so the flat element `elem` fixes the position). */
static void check_location(const ro_op *op, const ro_case *c, const ro_bad *bv) {
  if (bv->expect != IE_NONFINITE && bv->expect != IE_NEGATIVE && bv->expect != IE_BAD_LABEL) return;
  const ro_slot *sl = &c->slot[bv->slot];
  int64_t want[3] = {-1, -1, -1}, e = bv->elem; /* index, row, column */
  const int nd = sl->t.ndim;
  if (nd == 1) want[1] = e;
  else {
    want[2] = e % sl->shape[nd - 1];
    e /= sl->shape[nd - 1];
    want[1] = e % sl->shape[nd - 2];
    if (nd == 3) want[0] = e / sl->shape[nd - 2];
  }
  char tag[256], d[600];
  snprintf(tag, sizeof tag, "%s [%s] %s: location", op->name, ie_backend_name(ie_context_backend(c->ctx)),
           bv->what);
  const char *tn = ie_error_tensor(c->ctx);
  /* ie_entropy names its input after opt->input */
  const char *name = !strcmp(op->name, "ie_entropy") && c->en.input == IE_INPUT_PROBS ? "probs" : sl->name;
  snprintf(d, sizeof d, "got tensor %s index %lld row %lld column %lld, expected '%s' %lld %lld %lld (%s)",
           tn ? tn : "NULL", (long long)ie_error_index(c->ctx), (long long)ie_error_row(c->ctx),
           (long long)ie_error_column(c->ctx), name, (long long)want[0], (long long)want[1],
           (long long)want[2], ie_errmsg(c->ctx));
  check(tn && !strcmp(tn, name) && ie_error_index(c->ctx) == want[0] && ie_error_row(c->ctx) == want[1] &&
            ie_error_column(c->ctx) == want[2],
        tag, d);
}

/* After any failure the same context must run a valid call bit-identically. */
static void recheck(const ro_op *op, ie_context *ctx, const char *after) {
  ro_case c;
  ro_setup(op, &c, ctx);
  ie_status s = op->call(&c);
  char tag[256], d[1200];
  snprintf(tag, sizeof tag, "%s [%s] valid call after '%s'", op->name,
           ie_backend_name(ie_context_backend(ctx)), after);
  snprintf(d, sizeof d, "%s: %s", ie_status_name(s), ie_errmsg(ctx));
  check(s == IE_OK, tag, d);
  /* ... and forget the failure: a success reads IE_OK everywhere. */
  check(ie_errcode(ctx) == IE_OK, tag, "ie_errcode is not IE_OK after a successful call");
  check(strcmp(ie_errmsg(ctx), "not an error") == 0, tag, "ie_errmsg still holds the old message");
  check(ie_error_row(ctx) == -1 && ie_error_column(ctx) == -1 && ie_error_index(ctx) == -1 &&
            ie_error_tensor(ctx) == NULL,
        tag, "the old failure's location survived a successful call");
  size_t n;
  unsigned char *r = ro_results(&c, &n);
  check(n == baseline_n && memcmp(r, baseline, n) == 0, tag, "results differ from the first valid call");
  free(r);
  ro_free(&c);
}

enum {
  M_NULL, M_NULL_DATA, M_NEG_DIM, M_HUGE, M_HUGE2, M_NDIM, M_NDIM0, M_COMPLEX, M_LANES, M_INT8,
  M_FLOAT_LABELS, M_OVERLAP, M_BACKWARD, M_COLSTRIDE, M_MISALIGN, M_DEV_CUDA, M_DEV_OCL,
  M_DEV_VULKAN, M_MISMATCH, M_ZERO_LEAD, M_ZERO_LAST, M_COUNT
};
static const char *const mname[] = {
    "NULL tensor", "NULL data", "negative dimension", "leading dimension 2^62",
    "dimensions 2^32 x 2^32", "rank 5", "rank 0", "dtype complex64", "dtype float32x4",
    "dtype int8", "dtype float32 for integers", "overlapping rows", "rows running backwards",
    "last dimension stride 2", "misaligned pointer", "device kDLCUDA", "device kDLOpenCL id 3",
    "device kDLVulkan", "leading dimension disagrees", "leading dimension 0", "last dimension 0"};

/* Apply mutation m to slot i; returns the expected status, or -2 to skip. */
static int mutate(ro_case *c, int i, int m) {
  ro_slot *s = &c->slot[i];
  DLTensor *t = &s->t;
  int nd = t->ndim;
  int is_int = t->dtype.code == kDLInt;
  switch (m) {
  case M_NULL:
    if (s->optional) return -2;
    s->is_null = 1;
    return IE_INVALID_ARGUMENT;
  case M_NULL_DATA:
    t->data = NULL;
    return IE_INVALID_ARGUMENT;
  case M_NEG_DIM:
    s->shape[0] = -3;
    return IE_BAD_SHAPE;
  case M_HUGE:
    s->shape[0] = INT64_C(1) << 62;
    return IE_BAD_SHAPE;
  case M_HUGE2:
    if (nd < 2) return -2;
    s->shape[nd - 2] = INT64_C(1) << 32;
    s->shape[nd - 1] = INT64_C(1) << 32;
    return IE_BAD_SHAPE;
  case M_NDIM:
    for (int k = nd; k < RO_MAX_DIM; k++) s->shape[k] = 1;
    t->ndim = RO_MAX_DIM;
    return IE_BAD_SHAPE;
  case M_NDIM0:
    t->ndim = 0;
    return -1; /* a scalar: refused, or taken as one element where that is a shape */
  case M_COMPLEX:
    t->dtype = (DLDataType){kDLComplex, 64, 1};
    return IE_BAD_DTYPE;
  case M_LANES:
    t->dtype = (DLDataType){kDLFloat, 32, 4};
    return IE_BAD_DTYPE;
  case M_INT8:
    t->dtype = (DLDataType){kDLInt, 8, 1};
    return IE_BAD_DTYPE;
  case M_FLOAT_LABELS:
    if (!is_int) return -2;
    t->dtype = (DLDataType){kDLFloat, 64, 1};
    return IE_BAD_DTYPE;
  case M_OVERLAP:
    if (s->shape[0] < 2 || (nd >= 2 && s->shape[nd - 1] < 2)) return -2;
    t->strides = s->strides;
    if (nd == 1) s->strides[0] = 0;
    else s->strides[nd - 2] = s->shape[nd - 1] - 1;
    return IE_BAD_SHAPE;
  case M_BACKWARD:
    t->strides = s->strides;
    if (nd == 1) s->strides[0] = -1;
    else s->strides[nd - 2] = -s->shape[nd - 1];
    return IE_BAD_SHAPE;
  case M_COLSTRIDE:
    if (nd < 2) return -2;
    t->strides = s->strides;
    s->strides[nd - 1] = 2;
    return IE_BAD_SHAPE;
  case M_MISALIGN:
    t->byte_offset = 1;
    return IE_INVALID_ARGUMENT;
  case M_DEV_CUDA:
    t->device = (DLDevice){kDLCUDA, 0};
    return IE_WRONG_DEVICE;
  case M_DEV_OCL:
    t->device = (DLDevice){kDLOpenCL, 3};
    return IE_WRONG_DEVICE;
  case M_DEV_VULKAN:
    t->device = (DLDevice){kDLVulkan, 0};
    return IE_WRONG_DEVICE;
  case M_MISMATCH:
    if (!s->linked) return -2;
    s->shape[0] += 1;
    return IE_BAD_SHAPE;
  case M_ZERO_LEAD:
    for (int k = 0; k < c->nslots; k++) c->slot[k].shape[0] = 0;
    return -1;
  case M_ZERO_LAST:
    s->shape[nd - 1] = 0;
    return -1;
  }
  return -2;
}

static void run_backend(ie_backend b) {
  ie_context_options o = {.size = sizeof o, .backend = b, .device = 0};
  ie_context *ctx = NULL;
  ie_status s = ie_context_create(&ctx, &o);
  if (s == IE_BACKEND_UNAVAILABLE) {
    printf("SKIPPED: backend %s is compiled in but has no device here: %s\n", ie_backend_name(b),
           ie_errmsg(ctx));
    ie_context_destroy(ctx);
    n_skipped++;
    return;
  }
  if (s != IE_OK) {
    FAILF("ie_context_create(%s): %s", ie_backend_name(b), ie_errmsg(ctx));
    ie_context_destroy(ctx);
    return;
  }
  /* a context whose creation failed: every call refuses it */
  ie_context *dead = NULL;
  ie_context_options od = {.size = sizeof od, .backend = (ie_backend)42, .device = 0};
  ie_context_create(&dead, &od);

  for (int k = 0; k < ro_nops; k++) {
    const ro_op *op = &ro_ops[k];
    ro_case c;
    ro_setup(op, &c, ctx);
    s = op->call(&c);
    if (s == IE_UNSUPPORTED) {
      printf("SKIPPED: %s on %s: %s\n", op->name, ie_backend_name(b), ie_errmsg(ctx));
      n_skipped++;
      ro_free(&c);
      continue;
    }
    char d[1200];
    snprintf(d, sizeof d, "%s: %s", ie_status_name(s), ie_errmsg(ctx));
    check(s == IE_OK, op->name, d);
    free(baseline);
    baseline = ro_results(&c, &baseline_n);
    int nslots = c.nslots;
    ro_free(&c);
    if (s != IE_OK) continue;

    /* no context, a dead context */
    ro_setup(op, &c, NULL);
    s = op->call(&c);
    n_bad_inputs++;
    check(s == IE_INVALID_ARGUMENT, op->name, "NULL context: not IE_INVALID_ARGUMENT");
    ro_free(&c);
    ro_setup(op, &c, dead);
    run_bad(op, &c, "context whose creation failed", IE_INVALID_ARGUMENT, NULL);
    ro_free(&c);

    for (int i = 0; i < nslots; i++)
      for (int m = 0; m < M_COUNT; m++) {
        ro_setup(op, &c, ctx);
        int e = mutate(&c, i, m);
        if (e != -2) {
          char what[160];
          snprintf(what, sizeof what, "tensor '%s': %s", c.slot[i].name, mname[m]);
          /* a zero leading dimension changes every tensor: no one to name */
          run_bad(op, &c, what, e, m == M_ZERO_LEAD ? NULL : c.slot[i].name);
          recheck(op, ctx, what);
        }
        ro_free(&c);
      }
    /* an output that is the input itself */
    if (!strcmp(op->name, "ie_softmax") || !strcmp(op->name, "ie_log_softmax")) {
      ro_setup(op, &c, ctx);
      c.slot[1].t.data = c.slot[0].t.data;
      s = op->call(&c);
      n_bad_inputs++;
      check(s == IE_INVALID_ARGUMENT, op->name, "out aliasing logits: not IE_INVALID_ARGUMENT");
      check(ro_inputs_unchanged(&c), op->name, "out aliasing logits: input modified");
      ro_free(&c);
    }
    for (int j = 0; j < op->nbad; j++) {
      const ro_bad *bv = &op->bad[j];
      ro_setup(op, &c, ctx);
      if (bv->tweak) bv->tweak(&c);
      if (bv->slot >= 0) {
        ro_slot *sl = &c.slot[bv->slot];
        if (sl->t.dtype.code == kDLInt) ((int64_t *)sl->data)[bv->elem] = (int64_t)bv->value;
        else ((float *)sl->data)[bv->elem] = (float)bv->value;
        memcpy(sl->orig, sl->data, sl->bytes);
      }
      run_bad(op, &c, bv->what, bv->expect, NULL);
      if (bv->slot >= 0) check_location(op, &c, bv);
      ro_free(&c);
      recheck(op, ctx, bv->what);
    }
  }
  ie_context_destroy(dead);
  ie_context_destroy(ctx);
}

int main(void) {
  scalar_api();
  const ie_backend all[3] = {IE_BACKEND_CPU, IE_BACKEND_OPENCL, IE_BACKEND_CUDA};
  int backends = 0;
  for (int k = 0; k < 3; k++)
    if (ie_backend_compiled(all[k])) {
      run_backend(all[k]);
      backends++;
    }
  free(baseline);
  /* distinct public functions exercised: the op table plus the context-free ones */
  int distinct = 0;
  for (int k = 0; k < ro_nops; k++) {
    int seen = 0;
    for (int j = 0; j < k; j++) seen |= !strcmp(ro_ops[j].name, ro_ops[k].name);
    distinct += !seen;
  }
  /* + ie_version, ie_version_string, ie_status_name, ie_status_string,
   * ie_backend_name, ie_backend_parse, ie_backend_compiled,
   * ie_divergence_name, ie_divergence_parse, ie_context_create,
   * ie_context_destroy, ie_context_backend, ie_context_device_name,
   * ie_errmsg, ie_errcode */
  ro_count(PROG, "functions", distinct + 15);
  ro_count(PROG, "backends", backends);
  ro_count(PROG, "bad_inputs", n_bad_inputs);
  ro_count(PROG, "checks", n_checks);
  ro_count(PROG, "skipped", n_skipped);
  ro_count(PROG, "failures", n_fail);
  printf("%s: %lld bad inputs, %lld checks, %lld failures\n", PROG, n_bad_inputs, n_checks, n_fail);
  return n_fail ? 1 : 0;
}
