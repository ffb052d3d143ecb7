/*
 * test_async.c — the row family (and ie_pid, ie_count_pairs) with device
 * tensors on OpenCL (PoCL here): the device-resident path and the
 * asynchronous mode (include/infoest.h, "Workspace" and "Asynchronous
 * mode").
 *
 *  - summaries made on the device are the bits of the host's: the summary and
 *    partial state of a call equal, to the last bit, ie_partial_add of the
 *    call's own per-row values (f64) with the same weights on a CPU context,
 *    for LM-like rows (Zipf-like bias, confident rows 25 above the rest, a
 *    student near its teacher), with float weights, NLL's ignore_index and
 *    the divergences' clamp at 0; per-row values are checked against a
 *    float64 reference computed here (two-pass, long double sums);
 *  - a warm context allocates nothing and moves only the outcome (a few
 *    hundred words) per call;
 *  - async: a call on the caller's queue returns before its work ran (a user
 *    event holds the queue), its outputs are valid after ie_synchronize; a NaN
 *    row is reported by ie_synchronize naming the tensor and row; of three
 *    pending calls the second failing gives its status and the others'
 *    results are still right; many pending calls after warm-up allocate
 *    nothing;
 *  - a failed pending call's output is NaN exactly where no later call
 *    wrote: after a call refused at once and ie_host_alloc or
 *    ie_opencl_set_queue, under a later column slice, after 300 distinct
 *    outputs; with 336 calls pending a host-tensor call still runs;
 *  - ie_pid (imin, BROJA) with a device joint and out, and ie_count_pairs
 *    with device labels and table: enqueued, right after ie_synchronize; a
 *    NaN joint, a bad label reported by it, naming the joint, the row.
 *
 * A plain program: exit 0 when every check passes, 77 (skipped) when there is
 * no OpenCL device, 1 otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infoest.h"
#if IE_TEST_HAVE_OPENCL
#include "infoest_opencl.h"
#endif

#if !IE_TEST_HAVE_OPENCL
int main(void) {
  fprintf(stderr, "[NOTE] test_async: no OpenCL backend in this build; skipped\n");
  return 77;
}
#else

static int n_checks, n_fail;

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    n_checks++;                                                         \
    if (!(cond)) {                                                      \
      n_fail++;                                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);              \
      fprintf(stderr, __VA_ARGS__);                                     \
      fputc('\n', stderr);                                              \
    }                                                                   \
  } while (0)

/* ---- inputs ------------------------------------------------------------------ */

static uint64_t rng = 0x243F6A8885A308D3ull;
static double unif(void) {
  rng += 0x9E3779B97F4A7C15ull;
  uint64_t z = rng;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif()); }

enum { R = 96, V = 1500 };

/* Language-model-like logits: −1.2·log(rank) + N(0, 2.5²), every third row
 * with one logit 25 above the rest; q: a student near p (noise 0.3, +0.5). */
static void lm_rows(float *p, float *q) {
  for (int r = 0; r < R; r++) {
    for (int i = 0; i < V; i++) {
      p[r * V + i] = (float)(-1.2 * log(1.0 + i) + 2.5 * gauss());
      q[r * V + i] = (float)(p[r * V + i] + 0.3 * gauss() + 0.5);
    }
    if (r % 3 == 0) {
      int top = (int)(unif() * V);
      float mx = -INFINITY;
      for (int i = 0; i < V; i++) mx = fmaxf(mx, p[r * V + i]);
      p[r * V + top] = mx + 25.0f;
    }
  }
}

/* float64 references (long double sums): Shannon entropy, NLL, KL of rows. */
static long double lse_row(const float *z) {
  long double m = -INFINITY, s = 0;
  for (int i = 0; i < V; i++) m = fmaxl(m, z[i]);
  for (int i = 0; i < V; i++) s += expl((long double)z[i] - m);
  return m + logl(s);
}
static double ref_entropy(const float *z) {
  const long double l = lse_row(z);
  long double h = 0;
  for (int i = 0; i < V; i++) {
    const long double lp = z[i] - l;
    h -= expl(lp) * lp;
  }
  return (double)h;
}
static double ref_kl(const float *p, const float *q) {
  const long double lp = lse_row(p), lq = lse_row(q);
  long double k = 0;
  for (int i = 0; i < V; i++) k += expl(p[i] - lp) * ((p[i] - lp) - (q[i] - lq));
  return (double)k;
}
static int close_to(double got, double want) {
  return fabs(got - want) <= fmax(1e-5 * fabs(want), 1e-6);
}

/* ---- OpenCL helpers ---------------------------------------------------------- */

typedef struct {
  ie_context *ctx;
  cl_context cl;
  cl_device_id dev;
  cl_command_queue q; /* the test's queue (set on the context for async) */
} gpu;

static int gpu_open(gpu *g, int async) {
  ie_context_options o = {.size = sizeof o, .backend = IE_BACKEND_OPENCL};
  o.async = async;
  memset(g, 0, sizeof *g);
  if (ie_context_create(&g->ctx, &o) != IE_OK) {
    fprintf(stderr, "[NOTE] test_async: no OpenCL context: %s\n", ie_errmsg(g->ctx));
    ie_context_destroy(g->ctx);
    g->ctx = NULL;
    return 0;
  }
  ie_opencl_get_context(g->ctx, &g->cl, &g->dev, NULL);
  cl_int e = CL_SUCCESS;
  g->q = clCreateCommandQueue(g->cl, g->dev, 0, &e);
  return e == CL_SUCCESS;
}
static void gpu_close(gpu *g) {
  if (g->q) clReleaseCommandQueue(g->q);
  ie_context_destroy(g->ctx);
}

/* A device buffer with `bytes` of `src` at byte offset `off` (written
 * blocking on the test's queue). */
static cl_mem dbuf(gpu *g, const void *src, size_t bytes, size_t off) {
  cl_int e = CL_SUCCESS;
  cl_mem m = clCreateBuffer(g->cl, CL_MEM_READ_WRITE, bytes + off, NULL, &e);
  if (e != CL_SUCCESS) return NULL;
  if (src) clEnqueueWriteBuffer(g->q, m, CL_TRUE, off, bytes, src, 0, NULL, NULL);
  return m;
}
static void dread(gpu *g, cl_mem m, size_t off, void *dst, size_t bytes) {
  clEnqueueReadBuffer(g->q, m, CL_TRUE, off, bytes, dst, 0, NULL, NULL);
}

typedef struct {
  DLTensor t;
  int64_t shape[2];
} dten;
static DLTensor *dt2(dten *d, cl_mem m, size_t off, DLDataType dt, int64_t rows, int64_t cols) {
  d->shape[0] = rows;
  d->shape[1] = cols;
  d->t = (DLTensor){(void *)m, {kDLOpenCL, 0}, 2, dt, d->shape, NULL, off};
  return &d->t;
}
static DLTensor *dt1(dten *d, cl_mem m, size_t off, DLDataType dt, int64_t n) {
  d->shape[0] = n;
  d->t = (DLTensor){(void *)m, {kDLOpenCL, 0}, 1, dt, d->shape, NULL, off};
  return &d->t;
}
static DLTensor *ht1(dten *d, void *p, DLDataType dt, int64_t n) {
  d->shape[0] = n;
  d->t = (DLTensor){p, {kDLCPU, 0}, 1, dt, d->shape, NULL, 0};
  return &d->t;
}
static const DLDataType F32 = {kDLFloat, 32, 1}, F64 = {kDLFloat, 64, 1}, I64 = {kDLInt, 64, 1};

/* The summary and partial state that the host's exact sums make of per-row
 * values `v` with weights `w` (NULL: none), on a CPU context. */
static void host_summary(const double *v, const double *w, ie_summary *sm, ie_partial *pt) {
  ie_context *cpu = NULL;
  ie_context_options o = {.size = sizeof o, .backend = IE_BACKEND_CPU};
  ie_context_create(&cpu, &o);
  dten a, b;
  ie_partial_init(pt, 0);
  ie_status s = ie_partial_add(cpu, pt, ht1(&a, (void *)v, F64, R), w ? ht1(&b, (void *)w, F64, R) : NULL);
  CHECK(s == IE_OK, "ie_partial_add: %s", ie_errmsg(cpu));
  s = ie_partial_finalize(cpu, pt, sm);
  CHECK(s == IE_OK, "ie_partial_finalize: %s", ie_errmsg(cpu));
  ie_context_destroy(cpu);
}

static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* The inputs of every test, on the device. */
typedef struct {
  float p[R * V], q[R * V];
  int64_t lab[R];
  float wf[R];
  double wd[R];
  cl_mem dp, dq, dlab, dw, dout, dout2;
} inputs;

static void inputs_make(gpu *g, inputs *in) {
  lm_rows(in->p, in->q);
  for (int r = 0; r < R; r++) {
    in->lab[r] = (int64_t)(unif() * V);
    in->wf[r] = r % 7 == 3 ? 0.0f : (float)(0.25 + unif());
    in->wd[r] = (double)in->wf[r];
  }
  in->lab[4] = -100; /* ignored */
  in->lab[50] = -100;
  in->dp = dbuf(g, in->p, sizeof in->p, 256);
  in->dq = dbuf(g, in->q, sizeof in->q, 0);
  in->dlab = dbuf(g, in->lab, sizeof in->lab, 64);
  in->dw = dbuf(g, in->wf, sizeof in->wf, 0);
  in->dout = dbuf(g, NULL, R * sizeof(double), 128);
  in->dout2 = dbuf(g, NULL, R * sizeof(double), 0);
}
static void inputs_free(inputs *in) {
  cl_mem all[] = {in->dp, in->dq, in->dlab, in->dw, in->dout, in->dout2};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (all[i]) clReleaseMemObject(all[i]);
}

/* ---- device-resident summaries --------------------------------------------------- */

static void test_summary_bits(void) {
  gpu g;
  if (!gpu_open(&g, 0)) return;
  static inputs in;
  inputs_make(&g, &in);
  ie_opencl_set_queue(g.ctx, g.q);
  dten x, y, l, w, o;
  double v[R];
  ie_summary sm, want;
  ie_partial pt, want_pt;

  /* Shannon entropy, float weights (some 0), f64 per_row at an offset. */
  ie_entropy_options eo = {.size = sizeof eo, .row_weights = dt1(&w, in.dw, 0, F32, R), .partial = &pt};
  ie_status s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm);
  CHECK(s == IE_OK, "ie_entropy: %s", ie_errmsg(g.ctx));
  dread(&g, in.dout, 128, v, sizeof v);
  int bad = 0;
  for (int r = 0; r < R; r++) bad += !close_to(v[r], ref_entropy(in.p + r * V));
  CHECK(bad == 0, "entropy: %d rows off the float64 reference", bad);
  host_summary(v, in.wd, &want, &want_pt);
  CHECK(same_bits(&sm, &want, sizeof sm), "entropy summary: device sum %.17g mean %.17g, host %.17g %.17g",
        sm.sum, sm.mean, want.sum, want.mean);
  want_pt.row_begin = pt.row_begin; /* both 0 */
  CHECK(pt.kind != 0, "the call's partial state carries no kind");
  want_pt.kind = pt.kind; /* the host's values (ie_partial_add) are of any kind */
  CHECK(same_bits(&pt, &want_pt, sizeof pt), "entropy partial state differs from the host's");
  CHECK(sm.rows_kept == R - (R + 3) / 7, "rows_kept %lld", (long long)sm.rows_kept);

  /* NLL with ignore_index, no weights: ignored rows are 0 and not kept. */
  ie_nll_options no = {.size = sizeof no, .ignore_index = -100, .has_ignore_index = 1};
  s = ie_nll(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&l, in.dlab, 64, I64, R), dt1(&o, in.dout2, 0, F64, R), &no, &sm);
  CHECK(s == IE_OK, "ie_nll: %s", ie_errmsg(g.ctx));
  dread(&g, in.dout2, 0, v, sizeof v);
  double mask[R];
  for (int r = 0; r < R; r++) mask[r] = in.lab[r] == -100 ? 0.0 : 1.0;
  bad = 0;
  for (int r = 0; r < R; r++) {
    const double ref = in.lab[r] == -100 ? 0.0 : (double)(lse_row(in.p + r * V) - in.p[r * V + in.lab[r]]);
    bad += !close_to(v[r], ref);
  }
  CHECK(bad == 0, "nll: %d rows off the float64 reference", bad);
  host_summary(v, mask, &want, &want_pt);
  CHECK(same_bits(&sm, &want, sizeof sm), "nll summary: device %.17g host %.17g", sm.sum, want.sum);
  CHECK(sm.rows_kept == R - 2, "nll rows_kept %lld", (long long)sm.rows_kept);

  /* KL of a row with itself is exactly 0 after the clamp; of a student, > 0. */
  ie_divergence_options dvo = {.size = sizeof dvo};
  s = ie_divergence(g.ctx, IE_DIV_KL, dt2(&x, in.dp, 256, F32, R, V), dt2(&y, in.dq, 0, F32, R, V),
                    dt1(&o, in.dout, 128, F64, R), &dvo, &sm);
  CHECK(s == IE_OK, "ie_divergence: %s", ie_errmsg(g.ctx));
  dread(&g, in.dout, 128, v, sizeof v);
  bad = 0;
  for (int r = 0; r < R; r++) bad += !close_to(v[r], ref_kl(in.p + r * V, in.q + r * V));
  CHECK(bad == 0, "kl: %d rows off the float64 reference", bad);
  host_summary(v, NULL, &want, &want_pt);
  CHECK(same_bits(&sm, &want, sizeof sm), "kl summary: device %.17g host %.17g", sm.sum, want.sum);
  s = ie_divergence(g.ctx, IE_DIV_JS, dt2(&x, in.dp, 256, F32, R, V), dt2(&y, in.dp, 256, F32, R, V),
                    dt1(&o, in.dout, 128, F64, R), &dvo, &sm);
  CHECK(s == IE_OK, "ie_divergence js: %s", ie_errmsg(g.ctx));
  dread(&g, in.dout, 128, v, sizeof v);
  int neg = 0;
  for (int r = 0; r < R; r++) neg += !(v[r] >= 0);
  CHECK(neg == 0, "js(p, p): %d rows below 0", neg);
  host_summary(v, NULL, &want, &want_pt);
  CHECK(same_bits(&sm, &want, sizeof sm), "js(p,p) summary: device min %g max %g, host %g %g", sm.min,
        sm.max, want.min, want.max);

  /* Warm: the same calls again allocate nothing and move only the outcome. */
  ie_workspace_info a = {.size = sizeof a}, b = {.size = sizeof b};
  ie_workspace_query(g.ctx, &a);
  for (int k = 0; k < 5; k++) {
    s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm);
    s |= ie_nll(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&l, in.dlab, 64, I64, R), dt1(&o, in.dout2, 0, F64, R), &no, &sm);
  }
  CHECK(s == IE_OK, "warm calls: %s", ie_errmsg(g.ctx));
  ie_workspace_query(g.ctx, &b);
  CHECK(b.device_allocations == a.device_allocations && b.host_allocations == a.host_allocations,
        "warm calls allocated: device %llu -> %llu, host %llu -> %llu",
        (unsigned long long)a.device_allocations, (unsigned long long)b.device_allocations,
        (unsigned long long)a.host_allocations, (unsigned long long)b.host_allocations);
  CHECK(b.bytes_to_device == a.bytes_to_device, "warm calls uploaded %llu bytes",
        (unsigned long long)(b.bytes_to_device - a.bytes_to_device));
  CHECK(b.copies_to_host - a.copies_to_host == 10 && b.bytes_to_host - a.bytes_to_host <= 10 * 1280,
        "warm calls: %llu reads, %llu bytes (want one outcome each)",
        (unsigned long long)(b.copies_to_host - a.copies_to_host),
        (unsigned long long)(b.bytes_to_host - a.bytes_to_host));

  /* A bad weight is found on the device and named with its row. */
  float wbad = -1.0f;
  clEnqueueWriteBuffer(g.q, in.dw, CL_TRUE, 11 * sizeof(float), sizeof wbad, &wbad, 0, NULL, NULL);
  s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm);
  CHECK(s == IE_INVALID_ARGUMENT && ie_error_row(g.ctx) == 11 &&
            !strcmp(ie_error_tensor(g.ctx) ? ie_error_tensor(g.ctx) : "", "row_weights"),
        "bad weight: %d row %lld: %s", (int)s, (long long)ie_error_row(g.ctx), ie_errmsg(g.ctx));
  CHECK(strstr(ie_errmsg(g.ctx), "row_weights[11] is -1") != NULL, "message: %s", ie_errmsg(g.ctx));
  inputs_free(&in);
  gpu_close(&g);
}

/* ---- the asynchronous mode ----------------------------------------------------- */

/* The call returns before its work ran; outputs are right after ie_synchronize. */
static void test_async_enqueues(void) {
  gpu g, gs;
  if (!gpu_open(&g, 1)) return;
  if (!gpu_open(&gs, 0)) return;
  static inputs in;
  inputs_make(&g, &in);
  CHECK(ie_opencl_set_queue(g.ctx, g.q) == IE_OK, "set_queue: %s", ie_errmsg(g.ctx));
  dten x, o, w;
  ie_summary sm_sync, sm;
  ie_partial pt;
  ie_entropy_options eo = {.size = sizeof eo, .row_weights = dt1(&w, in.dw, 0, F32, R)};
  /* The same call, synchronously, on a context of its own (host tensors). */
  double v_sync[R], v[R];
  dten hx, ho;
  dten hw;
  ie_entropy_options he = {.size = sizeof he, .row_weights = ht1(&hw, in.wf, F32, R)};
  DLTensor *hp = dt2(&hx, NULL, 0, F32, R, V);
  hp->data = in.p;
  hp->device = (DLDevice){kDLCPU, 0};
  ie_status s = ie_entropy(gs.ctx, hp, ht1(&ho, v_sync, F64, R), &he, &sm_sync);
  CHECK(s == IE_OK, "sync entropy: %s", ie_errmsg(gs.ctx));
  /* Warm the program and slots, then hold the queue with a user event. */
  s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm);
  CHECK(s == IE_OK && ie_synchronize(g.ctx) == IE_OK, "warm-up: %s", ie_errmsg(g.ctx));
  const double sentinel = -7.0;
  double fill[R];
  for (int r = 0; r < R; r++) fill[r] = sentinel;
  clEnqueueWriteBuffer(g.q, in.dout, CL_TRUE, 128, sizeof fill, fill, 0, NULL, NULL);
  cl_int e = CL_SUCCESS;
  cl_event hold = clCreateUserEvent(g.cl, &e);
  clEnqueueBarrierWithWaitList(g.q, 1, &hold, NULL);
  memset(&sm, 0x55, sizeof sm);
  const ie_summary untouched = sm;
  eo.partial = &pt;
  s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm);
  CHECK(s == IE_OK, "async entropy: %s", ie_errmsg(g.ctx));
  cl_event mark = NULL;
  clEnqueueMarkerWithWaitList(g.q, 0, NULL, &mark);
  cl_int st = CL_COMPLETE;
  clGetEventInfo(mark, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
  CHECK(st != CL_COMPLETE, "the call's work ran before the queue was released");
  CHECK(same_bits(&sm, &untouched, sizeof sm), "the summary was written before ie_synchronize");
  /* (per_row is not read here: a read on another queue may wait for the
   * held one on some runtimes.) */
  clSetUserEventStatus(hold, CL_COMPLETE);
  s = ie_synchronize(g.ctx);
  CHECK(s == IE_OK, "ie_synchronize: %s", ie_errmsg(g.ctx));
  clReleaseEvent(mark);
  clReleaseEvent(hold);
  dread(&g, in.dout, 128, v, sizeof v);
  int bad = 0;
  for (int r = 0; r < R; r++) bad += !close_to(v[r], ref_entropy(in.p + r * V));
  CHECK(bad == 0, "async entropy: %d rows off the float64 reference", bad);
  ie_summary want;
  ie_partial want_pt;
  host_summary(v, in.wd, &want, &want_pt);
  CHECK(same_bits(&sm, &want, sizeof sm), "async summary differs from the host's sums of its rows");
  CHECK(pt.kind != 0, "the async call's partial state carries no kind");
  want_pt.kind = pt.kind; /* the host's values are of any kind */
  CHECK(same_bits(&pt, &want_pt, sizeof pt), "async partial differs from the host's");
  CHECK(close_to(sm.mean, sm_sync.mean), "async mean %.17g, synchronous host-tensor call %.17g", sm.mean,
        sm_sync.mean);
  inputs_free(&in);
  gpu_close(&gs);
  gpu_close(&g);
}

/* A NaN row; and three pending calls, the second failing. */
static void test_async_failures(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  static inputs in;
  inputs_make(&g, &in);
  dten x, y, l, o, o2;
  ie_summary sm1, sm3, want1, want3;
  ie_partial pp;
  double v[R];

  /* Synchronous references (the context is async: host per_row makes the
   * call synchronous; the host's sums of the values it wrote). */
  ie_entropy_options eo = {.size = sizeof eo};
  ie_divergence_options dvo = {.size = sizeof dvo};

  /* NaN at row 5: the call returns OK, ie_synchronize names it. */
  float nanv = NAN;
  cl_mem bad = dbuf(&g, in.p, sizeof in.p, 0);
  clEnqueueWriteBuffer(g.q, bad, CL_TRUE, (5 * V + 17) * sizeof(float), sizeof nanv, &nanv, 0, NULL, NULL);
  ie_summary smb;
  ie_status s = ie_entropy(g.ctx, dt2(&x, bad, 0, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &smb);
  CHECK(s == IE_OK, "NaN row: the async call returned %d: %s", (int)s, ie_errmsg(g.ctx));
  s = ie_synchronize(g.ctx);
  CHECK(s == IE_NONFINITE, "NaN row: ie_synchronize gave %d: %s", (int)s, ie_errmsg(g.ctx));
  CHECK(ie_error_row(g.ctx) == 5 && ie_error_column(g.ctx) == 17 &&
            !strcmp(ie_error_tensor(g.ctx) ? ie_error_tensor(g.ctx) : "", "logits"),
        "NaN row located at %s row %lld col %lld", ie_error_tensor(g.ctx), (long long)ie_error_row(g.ctx),
        (long long)ie_error_column(g.ctx));
  CHECK(strstr(ie_errmsg(g.ctx), "ie_entropy") && strstr(ie_errmsg(g.ctx), "row 5"), "message: %s",
        ie_errmsg(g.ctx));
  dread(&g, in.dout, 128, v, sizeof v);
  CHECK(isnan(v[0]) && isnan(v[R - 1]), "per_row of a failed call holds values");
  CHECK(ie_synchronize(g.ctx) == IE_OK && ie_errcode(g.ctx) == IE_OK, "a second ie_synchronize is clean");

  /* Three pending: entropy, NLL with a bad label at row 3, JS. */
  int64_t lab3 = V + 5;
  cl_mem blab = dbuf(&g, in.lab, sizeof in.lab, 0);
  clEnqueueWriteBuffer(g.q, blab, CL_TRUE, 3 * sizeof(int64_t), sizeof lab3, &lab3, 0, NULL, NULL);
  ie_nll_options no = {.size = sizeof no};
  ie_summary sm2;
  memset(&sm2, 0, sizeof sm2);
  eo.partial = &pp;
  s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm1);
  CHECK(s == IE_OK, "pending 1: %s", ie_errmsg(g.ctx));
  s = ie_nll(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&l, blab, 0, I64, R), NULL, &no, &sm2);
  CHECK(s == IE_OK, "pending 2: %s", ie_errmsg(g.ctx));
  s = ie_divergence(g.ctx, IE_DIV_JS, dt2(&x, in.dp, 256, F32, R, V), dt2(&y, in.dq, 0, F32, R, V),
                    dt1(&o2, in.dout2, 0, F64, R), &dvo, &sm3);
  CHECK(s == IE_OK, "pending 3: %s", ie_errmsg(g.ctx));
  s = ie_synchronize(g.ctx);
  CHECK(s == IE_BAD_LABEL, "three pending: ie_synchronize gave %d (want IE_BAD_LABEL): %s", (int)s,
        ie_errmsg(g.ctx));
  CHECK(ie_error_row(g.ctx) == 3 && !strcmp(ie_error_tensor(g.ctx) ? ie_error_tensor(g.ctx) : "", "labels"),
        "bad label located at %s row %lld", ie_error_tensor(g.ctx), (long long)ie_error_row(g.ctx));
  CHECK(strstr(ie_errmsg(g.ctx), "ie_nll") != NULL, "message: %s", ie_errmsg(g.ctx));
  ie_partial wp;
  dread(&g, in.dout, 128, v, sizeof v);
  int off = 0;
  for (int r = 0; r < R; r++) off += !close_to(v[r], ref_entropy(in.p + r * V));
  CHECK(off == 0, "call 1 (before the failure): %d rows off", off);
  host_summary(v, NULL, &want1, &wp);
  wp.kind = pp.kind; /* the host's values are of any kind */
  CHECK(same_bits(&sm1, &want1, sizeof sm1) && same_bits(&pp, &wp, sizeof pp) && pp.kind != 0,
        "call 1's summary/partial are not the host's sums of its rows");
  dread(&g, in.dout2, 0, v, sizeof v);
  host_summary(v, NULL, &want3, &wp);
  CHECK(same_bits(&sm3, &want3, sizeof sm3), "call 3 (after the failure): summary %.17g, host %.17g",
        sm3.sum, want3.sum);
  off = 0;
  for (int r = 0; r < R; r++) off += !(v[r] >= 0 && v[r] <= log(2.0) + 1e-6);
  CHECK(off == 0, "call 3: %d JS rows outside [0, log 2]", off);

  /* log-softmax: a good call and one with the NaN row, both pending. */
  static float ls[R * V];
  cl_mem outa = dbuf(&g, NULL, sizeof ls, 0), outb = dbuf(&g, NULL, sizeof ls, 0);
  dten oa, ob, xb;
  s = ie_log_softmax(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt2(&oa, outa, 0, F32, R, V), NULL);
  CHECK(s == IE_OK, "log_softmax 1: %s", ie_errmsg(g.ctx));
  s = ie_log_softmax(g.ctx, dt2(&xb, bad, 0, F32, R, V), dt2(&ob, outb, 0, F32, R, V), NULL);
  CHECK(s == IE_OK, "log_softmax 2: %s", ie_errmsg(g.ctx));
  s = ie_synchronize(g.ctx);
  CHECK(s == IE_NONFINITE && ie_error_row(g.ctx) == 5 && strstr(ie_errmsg(g.ctx), "ie_log_softmax"),
        "log_softmax NaN row: %d row %lld: %s", (int)s, (long long)ie_error_row(g.ctx), ie_errmsg(g.ctx));
  dread(&g, outa, 0, ls, sizeof ls);
  off = 0;
  for (int r = 0; r < R; r++) {
    const long double l = lse_row(in.p + r * V);
    for (int i = 0; i < V; i++) off += !close_to(ls[r * V + i], (double)(in.p[r * V + i] - l));
  }
  CHECK(off == 0, "log_softmax (before the failing call): %d elements off the float64 reference", off);
  dread(&g, outb, 0, ls, sizeof ls);
  CHECK(isnan(ls[0]) && isnan(ls[R * V - 1]), "the failed log_softmax's output holds values");
  clReleaseMemObject(outa);
  clReleaseMemObject(outb);
  clReleaseMemObject(bad);
  clReleaseMemObject(blab);
  inputs_free(&in);
  gpu_close(&g);
}

/* After warm-up, a batch of pending calls allocates nothing. */
static void test_async_warm(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  static inputs in;
  inputs_make(&g, &in);
  enum { N = 40 };
  static ie_summary sm[N];
  dten x, o;
  ie_entropy_options eo = {.size = sizeof eo};
  ie_workspace_info a = {.size = sizeof a}, b = {.size = sizeof b};
  ie_status s = IE_OK;
  for (int round = 0; round < 3; round++) {
    if (round == 2) ie_workspace_query(g.ctx, &a);
    for (int k = 0; k < N && s == IE_OK; k++)
      s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout, 128, F64, R), &eo, &sm[k]);
    CHECK(s == IE_OK, "round %d: %s", round, ie_errmsg(g.ctx));
    s = ie_synchronize(g.ctx);
    CHECK(s == IE_OK, "round %d sync: %s", round, ie_errmsg(g.ctx));
  }
  ie_workspace_query(g.ctx, &b);
  CHECK(b.device_allocations == a.device_allocations && b.host_allocations == a.host_allocations,
        "%d warm async calls allocated (device %llu, host %llu)", N,
        (unsigned long long)(b.device_allocations - a.device_allocations),
        (unsigned long long)(b.host_allocations - a.host_allocations));
  CHECK(b.bytes_to_device == a.bytes_to_device && b.copies_to_host - a.copies_to_host == N &&
            b.bytes_to_host - a.bytes_to_host <= (uint64_t)N * 1280,
        "%d warm async calls moved %llu bytes up, %llu reads of %llu bytes down", N,
        (unsigned long long)(b.bytes_to_device - a.bytes_to_device),
        (unsigned long long)(b.copies_to_host - a.copies_to_host),
        (unsigned long long)(b.bytes_to_host - a.bytes_to_host));
  int same = 1;
  for (int k = 1; k < N; k++) same &= same_bits(&sm[k], &sm[0], sizeof sm[0]);
  CHECK(same, "the same call pending %d times gave different summaries", N);
  double v[R];
  dread(&g, in.dout, 128, v, sizeof v);
  ie_summary want;
  ie_partial wp;
  host_summary(v, NULL, &want, &wp);
  CHECK(same_bits(&sm[N - 1], &want, sizeof want), "pending summaries are not the host's sums");
  inputs_free(&in);
  gpu_close(&g);
}

/* ie_pid with a device joint and out (float32, as OpenCL takes them):
 * enqueued (the queue held, nothing ran), right after ie_synchronize
 * (against the CPU's on the same joints), for imin and BROJA; a NaN joint
 * reported by ie_synchronize naming it, the call after it still right. */
static int pid_close(const float *got, const float *want, int n) {
  int off = 0;
  for (int i = 0; i < n; i++) off += !(fabsf(got[i] - want[i]) <= 1e-6f + 1e-5f * fabsf(want[i]));
  return off;
}

static void test_async_pid(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  CHECK(ie_opencl_set_queue(g.ctx, g.q) == IE_OK, "set_queue: %s", ie_errmsg(g.ctx));
  ie_context *cpu = NULL;
  ie_context_options co = {.size = sizeof co, .backend = IE_BACKEND_CPU};
  ie_context_create(&cpu, &co);
  enum { B = 40, N = 8 };
  float joint[B * N], bad[B * N], want[B * 4], got[B * 4];
  for (int i = 0; i < B * N; i++) joint[i] = (float)(0.02 + unif());
  memcpy(bad, joint, sizeof bad);
  bad[5 * N + 3] = NAN;
  cl_mem dj = dbuf(&g, joint, sizeof joint, 0), dbad = dbuf(&g, bad, sizeof bad, 0);
  cl_mem dout = dbuf(&g, NULL, sizeof got, 64), dout2 = dbuf(&g, NULL, sizeof got, 0);
  int64_t js[4] = {B, 2, 2, 2}, os[2] = {B, 4};
  DLTensor tj = {(void *)dj, {kDLOpenCL, 0}, 4, F32, js, NULL, 0};
  DLTensor tbad = {(void *)dbad, {kDLOpenCL, 0}, 4, F32, js, NULL, 0};
  DLTensor to = {(void *)dout, {kDLOpenCL, 0}, 2, F32, os, NULL, 64};
  DLTensor to2 = {(void *)dout2, {kDLOpenCL, 0}, 2, F32, os, NULL, 0};
  DLTensor hj = {joint, {kDLCPU, 0}, 4, F32, js, NULL, 0}, ho = {want, {kDLCPU, 0}, 2, F32, os, NULL, 0};
  const ie_pid_measure measures[2] = {IE_PID_IMIN, IE_PID_BROJA};
  for (int m = 0; m < 2; m++) {
    ie_pid_options po = {.size = sizeof po, .measure = measures[m]};
    CHECK(ie_pid(cpu, &hj, &po, NULL, &ho) == IE_OK, "cpu pid: %s", ie_errmsg(cpu));
    CHECK(ie_pid(g.ctx, &tj, &po, NULL, &to) == IE_OK && ie_synchronize(g.ctx) == IE_OK, "warm-up: %s",
          ie_errmsg(g.ctx));
    for (int i = 0; i < B * 4; i++) got[i] = -7.0f;
    clEnqueueWriteBuffer(g.q, dout, CL_TRUE, 64, sizeof got, got, 0, NULL, NULL);
    cl_int e = CL_SUCCESS;
    cl_event hold = clCreateUserEvent(g.cl, &e);
    clEnqueueBarrierWithWaitList(g.q, 1, &hold, NULL);
    CHECK(ie_pid(g.ctx, &tj, &po, NULL, &to) == IE_OK, "async pid: %s", ie_errmsg(g.ctx));
    cl_event mark = NULL;
    clEnqueueMarkerWithWaitList(g.q, 0, NULL, &mark);
    cl_int st = CL_COMPLETE;
    clGetEventInfo(mark, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    CHECK(st != CL_COMPLETE, "measure %d: the call's work ran before the queue was released", m);
    clSetUserEventStatus(hold, CL_COMPLETE);
    CHECK(ie_synchronize(g.ctx) == IE_OK, "ie_synchronize: %s", ie_errmsg(g.ctx));
    clReleaseEvent(mark);
    clReleaseEvent(hold);
    dread(&g, dout, 64, got, sizeof got);
    const int off = pid_close(got, want, B * 4);
    CHECK(off == 0, "measure %d: %d of %d async values differ from the CPU's", m, off, B * 4);
  }
  /* a NaN joint, then a good call: the first failure is reported, the
   * second call's values are still right */
  ie_pid_options po = {.size = sizeof po, .measure = IE_PID_IMIN};
  CHECK(ie_pid(cpu, &hj, &po, NULL, &ho) == IE_OK, "cpu pid: %s", ie_errmsg(cpu));
  CHECK(ie_pid(g.ctx, &tbad, &po, NULL, &to) == IE_OK, "the bad call was refused at once: %s", ie_errmsg(g.ctx));
  CHECK(ie_pid(g.ctx, &tj, &po, NULL, &to2) == IE_OK, "the good call: %s", ie_errmsg(g.ctx));
  ie_status s = ie_synchronize(g.ctx);
  CHECK(s == IE_NONFINITE && strstr(ie_errmsg(g.ctx), "joint 5") && ie_error_index(g.ctx) == 5,
        "a NaN joint: status %d, '%s', index %lld", (int)s, ie_errmsg(g.ctx), (long long)ie_error_index(g.ctx));
  dread(&g, dout2, 0, got, sizeof got);
  const int off = pid_close(got, want, B * 4);
  CHECK(off == 0, "the call after the failed one: %d values off", off);
  CHECK(ie_synchronize(g.ctx) == IE_OK, "a second ie_synchronize: %s", ie_errmsg(g.ctx));
  clReleaseMemObject(dj), clReleaseMemObject(dbad), clReleaseMemObject(dout), clReleaseMemObject(dout2);
  ie_context_destroy(cpu);
  gpu_close(&g);
}

/* ie_count_pairs with device labels and table: enqueued (the queue held,
 * nothing added), the counts right after ie_synchronize; a bad label
 * reported by ie_synchronize naming its row, the table then unchanged, and
 * the call after it still counted. */
static void test_async_count(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  CHECK(ie_opencl_set_queue(g.ctx, g.q) == IE_OK, "set_queue: %s", ie_errmsg(g.ctx));
  enum { N = 5000, K = 3, X = 37, Y = 29 };
  static int64_t x[N], y[N * K], ybad[N * K], table[X * Y], want[X * Y];
  for (int i = 0; i < N; i++) {
    x[i] = (int64_t)(unif() * X);
    for (int j = 0; j < K; j++) y[i * K + j] = (x[i] * 7 + (int64_t)(unif() * 4)) % Y;
  }
  memcpy(ybad, y, sizeof ybad);
  ybad[4321 * K + 2] = Y; /* out of range */
  memset(want, 0, sizeof want);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < K; j++) want[x[i] * Y + y[i * K + j]]++;
  cl_mem dx = dbuf(&g, x, sizeof x, 0), dy = dbuf(&g, y, sizeof y, 0), dybad = dbuf(&g, ybad, sizeof ybad, 0);
  memset(table, 0, sizeof table);
  cl_mem dt = dbuf(&g, table, sizeof table, 0);
  int64_t xs[1] = {N}, ys[2] = {N, K}, ts[2] = {X, Y};
  DLTensor tx = {(void *)dx, {kDLOpenCL, 0}, 1, I64, xs, NULL, 0};
  DLTensor ty = {(void *)dy, {kDLOpenCL, 0}, 2, I64, ys, NULL, 0};
  DLTensor tybad = {(void *)dybad, {kDLOpenCL, 0}, 2, I64, ys, NULL, 0};
  DLTensor tt = {(void *)dt, {kDLOpenCL, 0}, 2, I64, ts, NULL, 0};
  /* warm, then undo the warm-up's counts */
  CHECK(ie_count_pairs(g.ctx, &tx, &ty, &tt, NULL) == IE_OK && ie_synchronize(g.ctx) == IE_OK, "warm-up: %s",
        ie_errmsg(g.ctx));
  clEnqueueWriteBuffer(g.q, dt, CL_TRUE, 0, sizeof table, table, 0, NULL, NULL);
  cl_int e = CL_SUCCESS;
  cl_event hold = clCreateUserEvent(g.cl, &e);
  clEnqueueBarrierWithWaitList(g.q, 1, &hold, NULL);
  CHECK(ie_count_pairs(g.ctx, &tx, &ty, &tt, NULL) == IE_OK, "async count: %s", ie_errmsg(g.ctx));
  cl_event mark = NULL;
  clEnqueueMarkerWithWaitList(g.q, 0, NULL, &mark);
  cl_int st = CL_COMPLETE;
  clGetEventInfo(mark, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
  CHECK(st != CL_COMPLETE, "the count ran before the queue was released");
  clSetUserEventStatus(hold, CL_COMPLETE);
  CHECK(ie_synchronize(g.ctx) == IE_OK, "ie_synchronize: %s", ie_errmsg(g.ctx));
  clReleaseEvent(mark);
  clReleaseEvent(hold);
  dread(&g, dt, 0, table, sizeof table);
  CHECK(memcmp(table, want, sizeof want) == 0, "async counts differ from the host's");
  /* a bad label, then a good call: the failure reported, the table holds
   * the first count and the last, not the failed one's */
  CHECK(ie_count_pairs(g.ctx, &tx, &tybad, &tt, NULL) == IE_OK, "the bad call was refused at once: %s",
        ie_errmsg(g.ctx));
  CHECK(ie_count_pairs(g.ctx, &tx, &ty, &tt, NULL) == IE_OK, "the good call: %s", ie_errmsg(g.ctx));
  ie_status s = ie_synchronize(g.ctx);
  CHECK(s == IE_BAD_LABEL && strstr(ie_errmsg(g.ctx), "row 4321, column 2") && ie_error_row(g.ctx) == 4321,
        "a bad label: status %d, '%s'", (int)s, ie_errmsg(g.ctx));
  dread(&g, dt, 0, table, sizeof table);
  int off = 0;
  for (int c = 0; c < X * Y; c++) off += table[c] != 2 * want[c];
  CHECK(off == 0, "after a failed and a good call: %d cells are not twice the counts", off);
  clReleaseMemObject(dx), clReleaseMemObject(dy), clReleaseMemObject(dybad), clReleaseMemObject(dt);
  gpu_close(&g);
}

/* A failed pending call and a later call that writes the same output: the
 * later call's values are what stays (the failed call's NaN does not land
 * after them); where the later call wrote only part of the output, the rest
 * is the failed call's NaN.  Also after a synchronous call (a host input)
 * into that output. */
static void test_async_failed_then_same_output(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  static inputs in;
  inputs_make(&g, &in);
  float nanv = NAN;
  cl_mem bad = dbuf(&g, in.p, sizeof in.p, 0);
  clEnqueueWriteBuffer(g.q, bad, CL_TRUE, (5 * V + 17) * sizeof(float), sizeof nanv, &nanv, 0, NULL, NULL);
  cl_mem out = dbuf(&g, NULL, R * sizeof(double), 0);
  dten x, o;
  double v[R], want[R];
  for (int r = 0; r < R; r++) want[r] = ref_entropy(in.p + r * V);
  ie_entropy_options eo = {.size = sizeof eo};
  ie_summary sm;
  for (int kind = 0; kind < 3; kind++) {
    /* 0: the good call writes all of out; 1: its first half; 2: a call with
     * host logits (synchronous) writes all of out */
    const int64_t rows = kind == 1 ? R / 2 : R;
    ie_status s = ie_entropy(g.ctx, dt2(&x, bad, 0, F32, R, V), dt1(&o, out, 0, F64, R), &eo, NULL);
    CHECK(s == IE_OK, "[%d] the failing call was refused at once: %s", kind, ie_errmsg(g.ctx));
    if (kind == 2) {
      DLTensor hx = {in.p, {kDLCPU, 0}, 2, F32, (int64_t[]){R, V}, NULL, 0};
      s = ie_entropy(g.ctx, &hx, dt1(&o, out, 0, F64, R), &eo, &sm);
    } else {
      s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, rows, V), dt1(&o, out, 0, F64, rows), &eo, &sm);
    }
    CHECK(s == IE_OK, "[%d] the good call: %s", kind, ie_errmsg(g.ctx));
    s = ie_synchronize(g.ctx);
    CHECK(s == IE_NONFINITE && ie_error_row(g.ctx) == 5, "[%d] ie_synchronize gave %d, row %lld: %s", kind, (int)s,
          (long long)ie_error_row(g.ctx), ie_errmsg(g.ctx));
    dread(&g, out, 0, v, sizeof v);
    int off = 0, nan_left = 0;
    for (int r = 0; r < R; r++) {
      if (r < rows) off += !close_to(v[r], want[r]);
      else nan_left += !isnan(v[r]);
    }
    CHECK(off == 0, "[%d] the good call's per_row: %d of %lld rows are not its values (row 0: %g, want %g)", kind,
          off, (long long)rows, v[0], want[0]);
    CHECK(nan_left == 0, "[%d] %d rows only the failed call wrote hold values", kind, nan_left);
    CHECK(ie_synchronize(g.ctx) == IE_OK, "[%d] a second ie_synchronize: %s", kind, ie_errmsg(g.ctx));
  }
  clReleaseMemObject(bad);
  clReleaseMemObject(out);
  inputs_free(&in);
  gpu_close(&g);
}

/* A failed pending call's output is NaN where no later call wrote, and a
 * later successful call's output keeps its values:
 *  - a call refused at once, then an entry point that is not a call of a
 *    family (ie_host_alloc, ie_opencl_set_queue), between them and
 *    ie_synchronize: the refused call wrote nothing;
 *  - a later call writing part of each row (a column slice of the failed
 *    call's log-softmax): the other columns are NaN;
 *  - more than 256 distinct outputs written in between (the list of writes
 *    grows): the later call's output is not spoiled. */
static void test_async_spoils(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  static inputs in;
  inputs_make(&g, &in);
  float nanv = NAN;
  cl_mem bad = dbuf(&g, in.p, sizeof in.p, 0);
  clEnqueueWriteBuffer(g.q, bad, CL_TRUE, (5 * V + 17) * sizeof(float), sizeof nanv, &nanv, 0, NULL, NULL);
  cl_mem out = dbuf(&g, NULL, R * sizeof(double), 0);
  static double v[R];
  dten x, o;
  for (int between = 0; between < 2; between++) {
    ie_status s = ie_entropy(g.ctx, dt2(&x, bad, 0, F32, R, V), dt1(&o, out, 0, F64, R), NULL, NULL);
    CHECK(s == IE_OK, "[%d] the failing call was refused at once: %s", between, ie_errmsg(g.ctx));
    ie_partial pt;
    ie_entropy_options eo = {.size = sizeof eo, .partial = &pt, .first_row = -1};
    s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, out, 0, F64, R), &eo, NULL);
    CHECK(s == IE_INVALID_ARGUMENT, "[%d] first_row -1 was not refused: %s", between, ie_status_name(s));
    void *h = NULL;
    if (between == 0) s = ie_host_alloc(g.ctx, 64, &h);
    else s = ie_opencl_set_queue(g.ctx, NULL);
    CHECK(s == IE_OK, "[%d] %s: %s", between, between ? "ie_opencl_set_queue" : "ie_host_alloc", ie_errmsg(g.ctx));
    ie_host_free(g.ctx, h);
    s = ie_synchronize(g.ctx);
    CHECK(s == IE_NONFINITE, "[%d] ie_synchronize gave %s", between, ie_status_name(s));
    dread(&g, out, 0, v, sizeof v);
    int kept = 0;
    for (int r = 0; r < R; r++) kept += !isnan(v[r]);
    CHECK(kept == 0, "[%d] %d rows of the failed call's output hold values", between, kept);
  }
  { /* a column slice over the failed call's log-softmax */
    cl_mem ls = dbuf(&g, NULL, sizeof in.p, 0);
    static float lv[R * V];
    ie_status s = ie_log_softmax(g.ctx, dt2(&x, bad, 0, F32, R, V), dt2(&o, ls, 0, F32, R, V), NULL);
    CHECK(s == IE_OK, "log-softmax, failing: %s", ie_errmsg(g.ctx));
    int64_t st[2] = {V, 1};
    dten xs, os;
    dt2(&xs, in.dp, 256, F32, R, V / 2)->strides = st;
    dt2(&os, ls, 0, F32, R, V / 2)->strides = st;
    s = ie_log_softmax(g.ctx, &xs.t, &os.t, NULL);
    CHECK(s == IE_OK, "log-softmax of the first half columns: %s", ie_errmsg(g.ctx));
    s = ie_synchronize(g.ctx);
    CHECK(s == IE_NONFINITE, "ie_synchronize gave %s", ie_status_name(s));
    dread(&g, ls, 0, lv, sizeof lv);
    int stale = 0, spoiled = 0;
    for (int r = 0; r < R; r++)
      for (int c = 0; c < V; c++) {
        if (c >= V / 2) stale += !isnan(lv[r * V + c]);
        else spoiled += isnan(lv[r * V + c]);
      }
    CHECK(stale == 0, "%d elements that only the failed call wrote hold values", stale);
    CHECK(spoiled == 0, "%d elements of the later call's slice are NaN", spoiled);
    clReleaseMemObject(ls);
  }
  { /* 300 distinct outputs between the failed call and a good one on its output */
    enum { N = 300 };
    cl_mem many = dbuf(&g, NULL, (size_t)N * R * sizeof(double), 0);
    ie_status s = ie_entropy(g.ctx, dt2(&x, bad, 0, F32, R, V), dt1(&o, out, 0, F64, R), NULL, NULL);
    for (int k = 0; k < N && s == IE_OK; k++)
      s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, many, (size_t)k * R * 8, F64, R), NULL, NULL);
    if (s == IE_OK) s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, out, 0, F64, R), NULL, NULL);
    CHECK(s == IE_OK, "%d pending calls: %s", N + 2, ie_errmsg(g.ctx));
    s = ie_synchronize(g.ctx);
    CHECK(s == IE_NONFINITE, "ie_synchronize gave %s", ie_status_name(s));
    dread(&g, out, 0, v, sizeof v);
    int off = 0;
    for (int r = 0; r < R; r++) off += !close_to(v[r], ref_entropy(in.p + r * V));
    CHECK(off == 0, "the good call's output after %d others: %d of %d rows are not its values", N, off, R);
    clReleaseMemObject(many);
  }
  clReleaseMemObject(bad);
  clReleaseMemObject(out);
  inputs_free(&in);
  gpu_close(&g);
}

/* With the outcome ring full (336 calls pending), a call with host tensors
 * still runs, synchronously, as the header says; one more pending call is
 * refused, naming ie_synchronize. */
static void test_async_ring_full(void) {
  gpu g;
  if (!gpu_open(&g, 1)) return;
  static inputs in;
  inputs_make(&g, &in);
  dten x, o;
  ie_status s = IE_OK;
  int k = 0;
  for (; k < 336 && s == IE_OK; k++)
    s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout2, 0, F64, R), NULL, NULL);
  CHECK(s == IE_OK && k == 336, "336 pending calls: %d, %s", k, ie_errmsg(g.ctx));
  s = ie_entropy(g.ctx, dt2(&x, in.dp, 256, F32, R, V), dt1(&o, in.dout2, 0, F64, R), NULL, NULL);
  CHECK(s == IE_INVALID_ARGUMENT && strstr(ie_errmsg(g.ctx), "ie_synchronize"),
        "the 337th pending call: %s: %s", ie_status_name(s), ie_errmsg(g.ctx));
  static double hv[R];
  DLTensor hx = {in.p, {kDLCPU, 0}, 2, F32, (int64_t[]){R, V}, NULL, 0};
  ie_summary sm;
  s = ie_entropy(g.ctx, &hx, ht1(&o, hv, F64, R), NULL, &sm);
  CHECK(s == IE_OK, "a host-tensor call with the ring full: %s", ie_errmsg(g.ctx));
  int off = 0;
  for (int r = 0; r < R; r++) off += !close_to(hv[r], ref_entropy(in.p + r * V));
  CHECK(off == 0, "the host-tensor call's values: %d of %d rows off", off, R);
  s = ie_synchronize(g.ctx);
  CHECK(s == IE_OK, "ie_synchronize: %s", ie_errmsg(g.ctx));
  inputs_free(&in);
  gpu_close(&g);
}

/* Device tensors are checked against their cl_mem's size (CL_MEM_SIZE): a
 * byte_offset past the end, an input or a per_row output longer than its
 * buffer are IE_INVALID_ARGUMENT naming the call, the tensor, the bytes
 * needed and the buffer's; an exact fit, a sub-buffer, are fine. */
static void test_device_tensor_bounds(void) {
  gpu g;
  if (!gpu_open(&g, 0)) return;
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = (float)(i % 4);
  cl_mem dx = dbuf(&g, x, sizeof x, 0); /* 48 bytes */
  cl_mem small = dbuf(&g, NULL, 4, 0);  /* 4 bytes */
  cl_mem big = dbuf(&g, NULL, 64, 0);
  dten tx, to;
  ie_summary sm;
  /* exact fit */
  ie_status s = ie_entropy(g.ctx, dt2(&tx, dx, 0, F32, 3, 4), dt1(&to, big, 0, F32, 3), NULL, &sm);
  CHECK(s == IE_OK, "a 3 x 4 float tensor in a 48-byte buffer: %s", ie_errmsg(g.ctx));
  /* an offset past the end */
  s = ie_entropy(g.ctx, dt2(&tx, dx, 400, F32, 3, 4), dt1(&to, big, 0, F32, 3), NULL, &sm);
  CHECK(s == IE_INVALID_ARGUMENT && strstr(ie_errmsg(g.ctx), "ie_entropy") && strstr(ie_errmsg(g.ctx), "'logits'") &&
            strstr(ie_errmsg(g.ctx), "48 bytes"),
        "byte_offset 400 in a 48-byte buffer: %d: %s", (int)s, ie_errmsg(g.ctx));
  /* one element too many (offset 4) */
  s = ie_entropy(g.ctx, dt2(&tx, dx, 4, F32, 3, 4), dt1(&to, big, 0, F32, 3), NULL, &sm);
  CHECK(s == IE_INVALID_ARGUMENT, "a 48-byte tensor at offset 4 of a 48-byte buffer: %d: %s", (int)s,
        ie_errmsg(g.ctx));
  /* a per_row output of 2 rows in 4 bytes */
  s = ie_entropy(g.ctx, dt2(&tx, dx, 0, F32, 2, 4), dt1(&to, small, 0, F32, 2), NULL, &sm);
  CHECK(s == IE_INVALID_ARGUMENT && strstr(ie_errmsg(g.ctx), "'per_row'") && strstr(ie_errmsg(g.ctx), "8 bytes") &&
            strstr(ie_errmsg(g.ctx), "4 bytes"),
        "a 2-row per_row in a 4-byte buffer: %d: %s", (int)s, ie_errmsg(g.ctx));
  float one = 0;
  s = ie_entropy(g.ctx, dt2(&tx, dx, 0, F32, 1, 4), dt1(&to, small, 0, F32, 1), NULL, &sm);
  dread(&g, small, 0, &one, sizeof one);
  CHECK(s == IE_OK && close_to(one, sm.mean), "a 1-row per_row in a 4-byte buffer: %s", ie_errmsg(g.ctx));
  /* a sub-buffer: its own region's size */
  cl_buffer_region reg = {16, 32};
  cl_int e = CL_SUCCESS;
  cl_mem sub = clCreateSubBuffer(dx, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &reg, &e);
  if (e == CL_SUCCESS) {
    s = ie_entropy(g.ctx, dt2(&tx, sub, 0, F32, 2, 4), dt1(&to, big, 0, F32, 2), NULL, &sm);
    CHECK(s == IE_OK, "a 2 x 4 tensor in a 32-byte sub-buffer: %s", ie_errmsg(g.ctx));
    s = ie_entropy(g.ctx, dt2(&tx, sub, 0, F32, 3, 4), dt1(&to, big, 0, F32, 3), NULL, &sm);
    CHECK(s == IE_INVALID_ARGUMENT && strstr(ie_errmsg(g.ctx), "32 bytes"), "a 3 x 4 tensor in a 32-byte sub-buffer: %d: %s",
          (int)s, ie_errmsg(g.ctx));
    clReleaseMemObject(sub);
  }
  clReleaseMemObject(dx);
  clReleaseMemObject(small);
  clReleaseMemObject(big);
  gpu_close(&g);
}

int main(void) {
  gpu probe;
  if (!gpu_open(&probe, 0)) return 77;
  gpu_close(&probe);
  test_summary_bits();
  test_async_enqueues();
  test_async_failures();
  test_async_warm();
  test_async_pid();
  test_async_count();
  test_async_failed_then_same_output();
  test_async_spoils();
  test_async_ring_full();
  test_device_tensor_bounds();
  printf("test_async: %d checks, %d failed\n", n_checks, n_fail);
  return n_fail ? 1 : 0;
}
#endif
