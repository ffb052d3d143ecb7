/*
 * test_spectral.c — Vendi scores and matrix-based entropies (docs/SPEC.md §6) on
 * every backend compiled in, against float64 NumPy vectors made by
 * tests/gen_spectral.py (tests/vectors/spectral_manifest.txt).  A backend with
 * no device here is skipped with a message, never passed.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infoest.h"
#if IE_TEST_HAVE_OPENCL
#include "infoest_opencl.h"
#endif

#ifndef IE_TEST_VECTORS
#  error "IE_TEST_VECTORS (the tests/vectors directory) must be defined"
#endif

#define REL_TOL 1e-6 /* the bar against float64 NumPy */

static const DLDataType F32 = {kDLFloat, 32, 1}, F64 = {kDLFloat, 64, 1};

/* ---- helpers ------------------------------------------------------------------ */

/* A context on b, or a skip that says why. */
static ie_context *open_ctx(ie_backend b) {
  if (!ie_backend_compiled(b))
    cr_skip_test("SKIPPED: backend %s is not compiled into this build", ie_backend_name(b));
  ie_context *ctx = NULL;
  ie_context_options o = {.size = sizeof o, .backend = b, .device = 0};
  ie_status s = ie_context_create(&ctx, &o);
  if (s == IE_BACKEND_UNAVAILABLE) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ie_errmsg(ctx));
    ie_context_destroy(ctx);
    cr_skip_test("SKIPPED: backend %s is compiled in but has no device here: %s",
                 ie_backend_name(b), msg);
  }
  cr_assert(s == IE_OK, "ie_context_create(%s): %s", ie_backend_name(b), ie_errmsg(ctx));
  return ctx;
}

typedef struct {
  DLTensor t;
  int64_t shape[3];
  void *data;
} tensor;

static void make_tensor(tensor *x, void *data, DLDataType dt, int ndim, const int64_t *shape) {
  memset(x, 0, sizeof *x);
  x->data = data;
  x->t.data = data;
  x->t.device.device_type = kDLCPU;
  x->t.dtype = dt;
  x->t.ndim = ndim;
  for (int k = 0; k < ndim; k++) x->shape[k] = shape[k];
  x->t.shape = x->shape;
}

/* A float32/float64 C-order .npy from the vectors directory. */
static void load_npy(const char *file, tensor *x) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", IE_TEST_VECTORS, file);
  FILE *f = fopen(path, "rb");
  cr_assert(f, "cannot open %s (run tests/gen_spectral.py)", path);
  unsigned char pre[10];
  cr_assert(fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0, "%s: not .npy", path);
  size_t hlen = pre[6] == 1 ? (size_t)(pre[8] | pre[9] << 8) : 0;
  if (pre[6] != 1) {
    unsigned char more[2];
    cr_assert(fread(more, 1, 2, f) == 2);
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)more[0] << 16 | (size_t)more[1] << 24;
  }
  char *h = calloc(1, hlen + 1);
  cr_assert(fread(h, 1, hlen, f) == hlen);
  DLDataType dt = strstr(h, "'<f8'") ? F64 : F32;
  cr_assert(strstr(h, "'<f8'") || strstr(h, "'<f4'"), "%s: dtype in %s", path, h);
  cr_assert(strstr(h, "'fortran_order': False"), "%s: not C order", path);
  int64_t shape[3] = {0, 0, 0};
  int nd = 0;
  char *p = strchr(strstr(h, "'shape'"), '(') + 1;
  while (*p && *p != ')') {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) { p++; continue; }
    shape[nd++] = v;
    p = end;
  }
  free(h);
  size_t n = 1;
  for (int k = 0; k < nd; k++) n *= (size_t)shape[k];
  size_t esz = dt.bits / 8;
  void *data = malloc(n * esz + 1);
  cr_assert(fread(data, esz, n, f) == n, "%s: short read", path);
  fclose(f);
  make_tensor(x, data, dt, nd, shape);
}

static ie_kernel parse_kernel(const char *s) {
  if (!strcmp(s, "rbf")) return IE_KERNEL_RBF;
  if (!strcmp(s, "precomputed")) return IE_KERNEL_PRECOMPUTED;
  return IE_KERNEL_COSINE;
}

static ie_spectral_path parse_path(const char *s) {
  if (!strcmp(s, "primal")) return IE_SPECTRAL_PRIMAL;
  if (!strcmp(s, "dual")) return IE_SPECTRAL_DUAL;
  return IE_SPECTRAL_AUTO;
}

static double rel_err(double got, double exp) {
  if (got == exp) return 0;
  double den = fabs(exp) > 1e-3 ? fabs(exp) : 1e-3; /* MI near 0: absolute 1e-9 */
  return fabs(got - exp) / den;
}

/* ---- the vectors -------------------------------------------------------------------- */

/* Device residency (OpenCL): put x's elements into a buffer of the
 * context's device and make x a device tensor of it. */
static void to_device(ie_context *ctx, tensor *x) {
#if IE_TEST_HAVE_OPENCL
  cl_context c = NULL;
  cl_command_queue q = NULL;
  cr_assert(ie_opencl_get_context(ctx, &c, NULL, &q) == IE_OK, "%s", ie_errmsg(ctx));
  size_t bytes = x->t.dtype.bits / 8;
  for (int k = 0; k < x->t.ndim; k++) bytes *= (size_t)x->shape[k];
  cl_int e = CL_SUCCESS;
  cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
  cr_assert(e == CL_SUCCESS, "clCreateBuffer: %d", (int)e);
  if (bytes) cr_assert(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, bytes, x->data, 0, NULL, NULL) == CL_SUCCESS);
  x->t.data = m;
  x->t.device.device_type = kDLOpenCL;
  x->t.device.device_id = 0;
#else
  (void)ctx, (void)x;
  cr_assert_fail("device tensors need OpenCL here");
#endif
}

static void device_free(tensor *x) {
#if IE_TEST_HAVE_OPENCL
  if (x->t.device.device_type == kDLOpenCL) clReleaseMemObject((cl_mem)x->t.data);
#endif
  (void)x;
}

/* Order of the eigenproblem of one input (the rule of infoest.h). */
static int64_t order_of(ie_kernel k, ie_spectral_path p, int64_t n, int64_t d) {
  if (p == IE_SPECTRAL_AUTO) p = k == IE_KERNEL_COSINE && d < n ? IE_SPECTRAL_DUAL : IE_SPECTRAL_PRIMAL;
  return p == IE_SPECTRAL_DUAL ? d : n;
}

/* Every case of the manifest.  With `device` (OpenCL), x and y live in
 * device memory, and each case runs twice: the second (warm) call must
 * allocate nothing, upload nothing, and read back only the S·m² matrices
 * of its host eigen step (OpenCL's documented exception, float64) and 24
 * bytes of row flags a similarity matrix. */
static void run_vectors_on(ie_backend b, int device) {
  ie_context *ctx = open_ctx(b);
  char path[1024], line[1024];
  snprintf(path, sizeof path, "%s/spectral_manifest.txt", IE_TEST_VECTORS);
  FILE *mf = fopen(path, "r");
  cr_assert(mf, "cannot open %s (run tests/gen_spectral.py)", path);
  int checks = 0, skipped = 0;
  double worst = 0;
  char worst_line[1024] = "";
  while (fgets(line, sizeof line, mf)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    char meas[32], fx[128], fy[128], kx[32], sx[32], ky[32], sy[32], ord[32], pth[16], expect[128];
    cr_assert(sscanf(line, "%31s %127s %127s %31s %31s %31s %31s %31s %15s %127s", meas, fx, fy, kx,
                     sx, ky, sy, ord, pth, expect) == 10,
              "bad manifest line: %s", line);
    line[strcspn(line, "\n")] = 0;
    const double order = strtod(ord, NULL);
    tensor x, y;
    load_npy(fx, &x);
    if (x.t.dtype.bits == 64 && b != IE_BACKEND_CPU) { /* float64 input: the CPU's alone */
      free(x.data);
      skipped++;
      continue;
    }
    const int pair = !strcmp(meas, "joint") || !strcmp(meas, "mi");
    if (device) to_device(ctx, &x);
    if (pair) {
      load_npy(fy, &y);
      if (device) to_device(ctx, &y);
    }
    ie_spectral_result r;
    ie_status s;
    double got = 0, exp = 0, err = 0;
    ie_workspace_info w0 = {.size = sizeof w0}, w1 = {.size = sizeof w1};
    uint64_t eig_bytes = 0; /* what the warm call's host eigen step reads back */
    const int batch3 = x.t.ndim == 3;
    const int64_t S = batch3 ? x.shape[0] : 1, n = x.shape[batch3], d = x.shape[batch3 + 1];
    const int grams = !strcmp(meas, "mi") ? 4 : pair ? 2 : 1;
    for (int rep = 0; rep < 1 + device; rep++) {
    if (rep) cr_assert(ie_workspace_query(ctx, &w0) == IE_OK);
    if (!strcmp(meas, "vendi") || !strcmp(meas, "vendi_batch")) {
      ie_vendi_options o = {0};
      o.size = sizeof o;
      o.kernel = parse_kernel(kx);
      o.sigma = strcmp(sx, "-") ? strtod(sx, NULL) : 0;
      o.q = order;
      o.has_q = 1;
      o.path = parse_path(pth);
      {
        const int64_t m = order_of(o.kernel, o.path, n, d);
        eig_bytes = (uint64_t)(S * m * m) * 8;
      }
      if (!strcmp(meas, "vendi")) {
        s = ie_vendi(ctx, &x.t, &o, &r);
        cr_assert(s == IE_OK, "[%s] %s: %s", ie_backend_name(b), line, ie_errmsg(ctx));
        got = r.value;
        exp = strtod(expect, NULL);
        err = rel_err(got, exp);
        /* The path that ran: the asked one, or DUAL for cosine with d < n. */
        ie_spectral_path want = o.path != IE_SPECTRAL_AUTO ? o.path
                                : (o.kernel == IE_KERNEL_COSINE && x.shape[1] < x.shape[0])
                                    ? IE_SPECTRAL_DUAL : IE_SPECTRAL_PRIMAL;
        cr_expect(r.path == want, "[%s] %s: path %d, expected %d", ie_backend_name(b), line, r.path, want);
        cr_expect(r.n == x.shape[0]);
        /* Clamps are rounding: of the float64 Gram, or of a given float32 K. */
        const double cmax = o.kernel == IE_KERNEL_PRECOMPUTED && x.t.dtype.bits == 32 ? 1e-6 : 1e-10;
        cr_expect(r.max_clamp >= 0 && r.max_clamp < cmax, "[%s] %s: clamp %g", ie_backend_name(b), line,
                  r.max_clamp);
      } else {
        tensor e;
        load_npy(expect, &e);
        double *sc = malloc((size_t)S * sizeof *sc);
        tensor out;
        make_tensor(&out, sc, F64, 1, &S);
        s = ie_vendi_batch(ctx, &x.t, &out.t, &o, &r);
        cr_assert(s == IE_OK, "[%s] %s: %s", ie_backend_name(b), line, ie_errmsg(ctx));
        double mean = 0;
        for (int64_t i = 0; i < S; i++) {
          double ei = ((double *)e.data)[i], ri = rel_err(sc[i], ei);
          if (ri > err) err = ri, got = sc[i], exp = ei;
          mean += sc[i];
        }
        cr_expect(fabs(r.value - mean / (double)S) <= 1e-12 * fabs(r.value));
        free(sc);
        free(e.data);
      }
    } else {
      ie_matrix_entropy_options o = {0};
      o.size = sizeof o;
      o.kernel = parse_kernel(kx);
      o.sigma = strcmp(sx, "-") ? strtod(sx, NULL) : 0;
      o.alpha = order;
      o.has_alpha = 1;
      if (!strcmp(meas, "entropy")) {
        const int64_t m = order_of(o.kernel, IE_SPECTRAL_AUTO, n, d);
        eig_bytes = (uint64_t)(m * m) * 8;
        s = ie_matrix_entropy(ctx, &x.t, &o, &r);
      } else {
        o.separate_y = 1;
        o.kernel_y = parse_kernel(ky);
        o.sigma_y = strcmp(sy, "-") ? strtod(sy, NULL) : 0;
        eig_bytes = (uint64_t)(n * n) * 8;
        if (!strcmp(meas, "mi")) {
          const int64_t mx = order_of(o.kernel, IE_SPECTRAL_AUTO, n, d),
                        my = order_of(o.kernel_y, IE_SPECTRAL_AUTO, n, y.shape[1]);
          eig_bytes += (uint64_t)(mx * mx + my * my) * 8;
        }
        s = !strcmp(meas, "joint") ? ie_matrix_joint_entropy(ctx, &x.t, &y.t, &o, &r)
                                   : ie_matrix_mutual_information(ctx, &x.t, &y.t, &o, &r);
      }
      cr_assert(s == IE_OK, "[%s] %s: %s", ie_backend_name(b), line, ie_errmsg(ctx));
      got = r.value;
      exp = strtod(expect, NULL);
      err = rel_err(got, exp);
    }
    if (rep) { /* the warm call */
      cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
      cr_expect(w1.device_allocations == w0.device_allocations && w1.host_allocations == w0.host_allocations,
                "[%s, device] %s: a warm call allocated %llu device and %llu host buffers", ie_backend_name(b),
                line, (unsigned long long)(w1.device_allocations - w0.device_allocations),
                (unsigned long long)(w1.host_allocations - w0.host_allocations));
      cr_expect(w1.bytes_to_device == w0.bytes_to_device, "[%s, device] %s: a warm call uploaded %llu bytes",
                ie_backend_name(b), line, (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device));
      const uint64_t down = w1.bytes_to_host - w0.bytes_to_host, flags = 24 * (uint64_t)grams;
      cr_expect(down == eig_bytes + flags,
                "[%s, device] %s: a warm call read back %llu bytes; expected the eigen step's %llu and %llu of flags",
                ie_backend_name(b), line, (unsigned long long)down, (unsigned long long)eig_bytes,
                (unsigned long long)flags);
    }
    }
    if (device) device_free(&x);
    free(x.data);
    if (pair) {
      if (device) device_free(&y);
      free(y.data);
    }
    cr_expect(err <= REL_TOL, "[%s] %s: got %.15g, expected %.15g (rel %.2e)", ie_backend_name(b), line,
              got, exp, err);
    if (err > worst) {
      worst = err;
      snprintf(worst_line, sizeof worst_line, "%s", line);
    }
    checks++;
  }
  fclose(mf);
  cr_assert(checks > 200, "only %d checks in the manifest", checks);
  cr_log_info("spectral vectors on %s%s (%s): %d checks (%d float64 ones left to the cpu), max relative "
              "error %.3e (%s)", ie_backend_name(b), device ? ", device tensors" : "", ie_context_device_name(ctx), checks, skipped, worst,
              worst_line);
  ie_context_destroy(ctx);
}

static void run_vectors(ie_backend b) { run_vectors_on(b, 0); }

Test(spectral_cpu, vectors) { run_vectors(IE_BACKEND_CPU); }
#if IE_TEST_HAVE_OPENCL
Test(spectral_opencl, vectors_device_resident) { run_vectors_on(IE_BACKEND_OPENCL, 1); }
#endif
Test(spectral_opencl, vectors) { run_vectors(IE_BACKEND_OPENCL); }
Test(spectral_cuda, vectors) { run_vectors(IE_BACKEND_CUDA); }

/* ---- identities: n identical samples give 1, n orthonormal give n, any q -------------- */

static void run_identities(ie_backend b) {
  ie_context *ctx = open_ctx(b);
  const double qs[] = {0, 0.25, 0.5, 0.999, 1, 1.001, 2, 3, 7.5, 60, INFINITY};
  const ie_spectral_path paths[] = {IE_SPECTRAL_AUTO, IE_SPECTRAL_PRIMAL, IE_SPECTRAL_DUAL};
  enum { N = 9, D = 13 };
  float same[N * D], orth[N * D];
  for (int i = 0; i < N; i++)
    for (int k = 0; k < D; k++) {
      same[i * D + k] = (float)(0.5 + k * 0.25 - (k % 3));
      orth[i * D + k] = (float)(k == (i * 5) % D ? -2.0 : 0.0); /* distinct axes, any length */
    }
  const int64_t shp[2] = {N, D};
  tensor ts, to;
  make_tensor(&ts, same, F32, 2, shp);
  make_tensor(&to, orth, F32, 2, shp);
  for (size_t p = 0; p < 3; p++)
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
      ie_vendi_options o = {sizeof o, IE_KERNEL_COSINE, 0, qs[i], 1, paths[p], 0};
      ie_spectral_result r;
      cr_assert(ie_vendi(ctx, &ts.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
      cr_expect(fabs(r.value - 1) <= 1e-9, "[%s] identical, q %g, path %d: %.15g", ie_backend_name(b), qs[i],
                r.path, r.value);
      cr_expect(r.positive == 1);
      cr_assert(ie_vendi(ctx, &to.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
      cr_expect(fabs(r.value - N) <= 1e-9 * N, "[%s] orthonormal, q %g, path %d: %.15g", ie_backend_name(b),
                qs[i], r.path, r.value);
      cr_expect(r.positive == N);
      if (paths[p] == IE_SPECTRAL_PRIMAL) continue;
      o.kernel = IE_KERNEL_RBF; /* identical samples under rbf: all-ones K */
      o.sigma = 0.3;
      o.path = IE_SPECTRAL_AUTO;
      cr_assert(ie_vendi(ctx, &ts.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
      cr_expect(fabs(r.value - 1) <= 1e-9, "[%s] identical rbf, q %g: %.15g", ie_backend_name(b), qs[i], r.value);
      cr_expect(r.max_clamp < 1e-12);
    }
  ie_context_destroy(ctx);
}

Test(spectral_cpu, identities) { run_identities(IE_BACKEND_CPU); }
Test(spectral_opencl, identities) { run_identities(IE_BACKEND_OPENCL); }
Test(spectral_cuda, identities) { run_identities(IE_BACKEND_CUDA); }

/* ---- a large batch of small sets agrees with one call a set ---------------------------- */

static void run_big_batch(ie_backend b, int single) {
  ie_context *ctx = open_ctx(b);
  enum { S = 10000, N = 16, D = 8 };
  float *x = malloc(sizeof(float) * S * N * D);
  unsigned u = 12345;
  for (size_t i = 0; i < (size_t)S * N * D; i++) {
    u = u * 1103515245u + 12345u;
    x[i] = (float)((u >> 8) & 0xffff) / 65536.0f - 0.5f + (float)((i / D) % 3) * 0.1f;
  }
  const int64_t shp[3] = {S, N, D}, s1 = S;
  tensor tx, tout;
  make_tensor(&tx, x, F32, 3, shp);
  double *sc = malloc(sizeof(double) * S);
  make_tensor(&tout, sc, F64, 1, &s1);
  for (int kern = 0; kern < 2; kern++) {
    ie_vendi_options o = {0};
    o.size = sizeof o;
    o.kernel = kern ? IE_KERNEL_RBF : IE_KERNEL_COSINE;
    o.sigma = 0.4;
    o.single_precision = single;
    ie_spectral_result r;
    cr_assert(ie_vendi_batch(ctx, &tx.t, &tout.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
    cr_expect(r.path == (kern ? IE_SPECTRAL_PRIMAL : IE_SPECTRAL_DUAL));
    o.single_precision = 0;
    for (int64_t s = 0; s < S; s += 997) { /* spot checks against the one-set call on the CPU */
      ie_context *cpu = open_ctx(IE_BACKEND_CPU);
      tensor one;
      const int64_t shp2[2] = {N, D};
      make_tensor(&one, x + (size_t)s * N * D, F32, 2, shp2);
      ie_spectral_result r1;
      cr_assert(ie_vendi(cpu, &one.t, &o, &r1) == IE_OK, "%s", ie_errmsg(cpu));
      double tol = single ? 1e-4 : REL_TOL;
      cr_expect(fabs(sc[s] - r1.value) <= tol * r1.value, "[%s] set %lld, kernel %d: batch %.15g, one %.15g",
                ie_backend_name(b), (long long)s, kern, sc[s], r1.value);
      ie_context_destroy(cpu);
    }
  }
  free(x);
  free(sc);
  ie_context_destroy(ctx);
}

Test(spectral_cpu, batch_10000_sets) { run_big_batch(IE_BACKEND_CPU, 0); }
Test(spectral_opencl, batch_10000_sets) { run_big_batch(IE_BACKEND_OPENCL, 0); }
Test(spectral_cuda, batch_10000_sets) { run_big_batch(IE_BACKEND_CUDA, 0); }
Test(spectral_cpu, batch_single_precision) { run_big_batch(IE_BACKEND_CPU, 1); }
Test(spectral_opencl, batch_single_precision) { run_big_batch(IE_BACKEND_OPENCL, 1); }
Test(spectral_cuda, batch_single_precision) { run_big_batch(IE_BACKEND_CUDA, 1); }

/* ---- errors are statuses with messages ------------------------------------------------- */

static void expect_error(ie_context *ctx, ie_status got, ie_status want, const char *needle) {
  cr_expect(got == want, "[%s] got %s, expected %s: %s", ie_backend_name(ie_context_backend(ctx)),
            ie_status_name(got), ie_status_name(want), ie_errmsg(ctx));
  cr_expect(strstr(ie_errmsg(ctx), needle) != NULL, "message '%s' lacks '%s'", ie_errmsg(ctx), needle);
}

static void run_errors(ie_backend b) {
  ie_context *ctx = open_ctx(b);
  ie_spectral_result r;
  ie_vendi_options o = {0};
  const int64_t s33[2] = {3, 3}, s32[2] = {3, 2};
  tensor t;
  /* Given K: not symmetric, not unit diagonal, not PSD. */
  float asym[9] = {1, 0.5f, 0, 0.2f, 1, 0, 0, 0, 1};
  float diag[9] = {1, 0, 0, 0, 2, 0, 0, 0, 1};
  float npsd[9] = {1, 0.9f, -0.9f, 0.9f, 1, 0.9f, -0.9f, 0.9f, 1};
  o.kernel = IE_KERNEL_PRECOMPUTED;
  make_tensor(&t, asym, F32, 2, s33);
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "not symmetric");
  cr_expect(strstr(ie_errmsg(ctx), "ie_vendi") && strstr(ie_errmsg(ctx), "'x'"));
  make_tensor(&t, diag, F32, 2, s33);
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "unit diagonal");
  make_tensor(&t, npsd, F32, 2, s33);
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "positive semi-definite");
  make_tensor(&t, npsd, F32, 2, s32);
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_BAD_SHAPE, "square");
  /* Samples: NaN, a zero row under cosine, rbf without sigma, bad orders. */
  float xs[6] = {1, 2, NAN, 1, 3, 4};
  make_tensor(&t, xs, F32, 2, s32);
  o.kernel = IE_KERNEL_COSINE;
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_NONFINITE, "row 1");
  float zr[6] = {1, 2, 0, 0, 3, 4};
  make_tensor(&t, zr, F32, 2, s32);
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "row 1 is all zeros");
  float ok[6] = {1, 2, 0.5f, 0, 3, 4};
  make_tensor(&t, ok, F32, 2, s32);
  o.kernel = IE_KERNEL_RBF;
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "sigma");
  o.sigma = 1;
  o.path = IE_SPECTRAL_DUAL;
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "dual");
  o.path = IE_SPECTRAL_AUTO;
  o.has_q = 1;
  o.q = -1;
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "order q");
  o.q = NAN;
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, &r), IE_INVALID_ARGUMENT, "order q");
  o.q = 2;
  cr_expect(ie_vendi(ctx, &t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  expect_error(ctx, ie_vendi(ctx, &t.t, &o, NULL), IE_INVALID_ARGUMENT, "'result' is NULL");
  /* Batch: a set with a NaN is named; unpaired x and y. */
  float xb[12] = {1, 2, 0.5f, 0, 3, 4, 1, 1, 2, INFINITY, 0, 1};
  const int64_t s232[3] = {2, 3, 2}, two = 2;
  double sc[2] = {-7, -7};
  tensor tb, to;
  make_tensor(&tb, xb, F32, 3, s232);
  make_tensor(&to, sc, F64, 1, &two);
  o.kernel = IE_KERNEL_COSINE;
  expect_error(ctx, ie_vendi_batch(ctx, &tb.t, &to.t, &o, &r), IE_NONFINITE, "set 1, row 1");
  cr_expect(sc[0] == -7 && sc[1] == -7, "a failed call wrote scores");
  ie_matrix_entropy_options mo = {0};
  tensor ty;
  make_tensor(&ty, xb, F32, 2, (const int64_t[2]){4, 3});
  make_tensor(&t, ok, F32, 2, s32);
  expect_error(ctx, ie_matrix_mutual_information(ctx, &t.t, &ty.t, &mo, &r), IE_BAD_SHAPE, "paired");
  ie_context_destroy(ctx);
}

Test(spectral_cpu, errors) { run_errors(IE_BACKEND_CPU); }
Test(spectral_opencl, errors) { run_errors(IE_BACKEND_OPENCL); }
Test(spectral_cuda, errors) { run_errors(IE_BACKEND_CUDA); }
