/*
 * test_sinkhorn.c — ie_sinkhorn (docs/SPEC.md §4) on every backend compiled in:
 * the POT vectors of tests/gen_sinkhorn.py (transport_cost within 1e-6
 * relative, objective and divergence likewise), the approach to ot.emd2 as
 * ε shrinks, the tiled on-the-fly cost against the built one, determinism,
 * one test a bad input, and cancellation through the context's flag.  A backend with no device here is skipped with a
 * message (tc_context).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#if IE_TEST_HAVE_OPENCL
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include "infoest_opencl.h"
#endif

#define REL 1e-6

/* ---- tensors of any rank (host, compact) ---------------------------------------- */

typedef struct {
  DLTensor t;
  int64_t shape[4];
  void *data;
} sk_t;

static void sk_wrap(sk_t *x, void *data, DLDataType dt, int ndim, const int64_t *shape) {
  memset(x, 0, sizeof *x);
  x->data = data;
  for (int i = 0; i < ndim; i++) x->shape[i] = shape[i];
  x->t.data = data;
  x->t.device = (DLDevice){kDLCPU, 0};
  x->t.ndim = ndim;
  x->t.dtype = dt;
  x->t.shape = x->shape;
}

/* Load IE_TEST_VECTORS/<file> as a tensor (data owned by x). */
static void sk_load(sk_t *x, const char *file) {
  char err[256];
  void *data;
  int64_t shape[8];
  int ndim;
  cr_assert_eq(tc_load(file, &data, shape, &ndim, err, sizeof err), 0, "%s", err);
  sk_wrap(x, data, TC_F32, ndim, shape);
}

/* ---- the manifest ------------------------------------------------------------------ */

typedef struct {
  char name[64], src[16], metric[24];
  double eps, rho;
  int64_t B, n, m, d;
  int div, scaling;
  char a[96], b[96], cost[96], x[96], y[96], expect[96];
} sk_case;

static int sk_manifest(sk_case **out, const char *file) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", IE_TEST_VECTORS, file);
  FILE *fh = fopen(path, "r");
  cr_assert(fh, "cannot open %s (run tests/gen_sinkhorn.py or tests/gen_sinkhorn_f32.py)", path);
  sk_case *cs = NULL;
  int n = 0;
  char line[2048];
  while (fgets(line, sizeof line, fh)) {
    if (strncmp(line, "case ", 5)) continue;
    cs = realloc(cs, (size_t)(n + 1) * sizeof *cs);
    sk_case *c = &cs[n++];
    memset(c, 0, sizeof *c);
    char *save = NULL, *tok = strtok_r(line + 5, " \n", &save);
    snprintf(c->name, sizeof c->name, "%s", tok);
    while ((tok = strtok_r(NULL, " \n", &save))) {
      char *eq = strchr(tok, '=');
      if (!eq) continue;
      *eq = 0;
      const char *k = tok, *v = eq + 1;
      if (!strcmp(k, "src")) snprintf(c->src, sizeof c->src, "%s", v);
      else if (!strcmp(k, "metric")) snprintf(c->metric, sizeof c->metric, "%s", v);
      else if (!strcmp(k, "eps")) c->eps = strtod(v, NULL);
      else if (!strcmp(k, "rho")) c->rho = strtod(v, NULL);
      else if (!strcmp(k, "B")) c->B = strtoll(v, NULL, 10);
      else if (!strcmp(k, "n")) c->n = strtoll(v, NULL, 10);
      else if (!strcmp(k, "m")) c->m = strtoll(v, NULL, 10);
      else if (!strcmp(k, "d")) c->d = strtoll(v, NULL, 10);
      else if (!strcmp(k, "div")) c->div = atoi(v);
      else if (!strcmp(k, "scaling")) c->scaling = atoi(v);
      else if (!strcmp(k, "a")) snprintf(c->a, sizeof c->a, "%s", v);
      else if (!strcmp(k, "b")) snprintf(c->b, sizeof c->b, "%s", v);
      else if (!strcmp(k, "cost")) snprintf(c->cost, sizeof c->cost, "%s", v);
      else if (!strcmp(k, "x")) snprintf(c->x, sizeof c->x, "%s", v);
      else if (!strcmp(k, "y")) snprintf(c->y, sizeof c->y, "%s", v);
      else if (!strcmp(k, "expect")) snprintf(c->expect, sizeof c->expect, "%s", v);
    }
  }
  fclose(fh);
  *out = cs;
  return n;
}

static ie_cost_metric sk_metric(const char *s) {
  if (!strcmp(s, "half-sqeuclidean")) return IE_COST_HALF_SQEUCLIDEAN;
  if (!strcmp(s, "euclidean")) return IE_COST_EUCLIDEAN;
  return IE_COST_SQEUCLIDEAN;
}

static double rel_err(double got, double want) {
  if (got == want) return 0;
  return fabs(got - want) / fmax(fabs(want), 1e-300);
}

/* ---- the vectors on every backend -------------------------------------------------------- */

#if IE_TEST_HAVE_OPENCL
/* x's data copied into a new buffer of ctx's OpenCL device; x then
 * describes it (the caller releases the returned buffer). */
static cl_mem sk_place(ie_context *ctx, sk_t *x) {
  size_t bytes = (size_t)x->t.dtype.bits / 8;
  for (int i = 0; i < x->t.ndim; i++) bytes *= (size_t)x->shape[i];
  cl_context c = NULL;
  cl_command_queue q = NULL;
  cr_assert(ie_opencl_get_context(ctx, &c, NULL, &q) == IE_OK);
  cl_int e = CL_SUCCESS;
  cl_mem b = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes ? bytes : 8, NULL, &e);
  cr_assert(e == CL_SUCCESS);
  if (bytes) cr_assert(clEnqueueWriteBuffer(q, b, CL_TRUE, 0, bytes, x->data, 0, NULL, NULL) == CL_SUCCESS);
  x->t.data = b;
  x->t.device = (DLDevice){kDLOpenCL, 0};
  return b;
}
#endif

/* on_device (OpenCL): every input in device memory, as a server holds it. */
static void run_vectors(ie_backend be, int on_device) {
  ie_context *ctx = tc_context(be);
  sk_case *cs;
  int nc = sk_manifest(&cs, "sinkhorn_MANIFEST");
  cr_assert_gt(nc, 0);
  double worst = 0;
  for (int k = 0; k < nc; k++) {
    const sk_case *c = &cs[k];
    sk_t a, b, cost, x, y, ex;
    int pts = !strcmp(c->src, "points");
    sk_load(&a, c->a);
    sk_load(&b, c->b);
    if (pts) {
      sk_load(&x, c->x);
      sk_load(&y, c->y);
    } else {
      sk_load(&cost, c->cost);
    }
    {
      char err[256];
      void *data;
      int64_t shape[8];
      int nd;
      cr_assert_eq(tc_load(c->expect, &data, shape, &nd, err, sizeof err), 0, "%s", err);
      sk_wrap(&ex, data, TC_F64, nd, shape);
    }
    const double *want = ex.data;
#if IE_TEST_HAVE_OPENCL
    cl_mem placed[4] = {NULL, NULL, NULL, NULL};
    if (on_device) {
      placed[0] = sk_place(ctx, &a);
      placed[1] = sk_place(ctx, &b);
      placed[2] = sk_place(ctx, pts ? &x : &cost);
      if (pts) placed[3] = sk_place(ctx, &y);
    }
#else
    cr_assert(!on_device, "device tensors need the OpenCL backend");
#endif
    /* Point clouds run twice: the cost built in memory, then in tiles from
     * the points (a budget of 1 byte). */
    for (int tiles = 0; tiles <= (pts && !on_device); tiles++) { /* device: the built cost only (time) */
      const char *how = tiles ? " (tiles)" : "";
      ie_sinkhorn_options o = {0};
      o.size = sizeof o;
      o.epsilon = c->eps;
      o.tol = 1e-10;
      o.max_iter = c->div ? 20000 : 200000;
      o.rho = c->rho;
      o.metric = sk_metric(c->metric);
      o.eps_scaling = c->scaling;
      o.divergence = c->div;
      o.memory_budget = tiles ? 1 : 0;
      ie_sinkhorn_result *res = calloc((size_t)c->B, sizeof *res);
      ie_status s = ie_sinkhorn(ctx, &a.t, &b.t, pts ? NULL : &cost.t, pts ? &x.t : NULL, pts ? &y.t : NULL, &o,
                                res, NULL, NULL, NULL);
      cr_assert_eq(s, IE_OK, "%s%s on %s: %s", c->name, how, ie_backend_name(be), ie_errmsg(ctx));
      for (int64_t p = 0; p < c->B; p++) {
        const double *w = want + p * 4;
        /* With the divergence, `converged` also covers OT(a, a) and OT(b, b), whose
         * nearly diagonal plans plain alternating Sinkhorn approaches slowly; the
         * values are checked below either way. */
        if (c->div && !res[p].converged)
          IE_TEST_NOTE("%s%s[%lld] on %s: a debiasing solve did not reach tol 1e-10 in %lld iterations", c->name,
                      how, (long long)p, ie_backend_name(be), (long long)o.max_iter);
        else
          cr_expect(res[p].converged, "%s%s[%lld] on %s: not converged after %lld iterations (marginal error %g)",
                    c->name, how, (long long)p, ie_backend_name(be), (long long)res[p].iterations, res[p].marginal_error);
        double e1 = rel_err(res[p].transport_cost, w[0]), e2 = rel_err(res[p].objective, w[1]);
        worst = fmax(worst, fmax(e1, e2));
        cr_expect(e1 <= REL, "%s%s[%lld] on %s: transport_cost %.15g, POT %.15g (rel %.2e)", c->name, how, (long long)p,
                  ie_backend_name(be), res[p].transport_cost, w[0], e1);
        cr_expect(e2 <= REL, "%s%s[%lld] on %s: objective %.15g, POT %.15g (rel %.2e)", c->name, how, (long long)p,
                  ie_backend_name(be), res[p].objective, w[1], e2);
        if (c->div) {
          /* Absolute, on the scale of the objective. */
          cr_expect(fabs(res[p].divergence - w[2]) <= REL * fabs(w[1]),
                    "%s%s[%lld] on %s: divergence %.15g, POT %.15g", c->name, how, (long long)p, ie_backend_name(be),
                    res[p].divergence, w[2]);
          cr_expect(res[p].divergence >= -REL * fabs(w[1]), "%s: divergence %g < 0", c->name, res[p].divergence);
          if (!strcmp(c->name, "identical"))
            cr_expect_eq(res[p].divergence, 0.0, "identical inputs: divergence %.17g, not 0", res[p].divergence);
        } else {
          cr_expect(isnan(res[p].divergence), "%s: divergence not asked but %g", c->name, res[p].divergence);
        }
      }
      free(res);
    }
#if IE_TEST_HAVE_OPENCL
    for (int k = 0; k < 4; k++)
      if (placed[k]) clReleaseMemObject(placed[k]);
#endif
    free(a.data);
    free(b.data);
    if (pts) {
      free(x.data);
      free(y.data);
    } else {
      free(cost.data);
    }
    free(ex.data);
  }
  cr_log_info("sinkhorn vectors on %s%s: %d cases, worst relative error %.3e", ie_backend_name(be),
              on_device ? " (device tensors)" : "", nc, worst);
  free(cs);
  ie_context_destroy(ctx);
}

Test(sinkhorn, vectors_cpu) { run_vectors(IE_BACKEND_CPU, 0); }
Test(sinkhorn, vectors_cuda) {
  if (!ie_backend_compiled(IE_BACKEND_CUDA)) cr_skip_test("cuda: not compiled into this build");
  run_vectors(IE_BACKEND_CUDA, 0);
}
Test(sinkhorn, vectors_opencl) {
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("opencl: not compiled into this build");
  run_vectors(IE_BACKEND_OPENCL, 0);
}
/* The same vectors with every input in OpenCL device memory: checked,
 * normalised and converted there (src/sinkhorn.h, device inputs). */
Test(sinkhorn, vectors_opencl_device) {
#if IE_TEST_HAVE_OPENCL
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("opencl: not compiled into this build");
  run_vectors(IE_BACKEND_OPENCL, 1);
#else
  cr_skip_test("opencl: not compiled into this build");
#endif
}

/* ---- float32 tiles (single_precision) against POT --------------------------------------- */

/* What docs/SPEC.md §4 promises for single_precision, with r = (median
 * cost)/ε: transport_cost and objective within max(2e-6, 3e-8·r) relative
 * of POT's float64 value (the divergence likewise, on the objective's
 * scale); the marginal error of the returned plan, measured in double,
 * within max(2e-6, 1.5e-7·r).  The float rounding of C/ε is what grows as
 * ε shrinks (measured on PoCL: 2.2e-5 at ε = 1e-3 of the median, 2.0e-6 at
 * 1e-2, 9.1e-7 at 0.1, 3.8e-8 at 1; these vectors agree with the CPU's
 * float64 solver within 1.9e-9). */
static double f32_rel(double r) { return fmax(2e-6, 3e-8 * r); }
static double f32_merr(double r) { return fmax(2e-6, 1.5e-7 * r); }

static int cmp_double(const void *p, const void *q) {
  const double a = *(const double *)p, b = *(const double *)q;
  return (a > b) - (a < b);
}

/* The median cost of problem 0 (what tests/gen_sinkhorn_f32.py scales ε by). */
static double median_cost(const sk_case *c, const float *x, const float *y) {
  const int64_t n = c->n, m = c->m, d = c->d;
  double *v = malloc((size_t)(n * m) * sizeof *v);
  cr_assert(v);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) {
      double s = 0;
      for (int64_t k = 0; k < d; k++) {
        const double t = (double)x[i * d + k] - (double)y[j * d + k];
        s += t * t;
      }
      v[i * m + j] = !strcmp(c->metric, "euclidean") ? sqrt(s) : !strcmp(c->metric, "half-sqeuclidean") ? 0.5 * s : s;
    }
  qsort(v, (size_t)(n * m), sizeof *v, cmp_double);
  const size_t h = (size_t)(n * m) / 2;
  const double med = (n * m) % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
  free(v);
  return med;
}

/* The vectors of tests/gen_sinkhorn_f32.py (Gaussian and clustered clouds in
 * d = 64, duplicated points and zero masses in d = 2, a batch in d = 3 with
 * more columns than a tile, the three metrics, ε from 1e-3 to 1 of the
 * median cost, the divergence), solved with single_precision on `be`, with
 * every input in device memory when on_device (OpenCL).  Each case's errors
 * are logged: the figures of docs/SPEC.md §4. */
static void run_f32_vectors(ie_backend be, int on_device) {
  ie_context *ctx = tc_context(be);
  sk_case *cs;
  int nc = sk_manifest(&cs, "sinkhorn_f32_MANIFEST");
  cr_assert_gt(nc, 0);
  double worst = 0;
  for (int k = 0; k < nc; k++) {
    const sk_case *c = &cs[k];
    sk_t a, b, x, y, ex;
    sk_load(&a, c->a);
    sk_load(&b, c->b);
    sk_load(&x, c->x);
    sk_load(&y, c->y);
    {
      char err[256];
      void *data;
      int64_t shape[8];
      int nd;
      cr_assert_eq(tc_load(c->expect, &data, shape, &nd, err, sizeof err), 0, "%s", err);
      sk_wrap(&ex, data, TC_F64, nd, shape);
    }
    const double *want = ex.data;
    const double r = median_cost(c, x.data, y.data) / c->eps, tol = f32_rel(r), mtol = f32_merr(r);
    ie_sinkhorn_options o = {0};
    o.size = sizeof o;
    o.epsilon = c->eps;
    o.metric = sk_metric(c->metric);
    o.divergence = c->div;
    o.max_iter = 20000;
    o.tol = 1e-6;
    o.single_precision = 1;
    ie_sinkhorn_result *r32 = calloc((size_t)c->B, sizeof *r32);
#if IE_TEST_HAVE_OPENCL
    cl_mem placed[4] = {NULL, NULL, NULL, NULL};
    if (on_device) {
      placed[0] = sk_place(ctx, &a);
      placed[1] = sk_place(ctx, &b);
      placed[2] = sk_place(ctx, &x);
      placed[3] = sk_place(ctx, &y);
    }
#else
    cr_assert(!on_device, "device tensors need the OpenCL backend");
#endif
    cr_assert_eq(ie_sinkhorn(ctx, &a.t, &b.t, NULL, &x.t, &y.t, &o, r32, NULL, NULL, NULL), IE_OK, "%s on %s: %s",
                 c->name, ie_backend_name(be), ie_errmsg(ctx));
    for (int64_t p = 0; p < c->B; p++) {
      const double *w = want + p * 4;
      const double et = rel_err(r32[p].transport_cost, w[0]), eo = rel_err(r32[p].objective, w[1]);
      worst = fmax(worst, fmax(et, eo) / tol);
      cr_log_info("f32 %-36s[%lld] %s: median/eps %.3g, transport_cost rel %.2e, objective rel %.2e (allowed "
                  "%.1e), marginal error %.1e (allowed %.1e), %lld iterations%s",
                  c->name, (long long)p, ie_backend_name(be), r, et, eo, tol, r32[p].marginal_error, mtol,
                  (long long)r32[p].iterations, r32[p].converged ? "" : " (not converged)");
      cr_expect(r32[p].converged, "%s[%lld] on %s, float32 tiles: not converged in %lld iterations", c->name,
                (long long)p, ie_backend_name(be), (long long)r32[p].iterations);
      cr_expect(et <= tol, "%s[%lld] on %s, float32 tiles: transport_cost %.15g, POT %.15g (rel %.2e > %.1e)",
                c->name, (long long)p, ie_backend_name(be), r32[p].transport_cost, w[0], et, tol);
      cr_expect(eo <= tol, "%s[%lld] on %s, float32 tiles: objective %.15g, POT %.15g (rel %.2e > %.1e)", c->name,
                (long long)p, ie_backend_name(be), r32[p].objective, w[1], eo, tol);
      cr_expect(r32[p].marginal_error <= mtol, "%s[%lld] on %s, float32 tiles: marginal error %.3g > %.1e",
                c->name, (long long)p, ie_backend_name(be), r32[p].marginal_error, mtol);
      if (c->div)
        cr_expect(fabs(r32[p].divergence - w[2]) <= tol * fabs(w[1]), "%s: divergence %.15g, POT %.15g", c->name,
                  r32[p].divergence, w[2]);
    }
#if IE_TEST_HAVE_OPENCL
    for (int i = 0; i < 4; i++)
      if (placed[i]) clReleaseMemObject(placed[i]);
#endif
    free(r32);
    free(a.data);
    free(b.data);
    free(x.data);
    free(y.data);
    free(ex.data);
  }
  cr_log_info("sinkhorn float32 tiles on %s%s: %d cases, worst error %.2f of its allowance", ie_backend_name(be),
              on_device ? " (device tensors)" : "", nc, worst);
  free(cs);
  ie_context_destroy(ctx);
}

Test(sinkhorn, f32_tiles_opencl, .timeout = 600) {
#if IE_TEST_HAVE_OPENCL
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("opencl: not compiled into this build");
  run_f32_vectors(IE_BACKEND_OPENCL, 1);
#else
  cr_skip_test("opencl: not compiled into this build");
#endif
}
Test(sinkhorn, f32_tiles_cuda, .timeout = 600) {
  if (!ie_backend_compiled(IE_BACKEND_CUDA)) cr_skip_test("cuda: not compiled into this build");
  run_f32_vectors(IE_BACKEND_CUDA, 0);
}

/* ---- a small problem built here ---------------------------------------------------------- */

typedef struct {
  float a[12], b[9], x[24], y[18], cost[108];
  sk_t ta, tb, tx, ty, tc;
} small_t;

static void small_make(small_t *s) {
  unsigned v = 12345u;
  for (int i = 0; i < 24; i++) s->x[i] = (float)((v = v * 1103515245u + 12345u) % 1000) / 500.0f;
  for (int i = 0; i < 18; i++) s->y[i] = (float)((v = v * 1103515245u + 12345u) % 1000) / 400.0f;
  for (int i = 0; i < 12; i++) s->a[i] = 1.0f + (float)(i % 3);
  for (int j = 0; j < 9; j++) s->b[j] = 1.0f + (float)(j % 4);
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 9; j++) {
      double d0 = s->x[2 * i] - s->y[2 * j], d1 = s->x[2 * i + 1] - s->y[2 * j + 1];
      s->cost[i * 9 + j] = (float)(d0 * d0 + d1 * d1);
    }
  int64_t n[1] = {12}, m[1] = {9}, xs[2] = {12, 2}, ys[2] = {9, 2}, cs[2] = {12, 9};
  sk_wrap(&s->ta, s->a, TC_F32, 1, n);
  sk_wrap(&s->tb, s->b, TC_F32, 1, m);
  sk_wrap(&s->tx, s->x, TC_F32, 2, xs);
  sk_wrap(&s->ty, s->y, TC_F32, 2, ys);
  sk_wrap(&s->tc, s->cost, TC_F32, 2, cs);
}

static ie_sinkhorn_options small_opts(double eps) {
  ie_sinkhorn_options o = {0};
  o.size = sizeof o;
  o.epsilon = eps;
  o.tol = 1e-10;
  o.max_iter = 200000;
  return o;
}

/* Tiles on the fly (budget 1 byte) against the built matrix, the given
 * matrix, and bit-identical repeats; f, g and the plan are consistent. */
static void run_paths(ie_backend be) {
  ie_context *ctx = tc_context(be);
  small_t s;
  small_make(&s);
  ie_sinkhorn_options o = small_opts(0.05);
  ie_sinkhorn_result r1, r2, r3, r4;
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &r1, NULL, NULL, NULL), IE_OK, "%s",
               ie_errmsg(ctx));
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &r2, NULL, NULL, NULL), IE_OK);
  cr_expect(r1.transport_cost == r2.transport_cost && r1.objective == r2.objective &&
                r1.marginal_error == r2.marginal_error && r1.iterations == r2.iterations,
            "two runs differ: %.17g vs %.17g", r1.transport_cost, r2.transport_cost);
  o.memory_budget = 1;
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &r3, NULL, NULL, NULL), IE_OK);
  cr_expect(rel_err(r3.transport_cost, r1.transport_cost) <= 1e-12, "on the fly %.17g, built %.17g",
            r3.transport_cost, r1.transport_cost);
  o.memory_budget = 0;
  double f[12], g[9], plan[108];
  sk_t tf, tg, tp;
  int64_t n[1] = {12}, m[1] = {9}, ps[2] = {12, 9};
  sk_wrap(&tf, f, TC_F64, 1, n);
  sk_wrap(&tg, g, TC_F64, 1, m);
  sk_wrap(&tp, plan, TC_F64, 2, ps);
  DLTensor *pf = &tf.t, *pg = &tg.t, *pp = &tp.t;
  float f32[12], g32[9], plan32[108];
  if (be != IE_BACKEND_CPU) { /* f64 outputs are the CPU's */
    sk_wrap(&tf, f32, TC_F32, 1, n);
    sk_wrap(&tg, g32, TC_F32, 1, m);
    sk_wrap(&tp, plan32, TC_F32, 2, ps);
  }
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, &s.tc.t, NULL, NULL, &o, &r4, pf, pg, pp), IE_OK, "%s",
               ie_errmsg(ctx));
  cr_expect(rel_err(r4.transport_cost, r1.transport_cost) <= 1e-6, "matrix %.17g, points %.17g",
            r4.transport_cost, r1.transport_cost);
  /* The plan: <P, C> and the marginals. */
  double tc = 0, mass = 0;
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 9; j++) {
      double p = be == IE_BACKEND_CPU ? plan[i * 9 + j] : plan32[i * 9 + j];
      tc += p * s.cost[i * 9 + j];
      mass += p;
      double fi = be == IE_BACKEND_CPU ? f[i] : f32[i], gj = be == IE_BACKEND_CPU ? g[j] : g32[j];
      cr_expect(fabs(p - exp((fi + gj - s.cost[i * 9 + j]) / 0.05)) <= 1e-5 * p + 1e-9, "plan != exp((f+g-C)/eps)");
    }
  cr_expect(rel_err(tc, r4.transport_cost) <= 1e-5, "<plan, C> %.17g, transport_cost %.17g", tc, r4.transport_cost);
  cr_expect(fabs(mass - 1) <= 1e-5, "plan mass %.17g", mass);
  ie_context_destroy(ctx);
}

Test(sinkhorn, paths_cpu) { run_paths(IE_BACKEND_CPU); }
Test(sinkhorn, paths_cuda) {
  if (!ie_backend_compiled(IE_BACKEND_CUDA)) cr_skip_test("cuda: not compiled into this build");
  run_paths(IE_BACKEND_CUDA);
}
Test(sinkhorn, paths_opencl) {
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("opencl: not compiled into this build");
  run_paths(IE_BACKEND_OPENCL);
}

/* As ε shrinks (with ε-scaling), transport_cost approaches ot.emd2. */
Test(sinkhorn, approaches_emd) {
  ie_context *ctx = tc_context(IE_BACKEND_CPU);
  sk_t a, b, x, y, ex;
  sk_load(&a, "sinkhorn_points_sqeuclidean.a.npy");
  sk_load(&b, "sinkhorn_points_sqeuclidean.b.npy");
  sk_load(&x, "sinkhorn_points_sqeuclidean.x.npy");
  sk_load(&y, "sinkhorn_points_sqeuclidean.y.npy");
  {
    char err[256];
    void *data;
    int64_t shape[8];
    int nd;
    cr_assert_eq(tc_load("sinkhorn_points_sqeuclidean.expect.npy", &data, shape, &nd, err, sizeof err), 0);
    sk_wrap(&ex, data, TC_F64, nd, shape);
  }
  const double emd = ((double *)ex.data)[3];
  double prev = INFINITY;
  for (double eps = 0.5; eps >= 5e-4; eps /= 10) {
    ie_sinkhorn_options o = small_opts(eps);
    o.tol = 1e-9;
    o.max_iter = 1000000;
    o.eps_scaling = 1;
    ie_sinkhorn_result r;
    cr_assert_eq(ie_sinkhorn(ctx, &a.t, &b.t, NULL, &x.t, &y.t, &o, &r, NULL, NULL, NULL), IE_OK, "%s",
                 ie_errmsg(ctx));
    double gap = fabs(r.transport_cost - emd);
    cr_expect(gap < prev, "eps %g: |cost - emd| = %g did not shrink (was %g)", eps, gap, prev);
    cr_expect(r.transport_cost >= emd - 1e-9, "eps %g: cost %.17g below the exact OT %.17g", eps,
              r.transport_cost, emd);
    prev = gap;
  }
  cr_expect(prev / emd < 1e-3, "at eps 5e-4: relative gap to emd2 %g", prev / emd);
  free(a.data);
  free(b.data);
  free(x.data);
  free(y.data);
  free(ex.data);
  ie_context_destroy(ctx);
}

/* ---- bad input: a status that names it, on every backend ----------------------------------- */

static void expect_bad(ie_backend be, ie_status want, const char *needle,
                       void (*spoil)(small_t *s, ie_sinkhorn_options *o, int *use_cost)) {
  ie_context *ctx = tc_context(be);
  small_t s;
  small_make(&s);
  ie_sinkhorn_options o = small_opts(0.1);
  int use_cost = 1;
  spoil(&s, &o, &use_cost);
  ie_sinkhorn_result r = {0};
  r.iterations = 77;
  ie_status st = ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, use_cost ? &s.tc.t : NULL, use_cost ? NULL : &s.tx.t,
                             use_cost ? NULL : &s.ty.t, &o, &r, NULL, NULL, NULL);
  cr_expect_eq(st, want, "%s: got %s (%s), want %s", ie_backend_name(be), ie_status_name(st), ie_errmsg(ctx),
               ie_status_name(want));
  cr_expect(strstr(ie_errmsg(ctx), needle) != NULL, "message '%s' does not name '%s'", ie_errmsg(ctx), needle);
  cr_expect_eq(r.iterations, 77, "a failed call wrote its results");
  ie_context_destroy(ctx);
}

static void each_backend(ie_status want, const char *needle,
                         void (*spoil)(small_t *s, ie_sinkhorn_options *o, int *use_cost)) {
  ie_backend bs[3];
  int nb = tc_backends(bs);
  for (int k = 0; k < nb; k++) {
    ie_context *probe = NULL;
    ie_context_options co = {.size = sizeof co, .backend = bs[k], .device = 0};
    ie_status s = ie_context_create(&probe, &co);
    ie_context_destroy(probe);
    if (s != IE_OK) {
      IE_TEST_NOTE("%s: no device here, bad-input check skipped", ie_backend_name(bs[k]));
      continue;
    }
    expect_bad(bs[k], want, needle, spoil);
  }
}

static void spoil_negative(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)o, (void)c;
  s->a[4] = -0.5f;
}
static void spoil_zero_mass(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)o, (void)c;
  memset(s->b, 0, sizeof s->b);
}
static void spoil_shape(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)o, (void)c;
  s->tb.shape[0] = 8; /* cost is 12 x 9 */
}
static void spoil_eps_zero(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)s, (void)c;
  o->epsilon = 0;
}
static void spoil_eps_negative(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)s, (void)c;
  o->epsilon = -1;
}
static void spoil_nan_cost(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)o, (void)c;
  s->cost[5 * 9 + 7] = NAN;
}
static void spoil_nan_point(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)o;
  *c = 0;
  s->y[2 * 3 + 1] = NAN;
}
static void spoil_dims(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)o;
  *c = 0;
  s->ty.shape[1] = 3;
  s->ty.shape[0] = 6; /* 9 points of dimension 2 read as 6 of dimension 3 */
}
static void spoil_rho(small_t *s, ie_sinkhorn_options *o, int *c) {
  (void)s, (void)c;
  o->rho = -2;
}

Test(sinkhorn, bad_negative_mass) { each_backend(IE_NEGATIVE, "'a' problem 0, point 4: negative mass", spoil_negative); }
Test(sinkhorn, bad_zero_total_mass) { each_backend(IE_EMPTY_ROW, "'b' problem 0 has zero total mass", spoil_zero_mass); }
Test(sinkhorn, bad_shape_mismatch) { each_backend(IE_BAD_SHAPE, "'cost' is 12 x 9", spoil_shape); }
Test(sinkhorn, bad_epsilon_zero) { each_backend(IE_INVALID_ARGUMENT, "epsilon", spoil_eps_zero); }
Test(sinkhorn, bad_epsilon_negative) { each_backend(IE_INVALID_ARGUMENT, "epsilon", spoil_eps_negative); }
Test(sinkhorn, bad_nan_cost) { each_backend(IE_NONFINITE, "'cost' problem 0, element [5, 7]", spoil_nan_cost); }
Test(sinkhorn, bad_nan_point) { each_backend(IE_NONFINITE, "'y' problem 0, point 3, coordinate 1", spoil_nan_point); }
Test(sinkhorn, bad_point_dimension) { each_backend(IE_BAD_SHAPE, "'y' has 6 points", spoil_dims); }
Test(sinkhorn, bad_rho) { each_backend(IE_INVALID_ARGUMENT, "rho", spoil_rho); }

/* ---- cancellation (ie_context_set_cancel_flag) --------------------------------------------- */

typedef struct {
  int *flag;
  int ms;
} cancel_later;

static void *set_after(void *p) {
  const cancel_later *c = p;
  struct timespec ts = {c->ms / 1000, (long)(c->ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  __atomic_store_n(c->flag, 1, __ATOMIC_RELAXED);
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A flag set before the call stops it at once with IE_CANCELLED naming the
 * call; cleared, the same context solves normally (no stale message).  Set
 * by another thread during a solve that would run for minutes, it
 * stops the solve within a fraction of a second. */
static void run_cancel(ie_backend be) {
  ie_context *ctx = tc_context(be);
  small_t s;
  small_make(&s);
  ie_sinkhorn_options o = small_opts(0.05);
  ie_sinkhorn_result r;
  int flag = 1;
  ie_context_set_cancel_flag(ctx, &flag);
  for (int pts = 0; pts < 2; pts++) {
    ie_status st = ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, pts ? NULL : &s.tc.t, pts ? &s.tx.t : NULL,
                               pts ? &s.ty.t : NULL, &o, &r, NULL, NULL, NULL);
    cr_assert_eq(st, IE_CANCELLED, "%s: %s", ie_status_name(st), ie_errmsg(ctx));
    cr_assert(strstr(ie_errmsg(ctx), "ie_sinkhorn: cancelled") != NULL, "%s", ie_errmsg(ctx));
    cr_assert_eq(ie_errcode(ctx), IE_CANCELLED);
  }
  flag = 0;
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, &s.tc.t, NULL, NULL, &o, &r, NULL, NULL, NULL), IE_OK, "%s",
               ie_errmsg(ctx));
  cr_assert_eq(ie_errcode(ctx), IE_OK);
  cr_assert_str_eq(ie_errmsg(ctx), "not an error");
  cr_assert(r.converged);

  o.tol = 1e-300; /* never met: runs to max_iter, minutes */
  o.max_iter = 2000000000;
  cancel_later cl = {&flag, 100};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, set_after, &cl), 0);
  const double t0 = now_s();
  ie_status st = ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, &s.tc.t, NULL, NULL, &o, &r, NULL, NULL, NULL);
  const double took = now_s() - t0;
  pthread_join(th, NULL);
  cr_assert_eq(st, IE_CANCELLED, "%s: %s", ie_status_name(st), ie_errmsg(ctx));
  cr_assert_lt(took, 5.0, "cancelled after %.3f s", took);

  ie_context_set_cancel_flag(ctx, NULL); /* flag still set: no longer read */
  o = small_opts(0.05);
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &r, NULL, NULL, NULL), IE_OK, "%s",
               ie_errmsg(ctx));
  ie_context_destroy(ctx);
}

Test(sinkhorn, cancel_cpu) { run_cancel(IE_BACKEND_CPU); }
Test(sinkhorn, cancel_cuda) {
  if (!ie_backend_compiled(IE_BACKEND_CUDA)) cr_skip_test("cuda: not compiled into this build");
  run_cancel(IE_BACKEND_CUDA);
}
Test(sinkhorn, cancel_opencl) {
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("opencl: not compiled into this build");
  run_cancel(IE_BACKEND_OPENCL);
}

/* ---- the workspace on OpenCL --------------------------------------------------------------- */

#if IE_TEST_HAVE_OPENCL
/* x's data copied into a new OpenCL buffer; x then describes it. */
static cl_mem sk_to_dev(ie_context *ctx, sk_t *x, size_t bytes) {
  cl_context c = NULL;
  cl_command_queue q = NULL;
  cr_assert(ie_opencl_get_context(ctx, &c, NULL, &q) == IE_OK);
  cl_int e = CL_SUCCESS;
  cl_mem b = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
  cr_assert(e == CL_SUCCESS);
  cr_assert(clEnqueueWriteBuffer(q, b, CL_TRUE, 0, bytes, x->data, 0, NULL, NULL) == CL_SUCCESS);
  x->t.data = b;
  x->t.device = (DLDevice){kDLOpenCL, 0};
  return b;
}

/* With every tensor in device memory, after a warm-up call, repeated
 * solves (a given cost, points, the divergence) create no buffer: every
 * temporary is a workspace slot; the results are those of the CPU backend. */
Test(sinkhorn, device_workspace_opencl) {
  ie_context *ctx = tc_context(IE_BACKEND_OPENCL);
  ie_context *cpu = tc_context(IE_BACKEND_CPU);
  small_t h, s;
  small_make(&h);
  small_make(&s);
  ie_sinkhorn_options o = small_opts(0.05);
  ie_sinkhorn_result ref[3], got[3], again[3];
  cr_assert_eq(ie_sinkhorn(cpu, &h.ta.t, &h.tb.t, &h.tc.t, NULL, NULL, &o, &ref[0], NULL, NULL, NULL), IE_OK);
  cr_assert_eq(ie_sinkhorn(cpu, &h.ta.t, &h.tb.t, NULL, &h.tx.t, &h.ty.t, &o, &ref[1], NULL, NULL, NULL), IE_OK);
  cl_mem bufs[] = {sk_to_dev(ctx, &s.ta, sizeof s.a), sk_to_dev(ctx, &s.tb, sizeof s.b),
                   sk_to_dev(ctx, &s.tx, sizeof s.x), sk_to_dev(ctx, &s.ty, sizeof s.y),
                   sk_to_dev(ctx, &s.tc, sizeof s.cost)};
  o.divergence = 1;
  cr_assert_eq(ie_sinkhorn(cpu, &h.ta.t, &h.tb.t, NULL, &h.tx.t, &h.ty.t, &o, &ref[2], NULL, NULL, NULL), IE_OK);
  /* The divergence's other two solves, OT(a, a) and OT(b, b): their
   * iteration counts (the CPU's are the device's, as checked above). */
  o.divergence = 0;
  ie_sinkhorn_result self[2];
  cr_assert_eq(ie_sinkhorn(cpu, &h.ta.t, &h.ta.t, NULL, &h.tx.t, &h.tx.t, &o, &self[0], NULL, NULL, NULL), IE_OK);
  cr_assert_eq(ie_sinkhorn(cpu, &h.tb.t, &h.tb.t, NULL, &h.ty.t, &h.ty.t, &o, &self[1], NULL, NULL, NULL), IE_OK);
  ie_sinkhorn_result *rounds[2] = {got, again};
  ie_workspace_info w0, w1, wm;
  memset(&w0, 0, sizeof w0);
  memset(&w1, 0, sizeof w1);
  memset(&wm, 0, sizeof wm);
  w0.size = w1.size = wm.size = sizeof w0;
  for (int round = 0; round < 2; round++) {
    if (round == 1) cr_assert(ie_workspace_query(ctx, &w0) == IE_OK);
    ie_sinkhorn_result *r = rounds[round];
    o.divergence = 0;
    cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, &s.tc.t, NULL, NULL, &o, &r[0], NULL, NULL, NULL), IE_OK, "%s",
                 ie_errmsg(ctx));
    cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &r[1], NULL, NULL, NULL), IE_OK);
    if (round == 1) cr_assert(ie_workspace_query(ctx, &wm) == IE_OK);
    o.divergence = 1;
    cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &r[2], NULL, NULL, NULL), IE_OK);
  }
  cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
  cr_assert(w1.device_allocations == w0.device_allocations, "%llu device allocations in warm solves",
            (unsigned long long)(w1.device_allocations - w0.device_allocations));
  cr_log_info("sinkhorn on opencl, device tensors, 3 warm calls (5 solves): 0 allocations, %llu bytes to the "
              "device, %llu to the host",
              (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device),
              (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host));
  for (int k = 0; k < 3; k++) {
    cr_assert(got[k].transport_cost == again[k].transport_cost && got[k].iterations == again[k].iterations);
    cr_assert(fabs(got[k].transport_cost - ref[k].transport_cost) <= 1e-9 * fabs(ref[k].transport_cost),
              "solve %d: opencl %.17g, cpu %.17g", k, got[k].transport_cost, ref[k].transport_cost);
  }
  cr_assert(fabs(got[2].divergence - ref[2].divergence) <= 1e-9 * fmax(1e-3, fabs(ref[2].divergence)),
            "divergence: opencl %.17g, cpu %.17g", got[2].divergence, ref[2].divergence);
  /* Warm solves of device tensors upload nothing: not the inputs (the
   * weights and points as doubles were 504 bytes a solve), not the masks of
   * the problems that stop (the device decides). */
  cr_assert(w1.bytes_to_device == w0.bytes_to_device, "%llu bytes to the device",
            (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device));
  /* What they read: one 8-byte word a check (check_every 10) and, once a
   * solve, a summary (the inputs' status words, max |C|, the iteration
   * count, the two sides' measures: 152 bytes for one problem; 256 allowed),
   * not the per-problem check terms (96 bytes a check before, 3.9 MB here). */
  cr_assert_eq(again[2].iterations, got[2].iterations);
  int64_t checks[2] = {again[0].iterations / 10 + 1 + again[1].iterations / 10 + 1,
                       again[2].iterations / 10 + 1 + self[0].iterations / 10 + 1 + self[1].iterations / 10 + 1};
  unsigned long long read[2] = {wm.bytes_to_host - w0.bytes_to_host, w1.bytes_to_host - wm.bytes_to_host};
  for (int k = 0; k < 2; k++)
    cr_assert(read[k] <= 8ull * (unsigned long long)checks[k] + 256ull * (k ? 3 : 2),
              "%s: %llu bytes to the host for at most %lld checks", k ? "divergence (3 solves)" : "2 solves",
              read[k], (long long)checks[k]);
  cr_log_info("sinkhorn on opencl: %llu bytes read for <= %lld checks (2 solves), %llu for <= %lld (3 solves)",
              read[0], (long long)checks[0], read[1], (long long)checks[1]);

  /* f and g written by the device straight into device outputs (f32), with
   * ε-scaling from the box cost reduced on the device: the CPU's values. */
  o.divergence = 0;
  o.eps_scaling = 1;
  float fh[12], gh[9], fd[12], gd[9];
  sk_t tf, tg, tfd, tgd;
  int64_t fn[1] = {12}, gm[1] = {9};
  sk_wrap(&tf, fh, TC_F32, 1, fn);
  sk_wrap(&tg, gh, TC_F32, 1, gm);
  sk_wrap(&tfd, fd, TC_F32, 1, fn);
  sk_wrap(&tgd, gd, TC_F32, 1, gm);
  memset(fd, 0, sizeof fd);
  memset(gd, 0, sizeof gd);
  cl_mem fb = sk_to_dev(ctx, &tfd, sizeof fd), gb = sk_to_dev(ctx, &tgd, sizeof gd);
  ie_sinkhorn_result rc, rd;
  cr_assert_eq(ie_sinkhorn(cpu, &h.ta.t, &h.tb.t, NULL, &h.tx.t, &h.ty.t, &o, &rc, &tf.t, &tg.t, NULL), IE_OK);
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &rd, &tfd.t, &tgd.t, NULL), IE_OK,
               "%s", ie_errmsg(ctx));
  cl_command_queue q = NULL;
  cr_assert(ie_opencl_get_context(ctx, NULL, NULL, &q) == IE_OK);
  cr_assert(clEnqueueReadBuffer(q, fb, CL_TRUE, 0, sizeof fd, fd, 0, NULL, NULL) == CL_SUCCESS);
  cr_assert(clEnqueueReadBuffer(q, gb, CL_TRUE, 0, sizeof gd, gd, 0, NULL, NULL) == CL_SUCCESS);
  cr_assert_eq(rd.iterations, rc.iterations, "eps-scaling: opencl %lld iterations, cpu %lld",
               (long long)rd.iterations, (long long)rc.iterations);
  for (int i = 0; i < 12; i++)
    cr_assert(fabs(fd[i] - fh[i]) <= 1e-6 * fmax(1, fabs(fh[i])), "f[%d]: opencl %.9g, cpu %.9g", i, fd[i], fh[i]);
  for (int j = 0; j < 9; j++)
    cr_assert(fabs(gd[j] - gh[j]) <= 1e-6 * fmax(1, fabs(gh[j])), "g[%d]: opencl %.9g, cpu %.9g", j, gd[j], gh[j]);
  cr_assert(fabs(rd.transport_cost - rc.transport_cost) <= 1e-9 * rc.transport_cost);

  /* A bad weight, a zero total and a bad coordinate found on the device:
   * the CPU's status and message. */
  struct {
    float *hv, *dv;
    int at;
    float v;
    sk_t *dt;
    cl_mem buf;
  } bad[] = {{h.a, s.a, 4, -0.5f, &s.ta, bufs[0]}, {h.b, s.b, 7, NAN, &s.tb, bufs[1]},
             {h.y, s.y, 7, INFINITY, &s.ty, bufs[3]}};
  for (int k = 0; k < 3; k++) {
    const float keep = bad[k].hv[bad[k].at];
    bad[k].hv[bad[k].at] = bad[k].v;
    cr_assert(clEnqueueWriteBuffer(q, bad[k].buf, CL_TRUE, (size_t)bad[k].at * 4, 4, &bad[k].v, 0, NULL, NULL) ==
              CL_SUCCESS);
    ie_status sc = ie_sinkhorn(cpu, &h.ta.t, &h.tb.t, NULL, &h.tx.t, &h.ty.t, &o, &rc, NULL, NULL, NULL);
    char want[512];
    snprintf(want, sizeof want, "%s", ie_errmsg(cpu));
    ie_status sd = ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &rd, NULL, NULL, NULL);
    cr_assert(sc != IE_OK && sd == sc, "case %d: cpu %s, opencl %s", k, ie_status_name(sc), ie_status_name(sd));
    cr_assert_str_eq(ie_errmsg(ctx), want);
    cr_assert_str_eq(ie_error_tensor(ctx), ie_error_tensor(cpu));
    cr_assert_eq(ie_error_row(ctx), ie_error_row(cpu));
    cr_assert_eq(ie_error_column(ctx), ie_error_column(cpu));
    bad[k].hv[bad[k].at] = keep;
    cr_assert(clEnqueueWriteBuffer(q, bad[k].buf, CL_TRUE, (size_t)bad[k].at * 4, 4, &keep, 0, NULL, NULL) ==
              CL_SUCCESS);
  }
  /* zero total mass of b */
  float zeros[9] = {0};
  cr_assert(clEnqueueWriteBuffer(q, bufs[1], CL_TRUE, 0, sizeof zeros, zeros, 0, NULL, NULL) == CL_SUCCESS);
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &rd, NULL, NULL, NULL), IE_EMPTY_ROW);
  cr_assert(strstr(ie_errmsg(ctx), "tensor 'b' problem 0 has zero total mass") != NULL, "%s", ie_errmsg(ctx));
  cr_assert(clEnqueueWriteBuffer(q, bufs[1], CL_TRUE, 0, sizeof s.b, s.b, 0, NULL, NULL) == CL_SUCCESS);
  cr_assert_eq(ie_sinkhorn(ctx, &s.ta.t, &s.tb.t, NULL, &s.tx.t, &s.ty.t, &o, &rd, NULL, NULL, NULL), IE_OK);
  clReleaseMemObject(fb);
  clReleaseMemObject(gb);
  for (int i = 0; i < 5; i++) clReleaseMemObject(bufs[i]);
  ie_context_destroy(ctx);
  ie_context_destroy(cpu);
}
#endif
