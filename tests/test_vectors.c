/*
 * test_vectors.c — every case of tests/vectors/MANIFEST (written by
 * tests/gen_vectors.py from float64 NumPy/SciPy references) on every backend
 * compiled into this build, through the public API with host tensors, and
 * on OpenCL also with every tensor in device memory (cl_mem at a non-zero
 * byte_offset, the same strides): the device-resident path, whose per-row
 * values, summaries and errors never pass through the host.
 *
 * One test per (backend, group of cases); a test runs all its cases and
 * reports every mismatch with the case, the row, the expected and the
 * obtained value.  A backend with no device here is skipped with a message.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "io.h"
#if IE_TEST_HAVE_OPENCL
#include "infoest_opencl.h"
#endif

#define MAX_REPORTS_PER_CASE 6

static const char *const GROUPS[] = {
    "lse", "entropy", "log_softmax", "softmax", "nll",
    "divergence:kl", "divergence:reverse-kl", "divergence:jeffreys",
    "divergence:cross-entropy", "divergence:js", "divergence:tv",
    "divergence:hellinger", "divergence:bhattacharyya", "divergence:chi2",
    "divergence:alpha", "divergence:renyi", "divergence:tsallis",
    "divergence:cauchy-schwarz"};
#define NGROUPS (sizeof GROUPS / sizeof GROUPS[0])

typedef struct {
  int backend;
  int group;
} vparam;

static void free_params(struct criterion_test_params *crp) { cr_free(crp->params); }

static int in_group(const tc_case *c, const char *g) {
  const char *colon = strchr(g, ':');
  if (!colon) return strcmp(c->op, g) == 0;
  return strncmp(c->op, g, (size_t)(colon - g)) == 0 && strlen(c->op) == (size_t)(colon - g) &&
         strcmp(c->kind, colon + 1) == 0;
}

/* ---- one case ------------------------------------------------------------------ */

typedef struct {
  int fails;    /* mismatches reported */
  int reported; /* for this case */
  const char *bname;
  const tc_case *c;
} ctx_report;

static void mismatch(ctx_report *r, const char *what, int64_t row, int64_t col, double exp,
                     double got) {
  r->fails++;
  if (r->reported++ >= MAX_REPORTS_PER_CASE) return;
  if (col >= 0)
    cr_expect(0, "[%s] case %s: %s row %lld col %lld: expected %.17g, got %.17g (tol %.3g)",
              r->bname, r->c->name, what, (long long)row, (long long)col, exp, got,
              tc_tol(exp));
  else if (row >= 0)
    cr_expect(0, "[%s] case %s: %s row %lld: expected %.17g, got %.17g (tol %.3g)", r->bname,
              r->c->name, what, (long long)row, exp, got, tc_tol(exp));
  else
    cr_expect(0, "[%s] case %s: %s: expected %.17g, got %.17g", r->bname, r->c->name, what, exp,
              got);
}

static void fail_msg(ctx_report *r, const char *fmt, const char *a, const char *b) {
  r->fails++;
  cr_expect(0, "[%s] case %s: %s %s %s", r->bname, r->c->name, fmt, a, b ? b : "");
}

/* docs/SPEC.md §1: divergences and entropies are never below 0, not even within
 * the tolerance of a 0. */
static int nonneg_op(const tc_case *c) {
  return !strcmp(c->op, "divergence") || !strcmp(c->op, "entropy");
}

static int row_ok(const tc_case *c, double got, double exp) {
  if (c->exact0) return got == 0.0 && !signbit(got); /* +0, not −0 */
  if (nonneg_op(c) && got < 0) return 0;
  return tc_close(got, exp);
}

/* Check a summary against the expected per-row values (kept[i] != 0). */
static void check_summary(ctx_report *r, const ie_summary *s, const double *e,
                          const unsigned char *kept, int64_t B) {
  long double sum = 0, tol = 0;
  int64_t nk = 0;
  double mn = INFINITY, mx = -INFINITY;
  int has_inf = 0;
  for (int64_t i = 0; i < B; i++) {
    if (!kept[i]) continue;
    nk++;
    if (isinf(e[i])) has_inf = 1;
    else {
      sum += e[i];
      tol += tc_tol(e[i]);
    }
    if (e[i] < mn) mn = e[i];
    if (e[i] > mx) mx = e[i];
  }
  double esum = has_inf ? INFINITY : (double)sum;
  if (s->rows != B) mismatch(r, "summary.rows", -1, -1, (double)B, (double)s->rows);
  if (s->rows_kept != nk) mismatch(r, "summary.rows_kept", -1, -1, (double)nk, (double)s->rows_kept);
  if (fabs(s->weight_sum - (double)nk) > 1e-9 * (double)nk)
    mismatch(r, "summary.weight_sum", -1, -1, (double)nk, s->weight_sum);
  if (nk == 0) return;
  double t = (double)tol + 1e-12 * fabs((double)sum);
  if (isinf(esum) ? s->sum != esum : !(fabs(s->sum - esum) <= t))
    mismatch(r, "summary.sum", -1, -1, esum, s->sum);
  double emean = esum / (double)nk;
  if (isinf(emean) ? s->mean != emean : !(fabs(s->mean - emean) <= t / (double)nk))
    mismatch(r, "summary.mean", -1, -1, emean, s->mean);
  if (!tc_close(s->min, mn)) mismatch(r, "summary.min", -1, -1, mn, s->min);
  if (!tc_close(s->max, mx)) mismatch(r, "summary.max", -1, -1, mx, s->max);
}

static const double SENTINEL = 12345.0;

/* ---- device tensors (OpenCL) ----------------------------------------------------
 * With dev_ctx set, run_case hands the calls device copies of its host
 * tensors: dev_in uploads `bytes` of a host tensor's memory into a fresh
 * cl_mem at byte offset DEV_OFF (outputs too, so that their gaps keep their
 * bytes), dev_back reads an output back into its host memory, dev_free
 * releases them all. */
enum { DEV_OFF = 64, DEV_MAX = 4 };
static ie_context *dev_ctx;
#if IE_TEST_HAVE_OPENCL
static struct {
  cl_mem m[DEV_MAX];
  DLTensor t[DEV_MAX];
  int n;
} dev;

static const DLTensor *dev_in(const DLTensor *h, size_t bytes) {
  if (!dev_ctx || dev.n == DEV_MAX) return h;
  cl_context cl;
  cl_command_queue q;
  ie_opencl_get_context(dev_ctx, &cl, NULL, &q);
  cl_int e = CL_SUCCESS;
  cl_mem m = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes + DEV_OFF, NULL, &e);
  cr_assert(e == CL_SUCCESS, "clCreateBuffer: %d", (int)e);
  if (bytes) clEnqueueWriteBuffer(q, m, CL_TRUE, DEV_OFF, bytes, h->data, 0, NULL, NULL);
  dev.m[dev.n] = m;
  dev.t[dev.n] = *h;
  dev.t[dev.n].data = (void *)m;
  dev.t[dev.n].device = (DLDevice){kDLOpenCL, 0};
  dev.t[dev.n].byte_offset = DEV_OFF;
  return &dev.t[dev.n++];
}
static void dev_back(const DLTensor *d, void *host, size_t bytes) {
  if (d->device.device_type != kDLOpenCL || !bytes) return;
  cl_command_queue q;
  ie_opencl_get_context(dev_ctx, NULL, NULL, &q);
  clEnqueueReadBuffer(q, (cl_mem)d->data, CL_TRUE, DEV_OFF, bytes, host, 0, NULL, NULL);
}
static void dev_free(void) {
  for (int i = 0; i < dev.n; i++) clReleaseMemObject(dev.m[i]);
  dev.n = 0;
}
#else
static const DLTensor *dev_in(const DLTensor *h, size_t bytes) {
  (void)bytes;
  return h;
}
static void dev_back(const DLTensor *d, void *host, size_t bytes) {
  (void)d;
  (void)host;
  (void)bytes;
}
static void dev_free(void) {}
#endif

/* Run case c on ctx.  Returns 1 if run (or skipped for a documented reason:
 * *skipped set), failures are counted in r. */
static void run_case(ie_context *ctx, ie_backend b, const tc_case *c, int idx, ctx_report *r,
                     int *skipped) {
  char err[1024];
  void *xraw = NULL, *yraw = NULL, *lab = NULL, *ex = NULL;
  int64_t xs[8], ys[8], ls[8], es[8];
  int xnd, ynd, lnd, end;
  r->c = c;
  r->reported = 0;
  if (tc_load(c->x, &xraw, xs, &xnd, err, sizeof err) || tc_load(c->expect, &ex, es, &end, err, sizeof err)) {
    fail_msg(r, "cannot load vectors:", err, NULL);
    goto out;
  }
  const int64_t B = c->rows, V = c->cols;
  if (xnd != 2 || xs[0] != B || xs[1] != V) {
    fail_msg(r, "x file shape differs from the manifest", c->x, NULL);
    goto out;
  }
  DLDataType dp, dq = TC_F32;
  if (tc_dtype_tag(c->dtype_p, &dp) != 0) {
    fail_msg(r, "bad dtype_p", c->dtype_p, NULL);
    goto out;
  }
  const size_t ep = tc_dtype_size(dp);
  const int explicit_compact = idx & 1; /* alternate NULL strides / {V, 1} */
  int64_t sp = c->stride_p ? c->stride_p : (explicit_compact ? V : 0);
  void *xbuf = c->stride_p ? tc_restride(xraw, ep, B, V, c->stride_p, 0xFF) : xraw;
  size_t xbytes = (size_t)B * (size_t)(c->stride_p ? c->stride_p : V) * ep;
  void *xcopy = malloc(xbytes ? xbytes : 1);
  memcpy(xcopy, xbuf, xbytes);
  tc_tensor X, Y, L, O;
  tc_tensor_2d(&X, xbuf, dp, B, V, sp);

  void *ybuf = NULL, *ycopy = NULL;
  size_t ybytes = 0;
  if (strcmp(c->y, "-") != 0) {
    if (tc_load(c->y, &yraw, ys, &ynd, err, sizeof err)) {
      fail_msg(r, "cannot load vectors:", err, NULL);
      goto out_x;
    }
    if (tc_dtype_tag(c->dtype_q, &dq) != 0 || ynd != 2 || ys[0] != B || ys[1] != V) {
      fail_msg(r, "bad y file or dtype_q", c->y, c->dtype_q);
      goto out_x;
    }
    size_t eq = tc_dtype_size(dq);
    ybuf = c->stride_q ? tc_restride(yraw, eq, B, V, c->stride_q, 0xFF) : yraw;
    ybytes = (size_t)B * (size_t)(c->stride_q ? c->stride_q : V) * eq;
    ycopy = malloc(ybytes ? ybytes : 1);
    memcpy(ycopy, ybuf, ybytes);
    tc_tensor_2d(&Y, ybuf, dq, B, V, c->stride_q ? c->stride_q : (explicit_compact ? 0 : V));
  }
  unsigned char *kept = malloc((size_t)B + 1);
  memset(kept, 1, (size_t)B + 1);
  if (strcmp(c->labels, "-") != 0) {
    if (tc_load(c->labels, &lab, ls, &lnd, err, sizeof err) || lnd != 1 || ls[0] != B) {
      fail_msg(r, "cannot load labels:", err, NULL);
      goto out_y;
    }
  }

  const double *e = ex;
  ie_status st = IE_OK;
  ie_summary sum;
  memset(&sum, 0, sizeof sum);
  int is_rowwise = strcmp(c->op, "log_softmax") != 0 && strcmp(c->op, "softmax") != 0;
  int f64_input = dp.bits == 64 || (ybuf && dq.bits == 64);

  if (is_rowwise) {
    double *pr = malloc(sizeof(double) * (size_t)(B + 1));
    for (int64_t i = 0; i < B; i++) tc_set(pr, tc_rowdt, (size_t)i, SENTINEL);
    tc_tensor_1d(&O, pr, tc_rowdt, B);
    const size_t prbytes = (size_t)B * tc_dtype_size(tc_rowdt);
    const DLTensor *Xd = dev_in(&X.t, xbytes), *Od = dev_in(&O.t, prbytes);
    const DLTensor *Yd = ybuf ? dev_in(&Y.t, ybytes) : NULL;
    int want_summary = 1;
    if (!strcmp(c->op, "lse")) {
      ie_softmax_options o = {sizeof o, c->T};
      st = ie_logsumexp(ctx, Xd, (DLTensor *)Od, &o);
      want_summary = 0;
    } else if (!strcmp(c->op, "entropy")) {
      ie_entropy_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.input = strcmp(c->p_input, "probs") ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
      o.temperature = c->T;
      o.kind = !strcmp(c->kind, "renyi") ? IE_ENTROPY_RENYI
               : !strcmp(c->kind, "tsallis") ? IE_ENTROPY_TSALLIS
                                             : IE_ENTROPY_SHANNON;
      o.alpha = c->alpha;
      st = ie_entropy(ctx, Xd, (DLTensor *)Od, &o, &sum);
    } else if (!strcmp(c->op, "nll")) {
      DLDataType ldt = TC_I64;
      /* the labels file is int32 or int64: read its dtype from the file */
      char path[2048];
      ieio_info info;
      snprintf(path, sizeof path, "%s/%s", IE_TEST_VECTORS, c->labels);
      if (ieio_open_info(path, &info, err, sizeof err) == 0) ldt = info.dtype;
      tc_tensor_1d(&L, lab, ldt, B);
      ie_nll_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.temperature = c->T;
      o.has_ignore_index = c->has_ignore;
      o.ignore_index = c->ignore;
      for (int64_t i = 0; i < B; i++) {
        int64_t y = ldt.bits == 32 ? ((int32_t *)lab)[i] : ((int64_t *)lab)[i];
        kept[i] = !(c->has_ignore && y == c->ignore);
      }
      void *lcopy = malloc((size_t)B * (ldt.bits / 8) + 1);
      memcpy(lcopy, lab, (size_t)B * (ldt.bits / 8));
      st = ie_nll(ctx, Xd, dev_in(&L.t, (size_t)B * (ldt.bits / 8)), (DLTensor *)Od, &o, &sum);
      if (memcmp(lcopy, lab, (size_t)B * (ldt.bits / 8)) != 0)
        fail_msg(r, "the labels were modified", "", NULL);
      free(lcopy);
    } else if (!strcmp(c->op, "divergence")) {
      int k = ie_divergence_parse(c->kind);
      if (k < 0) {
        fail_msg(r, "ie_divergence_parse does not know", c->kind, NULL);
        free(pr);
        goto out_y;
      }
      ie_divergence_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.p_input = strcmp(c->p_input, "probs") ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
      o.q_input = strcmp(c->q_input, "probs") ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
      o.temperature = c->T;
      o.alpha = c->alpha;
      o.beta = c->beta;
      st = ie_divergence(ctx, (ie_divergence_kind)k, Xd, Yd, (DLTensor *)Od, &o, &sum);
    } else {
      fail_msg(r, "unknown op", c->op, NULL);
      free(pr);
      goto out_y;
    }
    if (st != IE_OK) {
      if (f64_input && b != IE_BACKEND_CPU && (st == IE_BAD_DTYPE || st == IE_UNSUPPORTED)) {
        (*skipped)++;
        cr_log_info("[%s] case %s: f64 input refused (%s), as allowed off the CPU",
                    r->bname, c->name, ie_status_name(st));
      } else {
        char m[1200];
        snprintf(m, sizeof m, "%s: %s", ie_status_name(st), ie_errmsg(ctx));
        fail_msg(r, "call failed:", m, NULL);
      }
      free(pr);
      goto out_y;
    }
    dev_back(Od, pr, prbytes);
    for (int64_t i = B - 1; i >= 0; i--) pr[i] = tc_get(pr, tc_rowdt, (size_t)i);
    for (int64_t i = 0; i < B; i++)
      if (!row_ok(c, pr[i], e[i]))
        mismatch(r, c->exact0 ? "value (must be exactly 0)" : pr[i] < 0 && nonneg_op(c) ? "value (must be >= 0)" : "value",
                 i, -1, e[i], pr[i]);
    if (want_summary) check_summary(r, &sum, e, kept, B);
    free(pr);
  } else {
    /* softmax / log-softmax into f32 (every backend), and f64, bf16 and f16
     * (CPU) */
    int logout = !strcmp(c->op, "log_softmax");
    ie_softmax_options o = {sizeof o, c->T};
    const DLDataType outs[4] = {TC_F32, TC_F64, TC_BF16, TC_F16};
    const char *out_names[4] = {"f32", "f64", "bf16", "f16"};
    for (int pass = 0; pass < (b == IE_BACKEND_CPU ? 4 : 1); pass++) {
      DLDataType odt = outs[pass];
      size_t eo = tc_dtype_size(odt);
      int64_t so = c->stride_p ? c->stride_p + 5 : V;
      size_t obytes = (size_t)B * (size_t)so * eo;
      unsigned char *ob = malloc(obytes + 1);
      memset(ob, 0x7B, obytes + 1);
      tc_tensor_2d(&O, ob, odt, B, V, c->stride_p ? so : 0);
      const DLTensor *Xd = dev_in(&X.t, xbytes), *Od = dev_in(&O.t, obytes);
      st = logout ? ie_log_softmax(ctx, Xd, (DLTensor *)Od, &o) : ie_softmax(ctx, Xd, (DLTensor *)Od, &o);
      dev_back(Od, ob, obytes);
      if (st != IE_OK) {
        if (f64_input && b != IE_BACKEND_CPU && (st == IE_BAD_DTYPE || st == IE_UNSUPPORTED)) {
          (*skipped)++;
          cr_log_info("[%s] case %s: f64 input refused (%s), as allowed off the CPU",
                      r->bname, c->name, ie_status_name(st));
        } else {
          char m[1200];
          snprintf(m, sizeof m, "%s (out %s): %s", ie_status_name(st), out_names[pass],
                   ie_errmsg(ctx));
          fail_msg(r, "call failed:", m, NULL);
        }
        free(ob);
        break;
      }
      for (int64_t i = 0; i < B; i++) {
        for (int64_t j = 0; j < V; j++) {
          double got = tc_get(ob, odt, (size_t)(i * so + j));
          double exp = e[i * V + j];
          /* an f32 output holds the value rounded to f32 (and f32's range);
           * a 16-bit one, rounded to its 8 (bf16) or 11 (f16, with
           * subnormals down to 2^-24) significant bits */
          const double rounding = pass == 2 ? fabs(exp) * 0x1p-8 : pass == 3 ? fabs(exp) * 0x1p-11 + 0x1p-25 : 0;
          const double top = pass == 2 ? 0x1.fep127 : pass == 3 ? 65504 : INFINITY; /* (the largest finite) */
          int ok = tc_close(got, exp) || (rounding > 0 && fabs(got - exp) <= tc_tol(exp) + rounding);
          if (fabs(exp) > top && !isinf(exp)) /* past the 16-bit range: ±inf, or the largest */
            ok = (isinf(got) || fabs(got) == top) && signbit(got) == signbit(exp);
          if (!ok) {
            char what[64];
            snprintf(what, sizeof what, "element (%s out)", out_names[pass]);
            mismatch(r, what, i, j, exp, got);
          }
        }
        for (int64_t j = V; j < so; j++)
          for (size_t k = 0; k < eo; k++)
            if (ob[((size_t)(i * so + j)) * eo + k] != 0x7B) {
              mismatch(r, "output gap between rows was written", i, j, 0, 0);
              j = so;
              break;
            }
      }
      free(ob);
    }
  }
  if (memcmp(xcopy, xbuf, xbytes) != 0) fail_msg(r, "input x was modified", "", NULL);
  dev_free();
  if (ybuf && memcmp(ycopy, ybuf, ybytes) != 0) fail_msg(r, "input y was modified", "", NULL);

out_y:
  dev_free();
  free(kept);
  if (ybuf && ybuf != yraw) free(ybuf);
  free(ycopy);
out_x:
  if (xbuf != xraw) free(xbuf);
  free(xcopy);
out:
  free(xraw);
  free(yraw);
  free(lab);
  free(ex);
}

/* ---- the parameterized test ------------------------------------------------------ */

ParameterizedTestParameters(vectors, group) {
  ie_backend bs[3];
  int nb = tc_backends(bs);
  size_t n = (size_t)nb * NGROUPS;
  vparam *p = cr_malloc(sizeof(vparam) * n);
  for (int i = 0; i < nb; i++)
    for (size_t g = 0; g < NGROUPS; g++) {
      p[(size_t)i * NGROUPS + g].backend = bs[i];
      p[(size_t)i * NGROUPS + g].group = (int)g;
    }
  return cr_make_param_array(vparam, p, n, free_params);
}

ParameterizedTest(vparam *p, vectors, group, .timeout = 300) {
  ie_backend b = (ie_backend)p->backend;
  const char *g = GROUPS[p->group];
  tc_case *cases;
  char err[512];
  int n = tc_manifest(&cases, err, sizeof err);
  cr_assert(n > 0, "manifest: %s", err);
  ie_context *ctx = tc_context(b);
  ctx_report r = {0, 0, ie_backend_name(b), NULL};
  int ran = 0, skipped = 0;
  for (int i = 0; i < n; i++) {
    if (!in_group(&cases[i], g)) continue;
    ran++;
    run_case(ctx, b, &cases[i], i, &r, &skipped);
  }
  cr_log_info("[%s] group %s: %d cases, %d skipped (f64 off the CPU), %d mismatches",
              ie_backend_name(b), g, ran, skipped, r.fails);
  cr_assert(ran > 0, "group %s has no cases in the manifest", g);
  cr_assert(skipped < ran || b != IE_BACKEND_CPU, "every case skipped on the CPU");
  cr_assert(r.fails == 0, "[%s] group %s: %d mismatches (see above)", ie_backend_name(b), g,
            r.fails);
  ie_context_destroy(ctx);
  free(cases);
}

/* The same groups on OpenCL with device tensors (skipped without a device). */
ParameterizedTestParameters(vectors_device, group) {
  size_t n = IE_TEST_HAVE_OPENCL ? NGROUPS : 0;
  vparam *p = cr_malloc(sizeof(vparam) * (n ? n : 1));
  for (size_t g = 0; g < n; g++) {
    p[g].backend = IE_BACKEND_OPENCL;
    p[g].group = (int)g;
  }
  return cr_make_param_array(vparam, p, n, free_params);
}

ParameterizedTest(vparam *p, vectors_device, group, .timeout = 300) {
  const char *g = GROUPS[p->group];
  tc_case *cases;
  char err[512];
  int n = tc_manifest(&cases, err, sizeof err);
  cr_assert(n > 0, "manifest: %s", err);
  ie_context *ctx = tc_context((ie_backend)p->backend);
  dev_ctx = ctx;
  ctx_report r = {0, 0, "opencl device tensors", NULL};
  int ran = 0, skipped = 0;
  for (int i = 0; i < n; i++) {
    if (!in_group(&cases[i], g)) continue;
    ran++;
    run_case(ctx, IE_BACKEND_OPENCL, &cases[i], i, &r, &skipped);
  }
  dev_ctx = NULL;
  cr_log_info("[opencl, device tensors] group %s: %d cases, %d skipped, %d mismatches", g, ran,
              skipped, r.fails);
  cr_assert(ran > 0, "group %s has no cases in the manifest", g);
  cr_assert(r.fails == 0, "[opencl, device tensors] group %s: %d mismatches (see above)", g, r.fails);
  ie_context_destroy(ctx);
  free(cases);
}

/* ---- summaries with row weights and masks --------------------------------------------- */

typedef struct {
  int backend;
} bparam;

ParameterizedTestParameters(summary, weights) {
  ie_backend bs[3];
  int nb = tc_backends(bs);
  bparam *p = cr_malloc(sizeof(bparam) * (size_t)nb);
  for (int i = 0; i < nb; i++) p[i].backend = bs[i];
  return cr_make_param_array(bparam, p, (size_t)nb, free_params);
}

static const tc_case *find_case(tc_case *cases, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(cases[i].name, name)) return &cases[i];
  cr_assert_fail("case %s not in the manifest", name);
  return NULL;
}

/* Run a divergence / entropy / nll case with a given row-weights tensor;
 * return the status and fill per-row values and the summary. */
static ie_status run_weighted(ie_context *ctx, const tc_case *c, const DLTensor *w, double *pr,
                              ie_summary *s) {
  char err[512];
  void *x = NULL, *y = NULL, *lab = NULL;
  int64_t sh[8];
  int nd;
  cr_assert(tc_load(c->x, &x, sh, &nd, err, sizeof err) == 0, "%s", err);
  DLDataType dp, dq;
  tc_dtype_tag(c->dtype_p, &dp);
  tc_tensor X, Y, L, O;
  tc_tensor_2d(&X, x, dp, c->rows, c->cols, 0);
  tc_tensor_1d(&O, pr, tc_rowdt, c->rows);
  ie_status st;
  if (!strcmp(c->op, "divergence")) {
    cr_assert(tc_load(c->y, &y, sh, &nd, err, sizeof err) == 0, "%s", err);
    tc_dtype_tag(c->dtype_q, &dq);
    tc_tensor_2d(&Y, y, dq, c->rows, c->cols, 0);
    ie_divergence_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.p_input = strcmp(c->p_input, "probs") ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
    o.q_input = strcmp(c->q_input, "probs") ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
    o.temperature = c->T;
    o.alpha = c->alpha;
    o.beta = c->beta;
    o.row_weights = w;
    st = ie_divergence(ctx, (ie_divergence_kind)ie_divergence_parse(c->kind), &X.t, &Y.t, &O.t,
                       &o, s);
  } else if (!strcmp(c->op, "nll")) {
    cr_assert(tc_load(c->labels, &lab, sh, &nd, err, sizeof err) == 0, "%s", err);
    tc_tensor_1d(&L, lab, TC_I64, c->rows);
    ie_nll_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.temperature = c->T;
    o.has_ignore_index = c->has_ignore;
    o.ignore_index = c->ignore;
    o.row_weights = w;
    st = ie_nll(ctx, &X.t, &L.t, &O.t, &o, s);
  } else {
    ie_entropy_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.input = strcmp(c->p_input, "probs") ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
    o.temperature = c->T;
    o.kind = !strcmp(c->kind, "renyi") ? IE_ENTROPY_RENYI
             : !strcmp(c->kind, "tsallis") ? IE_ENTROPY_TSALLIS
                                           : IE_ENTROPY_SHANNON;
    o.alpha = c->alpha;
    o.row_weights = w;
    st = ie_entropy(ctx, &X.t, &O.t, &o, s);
  }
  free(x);
  free(y);
  free(lab);
  for (int64_t i = c->rows - 1; i >= 0; i--) pr[i] = tc_get(pr, tc_rowdt, (size_t)i);
  return st;
}

static void check_weighted(const char *bname, const char *scheme, const tc_case *c,
                           const double *e, const double *w, const int64_t *labels,
                           const ie_summary *s) {
  long double sum = 0, ws = 0, tol = 0;
  int64_t nk = 0;
  double mn = INFINITY, mx = -INFINITY;
  int inf = 0;
  for (int64_t i = 0; i < c->rows; i++) {
    double wi = w[i];
    if (labels && c->has_ignore && labels[i] == c->ignore) wi = 0;
    if (wi == 0) continue;
    nk++;
    ws += wi;
    if (isinf(e[i])) inf = 1;
    else {
      sum += (long double)wi * e[i];
      tol += wi * tc_tol(e[i]);
    }
    if (e[i] < mn) mn = e[i];
    if (e[i] > mx) mx = e[i];
  }
  double esum = inf ? INFINITY : (double)sum, emean = esum / (double)ws;
  double t = (double)tol + 1e-12 * fabs((double)sum);
  cr_expect(s->rows_kept == nk, "[%s] %s %s: rows_kept %lld, expected %lld", bname, c->name,
            scheme, (long long)s->rows_kept, (long long)nk);
  cr_expect(fabs(s->weight_sum - (double)ws) <= 1e-9 * (double)ws, "[%s] %s %s: weight_sum %.17g, expected %.17g",
            bname, c->name, scheme, s->weight_sum, (double)ws);
  cr_expect(inf ? s->sum == esum : fabs(s->sum - esum) <= t,
            "[%s] %s %s: sum %.17g, expected %.17g", bname, c->name, scheme, s->sum, esum);
  cr_expect(inf ? s->mean == emean : fabs(s->mean - emean) <= t / (double)ws,
            "[%s] %s %s: mean %.17g, expected %.17g", bname, c->name, scheme, s->mean, emean);
  cr_expect(tc_close(s->min, mn), "[%s] %s %s: min %.17g, expected %.17g", bname, c->name, scheme,
            s->min, mn);
  cr_expect(tc_close(s->max, mx), "[%s] %s %s: max %.17g, expected %.17g", bname, c->name, scheme,
            s->max, mx);
}

ParameterizedTest(bparam *p, summary, weights, .timeout = 120) {
  ie_backend b = (ie_backend)p->backend;
  const char *bn = ie_backend_name(b);
  tc_case *cases;
  char err[512];
  int n = tc_manifest(&cases, err, sizeof err);
  cr_assert(n > 0, "manifest: %s", err);
  ie_context *ctx = tc_context(b);
  /* div_kl_probs has +inf rows; nll_f32 has ignored rows and a +inf row */
  const char *names[] = {"div_kl_probs", "nll_f32", "ent_renyi_0p5_logits", "div_js_0p5_mixed"};
  for (size_t ci = 0; ci < sizeof names / sizeof names[0]; ci++) {
    const tc_case *c = find_case(cases, n, names[ci]);
    const int64_t B = c->rows;
    void *ev;
    int64_t sh[8];
    int nd;
    cr_assert(tc_load(c->expect, &ev, sh, &nd, err, sizeof err) == 0, "%s", err);
    const double *e = ev;
    int64_t *labels = NULL;
    if (strcmp(c->labels, "-")) {
      void *lv;
      cr_assert(tc_load(c->labels, &lv, sh, &nd, err, sizeof err) == 0, "%s", err);
      labels = lv;
    }
    double *w = malloc(sizeof(double) * (size_t)B);
    double *pr = malloc(sizeof(double) * (size_t)B);
    float *wf = malloc(sizeof(float) * (size_t)B);
    unsigned char *m8 = malloc((size_t)B);
    int32_t *m32 = malloc(sizeof(int32_t) * (size_t)B);
    int64_t *m64 = malloc(sizeof(int64_t) * (size_t)B);
    tc_tensor W;
    ie_summary s;

    for (int scheme = 0; scheme < 6; scheme++) {
      const char *sname = "";
      switch (scheme) {
      case 0: /* f64 weights; every +inf row gets weight 0 */
        sname = "f64 weights, +inf rows weighted 0";
        for (int64_t i = 0; i < B; i++) w[i] = isinf(e[i]) ? 0.0 : 0.25 * (double)(1 + i % 4);
        tc_tensor_1d(&W, w, TC_F64, B);
        break;
      case 1: /* f32 weights, some zero */
        sname = "f32 weights";
        for (int64_t i = 0; i < B; i++) {
          wf[i] = (float)((i % 5) * 0.5);
          w[i] = wf[i];
        }
        tc_tensor_1d(&W, wf, TC_F32, B);
        break;
      case 2:
        sname = "u8 mask";
        for (int64_t i = 0; i < B; i++) {
          m8[i] = (unsigned char)(i % 3 != 0);
          w[i] = m8[i];
        }
        tc_tensor_1d(&W, m8, TC_U8, B);
        break;
      case 3:
        sname = "i32 mask";
        for (int64_t i = 0; i < B; i++) {
          m32[i] = (int32_t)(i % 2);
          w[i] = m32[i];
        }
        tc_tensor_1d(&W, m32, TC_I32, B);
        break;
      case 4:
        sname = "i64 mask";
        for (int64_t i = 0; i < B; i++) {
          m64[i] = (i % 7 == 3) ? 0 : 1;
          w[i] = (double)m64[i];
        }
        tc_tensor_1d(&W, m64, TC_I64, B);
        break;
      case 5: /* a single kept row */
        sname = "one kept row";
        for (int64_t i = 0; i < B; i++) {
          m8[i] = (unsigned char)(i == 1);
          w[i] = m8[i];
        }
        tc_tensor_1d(&W, m8, TC_U8, B);
        break;
      }
      memset(&s, 0, sizeof s);
      ie_status st = run_weighted(ctx, c, &W.t, pr, &s);
      cr_expect(st == IE_OK, "[%s] %s %s: %s: %s", bn, c->name, sname, ie_status_name(st),
                ie_errmsg(ctx));
      if (st != IE_OK) continue;
      cr_expect(s.rows == B, "[%s] %s %s: rows %lld", bn, c->name, sname, (long long)s.rows);
      check_weighted(bn, sname, c, e, w, labels, &s);
      /* per-row values are unaffected by the weights (ignored nll rows: 0) */
      for (int64_t i = 0; i < B; i++)
        if (!tc_close(pr[i], e[i])) {
          cr_expect(0, "[%s] %s %s: per-row value row %lld: %.17g, expected %.17g", bn, c->name,
                    sname, (long long)i, pr[i], e[i]);
          break;
        }
    }

    /* a mean over zero kept rows is IE_EMPTY_REDUCTION */
    memset(m8, 0, (size_t)B);
    tc_tensor_1d(&W, m8, TC_U8, B);
    ie_status st = run_weighted(ctx, c, &W.t, pr, &s);
    cr_expect(st == IE_EMPTY_REDUCTION, "[%s] %s all-zero mask: %s, expected IE_EMPTY_REDUCTION",
              bn, c->name, ie_status_name(st));
    for (int64_t i = 0; i < B; i++) w[i] = 0;
    tc_tensor_1d(&W, w, TC_F64, B);
    st = run_weighted(ctx, c, &W.t, pr, &s);
    cr_expect(st == IE_EMPTY_REDUCTION, "[%s] %s all-zero f64 weights: %s, expected IE_EMPTY_REDUCTION",
              bn, c->name, ie_status_name(st));
    if (st == IE_EMPTY_REDUCTION)
      cr_expect(strlen(ie_errmsg(ctx)) > 0, "empty message for IE_EMPTY_REDUCTION");

    free(w);
    free(pr);
    free(wf);
    free(m8);
    free(m32);
    free(m64);
    free(ev);
    free(labels);
  }
  ie_context_destroy(ctx);
  free(cases);
}

/* NLL where every row is ignored: a mean over zero rows. */
ParameterizedTestParameters(summary, nll_all_ignored) {
  ie_backend bs[3];
  int nb = tc_backends(bs);
  bparam *p = cr_malloc(sizeof(bparam) * (size_t)nb);
  for (int i = 0; i < nb; i++) p[i].backend = bs[i];
  return cr_make_param_array(bparam, p, (size_t)nb, free_params);
}

ParameterizedTest(bparam *p, summary, nll_all_ignored) {
  ie_backend b = (ie_backend)p->backend;
  ie_context *ctx = tc_context(b);
  float x[4 * 3] = {0.1f, 0.2f, 0.3f, 1, 2, 3, -1, 0, 1, 5, 5, 5};
  int64_t lab[4] = {-100, -100, -100, -100};
  double pr[4];
  tc_tensor X, L, O;
  tc_tensor_2d(&X, x, TC_F32, 4, 3, 0);
  tc_tensor_1d(&L, lab, TC_I64, 4);
  tc_tensor_1d(&O, pr, tc_rowdt, 4);
  ie_nll_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.has_ignore_index = 1;
  o.ignore_index = -100;
  ie_summary s;
  ie_status st = ie_nll(ctx, &X.t, &L.t, &O.t, &o, &s);
  cr_expect(st == IE_EMPTY_REDUCTION, "[%s] all rows ignored: %s, expected IE_EMPTY_REDUCTION",
            ie_backend_name(b), ie_status_name(st));
  /* without a summary there is no mean to take: the per-row values are 0 */
  for (int i = 0; i < 4; i++) tc_set(pr, tc_rowdt, (size_t)i, SENTINEL);
  st = ie_nll(ctx, &X.t, &L.t, &O.t, &o, NULL);
  cr_expect(st == IE_OK, "[%s] all rows ignored, no summary: %s: %s", ie_backend_name(b),
            ie_status_name(st), ie_errmsg(ctx));
  if (st == IE_OK)
    for (int i = 0; i < 4; i++)
      cr_expect(tc_get(pr, tc_rowdt, (size_t)i) == 0.0, "[%s] ignored row %d: %.17g, expected 0",
                ie_backend_name(b), i, tc_get(pr, tc_rowdt, (size_t)i));
  ie_context_destroy(ctx);
}
