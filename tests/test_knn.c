/*
 * test_knn.c — k-nearest-neighbour search and estimators (docs/SPEC.md §5) on every
 * backend compiled in.  A backend with no device here is skipped with a
 * message (tc_context), never passed.
 *
 *  - vectors: tests/vectors/knn_manifest.txt from tests/gen_knn.py (float64
 *    NumPy/SciPy brute force on the same float32 points): search indices
 *    equal, distances within 1e-12 relative; every estimate within 1e-6
 *    relative (absolute 1e-9 near 0).
 *  - gaussian: closed forms at N = 20 000, d ∈ {1, 4, 16}, tolerances below.
 *  - errors: zero distances with counts, jitter, bad k / α, NaN rows.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#if IE_TEST_HAVE_OPENCL
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include "infoest_opencl.h"
#endif

#define REL_TOL 1e-6   /* the bar against float64 NumPy/SciPy */
#define DIST_TOL 1e-12 /* distances: both sides compute them in double */

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct {
  tc_tensor t;
  void *data;
  int64_t rows, cols;
} mat;

static void load_mat(const char *file, DLDataType dt, mat *m) {
  char err[512];
  int64_t shape[8];
  int nd = 0;
  cr_assert(tc_load(file, &m->data, shape, &nd, err, sizeof err) == 0,
            "%s (run tests/gen_knn.py): %s", file, err);
  cr_assert(nd == 2, "%s: expected 2-D, got %d-D", file, nd);
  m->rows = shape[0];
  m->cols = shape[1];
  tc_tensor_2d(&m->t, m->data, dt, m->rows, m->cols, 0);
}

static void wrap(mat *m, void *data, DLDataType dt, int64_t rows, int64_t cols) {
  m->data = data;
  m->rows = rows;
  m->cols = cols;
  tc_tensor_2d(&m->t, data, dt, rows, cols, 0);
}

/* ---- device tensors (OpenCL) -------------------------------------------------------- */

/* With g_dev set (an OpenCL context), dev_mat moves a loaded matrix into
 * a device buffer the test owns, at a byte offset of 64 and with a row
 * stride of cols + 3 elements, so that the library reads the caller's
 * device memory in place (no staging); dev_out gives a device output of the
 * same layout and dev_back reads it back.  Without OpenCL they are no-ops. */
static ie_context *g_dev;
#define DEV_OFF 64
#define DEV_PAD 3

#if IE_TEST_HAVE_OPENCL
static void *dev_buf(size_t bytes) {
  cl_context c = NULL;
  cr_assert(ie_opencl_get_context(g_dev, &c, NULL, NULL) == IE_OK);
  cl_int e = CL_SUCCESS;
  cl_mem b = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
  cr_assert(e == CL_SUCCESS, "clCreateBuffer: %d", (int)e);
  return b;
}
static void dev_rw(void *buf, int write, size_t off, void *host, size_t bytes) {
  cl_command_queue q = NULL;
  cr_assert(ie_opencl_get_context(g_dev, NULL, NULL, &q) == IE_OK);
  cl_int e = write ? clEnqueueWriteBuffer(q, (cl_mem)buf, CL_TRUE, off, bytes, host, 0, NULL, NULL)
                   : clEnqueueReadBuffer(q, (cl_mem)buf, CL_TRUE, off, bytes, host, 0, NULL, NULL);
  cr_assert(e == CL_SUCCESS, "clEnqueue%sBuffer: %d", write ? "Write" : "Read", (int)e);
}
static void dev_release(void *buf) { clReleaseMemObject((cl_mem)buf); }
#else
static void *dev_buf(size_t bytes) { (void)bytes; cr_assert_fail("no OpenCL"); return NULL; }
static void dev_rw(void *buf, int write, size_t off, void *host, size_t bytes) {
  (void)buf, (void)write, (void)off, (void)host, (void)bytes;
}
static void dev_release(void *buf) { (void)buf; }
#endif

typedef struct {
  void *buf;
  size_t esz;
  int64_t rows, cols;
} devm;

/* The device copy of m (host data kept in m->data); m->t now describes it. */
static void dev_layout(mat *m, devm *d, size_t esz) {
  d->esz = esz;
  d->rows = m->rows;
  d->cols = m->cols;
  d->buf = dev_buf(DEV_OFF + ((size_t)(m->rows ? m->rows : 1) * (size_t)(m->cols + DEV_PAD)) * esz);
  m->t.t.data = d->buf;
  m->t.t.device.device_type = kDLOpenCL;
  m->t.t.device.device_id = 0;
  m->t.t.byte_offset = DEV_OFF;
  m->t.strides[0] = m->cols + DEV_PAD;
  m->t.strides[1] = 1;
  m->t.t.strides = m->t.strides;
}

static void dev_mat(mat *m, devm *d) {
  if (!g_dev) return;
  const size_t esz = (size_t)(m->t.t.dtype.bits / 8);
  dev_layout(m, d, esz);
  for (int64_t r = 0; r < m->rows; r++)
    dev_rw(d->buf, 1, DEV_OFF + (size_t)r * (size_t)(m->cols + DEV_PAD) * esz,
           (char *)m->data + (size_t)r * (size_t)m->cols * esz, (size_t)m->cols * esz);
}

static void dev_back(mat *m, devm *d) {
  if (!g_dev) return;
  for (int64_t r = 0; r < m->rows; r++)
    dev_rw(d->buf, 0, DEV_OFF + (size_t)r * (size_t)(m->cols + DEV_PAD) * d->esz,
           (char *)m->data + (size_t)r * (size_t)m->cols * d->esz, (size_t)m->cols * d->esz);
}

static void dev_free(devm *d) {
  if (d->buf) dev_release(d->buf);
  d->buf = NULL;
}

static double rel_err(double got, double exp) {
  if (got == exp) return 0; /* also equal infinities */
  if (isinf(exp) || isnan(got)) return INFINITY;
  return fabs(got - exp) / (fabs(exp) > 1e-3 ? fabs(exp) : 1e-3);
}

static ie_divergence_kind kind_of(const char *s) {
  int k = ie_divergence_parse(s);
  cr_assert(k >= 0, "unknown divergence kind '%s'", s);
  return (ie_divergence_kind)k;
}

/* ---- the vectors ---------------------------------------------------------------------- */

static void run_vectors(ie_backend b, int device) {
  ie_context *ctx = tc_context(b);
  g_dev = device ? ctx : NULL;
  char path[1024];
  snprintf(path, sizeof path, "%s/knn_manifest.txt", IE_TEST_VECTORS);
  FILE *f = fopen(path, "r");
  cr_assert(f, "cannot open %s (run tests/gen_knn.py)", path);
  char line[1024];
  int checks = 0;
  double worst = 0;
  char worst_name[96] = "-";
  while (fgets(line, sizeof line, f)) {
    char op[16], name[96], a1[128], a2[128], a3[64], a4[64], a5[64], a6[128], a7[128];
    int nf = sscanf(line, "%15s %95s %127s %127s %63s %63s %63s %127s %127s", op, name, a1, a2, a3,
                    a4, a5, a6, a7);
    if (nf < 2) continue;
    ie_knn_estimator_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    ie_knn_result res;
    memset(&res, 0, sizeof res);
    double expect = NAN;
    ie_status s = IE_OK;
    mat X, Y;
    memset(&X, 0, sizeof X);
    memset(&Y, 0, sizeof Y);
    if (!strcmp(op, "search")) {
      /* search NAME Q R k metric self IDX DIST */
      mat Q, R, I, D;
      load_mat(a1, TC_F32, &Q);
      load_mat(a2, TC_F32, &R);
      load_mat(a6, TC_I64, &I);
      load_mat(a7, TC_F64, &D);
      const int64_t k = atoll(a3), m = Q.rows;
      ie_knn_options ko = {sizeof ko, !strcmp(a4, "chebyshev") ? IE_METRIC_CHEBYSHEV : IE_METRIC_EUCLIDEAN,
                           atoi(a5)};
      int64_t *gi = calloc((size_t)(m * k), sizeof *gi);
      double *gd = calloc((size_t)(m * k), sizeof *gd);
      int32_t *gi32 = calloc((size_t)(m * k), sizeof *gi32);
      float *gd32 = calloc((size_t)(m * k), sizeof *gd32);
      mat GI, GD, GI32, GD32;
      wrap(&GI, gi, TC_I64, m, k);
      wrap(&GD, gd, TC_F64, m, k);
      wrap(&GI32, gi32, TC_I32, m, k);
      wrap(&GD32, gd32, TC_F32, m, k);
      const int f64_ok = b == IE_BACKEND_CPU || device;
      devm dq = {0}, dr = {0}, dgi = {0}, dgd = {0}, dgi32 = {0};
      dev_mat(&Q, &dq);
      dev_mat(&R, &dr);
      if (device) {
        dev_layout(&GI, &dgi, 8);
        dev_layout(&GD, &dgd, 8);
        dev_layout(&GI32, &dgi32, 4);
      }
      s = ie_knn(ctx, &Q.t.t, &R.t.t, k, &GI.t.t, f64_ok ? &GD.t.t : &GD32.t.t, &ko);
      cr_assert(s == IE_OK, "%s on %s: %s", name, ie_backend_name(b), ie_errmsg(ctx));
      /* int32 indices (and distances alone) must agree too. */
      s = ie_knn(ctx, &Q.t.t, &R.t.t, k, &GI32.t.t, NULL, &ko);
      cr_assert(s == IE_OK, "%s (int32) on %s: %s", name, ie_backend_name(b), ie_errmsg(ctx));
      if (device) {
        dev_back(&GI, &dgi);
        dev_back(&GD, &dgd);
        dev_back(&GI32, &dgi32);
      }
      dev_free(&dq);
      dev_free(&dr);
      dev_free(&dgi);
      dev_free(&dgd);
      dev_free(&dgi32);
      const int64_t *ei = I.data;
      const double *ed = D.data;
      for (int64_t i = 0; i < m * k; i++) {
        cr_assert(gi[i] == ei[i] && gi32[i] == ei[i],
                  "%s on %s: query %lld, neighbour %lld: index %lld (int32 %d), expected %lld "
                  "(distance %.17g, expected %.17g)",
                  name, ie_backend_name(b), (long long)(i / k), (long long)(i % k), (long long)gi[i],
                  gi32[i], (long long)ei[i], f64_ok ? gd[i] : gd32[i], ed[i]);
        if (f64_ok) {
          cr_assert(fabs(gd[i] - ed[i]) <= DIST_TOL * ed[i], "%s on %s: distance %lld is %.17g, expected %.17g",
                    name, ie_backend_name(b), (long long)i, gd[i], ed[i]);
        } else {
          cr_assert(gd32[i] == (float)ed[i], "%s on %s: distance %lld is %.9g, expected %.9g (float32)", name,
                    ie_backend_name(b), (long long)i, gd32[i], (float)ed[i]);
        }
      }
      free(gi);
      free(gd);
      free(gi32);
      free(gd32);
      free(Q.data);
      if (R.data != Q.data) free(R.data);
      free(I.data);
      free(D.data);
      checks++;
      continue;
    }
    if (!strcmp(op, "entropy")) {
      /* entropy NAME X k alpha|- EXPECTED */
      load_mat(a1, TC_F32, &X);
      o.k = atoll(a2);
      if (strcmp(a3, "-")) o.has_alpha = 1, o.alpha = atof(a3);
      expect = atof(a4);
      devm dx = {0};
      dev_mat(&X, &dx);
      s = ie_knn_entropy(ctx, &X.t.t, &o, &res);
      dev_free(&dx);
    } else if (!strcmp(op, "kl") || !strcmp(op, "renyi") || !strcmp(op, "nnr") || !strcmp(op, "mi")) {
      load_mat(a1, TC_F32, &X);
      load_mat(a2, TC_F32, &Y);
      o.k = atoll(a3);
      devm dx = {0}, dy = {0};
      dev_mat(&X, &dx);
      dev_mat(&Y, &dy);
      if (!strcmp(op, "kl")) {
        expect = atof(a4);
        s = ie_knn_divergence(ctx, IE_KNN_DIV_KL, &X.t.t, &Y.t.t, &o, &res);
      } else if (!strcmp(op, "renyi")) {
        o.has_alpha = 1;
        o.alpha = atof(a4);
        expect = atof(a5);
        s = ie_knn_divergence(ctx, IE_KNN_DIV_RENYI, &X.t.t, &Y.t.t, &o, &res);
      } else if (!strcmp(op, "nnr")) {
        o.nnr_kind = kind_of(a4);
        if (strcmp(a5, "-")) o.has_alpha = 1, o.alpha = atof(a5);
        if (strcmp(a6, "-")) o.beta = atof(a6);
        expect = strtod(a7, NULL);
        s = ie_knn_divergence(ctx, IE_KNN_DIV_NNR, &X.t.t, &Y.t.t, &o, &res);
      } else {
        expect = atof(a4);
        s = ie_knn_mutual_information(ctx, &X.t.t, &Y.t.t, &o, &res);
      }
      dev_free(&dx);
      dev_free(&dy);
    } else {
      cr_assert_fail("knn_manifest.txt: unknown op '%s'", op);
    }
    cr_assert(s == IE_OK, "%s on %s: %s", name, ie_backend_name(b), ie_errmsg(ctx));
    const double e = rel_err(res.estimate, expect);
    cr_assert(e <= REL_TOL, "%s on %s: %.17g, expected %.17g (relative error %.3g)", name,
              ie_backend_name(b), res.estimate, expect, e);
    cr_assert(res.k == o.k && res.n == X.rows, "%s: result fields", name);
    if (e > worst) {
      worst = e;
      snprintf(worst_name, sizeof worst_name, "%s", name);
    }
    free(X.data);
    free(Y.data);
    checks++;
  }
  fclose(f);
  cr_assert(checks > 50, "only %d checks in the manifest", checks);
  cr_log_info("knn vectors on %s (%s%s): %d checks, largest relative error %.3g (%s)", ie_backend_name(b),
              ie_context_device_name(ctx), device ? ", device tensors" : "", checks, worst, worst_name);
  g_dev = NULL;
  ie_context_destroy(ctx);
}

Test(knn, vectors_cpu) { run_vectors(IE_BACKEND_CPU, 0); }
Test(knn, vectors_cuda) { run_vectors(IE_BACKEND_CUDA, 0); }
Test(knn, vectors_opencl) { run_vectors(IE_BACKEND_OPENCL, 0); }
/* The caller's tensors in device memory (at an offset, with padded rows):
 * read in place, outputs written in place, the same float64 references. */
Test(knn, vectors_opencl_device) { run_vectors(IE_BACKEND_OPENCL, IE_TEST_HAVE_OPENCL); }

/* ---- The GPUs' two-stage Euclidean search --------------------------------------------------- */

/* Every Euclidean search of the manifest (the tile_* cases are the two-stage
 * search's: Gaussian, N(1000, 1), duplicates and ties, clustered embeddings,
 * d = 1 .. 384, k = 1, 5, 20, sizes off the tiles) on backend b three ways:
 * its default search (on a GPU, the float32 GEMM filter with exact keys),
 * with IE_KNN_NO_TILES=1 (the GPU's one-pass kernel, knn_search) and on the
 * CPU.  Indices equal to the float64 reference and the three results the
 * same bits (the filter only chooses which keys are computed; every backend
 * computes each key in double from coordinate differences). */
static void run_tiles(ie_backend b) {
  ie_context *ctx = tc_context(b), *cpu = tc_context(IE_BACKEND_CPU);
  char path[1024];
  snprintf(path, sizeof path, "%s/knn_manifest.txt", IE_TEST_VECTORS);
  FILE *f = fopen(path, "r");
  cr_assert(f, "cannot open %s (run tests/gen_knn.py)", path);
  char line[1024];
  int cases = 0, tile_cases = 0;
  while (fgets(line, sizeof line, f)) {
    char op[16], name[96], a1[128], a2[128], a3[64], a4[64], a5[64], a6[128], a7[128];
    if (sscanf(line, "%15s %95s %127s %127s %63s %63s %63s %127s %127s", op, name, a1, a2, a3, a4,
               a5, a6, a7) != 9 || strcmp(op, "search") || strcmp(a4, "euclidean"))
      continue;
    mat Q, R, I;
    load_mat(a1, TC_F32, &Q);
    load_mat(a2, TC_F32, &R);
    load_mat(a6, TC_I64, &I);
    const int64_t k = atoll(a3), m = Q.rows, mk = m * k;
    ie_knn_options ko = {sizeof ko, IE_METRIC_EUCLIDEAN, atoi(a5)};
    int64_t *gi[3];
    double *gd[3];
    for (int w = 0; w < 3; w++) {
      gi[w] = calloc((size_t)mk, sizeof *gi[w]);
      gd[w] = calloc((size_t)mk, sizeof *gd[w]);
      mat GI, GD;
      wrap(&GI, gi[w], TC_I64, m, k);
      wrap(&GD, gd[w], TC_F64, m, k);
      if (w == 1) setenv("IE_KNN_NO_TILES", "1", 1);
      const ie_status s = ie_knn(w == 2 ? cpu : ctx, &Q.t.t, &R.t.t, k, &GI.t.t, &GD.t.t, &ko);
      unsetenv("IE_KNN_NO_TILES");
      cr_assert(s == IE_OK, "%s (%s): %s", name, w == 2 ? "cpu" : ie_backend_name(b),
                ie_errmsg(w == 2 ? cpu : ctx));
    }
    const int64_t *ei = I.data;
    static const char *const way[3] = {"two-stage", "one-pass", "cpu"};
    for (int w = 0; w < 3; w++)
      for (int64_t i = 0; i < mk; i++) {
        cr_assert(gi[w][i] == ei[i], "%s (%s): query %lld, neighbour %lld: index %lld, expected %lld",
                  name, way[w], (long long)(i / k), (long long)(i % k), (long long)gi[w][i],
                  (long long)ei[i]);
        cr_assert(memcmp(&gd[w][i], &gd[0][i], sizeof(double)) == 0,
                  "%s: query %lld, neighbour %lld: %s distance %.17g, two-stage %.17g (not the same bits)",
                  name, (long long)(i / k), (long long)(i % k), way[w], gd[w][i], gd[0][i]);
      }
    for (int w = 0; w < 3; w++) {
      free(gi[w]);
      free(gd[w]);
    }
    free(Q.data);
    if (R.data != Q.data) free(R.data);
    free(I.data);
    cases++;
    tile_cases += !strncmp(name, "tile_", 5);
  }
  fclose(f);
  cr_assert(tile_cases >= 14, "only %d tile_* cases in %s (run tests/gen_knn.py)", tile_cases, path);
  cr_log_info("knn two-stage on %s: %d Euclidean searches, the same bits as the one-pass kernel and the cpu",
              ie_context_device_name(ctx), cases);
  ie_context_destroy(ctx);
  ie_context_destroy(cpu);
}

Test(knn, tiles_cuda, .timeout = 600) { run_tiles(IE_BACKEND_CUDA); }
Test(knn, tiles_opencl, .timeout = 600) { run_tiles(IE_BACKEND_OPENCL); }

/* ---- Gaussian closed forms ---------------------------------------------------------------- */

static uint64_t rng_state;
static double normal(void) {
  /* splitmix64 and Box–Muller (one of the pair). */
  uint64_t z[2];
  for (int i = 0; i < 2; i++) {
    uint64_t v = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    v = (v ^ (v >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    v = (v ^ (v >> 27)) * UINT64_C(0x94D049BB133111EB);
    z[i] = v ^ (v >> 31);
  }
  const double u1 = ((double)(z[0] >> 11) + 0.5) * 0x1p-53, u2 = (double)(z[1] >> 11) * 0x1p-53;
  return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* n samples of N(mu, s² L Lᵀ) as float32, L lower triangular (d × d). */
static float *gaussian(int64_t n, int d, const double *mu, const double *L, double s) {
  float *x = malloc((size_t)n * (size_t)d * sizeof *x);
  double z[16];
  for (int64_t i = 0; i < n; i++) {
    for (int c = 0; c < d; c++) z[c] = normal();
    for (int r = 0; r < d; r++) {
      double v = mu[r];
      for (int c = 0; c <= r; c++) v += s * L[r * d + c] * z[c];
      x[i * d + r] = (float)v;
    }
  }
  return x;
}

/* Kozachenko–Leonenko entropy and Wang–Kulkarni–Verdú KL (k = 5), KSG MI
 * (k = 3), at N = 20 000 against closed forms.  Each check is a window
 * [truth + lo, truth + hi] and why:
 *  - sampling noise: the standard deviation of these estimators at this N is
 *    about sqrt(Var/N), 0.005–0.03 nats here;
 *  - bias: asymptotically unbiased, but at finite N the kNN bias grows with
 *    d: O(N^(−2/d)) up to logs for d ≥ 4 (Berrett, Samworth & Yuan, Ann.
 *    Statist. 2019; Singh & Póczos 2016), N^(−2/16) = 0.29 at d = 16, and
 *    positive for Gaussian entropy in high d.  An independent SciPy cKDTree
 *    implementation of the same formulas on other draws of the same laws
 *    gives entropy −0.003/−0.03/+2.2…+2.4 nats and KSG −0.003/−0.04/−2.2 at
 *    d = 1/4/16;
 *  - KSG underestimates, more so with the dimension and the true MI
 *    (Kraskov et al. 2004, §III; Gao, Ver Steeg & Galstyan 2015: the samples
 *    needed grow exponentially with the MI); at d = 16 (MI 3.57 nats) it
 *    returns about 38 % of the truth at this N.
 * So d = 1: ±0.03 (noise); d = 4: ±0.08 (noise + the small negative bias);
 * d = 16: the windows below: entropy [0, +3] (positive bias, above);
 * KSG [−0.7·MI, +0.05]; KL [−0.2, +0.6] for this mild KL of 0.24 nats:
 * the ρ and ν biases cancel only in part when the two laws have different
 * scales (s = 1.1): this implementation gives +0.29 here, the same on every
 * backend (the vectors pin the formula itself to SciPy within 1e-6). */
static void run_gaussian(ie_backend b) {
  ie_context *ctx = tc_context(b);
  const int64_t N = 20000;
  const int dims[3] = {1, 4, 16};
  const double h_lo[3] = {-0.03, -0.08, 0.0}, h_hi[3] = {0.03, 0.08, 3.0};
  const double kl_lo[3] = {-0.03, -0.08, -0.2}, kl_hi[3] = {0.03, 0.08, 0.6};
  const double mi_lo[3] = {-0.03, -0.08, -0.7}, mi_hi[3] = {0.03, 0.08, 0.05}; /* d = 16: ×MI */
  for (int t = 0; t < 3; t++) {
    const int d = dims[t];
    rng_state = 12345 + (uint64_t)d;
    double L[256], mu[16], mu2[16], logdet = 0;
    for (int r = 0; r < d; r++) {
      mu[r] = normal();
      for (int c = 0; c < d; c++) L[r * d + c] = c < r ? 0.3 * normal() : c == r ? 0.6 + 0.1 * (r % 7) : 0;
      logdet += 2 * log(L[r * d + r]);
    }
    /* μ2 = μ + L v with v = (0.5/√d)·1, so |L⁻¹(μ2 − μ)|² = 0.25 */
    for (int r = 0; r < d; r++) {
      mu2[r] = mu[r];
      for (int c = 0; c <= r; c++) mu2[r] += L[r * d + c] * 0.5 / sqrt((double)d);
    }
    /* H(N(μ, Σ)) = ½ (d log(2πe) + log|Σ|) */
    const double h_true = 0.5 * (d * log(2 * M_PI * M_E) + logdet);
    /* KL(N(μ, Σ) ‖ N(μ2, s²Σ)) = ½ (d/s² + |L⁻¹(μ2 − μ)|²/s² − d + 2d log s) */
    const double s = 1.1, kl_true = 0.5 * (d / (s * s) + 0.25 / (s * s) - d + 2 * d * log(s));
    float *x = gaussian(N, d, mu, L, 1.0), *y = gaussian(N, d, mu2, L, s);
    mat X, Y;
    wrap(&X, x, TC_F32, N, d);
    wrap(&Y, y, TC_F32, N, d);
    ie_knn_estimator_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.k = 5;
    ie_knn_result r;
    cr_assert(ie_knn_entropy(ctx, &X.t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
    double e = r.estimate - h_true;
    cr_log_info("gaussian %s N=%lld d=%d: entropy %.5f, closed form %.5f (diff %+.4f, window [%+.2f, %+.2f])",
                ie_backend_name(b), (long long)N, d, r.estimate, h_true, e, h_lo[t], h_hi[t]);
    cr_expect(e >= h_lo[t] && e <= h_hi[t], "entropy d=%d: %.5f vs %.5f", d, r.estimate, h_true);
    cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_KL, &X.t.t, &Y.t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
    e = r.estimate - kl_true;
    cr_log_info("gaussian %s N=%lld d=%d: KL %.5f, closed form %.5f (diff %+.4f, window [%+.2f, %+.2f])",
                ie_backend_name(b), (long long)N, d, r.estimate, kl_true, e, kl_lo[t], kl_hi[t]);
    cr_expect(e >= kl_lo[t] && e <= kl_hi[t], "KL d=%d: %.5f vs %.5f", d, r.estimate, kl_true);
    free(x);
    free(y);

    /* MI of x, y ∈ ℝ^d, y_c = ρ x_c + sqrt(1 − ρ²) e_c: −(d/2) log(1 − ρ²). */
    const double rho = 0.6, mi_true = -0.5 * d * log(1 - rho * rho);
    x = malloc((size_t)N * (size_t)d * sizeof *x);
    y = malloc((size_t)N * (size_t)d * sizeof *y);
    for (int64_t i = 0; i < N * d; i++) {
      const double a = normal(), n2 = normal();
      x[i] = (float)a;
      y[i] = (float)(rho * a + sqrt(1 - rho * rho) * n2);
    }
    wrap(&X, x, TC_F32, N, d);
    wrap(&Y, y, TC_F32, N, d);
    o.k = 3;
    cr_assert(ie_knn_mutual_information(ctx, &X.t.t, &Y.t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
    const double lo = d == 16 ? mi_lo[t] * mi_true : mi_lo[t], hi = mi_hi[t];
    e = r.estimate - mi_true;
    cr_log_info("gaussian %s N=%lld d=%d: KSG MI %.5f, closed form %.5f (diff %+.4f, window [%+.2f, %+.2f])",
                ie_backend_name(b), (long long)N, d, r.estimate, mi_true, e, lo, hi);
    cr_expect(e >= lo && e <= hi, "MI d=%d: %.5f vs %.5f", d, r.estimate, mi_true);
    free(x);
    free(y);
  }
  ie_context_destroy(ctx);
}

Test(knn, gaussian_cpu, .timeout = 600) { run_gaussian(IE_BACKEND_CPU); }
Test(knn, gaussian_cuda, .timeout = 600) { run_gaussian(IE_BACKEND_CUDA); }
Test(knn, gaussian_opencl, .timeout = 600) { run_gaussian(IE_BACKEND_OPENCL); }

/* ---- errors, duplicates, jitter -------------------------------------------------------------- */

static void run_errors(ie_backend b) {
  ie_context *ctx = tc_context(b);
  const int64_t n = 64;
  float x[64 * 2];
  rng_state = 99;
  for (int i = 0; i < 128; i++) x[i] = (float)normal();
  for (int i = 0; i < 10; i++) { /* rows 50..59 duplicate rows 0..9 */
    x[(50 + i) * 2] = x[i * 2];
    x[(50 + i) * 2 + 1] = x[i * 2 + 1];
  }
  mat X;
  wrap(&X, x, TC_F32, n, 2);
  ie_knn_estimator_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.k = 1;
  ie_knn_result r;
  ie_status s = ie_knn_entropy(ctx, &X.t.t, &o, &r);
  cr_assert(s == IE_INVALID_ARGUMENT, "duplicates: %s", ie_status_name(s));
  cr_assert(strstr(ie_errmsg(ctx), "20 of 64 points"), "message: %s", ie_errmsg(ctx));
  cr_assert(strstr(ie_errmsg(ctx), "jitter"), "message: %s", ie_errmsg(ctx));
  o.k = 2; /* a larger k clears it */
  cr_assert(ie_knn_entropy(ctx, &X.t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  o.k = 1;
  o.jitter = 1e-4;
  o.seed = 7;
  cr_assert(ie_knn_entropy(ctx, &X.t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  ie_knn_result r2;
  cr_assert(ie_knn_entropy(ctx, &X.t.t, &o, &r2) == IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(r.estimate == r2.estimate, "jitter with one seed: %.17g vs %.17g", r.estimate, r2.estimate);
  cr_assert(isfinite(r.estimate));
  o.jitter = 0;
  /* k >= N */
  o.k = n;
  s = ie_knn_entropy(ctx, &X.t.t, &o, &r);
  cr_assert(s == IE_INVALID_ARGUMENT && strstr(ie_errmsg(ctx), "k = 64"), "%s", ie_errmsg(ctx));
  o.k = 3;
  /* LPS needs α < k + 1; Póczos–Schneider k > |α − 1| */
  o.has_alpha = 1;
  o.alpha = 4.5;
  cr_assert(ie_knn_entropy(ctx, &X.t.t, &o, &r) == IE_INVALID_ARGUMENT);
  o.alpha = 4;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_RENYI, &X.t.t, &X.t.t, &o, &r) == IE_INVALID_ARGUMENT);
  o.has_alpha = 0;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_RENYI, &X.t.t, &X.t.t, &o, &r) == IE_INVALID_ARGUMENT);
  o.nnr_kind = IE_DIV_CROSS_ENTROPY;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_NNR, &X.t.t, &X.t.t, &o, &r) == IE_INVALID_ARGUMENT);
  o.nnr_kind = IE_DIV_KL;
  /* KL of 32 distinct points from themselves: ρ_1 > 0 but ν_1 = 0 for all */
  mat H;
  wrap(&H, x, TC_F32, n / 2, 2);
  o.k = 1;
  s = ie_knn_divergence(ctx, IE_KNN_DIV_KL, &H.t.t, &H.t.t, &o, &r);
  cr_assert(s == IE_INVALID_ARGUMENT && strstr(ie_errmsg(ctx), "32 of 32 points") &&
                strstr(ie_errmsg(ctx), "in 'y'"),
            "%s", ie_errmsg(ctx));
  o.k = 3;
  /* KSG with a paired-size mismatch, and NaN rows */
  cr_assert(ie_knn_mutual_information(ctx, &X.t.t, &H.t.t, &o, &r) == IE_BAD_SHAPE);
  x[17 * 2 + 1] = NAN;
  s = ie_knn_mutual_information(ctx, &X.t.t, &X.t.t, &o, &r);
  cr_assert(s == IE_NONFINITE && strstr(ie_errmsg(ctx), "row 17, column 1"), "%s", ie_errmsg(ctx));
  /* MI of a variable with itself is large and positive: the KSG counts. */
  x[17 * 2 + 1] = 0.25f;
  o.jitter = 1e-3; /* the duplicated rows */
  cr_assert(ie_knn_mutual_information(ctx, &X.t.t, &X.t.t, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(r.estimate > 1, "MI(x; x) = %g", r.estimate);
  ie_context_destroy(ctx);
}

Test(knn, errors_cpu) { run_errors(IE_BACKEND_CPU); }
Test(knn, errors_cuda) { run_errors(IE_BACKEND_CUDA); }
Test(knn, errors_opencl) { run_errors(IE_BACKEND_OPENCL); }

/* ---- device residency (OpenCL) ------------------------------------------------------------- */

#if IE_TEST_HAVE_OPENCL
typedef struct {
  double est[7];
} knn_round;

/* Every estimator and a search on x, y (either memory); outputs of the
 * search in device memory when `dev` is set. */
static void knn_round_run(ie_context *ctx, const DLTensor *x, const DLTensor *y, DLTensor *idx,
                          DLTensor *dist, knn_round *out) {
  ie_knn_estimator_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.k = 4;
  ie_knn_result r;
  cr_assert(ie_knn(ctx, x, y, 5, idx, dist, NULL) == IE_OK, "ie_knn: %s", ie_errmsg(ctx));
  cr_assert(ie_knn_entropy(ctx, x, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[0] = r.estimate;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_KL, x, y, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[1] = r.estimate;
  cr_assert(ie_knn_mutual_information(ctx, x, y, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[2] = r.estimate;
  o.nnr_kind = IE_DIV_JS;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_NNR, x, y, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[3] = r.estimate;
  o.has_alpha = 1;
  o.alpha = 0.7;
  cr_assert(ie_knn_entropy(ctx, x, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[4] = r.estimate;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_RENYI, x, y, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[5] = r.estimate;
  o.nnr_kind = IE_DIV_RENYI;
  o.alpha = 1.5;
  cr_assert(ie_knn_divergence(ctx, IE_KNN_DIV_NNR, x, y, &o, &r) == IE_OK, "%s", ie_errmsg(ctx));
  out->est[6] = r.estimate;
}

/* With the samples and outputs in device memory, after a warm-up round,
 * repeated calls allocate nothing and move only their statistics (at most
 * 128 bytes a call) to the host and nothing to the device; the estimates
 * agree with the CPU backend's (host float64 sums) to 1e-10, the search
 * exactly; a NaN in device memory is named by row and column. */
Test(knn, device_resident_opencl, .timeout = 600) {
  ie_context *ctx = tc_context(IE_BACKEND_OPENCL);
  ie_context *cpu = tc_context(IE_BACKEND_CPU);
  g_dev = ctx;
  enum { N = 1500, D = 6, K = 5 };
  float *xs = malloc(sizeof(float) * N * D), *ys = malloc(sizeof(float) * N * D);
  uint64_t st = 12345;
  for (int i = 0; i < N * D; i++) {
    /* correlated Gaussian-ish pairs, y a noisy copy of x shifted by 0.3 */
    double u = 0, v = 0;
    for (int t = 0; t < 6; t++) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      u += (double)(st >> 11) * 0x1p-53;
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      v += (double)(st >> 11) * 0x1p-53;
    }
    xs[i] = (float)(u - 3);
    ys[i] = (float)(0.8 * (u - 3) + 0.5 * (v - 3) + 0.3);
  }
  mat X, Y, I, Dm;
  wrap(&X, xs, TC_F32, N, D);
  wrap(&Y, ys, TC_F32, N, D);
  knn_round ref;
  int64_t *hi = calloc(N * K, sizeof *hi), *gi = calloc(N * K, sizeof *gi);
  double *hd = calloc(N * K, sizeof *hd), *gd = calloc(N * K, sizeof *gd);
  wrap(&I, hi, TC_I64, N, K);
  wrap(&Dm, hd, TC_F64, N, K);
  knn_round_run(cpu, &X.t.t, &Y.t.t, &I.t.t, &Dm.t.t, &ref);
  devm dx = {0}, dy = {0}, di = {0}, dd = {0};
  dev_mat(&X, &dx);
  dev_mat(&Y, &dy);
  wrap(&I, gi, TC_I64, N, K);
  wrap(&Dm, gd, TC_F64, N, K);
  dev_layout(&I, &di, 8);
  dev_layout(&Dm, &dd, 8);
  knn_round warm, again;
  knn_round_run(ctx, &X.t.t, &Y.t.t, &I.t.t, &Dm.t.t, &warm);
  ie_workspace_info w0, w1;
  memset(&w0, 0, sizeof w0);
  memset(&w1, 0, sizeof w1);
  w0.size = w1.size = sizeof w0;
  cr_assert(ie_workspace_query(ctx, &w0) == IE_OK);
  knn_round_run(ctx, &X.t.t, &Y.t.t, &I.t.t, &Dm.t.t, &again);
  cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
  const int calls = 8;
  cr_assert(w1.device_allocations == w0.device_allocations, "%llu device allocations in a warm round",
            (unsigned long long)(w1.device_allocations - w0.device_allocations));
  cr_assert(w1.host_allocations == w0.host_allocations, "host allocations in a warm round");
  cr_assert(w1.bytes_to_device == w0.bytes_to_device, "%llu bytes to the device in a warm round",
            (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device));
  cr_assert(w1.bytes_to_host - w0.bytes_to_host <= 128u * calls, "%llu bytes to the host in %d calls",
            (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host), calls);
  cr_log_info("knn on opencl, device tensors, warm round of %d calls: %llu bytes to the host in %llu copies, "
              "0 allocations",
              calls, (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host),
              (unsigned long long)(w1.copies_to_host - w0.copies_to_host));
  for (int e = 0; e < 7; e++) {
    cr_assert(warm.est[e] == again.est[e], "estimate %d changed between calls", e);
    const double rel = fabs(warm.est[e] - ref.est[e]) / fmax(1e-3, fabs(ref.est[e]));
    cr_assert(rel <= 1e-10, "estimate %d: opencl %.17g, cpu %.17g", e, warm.est[e], ref.est[e]);
  }
  dev_back(&I, &di);
  dev_back(&Dm, &dd);
  for (int i = 0; i < N * K; i++) {
    cr_assert(gi[i] == hi[i], "index %d: %lld, cpu %lld", i, (long long)gi[i], (long long)hi[i]);
    cr_assert(fabs(gd[i] - hd[i]) <= 1e-12 * hd[i], "distance %d: %.17g, cpu %.17g", i, gd[i], hd[i]);
  }
  /* NaN at row 1234, column 5 of y (device memory) */
  float nan = NAN;
  dev_rw(dy.buf, 1, DEV_OFF + ((size_t)1234 * (D + DEV_PAD) + 5) * sizeof(float), &nan, sizeof nan);
  ie_knn_estimator_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  ie_knn_result r;
  ie_status s = ie_knn_divergence(ctx, IE_KNN_DIV_KL, &X.t.t, &Y.t.t, &o, &r);
  cr_assert(s == IE_NONFINITE && ie_error_row(ctx) == 1234 && ie_error_column(ctx) == 5 &&
                strstr(ie_errmsg(ctx), "'y' row 1234, column 5: NaN"),
            "%s (%s)", ie_status_string(s), ie_errmsg(ctx));
  s = ie_knn_mutual_information(ctx, &X.t.t, &Y.t.t, &o, &r);
  cr_assert(s == IE_NONFINITE && ie_error_row(ctx) == 1234, "%s", ie_errmsg(ctx));
  dev_free(&dx);
  dev_free(&dy);
  dev_free(&di);
  dev_free(&dd);
  free(xs);
  free(ys);
  free(hi);
  free(gi);
  free(hd);
  free(gd);
  g_dev = NULL;
  ie_context_destroy(ctx);
  ie_context_destroy(cpu);
}
#endif
