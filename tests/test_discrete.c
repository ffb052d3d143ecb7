/*
 * test_discrete.c — discrete information (docs/SPEC.md §9) on every backend
 * compiled in (a backend with no device here is skipped with a message).
 *
 *  - vectors: tests/vectors/disc_manifest.txt from tests/gen_discrete.py:
 *    counts equal to np.add.at's; PMI/nPMI/PPMI against float64 NumPy
 *    (limits exactly); MI/NMI/AMI against scikit-learn; imin/MMI/BROJA
 *    against dit (BROJA: its exponential-cone solver); Gaussian MMI against
 *    NumPy slogdet.  Tolerance: 1e-9 (CPU, float64 tables) or docs/SPEC.md
 *    §1's 1e-5 relative / 1e-6 absolute where a GPU takes float32; BROJA
 *    1e-7 absolute (dit's cone solver's own accuracy is about 1e-9 bits).
 *  - BROJA of a batch (broja_batch): 1000 joints 2 × 2 × 2 against
 *    tests/gen_broja_batch.py's float64 line search (1e-7), the textbook
 *    joints against their closed forms, 3 × 3 × 3 and 2 × 3 × 4 batches
 *    against the CPU backend's results (1e-9).
 *  - properties: the PID consistency equations, shard counts that add up.
 *  - errors: inconsistent counts, negative probabilities, labels out of
 *    range, shapes; each names what is wrong and leaves no stale error.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "io.h"
#if IE_TEST_HAVE_OPENCL
#include "infoest_opencl.h"
#endif
#if IE_TEST_HAVE_CUDA
#include <cuda_runtime.h>
#endif

/* ---- arrays ------------------------------------------------------------------------ */

typedef struct {
  void *data;
  DLTensor t;
  int64_t shape[8];
  int ndim;
} arr;

static void arr_load(arr *a, const char *file) {
  char path[1024], err[1400];
  ieio_info info;
  snprintf(path, sizeof path, "%s/%s", IE_TEST_VECTORS, file);
  cr_assert(ieio_open_info(path, &info, err, sizeof err) == 0, "%s (run tests/gen_discrete.py): %s",
            path, err);
  cr_assert(ieio_read_all(&info, &a->data, err, sizeof err) == 0, "%s: %s", path, err);
  a->ndim = info.ndim;
  for (int d = 0; d < info.ndim; d++) a->shape[d] = info.shape[d];
  ieio_as_dltensor(&info, a->data, a->shape, &a->t);
}

static int64_t arr_count(const arr *a) {
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
  return n;
}

/* float64 → float32 in place (for a backend that takes no float64). */
static void arr_narrow(arr *a) {
  if (!(a->t.dtype.code == kDLFloat && a->t.dtype.bits == 64)) return;
  const int64_t n = arr_count(a);
  float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
  for (int64_t i = 0; i < n; i++) f[i] = (float)((double *)a->data)[i];
  free(a->data);
  a->data = f;
  a->t.data = f;
  a->t.dtype = TC_F32;
}

static void arr_free(arr *a) { free(a->data); }

static void host_tensor(DLTensor *t, void *data, DLDataType dt, int ndim, int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device.device_type = kDLCPU;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = shape;
}

/* |got − exp| within tol·max(1, |exp|); equal infinities pass. */
static int near(double got, double exp, double tol) {
  if (got == exp) return 1;
  if (isnan(got) || isnan(exp) || isinf(got) || isinf(exp)) return 0;
  return fabs(got - exp) <= tol * fmax(1.0, fabs(exp));
}

/* ---- the manifest ------------------------------------------------------------------ */

typedef struct {
  char op[16], name[96];
  char f[4][128];
  char s1[32];
  double d[4];
  int64_t i[4];
} check;

static int read_manifest(check **out) {
  char path[1024], line[2048];
  snprintf(path, sizeof path, "%s/disc_manifest.txt", IE_TEST_VECTORS);
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s is missing (run tests/gen_discrete.py)", path);
  int n = 0, cap = 64;
  check *c = calloc((size_t)cap, sizeof *c);
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    if (n == cap) c = realloc(c, (size_t)(cap *= 2) * sizeof *c);
    check *k = &c[n];
    memset(k, 0, sizeof *k);
    int got = sscanf(line, "%15s %95s", k->op, k->name);
    cr_assert(got == 2, "bad manifest line: %s", line);
    const char *rest = line + strlen(k->op) + 1 + strlen(k->name) + 1;
    long long a, b, cc, nn;
    if (!strcmp(k->op, "count"))
      got = sscanf(rest, "%127s %127s %lld %lld %127s", k->f[0], k->f[1], &a, &b, k->f[2]) == 5,
      k->i[0] = a, k->i[1] = b;
    else if (!strcmp(k->op, "pmi"))
      got = sscanf(rest, "%127s %31s %lf %lf %127s %127s %lf %127s", k->f[0], k->s1, &k->d[0], &k->d[1],
                   k->f[1], k->f[2], &k->d[2], k->f[3]) == 8;
    else if (!strcmp(k->op, "tmi") || !strcmp(k->op, "pid"))
      got = sscanf(rest, "%127s %31s %127s", k->f[0], k->s1, k->f[1]) == 3;
    else if (!strcmp(k->op, "gauss"))
      got = sscanf(rest, "%127s %lld %lld %lld %lld %127s", k->f[0], &a, &b, &cc, &nn, k->f[1]) == 6,
      k->i[0] = a, k->i[1] = b, k->i[2] = cc, k->i[3] = nn;
    else
      got = 0;
    cr_assert(got, "bad manifest line: %s", line);
    n++;
  }
  fclose(f);
  cr_assert(n > 30, "the manifest holds only %d checks", n);
  *out = c;
  return n;
}

/* ---- the checks ---------------------------------------------------------------------- */

static void run_count(ie_context *ctx, const check *k) {
  arr x, y, e;
  arr_load(&x, k->f[0]);
  arr_load(&y, k->f[1]);
  arr_load(&e, k->f[2]);
  const int64_t X = k->i[0], Y = k->i[1];
  int64_t *tab = calloc((size_t)(X * Y), sizeof *tab);
  int64_t shape[2] = {X, Y};
  DLTensor t;
  host_tensor(&t, tab, TC_I64, 2, shape);
  ie_status s = ie_count_pairs(ctx, &x.t, &y.t, &t, NULL);
  cr_assert(s == IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  for (int64_t i = 0; i < X * Y; i++)
    cr_assert(tab[i] == ((int64_t *)e.data)[i], "%s: cell %lld: %lld, expected %lld", k->name,
              (long long)i, (long long)tab[i], (long long)((int64_t *)e.data)[i]);
  /* Mergeable: counting again adds the same table. */
  cr_assert(ie_count_pairs(ctx, &x.t, &y.t, &t, NULL) == IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  for (int64_t i = 0; i < X * Y; i++) cr_assert(tab[i] == 2 * ((int64_t *)e.data)[i], "%s: twice", k->name);
  free(tab);
  arr_free(&x), arr_free(&y), arr_free(&e);
}

static void run_pmi(ie_context *ctx, const check *k, double tol) {
  arr c, e, xc, yc;
  arr_load(&c, k->f[0]);
  arr_load(&e, k->f[3]);
  int given = strcmp(k->f[1], "-") != 0;
  if (given) arr_load(&xc, k->f[1]), arr_load(&yc, k->f[2]);
  if (ie_context_backend(ctx) != IE_BACKEND_CPU) arr_narrow(&c);
  const int64_t X = c.shape[0], Y = c.shape[1];
  double *out = malloc((size_t)(X * Y) * sizeof *out);
  int64_t shape[2] = {X, Y};
  DLTensor o;
  host_tensor(&o, out, TC_F64, 2, shape);
  ie_pmi_options opt = {sizeof opt, IE_PMI_PLAIN, k->d[0], k->d[1], NULL, NULL, k->d[2]};
  opt.kind = !strcmp(k->s1, "npmi") ? IE_PMI_NORMALIZED : !strcmp(k->s1, "ppmi") ? IE_PMI_POSITIVE : IE_PMI_PLAIN;
  if (given) opt.x_counts = &xc.t, opt.y_counts = &yc.t;
  ie_pmi_result r;
  ie_status s = ie_pmi(ctx, &c.t, &o, &opt, &r);
  if (s == IE_BAD_DTYPE) { /* a backend without float64 outputs */
    float *of = malloc((size_t)(X * Y) * sizeof *of);
    o.data = of;
    o.dtype = TC_F32;
    s = ie_pmi(ctx, &c.t, &o, &opt, &r);
    for (int64_t i = 0; i < X * Y; i++) out[i] = of[i];
    free(of);
    tol = fmax(tol, 1e-6);
  }
  cr_assert(s == IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  double mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < X * Y; i++) {
    const double ex = ((double *)e.data)[i];
    cr_assert(near(out[i], ex, tol), "%s: cell (%lld, %lld): %.17g, expected %.17g", k->name,
              (long long)(i / Y), (long long)(i % Y), out[i], ex);
    if (!strcmp(k->s1, "npmi")) cr_assert(out[i] >= -1 && out[i] <= 1, "%s: nPMI %.17g outside [-1, 1]", k->name, out[i]);
    mn = fmin(mn, ex);
    mx = fmax(mx, ex);
  }
  cr_assert(near(r.min, mn, tol) && near(r.max, mx, tol), "%s: min/max %g %g, expected %g %g", k->name,
            r.min, r.max, mn, mx);
  free(out);
  arr_free(&c), arr_free(&e);
  if (given) arr_free(&xc), arr_free(&yc);
}

static ie_average average_of(const char *s) {
  if (!strcmp(s, "geometric")) return IE_AVERAGE_GEOMETRIC;
  if (!strcmp(s, "min")) return IE_AVERAGE_MIN;
  if (!strcmp(s, "max")) return IE_AVERAGE_MAX;
  return IE_AVERAGE_ARITHMETIC;
}

static void run_tmi(ie_context *ctx, const check *k, double tol) {
  arr c, e;
  arr_load(&c, k->f[0]);
  arr_load(&e, k->f[1]);
  const int64_t B = c.ndim == 3 ? c.shape[0] : 1;
  ie_table_mi_result *r = calloc((size_t)B, sizeof *r);
  ie_table_mi_options o = {sizeof o, average_of(k->s1), 0};
  cr_assert(ie_table_mi(ctx, &c.t, &o, r) == IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  for (int64_t b = 0; b < B; b++) {
    const double *ex = (double *)e.data + 5 * b;
    const double got[5] = {r[b].mi, r[b].nmi, r[b].ami, r[b].hx, r[b].hy};
    static const char *const names[5] = {"mi", "nmi", "ami", "hx", "hy"};
    for (int q = 0; q < 5; q++)
      cr_assert(near(got[q], ex[q], tol), "%s: table %lld: %s = %.17g, scikit-learn %.17g", k->name,
                (long long)b, names[q], got[q], ex[q]);
  }
  free(r);
  arr_free(&c), arr_free(&e);
}

static void pid_device_out(ie_context *ctx, const check *k, const arr *j, const double *ex,
                           const ie_pid_result *host, const ie_pid_options *o, double tol);

static void run_pid(ie_context *ctx, const check *k, double tol) {
  arr j, e;
  arr_load(&j, k->f[0]);
  arr_load(&e, k->f[1]);
  if (ie_context_backend(ctx) != IE_BACKEND_CPU) arr_narrow(&j);
  const int64_t B = j.ndim == 4 ? j.shape[0] : 1;
  ie_pid_result *r = calloc((size_t)B, sizeof *r);
  ie_pid_options o = {sizeof o, IE_PID_IMIN};
  if (!strcmp(k->s1, "mmi")) o.measure = IE_PID_MMI;
  if (!strcmp(k->s1, "broja")) o.measure = IE_PID_BROJA, tol = fmax(tol, 1e-7);
  /* The [B, 4] output: float64 on the CPU, float32 elsewhere (the only
   * floating types those backends take). */
  const int f64 = ie_context_backend(ctx) == IE_BACKEND_CPU;
  double *flat = malloc((size_t)B * 4 * sizeof *flat);
  float *flat32 = malloc((size_t)B * 4 * sizeof *flat32);
  int64_t oshape[2] = {B, 4};
  DLTensor ot;
  host_tensor(&ot, f64 ? (void *)flat : (void *)flat32, f64 ? TC_F64 : TC_F32, j.ndim == 4 ? 2 : 1,
              j.ndim == 4 ? oshape : oshape + 1);
  cr_assert(ie_pid(ctx, &j.t, &o, r, &ot) == IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  if (!f64)
    for (int64_t q = 0; q < 4 * B; q++) flat[q] = flat32[q];
  for (int64_t b = 0; b < B; b++) {
    const double *ex = (double *)e.data + 7 * b;
    const double got[7] = {r[b].redundancy, r[b].unique1, r[b].unique2, r[b].synergy,
                           r[b].mi1, r[b].mi2, r[b].mi12};
    static const char *const names[7] = {"R", "U1", "U2", "S", "I1", "I2", "I12"};
    for (int q = 0; q < 7; q++) {
      cr_assert(near(got[q], ex[q], tol), "%s: joint %lld: %s = %.17g, dit %.17g", k->name,
                (long long)b, names[q], got[q], ex[q]);
      cr_assert(got[q] >= 0, "%s: joint %lld: %s = %g < 0", k->name, (long long)b, names[q], got[q]);
    }
    for (int q = 0; q < 4; q++)
      cr_assert(flat[4 * b + q] == (f64 ? got[q] : (double)(float)got[q]), "%s: out[%lld, %d]",
                k->name, (long long)b, q);
    /* The three consistency equations, to rounding. */
    cr_assert(fabs(got[4] - got[0] - got[1]) <= 1e-12 * fmax(1, got[4]), "%s: I1 != R + U1", k->name);
    cr_assert(fabs(got[5] - got[0] - got[2]) <= 1e-12 * fmax(1, got[5]), "%s: I2 != R + U2", k->name);
    cr_assert(fabs(got[6] - got[0] - got[1] - got[2] - got[3]) <= 1e-12 * fmax(1, got[6]),
              "%s: I12 != R + U1 + U2 + S", k->name);
  }
  if (ie_context_backend(ctx) != IE_BACKEND_CPU) pid_device_out(ctx, k, &j, (double *)e.data, r, &o, tol);
  free(flat);
  free(flat32);
  free(r);
  arr_free(&j), arr_free(&e);
}

static void run_gauss(ie_context *ctx, const check *k) {
  arr c, e;
  arr_load(&c, k->f[0]);
  arr_load(&e, k->f[1]);
  double tol = 1e-9;
  if (ie_context_backend(ctx) != IE_BACKEND_CPU) arr_narrow(&c), tol = 2e-5;
  ie_pid_gaussian_options o = {sizeof o, k->i[3]};
  ie_pid_result r;
  cr_assert(ie_pid_gaussian(ctx, &c.t, k->i, &o, &r) == IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  const double got[7] = {r.redundancy, r.unique1, r.unique2, r.synergy, r.mi1, r.mi2, r.mi12};
  for (int q = 0; q < 7; q++)
    cr_assert(near(got[q], ((double *)e.data)[q], tol), "%s: value %d = %.17g, NumPy %.17g", k->name, q,
              got[q], ((double *)e.data)[q]);
  arr_free(&c), arr_free(&e);
}

/* 1: every backend has the discrete-information calls (a backend that
 * answers IE_UNSUPPORTED fails the test instead of passing it untested). */
static int has_discrete(ie_context *ctx) {
  int64_t c[4] = {1, 0, 0, 1}, sh[2] = {2, 2};
  DLTensor t;
  host_tensor(&t, c, TC_I64, 2, sh);
  ie_table_mi_result r;
  cr_assert(ie_table_mi(ctx, &t, NULL, &r) != IE_UNSUPPORTED, "discrete information: the %s backend lacks it (%s)",
            ie_backend_name(ie_context_backend(ctx)), ie_errmsg(ctx));
  return 1;
}

/* tc_context, except that with IE_REQUIRE_GPU=1 a CUDA build without a
 * usable GPU fails instead of skipping. */
static ie_context *backend_context(ie_backend b) {
  const char *req = getenv("IE_REQUIRE_GPU");
  if (b == IE_BACKEND_CUDA && req && !strcmp(req, "1")) {
    ie_context *c = NULL;
    ie_context_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.backend = b;
    const ie_status s = ie_context_create(&c, &o);
    cr_assert(s == IE_OK, "IE_REQUIRE_GPU=1 but no CUDA context: %s",
              c ? ie_errmsg(c) : ie_status_name(s));
    ie_context_destroy(c);
  }
  return tc_context(b);
}

static void run_vectors(ie_backend b, const char *only) {
  ie_context *ctx = backend_context(b);
  if (!has_discrete(ctx)) {
    ie_context_destroy(ctx);
    cr_skip_test("the %s backend has no discrete information", ie_backend_name(b));
  }
  check *cs = NULL;
  const int n = read_manifest(&cs);
  const double tol = b == IE_BACKEND_CPU ? 1e-9 : 1e-5;
  int ran = 0;
  for (int i = 0; i < n; i++) {
    const check *k = &cs[i];
    if (strcmp(k->op, only)) continue;
    ran++;
    if (!strcmp(k->op, "count")) run_count(ctx, k);
    else if (!strcmp(k->op, "pmi")) run_pmi(ctx, k, tol);
    else if (!strcmp(k->op, "tmi")) run_tmi(ctx, k, tol);
    else if (!strcmp(k->op, "pid")) run_pid(ctx, k, tol);
    else if (!strcmp(k->op, "gauss")) run_gauss(ctx, k);
  }
  cr_assert(ran > 0, "no '%s' checks in the manifest", only);
  free(cs);
  ie_context_destroy(ctx);
}

/* tc_context skips the whole test when a backend has no device: run each
 * backend's checks in its own test so the CPU's always run. */
#define ON_BACKEND(op, be, tag)                                  \
  Test(discrete, op##_##tag) { run_vectors(be, #op); }

ON_BACKEND(count, IE_BACKEND_CPU, cpu)
ON_BACKEND(pmi, IE_BACKEND_CPU, cpu)
ON_BACKEND(tmi, IE_BACKEND_CPU, cpu)
ON_BACKEND(pid, IE_BACKEND_CPU, cpu)
ON_BACKEND(gauss, IE_BACKEND_CPU, cpu)
#if IE_TEST_HAVE_OPENCL
ON_BACKEND(count, IE_BACKEND_OPENCL, opencl)
ON_BACKEND(pmi, IE_BACKEND_OPENCL, opencl)
ON_BACKEND(tmi, IE_BACKEND_OPENCL, opencl)
ON_BACKEND(pid, IE_BACKEND_OPENCL, opencl)
ON_BACKEND(gauss, IE_BACKEND_OPENCL, opencl)
#endif
#if IE_TEST_HAVE_CUDA
ON_BACKEND(count, IE_BACKEND_CUDA, cuda)
ON_BACKEND(pmi, IE_BACKEND_CUDA, cuda)
ON_BACKEND(tmi, IE_BACKEND_CUDA, cuda)
ON_BACKEND(pid, IE_BACKEND_CUDA, cuda)
ON_BACKEND(gauss, IE_BACKEND_CUDA, cuda)
#endif

/* ---- properties ------------------------------------------------------------------------ */

/* Two shards counted into one table equal the whole counted at once. */
static void shards_add_up(ie_backend b) {
  ie_context *ctx = backend_context(b);
  if (!has_discrete(ctx)) {
    ie_context_destroy(ctx);
    return;
  }
  enum { N = 1000, X = 7, Y = 5 };
  int64_t x[N], y[N], whole[X * Y] = {0}, parts[X * Y] = {0};
  uint64_t st = 12345;
  for (int i = 0; i < N; i++) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = (int64_t)((st >> 33) % X);
    y[i] = (int64_t)((st >> 13) % Y);
  }
  int64_t sh_all[1] = {N}, sh_a[1] = {400}, sh_b[1] = {N - 400}, sh_t[2] = {X, Y};
  DLTensor tx, ty, tt;
  host_tensor(&tt, whole, TC_I64, 2, sh_t);
  host_tensor(&tx, x, TC_I64, 1, sh_all);
  host_tensor(&ty, y, TC_I64, 1, sh_all);
  cr_assert(ie_count_pairs(ctx, &tx, &ty, &tt, NULL) == IE_OK);
  tt.data = parts;
  host_tensor(&tx, x, TC_I64, 1, sh_a);
  host_tensor(&ty, y, TC_I64, 1, sh_a);
  cr_assert(ie_count_pairs(ctx, &tx, &ty, &tt, NULL) == IE_OK);
  host_tensor(&tx, x + 400, TC_I64, 1, sh_b);
  host_tensor(&ty, y + 400, TC_I64, 1, sh_b);
  cr_assert(ie_count_pairs(ctx, &tx, &ty, &tt, NULL) == IE_OK);
  int64_t total = 0;
  for (int i = 0; i < X * Y; i++) {
    cr_assert(whole[i] == parts[i], "cell %d: %lld vs %lld", i, (long long)whole[i], (long long)parts[i]);
    total += whole[i];
  }
  cr_assert(total == N);
  ie_context_destroy(ctx);
}

/* ---- errors ------------------------------------------------------------------------------ */

/* Float32 tables and outputs, which every backend takes. */
/* The failure's place as numbers (ie_error_tensor, _index, _row, _column). */
#define AT(ctx, tensor, index, row, col)                                                              \
  do {                                                                                               \
    const char *tn_ = ie_error_tensor(ctx);                                                          \
    cr_assert(tn_ && !strcmp(tn_, tensor) && ie_error_index(ctx) == (index) &&                     \
                  ie_error_row(ctx) == (row) && ie_error_column(ctx) == (col),                       \
              "place: %s [%lld, %lld, %lld], want %s [%lld, %lld, %lld] (%s)", tn_ ? tn_ : "NULL",     \
              (long long)ie_error_index(ctx), (long long)ie_error_row(ctx),                          \
              (long long)ie_error_column(ctx), tensor, (long long)(index), (long long)(row),          \
              (long long)(col), ie_errmsg(ctx));                                                     \
  } while (0)

static void errors(ie_backend b) {
  ie_context *ctx = backend_context(b);
  if (!has_discrete(ctx)) {
    ie_context_destroy(ctx);
    return;
  }
  /* Inconsistent counts: a cell above its row marginal. */
  float C[6] = {3, 1, 0, 2, 2, 1};
  float xc[2] = {4, 4}, yc[3] = {5, 3, 1};
  int64_t sc[2] = {2, 3}, sx[1] = {2}, sy[1] = {3};
  DLTensor tc_, tx, ty;
  host_tensor(&tc_, C, TC_F32, 2, sc);
  host_tensor(&tx, xc, TC_F32, 1, sx);
  host_tensor(&ty, yc, TC_F32, 1, sy);
  ie_pmi_options o = {sizeof o, IE_PMI_NORMALIZED, 0, 0, &tx, &ty, 0};
  float out[6] = {7, 7, 7, 7, 7, 7};
  DLTensor to;
  host_tensor(&to, out, TC_F32, 2, sc);
  xc[0] = 3.5f; /* C[0,0] = 3 <= 3.5 but C[0, *] sums fine; make a cell exceed: */
  xc[1] = 1.5f; /* C[1,0] = 2 > 1.5 */
  cr_assert_eq(ie_pmi(ctx, &tc_, &to, &o, NULL), IE_INVALID_ARGUMENT);
  cr_assert(strstr(ie_errmsg(ctx), "row 1, column 0"), "%s", ie_errmsg(ctx));
  cr_assert(strstr(ie_errmsg(ctx), "inconsistent"), "%s", ie_errmsg(ctx));
  AT(ctx, "counts", -1, 1, 0);
  for (int i = 0; i < 6; i++) cr_assert(out[i] == 7 || isnan(out[i]), "out touched with a value");
  xc[1] = 4;
  yc[2] = 0.5f; /* C[1,2] = 1 > 0.5 */
  cr_assert_eq(ie_pmi(ctx, &tc_, &to, &o, NULL), IE_INVALID_ARGUMENT);
  cr_assert(strstr(ie_errmsg(ctx), "row 1, column 2"), "%s", ie_errmsg(ctx));
  AT(ctx, "counts", -1, 1, 2);
  yc[2] = -2; /* a negative marginal: the marginal's element */
  cr_assert_eq(ie_pmi(ctx, &tc_, &to, &o, NULL), IE_NEGATIVE);
  AT(ctx, "y_counts", -1, 2, -1);
  yc[2] = 1;
  xc[1] = NAN;
  cr_assert_eq(ie_pmi(ctx, &tc_, &to, &o, NULL), IE_NONFINITE);
  AT(ctx, "x_counts", -1, 1, -1);
  xc[1] = 40; /* above the total given */
  o.total = 20;
  cr_assert_eq(ie_pmi(ctx, &tc_, &to, &o, NULL), IE_INVALID_ARGUMENT);
  AT(ctx, "x_counts", -1, 1, -1);
  o.total = 0;
  xc[1] = 4;
  cr_assert_eq(ie_pmi(ctx, &tc_, &to, &o, NULL), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert_eq(ie_errcode(ctx), IE_OK); /* no stale error */
  cr_assert(ie_error_tensor(ctx) == NULL && ie_error_row(ctx) == -1 && ie_error_column(ctx) == -1);
  for (int i = 0; i < 6; i++) cr_assert(out[i] >= -1 && out[i] <= 1);
  /* Negative count. */
  C[4] = -1;
  cr_assert_eq(ie_pmi(ctx, &tc_, NULL, NULL, NULL), IE_NEGATIVE);
  cr_assert(strstr(ie_errmsg(ctx), "row 1, column 1"), "%s", ie_errmsg(ctx));
  AT(ctx, "counts", -1, 1, 1);
  ie_table_mi_result tr;
  cr_assert_eq(ie_table_mi(ctx, &tc_, NULL, &tr), IE_NEGATIVE);
  AT(ctx, "counts", -1, 1, 1);
  C[4] = NAN;
  cr_assert_eq(ie_table_mi(ctx, &tc_, NULL, &tr), IE_NONFINITE);
  AT(ctx, "counts", -1, 1, 1);
  C[4] = 0.5f; /* AMI needs integer margins: row 1 sums to 3.5 */
  cr_assert_eq(ie_table_mi(ctx, &tc_, NULL, &tr), IE_INVALID_ARGUMENT);
  cr_assert(strstr(ie_errmsg(ctx), "integer"), "%s", ie_errmsg(ctx));
  AT(ctx, "counts", -1, 1, -1);
  C[4] = 2;
  C[0] = 2.25f; /* row 0 sums to 3.25 and column 0 to 4.25: row 0 named first */
  cr_assert_eq(ie_table_mi(ctx, &tc_, NULL, &tr), IE_INVALID_ARGUMENT);
  AT(ctx, "counts", -1, 0, -1);
  C[0] = 3;
  C[1] = 1.5f; /* rows sum to 5 and 5; column 1 to 3.5 (and column 2 to 1.5) */
  C[2] = 0.5f;
  cr_assert_eq(ie_table_mi(ctx, &tc_, NULL, &tr), IE_INVALID_ARGUMENT);
  AT(ctx, "counts", -1, -1, 1);
  C[1] = 1;
  C[2] = 0;
  C[4] = 0.5f;
  {
    /* A batch [B, X, Y]: the table is the index. */
    float CB[3 * 6];
    for (int k = 0; k < 18; k++) CB[k] = (float)(1 + k % 4);
    CB[2 * 6 + 1 * 3 + 2] = -3; /* table 2, row 1, column 2 */
    int64_t sb[3] = {3, 2, 3};
    DLTensor tb;
    host_tensor(&tb, CB, TC_F32, 3, sb);
    ie_table_mi_result trb[3];
    cr_assert_eq(ie_table_mi(ctx, &tb, NULL, trb), IE_NEGATIVE);
    AT(ctx, "counts", 2, 1, 2);
    CB[2 * 6 + 1 * 3 + 2] = 1;
    for (int k = 6; k < 12; k++) CB[k] = 0; /* table 1 holds no counts */
    cr_assert_eq(ie_table_mi(ctx, &tb, NULL, trb), IE_EMPTY_ROW);
    AT(ctx, "counts", 1, -1, -1);
  }
  ie_table_mi_options skip = {sizeof skip, IE_AVERAGE_ARITHMETIC, 1};
  cr_assert_eq(ie_table_mi(ctx, &tc_, &skip, &tr), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(isnan(tr.ami) && tr.mi > 0);
  /* Empty table. */
  float Z[6] = {0};
  tc_.data = Z;
  cr_assert_eq(ie_pmi(ctx, &tc_, NULL, NULL, NULL), IE_EMPTY_ROW);
  AT(ctx, "counts", -1, -1, -1);
  cr_assert_eq(ie_table_mi(ctx, &tc_, NULL, &tr), IE_EMPTY_ROW);
  AT(ctx, "counts", -1, -1, -1);

  /* Labels out of range: named, nothing added. */
  int32_t lx[4] = {0, 1, 2, 1}, ly[8] = {0, 1, 1, 0, 2, 0, 1, 3};
  int64_t tab[6] = {0};
  int64_t sl[1] = {4}, sk[2] = {4, 2}, st[2] = {3, 2};
  DLTensor ttx, tty, ttt;
  host_tensor(&ttx, lx, TC_I32, 1, sl);
  host_tensor(&tty, ly, TC_I32, 2, sk);
  host_tensor(&ttt, tab, TC_I64, 2, st);
  cr_assert_eq(ie_count_pairs(ctx, &ttx, &tty, &ttt, NULL), IE_BAD_LABEL);
  cr_assert(strstr(ie_errmsg(ctx), "'y', row 2, column 0"), "%s", ie_errmsg(ctx));
  AT(ctx, "y", -1, 2, 0);
  for (int i = 0; i < 6; i++) cr_assert(tab[i] == 0, "a failed count added to the table");
  ly[4] = 1;
  ly[7] = 1;
  lx[3] = -1;
  cr_assert_eq(ie_count_pairs(ctx, &ttx, &tty, &ttt, NULL), IE_BAD_LABEL);
  cr_assert(strstr(ie_errmsg(ctx), "'x', row 3"), "%s", ie_errmsg(ctx));
  ie_count_options ign = {sizeof ign, -1, 1};
  cr_assert_eq(ie_count_pairs(ctx, &ttx, &tty, &ttt, &ign), IE_OK, "%s", ie_errmsg(ctx));
  int64_t sum = 0;
  for (int i = 0; i < 6; i++) sum += tab[i];
  cr_assert_eq(sum, 6); /* row 3 ignored */
  /* Shapes. */
  int64_t sk3[2] = {3, 2};
  tty.shape = sk3;
  cr_assert_eq(ie_count_pairs(ctx, &ttx, &tty, &ttt, NULL), IE_BAD_SHAPE);

  /* PID: negative probability, no mass, bad shape. */
  float J[8] = {0.1f, 0.2f, 0.1f, 0.1f, 0.2f, 0.1f, 0.1f, 0.1f};
  int64_t sj[3] = {2, 2, 2}, sj2[2] = {2, 4};
  DLTensor tj;
  host_tensor(&tj, J, TC_F32, 3, sj);
  ie_pid_result pr;
  ie_pid_options po = {sizeof po, IE_PID_BROJA};
  cr_assert_eq(ie_pid(ctx, &tj, &po, &pr, NULL), IE_OK, "%s", ie_errmsg(ctx));
  J[3] = -0.1f;
  for (int m = 0; m < 3; m++) {
    po.measure = (ie_pid_measure)m;
    cr_assert_eq(ie_pid(ctx, &tj, &po, &pr, NULL), IE_NEGATIVE, "measure %d", m);
    AT(ctx, "joint", -1, -1, -1); /* one joint: the whole tensor */
  }
  {
    /* A batch [B, S1, S2, T]: the joint is the index. */
    float JB[4 * 8];
    for (int k = 0; k < 32; k++) JB[k] = 0.125f;
    JB[2 * 8 + 5] = NAN;
    int64_t sjb[4] = {4, 2, 2, 2};
    DLTensor tjb;
    host_tensor(&tjb, JB, TC_F32, 4, sjb);
    ie_pid_result prb[4];
    for (int m = 0; m < 3; m++) {
      po.measure = (ie_pid_measure)m;
      cr_assert_eq(ie_pid(ctx, &tjb, &po, prb, NULL), IE_NONFINITE, "measure %d", m);
      AT(ctx, "joint", 2, -1, -1);
    }
    JB[2 * 8 + 5] = 0.125f;
    for (int k = 24; k < 32; k++) JB[k] = 0;
    cr_assert_eq(ie_pid(ctx, &tjb, &po, prb, NULL), IE_EMPTY_ROW);
    AT(ctx, "joint", 3, -1, -1);
  }
  memset(J, 0, sizeof J);
  cr_assert_eq(ie_pid(ctx, &tj, &po, &pr, NULL), IE_EMPTY_ROW);
  cr_assert(strstr(ie_errmsg(ctx), "no mass"), "%s", ie_errmsg(ctx));
  tj.shape = sj2;
  tj.ndim = 2;
  cr_assert_eq(ie_pid(ctx, &tj, &po, &pr, NULL), IE_BAD_SHAPE);

  /* Gaussian: not positive definite; sizes that do not add up. */
  float G[9] = {1, 2, 0, 2, 1, 0, 0, 0, 1};
  int64_t sg[2] = {3, 3}, sizes[3] = {1, 1, 1}, bad_sizes[3] = {1, 1, 2};
  DLTensor tg;
  host_tensor(&tg, G, TC_F32, 2, sg);
  cr_assert_eq(ie_pid_gaussian(ctx, &tg, sizes, NULL, &pr), IE_INVALID_ARGUMENT);
  cr_assert(strstr(ie_errmsg(ctx), "positive definite"), "%s", ie_errmsg(ctx));
  AT(ctx, "cov", -1, -1, -1);
  G[1] = 0.5; /* G[3] still 2 */
  cr_assert_eq(ie_pid_gaussian(ctx, &tg, sizes, NULL, &pr), IE_INVALID_ARGUMENT);
  cr_assert(strstr(ie_errmsg(ctx), "symmetric"), "%s", ie_errmsg(ctx));
  AT(ctx, "cov", -1, 1, 0);
  G[7] = NAN;
  cr_assert_eq(ie_pid_gaussian(ctx, &tg, sizes, NULL, &pr), IE_NONFINITE);
  AT(ctx, "cov", -1, 2, 1);
  G[7] = 0;
  G[1] = G[3] = 0.5;
  cr_assert_eq(ie_pid_gaussian(ctx, &tg, bad_sizes, NULL, &pr), IE_BAD_SHAPE);
  cr_assert_eq(ie_pid_gaussian(ctx, &tg, sizes, NULL, &pr), IE_OK, "%s", ie_errmsg(ctx));
  ie_context_destroy(ctx);
}

/* Pointwise MMI against the formula, and a NaN named. */
static void pointwise(ie_backend be) {
  {
    ie_context *ctx = backend_context(be);
    if (!has_discrete(ctx)) {
      ie_context_destroy(ctx);
      return;
    }
    enum { H = 37, W = 53 };
    static float a[H * W], b[H * W], c[H * W], r[H * W], u1[H * W], u2[H * W], s[H * W];
    uint64_t st = 99;
    for (int i = 0; i < H * W; i++) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      a[i] = (float)((st >> 40) % 1000) / 300.0f;
      b[i] = (float)((st >> 20) % 1000) / 300.0f;
      c[i] = fmaxf(a[i], b[i]) + (float)((st >> 50) % 100) / 100.0f;
    }
    int64_t sh[2] = {H, W};
    DLTensor ta, tb, tc2, tr, tu1, tu2, ts;
    host_tensor(&ta, a, TC_F32, 2, sh);
    host_tensor(&tb, b, TC_F32, 2, sh);
    host_tensor(&tc2, c, TC_F32, 2, sh);
    host_tensor(&tr, r, TC_F32, 2, sh);
    host_tensor(&tu1, u1, TC_F32, 2, sh);
    host_tensor(&tu2, u2, TC_F32, 2, sh);
    host_tensor(&ts, s, TC_F32, 2, sh);
    cr_assert_eq(ie_pid_pointwise(ctx, &ta, &tb, &tc2, &tr, &tu1, &tu2, &ts), IE_OK, "%s", ie_errmsg(ctx));
    for (int i = 0; i < H * W; i++) {
      const double m = fmin((double)a[i], (double)b[i]);
      cr_assert(r[i] == (float)m && u1[i] == (float)(a[i] - m) && u2[i] == (float)(b[i] - m) &&
                    s[i] == (float)((double)c[i] - fmax((double)a[i], (double)b[i])),
                "element %d", i);
    }
    b[100] = NAN;
    cr_assert_eq(ie_pid_pointwise(ctx, &ta, &tb, &tc2, &tr, NULL, NULL, NULL), IE_NONFINITE);
    cr_assert(strstr(ie_errmsg(ctx), "element 100") && strstr(ie_errmsg(ctx), "'i2'"), "%s", ie_errmsg(ctx));
    AT(ctx, "i2", -1, 100 / W, 100 % W);
    b[100] = 1;
    c[H * W - 1] = INFINITY;
    cr_assert_eq(ie_pid_pointwise(ctx, &ta, &tb, &tc2, &tr, NULL, NULL, NULL), IE_NONFINITE);
    AT(ctx, "i12", -1, H - 1, W - 1);
    /* 3-D [H, 1, W], a batch of maps: index, row, column. */
    int64_t sh3[3] = {H, 1, W};
    ta.ndim = tb.ndim = tc2.ndim = tr.ndim = 3;
    ta.shape = tb.shape = tc2.shape = tr.shape = sh3;
    c[H * W - 1] = 1;
    a[5 * W + 7] = NAN;
    cr_assert_eq(ie_pid_pointwise(ctx, &ta, &tb, &tc2, &tr, NULL, NULL, NULL), IE_NONFINITE);
    AT(ctx, "i1", 5, 0, 7);
    ie_context_destroy(ctx);
  }
}

/* ---- device tensors ---------------------------------------------------------------------- */

/* Memory of the context's device (cl_mem or a CUDA pointer), for tensors the
 * caller keeps there (no staging). */
static void *dev_alloc(ie_context *ctx, size_t bytes) {
  void *p = NULL;
#if IE_TEST_HAVE_OPENCL
  if (ie_context_backend(ctx) == IE_BACKEND_OPENCL) {
    cl_context c = NULL;
    cr_assert(ie_opencl_get_context(ctx, &c, NULL, NULL) == IE_OK);
    cl_int e = CL_SUCCESS;
    p = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
    cr_assert(e == CL_SUCCESS, "clCreateBuffer: %d", (int)e);
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (ie_context_backend(ctx) == IE_BACKEND_CUDA)
    cr_assert(cudaMalloc(&p, bytes) == cudaSuccess, "cudaMalloc");
#endif
  (void)ctx, (void)bytes;
  cr_assert(p, "no device memory");
  return p;
}

static void dev_put(ie_context *ctx, void *buf, const void *src, size_t bytes) {
#if IE_TEST_HAVE_OPENCL
  if (ie_context_backend(ctx) == IE_BACKEND_OPENCL) {
    cl_command_queue q = NULL;
    cr_assert(ie_opencl_get_context(ctx, NULL, NULL, &q) == IE_OK);
    cr_assert(clEnqueueWriteBuffer(q, (cl_mem)buf, CL_TRUE, 0, bytes, src, 0, NULL, NULL) == CL_SUCCESS);
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (ie_context_backend(ctx) == IE_BACKEND_CUDA)
    cr_assert(cudaMemcpy(buf, src, bytes, cudaMemcpyHostToDevice) == cudaSuccess);
#endif
  (void)ctx, (void)buf, (void)src, (void)bytes;
}

static void dev_get(ie_context *ctx, void *dst, void *buf, size_t bytes) {
#if IE_TEST_HAVE_OPENCL
  if (ie_context_backend(ctx) == IE_BACKEND_OPENCL) {
    cl_command_queue q = NULL;
    cr_assert(ie_opencl_get_context(ctx, NULL, NULL, &q) == IE_OK);
    cr_assert(clEnqueueReadBuffer(q, (cl_mem)buf, CL_TRUE, 0, bytes, dst, 0, NULL, NULL) == CL_SUCCESS);
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (ie_context_backend(ctx) == IE_BACKEND_CUDA)
    cr_assert(cudaMemcpy(dst, buf, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
#endif
  (void)ctx, (void)dst, (void)buf, (void)bytes;
}

static void dev_free(ie_context *ctx, void *buf) {
#if IE_TEST_HAVE_OPENCL
  if (ie_context_backend(ctx) == IE_BACKEND_OPENCL) clReleaseMemObject((cl_mem)buf);
#endif
#if IE_TEST_HAVE_CUDA
  if (ie_context_backend(ctx) == IE_BACKEND_CUDA) cudaFree(buf);
#endif
  (void)ctx, (void)buf;
}

static void dev_tensor(ie_context *ctx, DLTensor *t, void *buf, DLDataType dt, int ndim, int64_t *shape,
                       int64_t *strides, uint64_t byte_offset) {
  memset(t, 0, sizeof *t);
  t->data = buf;
  t->device.device_type = ie_context_backend(ctx) == IE_BACKEND_CUDA ? kDLCUDA : kDLOpenCL;
  t->device.device_id = 0;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = shape;
  t->strides = strides;
  t->byte_offset = byte_offset;
}

/* The joints of a pid check in device memory (at a byte offset) into a
 * device `out` (float32, at a byte offset; results NULL): R, U1, U2, S within
 * tol of dit's float64 values and equal to the host call's `host` (rounded to
 * float32), nothing written before the offset.  A warm imin / MMI call
 * allocates nothing, uploads nothing and reads back only its verdict (one
 * long).  A negative cell in the last joint is IE_NEGATIVE naming that joint
 * (ie_error_index), and NaN in the first as well names the first (the
 * device's fold keeps the smallest); `out` is left as it was. */
static void pid_device_out(ie_context *ctx, const check *k, const arr *j, const double *ex,
                           const ie_pid_result *host, const ie_pid_options *o, double tol) {
  enum { JOFF = 3, OOFF = 5 };
  cr_assert(j->t.dtype.code == kDLFloat && j->t.dtype.bits == 32, "%s: joints narrowed", k->name);
  const int batched = j->ndim == 4;
  const int64_t B = batched ? j->shape[0] : 1, n = arr_count(j) / B;
  float *hj = calloc((size_t)(JOFF + B * n), sizeof *hj);
  float *ho = malloc(sizeof *ho * (size_t)(OOFF + 4 * B)), *before = malloc(sizeof *ho * (size_t)(OOFF + 4 * B));
  memcpy(hj + JOFF, j->data, sizeof *hj * (size_t)(B * n));
  for (int64_t q = 0; q < OOFF + 4 * B; q++) ho[q] = NAN;
  void *dj = dev_alloc(ctx, sizeof *hj * (size_t)(JOFF + B * n)), *dout = dev_alloc(ctx, sizeof *ho * (size_t)(OOFF + 4 * B));
  dev_put(ctx, dj, hj, sizeof *hj * (size_t)(JOFF + B * n));
  dev_put(ctx, dout, ho, sizeof *ho * (size_t)(OOFF + 4 * B));
  int64_t jshape[4], oshape[2] = {B, 4};
  for (int d = 0; d < j->ndim; d++) jshape[d] = j->shape[d];
  DLTensor tj, to;
  dev_tensor(ctx, &tj, dj, TC_F32, j->ndim, jshape, NULL, JOFF * sizeof(float));
  dev_tensor(ctx, &to, dout, TC_F32, batched ? 2 : 1, batched ? oshape : oshape + 1, NULL, OOFF * sizeof(float));
  cr_assert_eq(ie_pid(ctx, &tj, o, NULL, &to), IE_OK, "%s: device out: %s", k->name, ie_errmsg(ctx));
  dev_get(ctx, ho, dout, sizeof *ho * (size_t)(OOFF + 4 * B));
  for (int q = 0; q < OOFF; q++) cr_assert(isnan(ho[q]), "%s: element %d before the offset written", k->name, q);
  static const char *const names[4] = {"R", "U1", "U2", "S"};
  for (int64_t b = 0; b < B; b++) {
    const double want[4] = {host[b].redundancy, host[b].unique1, host[b].unique2, host[b].synergy};
    for (int q = 0; q < 4; q++) {
      const float got = ho[OOFF + 4 * b + q];
      cr_assert(near(got, ex[7 * b + q], fmax(tol, 1e-6)) && got >= 0,
                "%s: device out, joint %lld: %s = %.9g, dit %.17g", k->name, (long long)b, names[q], got,
                ex[7 * b + q]);
      cr_assert(got == (float)want[q], "%s: device out, joint %lld: %s = %.9g, the host results' %.9g", k->name,
                (long long)b, names[q], got, (float)want[q]);
    }
  }
  {
    ie_workspace_info w0 = {.size = sizeof w0}, w1 = {.size = sizeof w1};
    cr_assert(ie_workspace_query(ctx, &w0) == IE_OK);
    cr_assert_eq(ie_pid(ctx, &tj, o, NULL, &to), IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
    cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
    cr_assert(w1.device_allocations == w0.device_allocations && w1.host_allocations == w0.host_allocations,
              "%s: a warm call allocated", k->name);
    cr_assert(w1.bytes_to_device == w0.bytes_to_device && w1.bytes_to_host - w0.bytes_to_host == 8,
              "%s: a warm call moved %llu bytes up and %llu down; expected 0 and 8", k->name,
              (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device),
              (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host));
  }
  memcpy(before, ho, sizeof *ho * (size_t)(OOFF + 4 * B));
  hj[JOFF + (B - 1) * n + n / 2] = -0.25f;
  dev_put(ctx, dj, hj, sizeof *hj * (size_t)(JOFF + B * n));
  cr_assert_eq(ie_pid(ctx, &tj, o, NULL, &to), IE_NEGATIVE, "%s: %s", k->name, ie_errmsg(ctx));
  AT(ctx, "joint", batched ? B - 1 : -1, -1, -1);
  cr_assert(strstr(ie_errmsg(ctx), "negative"), "%s", ie_errmsg(ctx));
  /* Asking for nothing still checks. */
  cr_assert_eq(ie_pid(ctx, &tj, o, NULL, NULL), IE_NEGATIVE, "%s: %s", k->name, ie_errmsg(ctx));
  AT(ctx, "joint", batched ? B - 1 : -1, -1, -1);
  if (batched) {
    char which[48];
    snprintf(which, sizeof which, "joint %lld", (long long)(B - 1));
    cr_assert(strstr(ie_errmsg(ctx), which), "%s: %s", k->name, ie_errmsg(ctx));
    hj[JOFF + 1] = NAN;
    dev_put(ctx, dj, hj, sizeof *hj * (size_t)(JOFF + B * n));
    cr_assert_eq(ie_pid(ctx, &tj, o, NULL, &to), IE_NONFINITE, "%s: %s", k->name, ie_errmsg(ctx));
    AT(ctx, "joint", 0, -1, -1);
  }
  dev_get(ctx, ho, dout, sizeof *ho * (size_t)(OOFF + 4 * B));
  cr_assert(!memcmp(ho, before, sizeof *ho * (size_t)(OOFF + 4 * B)), "%s: a failed call changed 'out'", k->name);
  /* Fixed again: a good call, no stale error. */
  memcpy(hj + JOFF, j->data, sizeof *hj * (size_t)(B * n));
  dev_put(ctx, dj, hj, sizeof *hj * (size_t)(JOFF + B * n));
  cr_assert_eq(ie_pid(ctx, &tj, o, NULL, &to), IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  cr_assert(ie_error_tensor(ctx) == NULL, "%s: stale error place '%s'", k->name, ie_error_tensor(ctx));
  cr_assert_eq(ie_pid(ctx, &tj, o, NULL, NULL), IE_OK, "%s: %s", k->name, ie_errmsg(ctx));
  dev_free(ctx, dj), dev_free(ctx, dout);
  free(hj), free(ho), free(before);
}

/* ---- BROJA of a batch ------------------------------------------------------------------- */

/* BROJA of `B` joints [S1, S2, T] (float32, host) on ctx, one call. */
static ie_pid_result *broja_of(ie_context *ctx, const float *j, int64_t B, int64_t S1, int64_t S2,
                               int64_t T) {
  int64_t sh[4] = {B, S1, S2, T};
  DLTensor t;
  host_tensor(&t, (void *)j, TC_F32, 4, sh);
  ie_pid_result *r = calloc((size_t)B, sizeof *r);
  ie_pid_options o = {sizeof o, IE_PID_BROJA};
  cr_assert(ie_pid(ctx, &t, &o, r, NULL) == IE_OK, "broja [%lld, %lld, %lld, %lld]: %s", (long long)B,
            (long long)S1, (long long)S2, (long long)T, ie_errmsg(ctx));
  return r;
}

static void pid_values(const ie_pid_result *r, double v[7]) {
  v[0] = r->redundancy, v[1] = r->unique1, v[2] = r->unique2, v[3] = r->synergy;
  v[4] = r->mi1, v[5] = r->mi2, v[6] = r->mi12;
}

/* Every result non-negative and the three consistency equations of
 * docs/SPEC.md §9 to rounding. */
static void pid_consistent(const char *what, const ie_pid_result *r, int64_t B) {
  for (int64_t b = 0; b < B; b++) {
    double v[7];
    pid_values(&r[b], v);
    for (int q = 0; q < 7; q++) cr_assert(v[q] >= 0, "%s: joint %lld: value %d = %g < 0", what, (long long)b, q, v[q]);
    cr_assert(fabs(v[4] - v[0] - v[1]) <= 1e-12 * fmax(1, v[4]), "%s: joint %lld: I1 != R + U1", what, (long long)b);
    cr_assert(fabs(v[5] - v[0] - v[2]) <= 1e-12 * fmax(1, v[5]), "%s: joint %lld: I2 != R + U2", what, (long long)b);
    cr_assert(fabs(v[6] - v[0] - v[1] - v[2] - v[3]) <= 1e-12 * fmax(1, v[6]),
              "%s: joint %lld: I12 = %.17g != R + U1 + U2 + S = %.17g + %.17g + %.17g + %.17g", what, (long long)b, v[6], v[0], v[1], v[2], v[3]);
  }
}

/* Random joints [B, S1, S2, T]: Dirichlet-like masses (−log u)^3, some
 * cells 0, some joints confident (one cell e^25 times the others). */
static float *random_joints(int64_t B, int64_t n, uint64_t seed) {
  float *j = malloc((size_t)(B * n) * sizeof *j);
  uint64_t st = seed;
  for (int64_t b = 0; b < B; b++) {
    for (int64_t k = 0; k < n; k++) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      const double u = ((double)(st >> 11) + 0.5) / 9007199254740992.0;
      const double e = -log(u);
      j[b * n + k] = (float)(e * e * e);
      if (b % 7 == 3 && k % 5 == 1) j[b * n + k] = 0; /* structural zeros */
    }
    if (b % 11 == 5) j[b * n + (b % n)] = (float)(exp(25.0) * j[b * n + (b % n)] + 1.0);
  }
  return j;
}

/* BROJA of 1000 joints 2 × 2 × 2 (tests/gen_broja_batch.py's float64
 * reference, an exact line search independent of the library's solver),
 * the textbook ones against their closed forms, and batches of 3 × 3 × 3 and
 * 2 × 3 × 4 joints against the CPU backend's results, all in one call a
 * batch. */
static void broja_batch(ie_backend be) {
  ie_context *ctx = backend_context(be);
  if (!has_discrete(ctx)) {
    ie_context_destroy(ctx);
    return;
  }
  const char *name = ie_backend_name(be);
  arr j, e;
  arr_load(&j, "disc_broja_batch_j.npy");
  arr_load(&e, "disc_broja_batch_expect.npy");
  cr_assert(j.ndim == 4 && j.t.dtype.bits == 32 && j.shape[0] >= 1000, "disc_broja_batch_j.npy");
  const int64_t B = j.shape[0];
  ie_pid_result *r = broja_of(ctx, j.data, B, 2, 2, 2);
  static const char *const names[7] = {"R", "U1", "U2", "S", "I1", "I2", "I12"};
  int64_t steps = 0;
  for (int64_t b = 0; b < B; b++) {
    double v[7];
    pid_values(&r[b], v);
    for (int q = 0; q < 7; q++)
      cr_assert(near(v[q], ((double *)e.data)[7 * b + q], q < 4 ? 1e-7 : 1e-9),
                "%s: batch joint %lld: %s = %.17g, the float64 reference %.17g", name, (long long)b, names[q],
                v[q], ((double *)e.data)[7 * b + q]);
    steps += r[b].iterations;
  }
  pid_consistent(name, r, B);
  cr_assert(steps > B, "%s: %lld Newton steps for %lld joints", name, (long long)steps, (long long)B);
  /* Joints that are exact copies give the same bits. */
  for (int64_t b = 1; b < B; b++)
    for (int64_t a = b - 1; a >= 0 && a >= b - 1000; a--)
      if (!memcmp((float *)j.data + 8 * b, (float *)j.data + 8 * a, 8 * sizeof(float))) {
        double va[7], vb[7];
        pid_values(&r[a], va);
        pid_values(&r[b], vb);
        cr_assert(!memcmp(va, vb, sizeof va), "%s: joints %lld and %lld are equal, their BROJA not", name,
                  (long long)a, (long long)b);
        break;
      }
  free(r);

  /* Textbook joints (uniform inputs), closed forms in nats:
   * XOR: S = log 2; AND: R = I(S1;T) = h(1/4) − ½ log 2, S = ½ log 2;
   * unique (T = S1): U1 = log 2; redundant (S1 = S2 = T): R = log 2;
   * COPY (T = (S1, S2), 2 × 2 × 4): U1 = U2 = log 2. */
  {
    const double l2 = log(2.0), h14 = -(0.25 * log(0.25) + 0.75 * log(0.75));
    float tb[4 * 8];
    memset(tb, 0, sizeof tb);
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 2; k++) {
        tb[0 * 8 + (i * 2 + k) * 2 + (i ^ k)] = 0.25f; /* XOR */
        tb[1 * 8 + (i * 2 + k) * 2 + (i & k)] = 0.25f; /* AND */
        tb[2 * 8 + (i * 2 + k) * 2 + i] = 0.25f;       /* unique */
      }
    tb[3 * 8 + 0] = tb[3 * 8 + 7] = 0.5f; /* redundant */
    const double want[4][4] = {{0, 0, 0, l2}, {h14 - 0.5 * l2, 0, 0, 0.5 * l2}, {0, l2, 0, 0}, {l2, 0, 0, 0}};
    static const char *const which[4] = {"XOR", "AND", "unique", "redundant"};
    ie_pid_result *t = broja_of(ctx, tb, 4, 2, 2, 2);
    for (int b = 0; b < 4; b++) {
      double v[7];
      pid_values(&t[b], v);
      for (int q = 0; q < 4; q++)
        cr_assert(near(v[q], want[b][q], 1e-7), "%s: %s: %s = %.17g, the closed form %.17g", name, which[b],
                  names[q], v[q], want[b][q]);
    }
    free(t);
    float cp[16];
    memset(cp, 0, sizeof cp);
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 2; k++) cp[(i * 2 + k) * 4 + (i * 2 + k)] = 0.25f;
    t = broja_of(ctx, cp, 1, 2, 2, 4);
    const double wc[4] = {0, l2, l2, 0};
    for (int q = 0; q < 4; q++) {
      double v[7];
      pid_values(t, v);
      cr_assert(near(v[q], wc[q], 1e-7), "%s: COPY: %s = %.17g, the closed form %.17g", name, names[q], v[q], wc[q]);
    }
    free(t);
  }

  /* Larger joints: this backend against the CPU's (the same solver, the
   * same float32 inputs) to 1e-9, and consistent. */
  {
    static const int64_t shapes[2][4] = {{200, 3, 3, 3}, {100, 2, 3, 4}};
    ie_context *cpu = be == IE_BACKEND_CPU ? NULL : backend_context(IE_BACKEND_CPU);
    for (int c = 0; c < 2; c++) {
      const int64_t nb = shapes[c][0], S1 = shapes[c][1], S2 = shapes[c][2], T = shapes[c][3];
      float *jj = random_joints(nb, S1 * S2 * T, 77 + (uint64_t)c);
      ie_pid_result *got = broja_of(ctx, jj, nb, S1, S2, T);
      pid_consistent(name, got, nb);
      if (cpu) {
        ie_pid_result *ref = broja_of(cpu, jj, nb, S1, S2, T);
        for (int64_t b = 0; b < nb; b++) {
          double v[7], w[7];
          pid_values(&got[b], v);
          pid_values(&ref[b], w);
          for (int q = 0; q < 7; q++)
            cr_assert(near(v[q], w[q], 1e-9), "%s: [%lld, %lld, %lld] joint %lld: %s = %.17g, the CPU's %.17g",
                      name, (long long)S1, (long long)S2, (long long)T, (long long)b, names[q], v[q], w[q]);
        }
        free(ref);
      }
      for (int64_t b = 0; b < nb; b++)
        cr_assert(got[b].iterations > 0, "%s: joint %lld: no Newton step", name, (long long)b);
      free(got);
      free(jj);
    }
    if (cpu) ie_context_destroy(cpu);
  }
  arr_free(&j), arr_free(&e);
  ie_context_destroy(ctx);
}

#if IE_TEST_HAVE_OPENCL || IE_TEST_HAVE_CUDA /* (device memory: a GPU backend) */
/* Labels and table in device memory (strided labels, a table at a byte
 * offset holding a previous shard's counts): the count adds exactly what a
 * plain loop counts, a bad label is named and adds nothing, and MI / PMI of
 * the device table (PMI into a device output) agree with the CPU's. */
static void device_tensors(ie_backend b) {
  ie_context *ctx = backend_context(b);
  if (!has_discrete(ctx)) {
    ie_context_destroy(ctx);
    return;
  }
  enum { N = 5000, K = 3, KS = 4, X = 37, Y = 11, XS = 2, TOFF = 8 };
  int32_t *x = calloc(N * XS, sizeof *x);
  int64_t *y = calloc(N * KS, sizeof *y);
  int64_t *tab = calloc(TOFF + X * Y, sizeof *tab), *want = calloc(X * Y, sizeof *want),
          *got = calloc(TOFF + X * Y, sizeof *got);
  uint64_t st = 2024;
  for (int i = 0; i < N; i++) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    /* Zipf-like rows: small labels far more often. */
    const int64_t r = (int64_t)((st >> 33) % 1000);
    x[i * XS] = i % 97 == 5 ? -1 : (int32_t)((r * r) / 27028); /* < 37 */
    for (int j = 0; j < K; j++) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      y[i * KS + j] = j == 2 && i % 13 == 0 ? -1 : (int64_t)((st >> 40) % Y);
    }
  }
  for (int c = 0; c < X * Y; c++) tab[TOFF + c] = want[c] = c % 5; /* an earlier shard */
  for (int i = 0; i < N; i++)
    for (int j = 0; j < K; j++)
      if (x[i * XS] != -1 && y[i * KS + j] != -1) want[x[i * XS] * Y + y[i * KS + j]]++;
  void *dx = dev_alloc(ctx, sizeof *x * N * XS), *dy = dev_alloc(ctx, sizeof *y * N * KS),
       *dt = dev_alloc(ctx, sizeof *tab * (TOFF + X * Y));
  dev_put(ctx, dx, x, sizeof *x * N * XS);
  dev_put(ctx, dy, y, sizeof *y * N * KS);
  dev_put(ctx, dt, tab, sizeof *tab * (TOFF + X * Y));
  int64_t shx[1] = {N}, stx[1] = {XS}, shy[2] = {N, K}, sty[2] = {KS, 1}, sht[2] = {X, Y};
  DLTensor tx, ty, tt;
  dev_tensor(ctx, &tx, dx, TC_I32, 1, shx, stx, 0);
  dev_tensor(ctx, &ty, dy, TC_I64, 2, shy, sty, 0);
  dev_tensor(ctx, &tt, dt, TC_I64, 2, sht, NULL, TOFF * sizeof(int64_t));
  ie_count_options ign = {sizeof ign, -1, 1};
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, &ign), IE_OK, "%s", ie_errmsg(ctx));
  dev_get(ctx, got, dt, sizeof *got * (TOFF + X * Y));
  for (int c = 0; c < X * Y; c++)
    cr_assert(got[TOFF + c] == want[c], "cell %d: %lld, expected %lld", c, (long long)got[TOFF + c],
              (long long)want[c]);
  /* A label out of range: named, nothing added. */
  y[1234 * KS + 2] = Y;
  dev_put(ctx, dy, y, sizeof *y * N * KS);
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, &ign), IE_BAD_LABEL);
  cr_assert(strstr(ie_errmsg(ctx), "'y', row 1234, column 2"), "%s", ie_errmsg(ctx));
  dev_get(ctx, got, dt, sizeof *got * (TOFF + X * Y));
  for (int c = 0; c < X * Y; c++) cr_assert(got[TOFF + c] == want[c], "a failed count changed cell %d", c);

  /* MI / PMI of the device table against the CPU's on a host copy. */
  ie_context *cpu = tc_context(IE_BACKEND_CPU);
  DLTensor th;
  host_tensor(&th, want, TC_I64, 2, sht);
  ie_table_mi_result rd, rh;
  cr_assert_eq(ie_table_mi(ctx, &tt, NULL, &rd), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert_eq(ie_table_mi(cpu, &th, NULL, &rh), IE_OK, "%s", ie_errmsg(cpu));
  cr_assert(near(rd.mi, rh.mi, 1e-12) && near(rd.nmi, rh.nmi, 1e-12) && near(rd.ami, rh.ami, 1e-12),
            "device MI %.17g NMI %.17g AMI %.17g; cpu %.17g %.17g %.17g", rd.mi, rd.nmi, rd.ami, rh.mi,
            rh.nmi, rh.ami);
  float *po = calloc(4 + X * Y, sizeof *po);
  double *ph = calloc(X * Y, sizeof *ph);
  void *dpo = dev_alloc(ctx, sizeof *po * (4 + X * Y));
  DLTensor tpo, tph;
  dev_tensor(ctx, &tpo, dpo, TC_F32, 2, sht, NULL, 4 * sizeof(float));
  host_tensor(&tph, ph, TC_F64, 2, sht);
  ie_pmi_options po_opt = {sizeof po_opt, IE_PMI_NORMALIZED, 2, 0.5, NULL, NULL, 0};
  ie_pmi_result pd, phr;
  cr_assert_eq(ie_pmi(ctx, &tt, &tpo, &po_opt, &pd), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert_eq(ie_pmi(cpu, &th, &tph, &po_opt, &phr), IE_OK, "%s", ie_errmsg(cpu));
  dev_get(ctx, po, dpo, sizeof *po * (4 + X * Y));
  for (int c = 0; c < X * Y; c++)
    cr_assert(near(po[4 + c], ph[c], 1e-6) && po[4 + c] >= -1 && po[4 + c] <= 1,
              "nPMI cell %d: %.9g, cpu %.17g", c, po[4 + c], ph[c]);
  cr_assert(near(pd.min_npmi, phr.min_npmi, 1e-12) && near(pd.max_npmi, phr.max_npmi, 1e-12));

  /* Warm calls on device tensors allocate nothing; the count reads back one
   * long (its folded search); the PMI map that long, the table's total and
   * its 4 folded statistics, its marginals staying on the device; MI the
   * same long and total, the X + Y marginals (E[I] and the entropies are
   * taken on the host) and one double a table, and sends N up. */
  y[1234 * KS + 2] = 0;
  dev_put(ctx, dy, y, sizeof *y * N * KS);
  ie_workspace_info w0 = {.size = sizeof w0}, w1 = {.size = sizeof w1};
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, &ign), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(ie_workspace_query(ctx, &w0) == IE_OK);
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, &ign), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
  cr_expect(w1.device_allocations == w0.device_allocations, "a warm count allocated");
  cr_expect(w1.bytes_to_device == w0.bytes_to_device && w1.bytes_to_host - w0.bytes_to_host == 8,
            "a warm count moved %llu bytes up and %llu down; expected 0 and 8",
            (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device),
            (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host));
  w0 = w1;
  cr_assert_eq(ie_pmi(ctx, &tt, &tpo, &po_opt, &pd), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
  cr_expect(w1.device_allocations == w0.device_allocations, "a warm PMI allocated");
  cr_expect(w1.bytes_to_device == w0.bytes_to_device && w1.bytes_to_host - w0.bytes_to_host == 8 + 8 + 8 * 4,
            "a warm PMI moved %llu bytes up and %llu down", (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device),
            (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host));
  cr_assert_eq(ie_table_mi(ctx, &tt, NULL, &rd), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(ie_workspace_query(ctx, &w0) == IE_OK);
  cr_assert_eq(ie_table_mi(ctx, &tt, NULL, &rd), IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(ie_workspace_query(ctx, &w1) == IE_OK);
  cr_expect(w1.device_allocations == w0.device_allocations, "a warm MI allocated");
  cr_expect(w1.bytes_to_device - w0.bytes_to_device == 8 &&
                w1.bytes_to_host - w0.bytes_to_host == 8 + 8 + 8 * (X + Y) + 8,
            "a warm MI moved %llu bytes up and %llu down", (unsigned long long)(w1.bytes_to_device - w0.bytes_to_device),
            (unsigned long long)(w1.bytes_to_host - w0.bytes_to_host));
  dev_free(ctx, dpo), dev_free(ctx, dx), dev_free(ctx, dy), dev_free(ctx, dt);
  free(po), free(ph), free(x), free(y), free(tab), free(want), free(got);
  ie_context_destroy(cpu);
  ie_context_destroy(ctx);
}

#endif

/* A count large enough to be split over threads (on the CPU each checks
 * and counts the table rows it owns, or, for a table larger than the
 * caches, partitions the pairs by bands of table rows): Zipf-like x labels,
 * top-2 y, padding ignored, added to a table holding an earlier shard;
 * equal to a plain loop.  Then a bad label near the end: IE_BAD_LABEL
 * naming it, and the table exactly as before.  An X × Y table. */
static void many_blocks_of(ie_backend b, int X, int Y) {
  ie_context *ctx = backend_context(b);
  if (!has_discrete(ctx)) {
    ie_context_destroy(ctx);
    return;
  }
  enum { N = 100003, K = 2 };
  int32_t *x = malloc(sizeof *x * N);
  int64_t *y = malloc(sizeof *y * N * K), *tab = malloc(sizeof *tab * X * Y), *want = malloc(sizeof *want * X * Y);
  uint64_t st = 99;
  for (int i = 0; i < N; i++) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = (double)(st >> 11) / 9007199254740992.0;
    x[i] = i % 101 == 7 ? -100 : (int32_t)(pow(X, u) - 1); /* log-uniform: small labels often */
    for (int j = 0; j < K; j++) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      y[i * K + j] = i % 17 == 3 && j == 1 ? -100 : (int64_t)((st >> 40) % Y);
    }
  }
  for (int c = 0; c < X * Y; c++) tab[c] = want[c] = c % 7;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < K; j++)
      if (x[i] != -100 && y[i * K + j] != -100) want[x[i] * Y + y[i * K + j]]++;
  int64_t shx[1] = {N}, shy[2] = {N, K}, sht[2] = {X, Y};
  DLTensor tx, ty, tt;
  host_tensor(&tx, x, TC_I32, 1, shx);
  host_tensor(&ty, y, TC_I64, 2, shy);
  host_tensor(&tt, tab, TC_I64, 2, sht);
  ie_count_options ign = {.size = sizeof ign, .ignore_label = -100, .has_ignore_label = 1};
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, &ign), IE_OK, "%s", ie_errmsg(ctx));
  for (int c = 0; c < X * Y; c++)
    cr_assert(tab[c] == want[c], "cell %d: %lld, expected %lld", c, (long long)tab[c], (long long)want[c]);
  y[(N - 5) * K + 1] = Y; /* out of range, in the last block */
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, &ign), IE_BAD_LABEL);
  cr_assert_eq(ie_error_row(ctx), N - 5, "%s", ie_errmsg(ctx));
  for (int c = 0; c < X * Y; c++) cr_assert(tab[c] == want[c], "a failed count changed cell %d", c);
  free(x), free(y), free(tab), free(want);
  ie_context_destroy(ctx);
}

static void many_blocks(ie_backend b) {
  many_blocks_of(b, 300, 64);    /* 19 200 cells: in the caches */
  many_blocks_of(b, 3000, 128);  /* 384 000 cells (3 MB): partitioned on the CPU */
}

/* Bad pairs in rows that different threads own (x = 0, 1, 2, ...: other
 * owners for 2, 3 and 4 threads), the later ones met first by their threads
 * (each thread goes through the rows in order): the call names the earliest,
 * and the table is as before; with the earliest mended, the next; with all
 * mended, the count of a plain loop.  CPU contexts of 1 to 4 threads, an
 * X × Y table. */
static void first_bad_of_threads(int threads, int X, int Y) {
  ie_context *ctx = NULL;
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = IE_BACKEND_CPU;
  o.threads = threads;
  cr_assert_eq(ie_context_create(&ctx, &o), IE_OK);
  enum { N = 200003, K = 3, NBAD = 6 };
  int64_t *x = malloc(sizeof *x * N), *tab = malloc(sizeof *tab * X * Y), *want = malloc(sizeof *want * X * Y);
  int32_t *y = malloc(sizeof *y * N * K);
  for (int i = 0; i < N; i++) {
    x[i] = (i * 7) % X;
    for (int j = 0; j < K; j++) y[i * K + j] = (i * 13 + j) % Y;
  }
  const int bad_rows[NBAD] = {190001, 170002, 150003, 130004, 110005, 91006}; /* the last is the first */
  for (int q = 0; q < NBAD; q++) {
    x[bad_rows[q]] = q;
    y[bad_rows[q] * K + q % K] = Y + q;
  }
  x[195000] = X + 1; /* a bad x too, after the others */
  for (int c = 0; c < X * Y; c++) tab[c] = want[c] = c % 5;
  int64_t shx[1] = {N}, shy[2] = {N, K}, sht[2] = {X, Y};
  DLTensor tx, ty, tt;
  host_tensor(&tx, x, TC_I64, 1, shx);
  host_tensor(&ty, y, TC_I32, 2, shy);
  host_tensor(&tt, tab, TC_I64, 2, sht);
  for (int q = NBAD - 1; q >= 0; q--) {
    cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, NULL), IE_BAD_LABEL, "%d threads", threads);
    cr_assert(ie_error_row(ctx) == bad_rows[q] && ie_error_column(ctx) == q % K,
              "%d threads: row %lld, column %lld named; expected %d, %d (%s)", threads,
              (long long)ie_error_row(ctx), (long long)ie_error_column(ctx), bad_rows[q], q % K, ie_errmsg(ctx));
    for (int c = 0; c < X * Y; c++) cr_assert(tab[c] == want[c], "%d threads: a failed count changed cell %d", threads, c);
    y[bad_rows[q] * K + q % K] = 0; /* mended: the next is named */
  }
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, NULL), IE_BAD_LABEL);
  cr_assert_eq(ie_error_row(ctx), 195000, "%d threads: the bad x", threads);
  x[195000] = 0;
  cr_assert_eq(ie_count_pairs(ctx, &tx, &ty, &tt, NULL), IE_OK, "%s", ie_errmsg(ctx));
  for (int i = 0; i < N; i++)
    for (int j = 0; j < K; j++) want[x[i] * Y + y[i * K + j]]++;
  for (int c = 0; c < X * Y; c++)
    cr_assert(tab[c] == want[c], "%d threads: cell %d: %lld, expected %lld", threads, c, (long long)tab[c],
              (long long)want[c]);
  free(x), free(y), free(tab), free(want);
  ie_context_destroy(ctx);
}

Test(discrete, first_bad_of_threads_cpu) {
  for (int threads = 1; threads <= 4; threads++) {
    first_bad_of_threads(threads, 50, 16);
    first_bad_of_threads(threads, 4000, 128); /* partitioned by bands of rows */
  }
}

/* Each backend in its own test (tc_context skips a test whose backend has
 * no device here). */
#define EACH(fn, be, tag) \
  Test(discrete, fn##_##tag) { fn(be); }
EACH(shards_add_up, IE_BACKEND_CPU, cpu)
EACH(many_blocks, IE_BACKEND_CPU, cpu)
EACH(errors, IE_BACKEND_CPU, cpu)
EACH(pointwise, IE_BACKEND_CPU, cpu)
EACH(broja_batch, IE_BACKEND_CPU, cpu)
#if IE_TEST_HAVE_OPENCL
EACH(shards_add_up, IE_BACKEND_OPENCL, opencl)
EACH(many_blocks, IE_BACKEND_OPENCL, opencl)
EACH(errors, IE_BACKEND_OPENCL, opencl)
EACH(pointwise, IE_BACKEND_OPENCL, opencl)
EACH(device_tensors, IE_BACKEND_OPENCL, opencl)
EACH(broja_batch, IE_BACKEND_OPENCL, opencl)
#endif
#if IE_TEST_HAVE_CUDA
EACH(shards_add_up, IE_BACKEND_CUDA, cuda)
EACH(many_blocks, IE_BACKEND_CUDA, cuda)
EACH(errors, IE_BACKEND_CUDA, cuda)
EACH(pointwise, IE_BACKEND_CUDA, cuda)
EACH(device_tensors, IE_BACKEND_CUDA, cuda)
EACH(broja_batch, IE_BACKEND_CUDA, cuda)
#endif
