/*
 * test_mauve.c — MAUVE (docs/SPEC.md §8) against mauve-text: the frontier of
 * given histograms exactly, MAUVE on features within mauve-text's seed
 * spread, PCA and k-means against NumPy and scikit-learn, identities,
 * determinism, joint Q sets and bad input; on every backend compiled in.
 * Vectors: tests/gen_mauve.py (tests/vectors/mauve_manifest.txt).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "infoest.h"

/* ---- the portable feature generator of tests/gen_mauve.py ------------------------ */

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Normal j of the stream of `seed` (Box–Muller on outputs 2j, 2j + 1). */
static double normal(uint64_t seed, int64_t j) {
  const uint64_t g = 0x9E3779B97F4A7C15ull;
  const double u1 = (double)(mix64(seed + (uint64_t)(2 * j + 1) * g) >> 11) * 0x1p-53;
  const double u2 = (double)(mix64(seed + (uint64_t)(2 * j + 2) * g) >> 11) * 0x1p-53;
  return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* P (n_p × d) and Q (n_q × d), float32, as make_features in gen_mauve.py. */
static void make_features(const char *kind, uint64_t seed, int64_t n_p, int64_t n_q, int64_t d,
                          int64_t comps, float **p, float **q) {
  const int64_t n = n_p + n_q;
  float *x = malloc((size_t)n * (size_t)d * sizeof *x);
  cr_assert(x);
  if (!strcmp(kind, "mix")) {
    const int64_t q_span = (comps * 7) / 10 > 0 ? (comps * 7) / 10 : 1;
    for (int64_t i = 0; i < n; i++) {
      const int64_t c = i < n_p ? i % comps : (i - n_p) % q_span;
      for (int64_t j = 0; j < d; j++)
        x[i * d + j] = (float)(normal(seed, c * d + j) + normal(seed, comps * d + i * d + j) * 0.25);
    }
  } else {
    double *a = malloc((size_t)comps * sizeof *a);
    cr_assert(a);
    const int64_t off_a = comps * d, off_n = off_a + n * comps;
    for (int64_t i = 0; i < n; i++) {
      for (int64_t t = 0; t < comps; t++) {
        a[t] = normal(seed, off_a + i * comps + t) * (1.0 / sqrt(1.0 + (double)t));
        if (i >= n_p && t < 4) a[t] += 0.6;
      }
      for (int64_t j = 0; j < d; j++) {
        double v = 0; /* a @ w in the order NumPy's matmul need not follow: float32 absorbs it */
        for (int64_t t = 0; t < comps; t++) v += a[t] * normal(seed, t * d + j);
        x[i * d + j] = (float)(v + normal(seed, off_n + i * d + j) * 0.05);
      }
    }
    free(a);
  }
  *p = x;
  *q = x + n_p * d;
}

/* ---- helpers --------------------------------------------------------------------- */

static double *load_f64(const char *file, int64_t *count) {
  void *data;
  int64_t shape[8];
  int nd;
  char err[256];
  cr_assert(tc_load(file, &data, shape, &nd, err, sizeof err) == 0, "%s: %s (run tests/gen_mauve.py)", file, err);
  int64_t n = 1;
  for (int k = 0; k < nd; k++) n *= shape[k];
  if (count) *count = n;
  return data;
}

static void mat(tc_tensor *t, float *data, int64_t rows, int64_t cols) {
  tc_tensor_2d(t, data, TC_F32, rows, cols, 0);
}

typedef struct {
  char name[32], kind[16];
  uint64_t seed;
  int64_t n_p, n_q, d, comps, k;
  char expect[96];
} feature_case;

/* The manifest's feature lines. */
static int feature_cases(feature_case *out, int cap) {
  char path[1024];
  snprintf(path, sizeof path, "%s/mauve_manifest.txt", IE_TEST_VECTORS);
  FILE *f = fopen(path, "r");
  cr_assert(f, "cannot open %s", path);
  char line[1024];
  int n = 0;
  while (fgets(line, sizeof line, f) && n < cap) {
    feature_case *c = &out[n];
    unsigned long long sd;
    long long a, b, d, e, k;
    if (sscanf(line, "features %31s %15s %llu %lld %lld %lld %lld %lld %95s", c->name, c->kind, &sd, &a, &b,
               &d, &e, &k, c->expect) == 9) {
      c->seed = sd;
      c->n_p = a;
      c->n_q = b;
      c->d = d;
      c->comps = e;
      c->k = k;
      n++;
    }
  }
  fclose(f);
  return n;
}

static ie_status run2(ie_context *ctx, float *p, int64_t n_p, int64_t d_p, float *q, int64_t n_q, int64_t d_q,
                      const ie_mauve_options *o, ie_mauve_scores *sc, ie_mauve_info *info, int64_t *counts) {
  tc_tensor tp, tq;
  mat(&tp, p, n_p, d_p);
  mat(&tq, q, n_q, d_q);
  const DLTensor *qs[1] = {&tq.t};
  return ie_mauve(ctx, &tp.t, qs, 1, o, sc, info, counts, NULL);
}

static ie_status run(ie_context *ctx, float *p, int64_t n_p, float *q, int64_t n_q, int64_t d,
                     const ie_mauve_options *o, ie_mauve_scores *sc, ie_mauve_info *info, int64_t *counts) {
  return run2(ctx, p, n_p, d, q, n_q, d, o, sc, info, counts);
}

/* ---- given histograms: exact against mauve-text -------------------------------------- */

static void run_hist(ie_backend b) {
  ie_context *ctx = tc_context(b);
  char path[1024];
  snprintf(path, sizeof path, "%s/mauve_manifest.txt", IE_TEST_VECTORS);
  FILE *f = fopen(path, "r");
  cr_assert(f, "cannot open %s (run tests/gen_mauve.py)", path);
  char line[1024];
  int cases = 0;
  while (fgets(line, sizeof line, f)) {
    char name[64], fp[128], fq[128], fe[128], fc[128];
    long long grid;
    double c;
    if (sscanf(line, "hist %63s %lld %lf %127s %127s %127s %127s", name, &grid, &c, fp, fq, fe, fc) != 7) continue;
    int64_t k, kq, ne, nc;
    double *p = load_f64(fp, &k), *q = load_f64(fq, &kq), *e = load_f64(fe, &ne), *cv = load_f64(fc, &nc);
    cr_assert(k == kq && ne == 4 && nc == 2 * (grid + 2), "%s: vector shapes", name);
    tc_tensor tp, tq;
    tc_tensor_1d(&tp, p, TC_F64, k);
    tc_tensor_1d(&tq, q, TC_F64, k);
    ie_mauve_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
    o.grid = grid;
    o.scaling = c;
    ie_mauve_scores s;
    double *curve = malloc((size_t)nc * sizeof *curve);
    ie_status st = ie_mauve_histograms(ctx, &tp.t, &tq.t, &o, &s, curve);
    cr_assert(st == IE_OK, "%s: %s", name, ie_errmsg(ctx));
    const double got[4] = {s.mauve, s.frontier_integral, s.mauve_star, s.frontier_integral_star};
    const char *what[4] = {"mauve", "frontier_integral", "mauve_star", "frontier_integral_star"};
    for (int j = 0; j < 4; j++)
      cr_expect(fabs(got[j] - e[j]) <= 1e-12, "%s: %s = %.17g, mauve-text %.17g", name, what[j], got[j], e[j]);
    for (int64_t j = 0; j < nc; j++)
      cr_expect(fabs(curve[j] - cv[j]) <= 1e-12, "%s: curve[%lld] = %.17g, mauve-text %.17g", name,
                (long long)j, curve[j], cv[j]);
    free(curve);
    free(p);
    free(q);
    free(e);
    free(cv);
    cases++;
  }
  fclose(f);
  cr_assert(cases >= 5, "only %d histogram cases in the manifest", cases);
  ie_context_destroy(ctx);
}

/* ---- features: against mauve-text, NumPy and scikit-learn ---------------------------- */

static void run_features(ie_backend b) {
  ie_context *ctx = tc_context(b);
  feature_case fc[8];
  const int n = feature_cases(fc, 8);
  cr_assert(n >= 2, "feature cases missing from the manifest");
  for (int i = 0; i < n; i++) {
    const feature_case *c = &fc[i];
    float *p, *q;
    make_features(c->kind, c->seed, c->n_p, c->n_q, c->d, c->comps, &p, &q);
    int64_t ne;
    double *e = load_f64(c->expect, &ne);
    cr_assert(ne == 16);
    ie_mauve_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
    o.clusters = c->k;
    o.seed = 1;
    o.seeds = 5;
    ie_mauve_scores s;
    ie_mauve_info info;
    cr_assert(run(ctx, p, c->n_p, q, c->n_q, c->d, &o, &s, &info, NULL) == IE_OK, "%s: %s", c->name,
              ie_errmsg(ctx));
    IE_TEST_NOTE("mauve %s on %s: mauve %.4f ± %.4f (mauve-text %.4f ± %.4f, median %.4f), fi %.4f ± %.4f "
                 "(%.4f ± %.4f), mauve* %.4f (%.4f); pca %lld (NumPy %g); inertia %.6g (scikit-learn %.6g), "
                 "%lld iterations",
                 c->name, ie_backend_name(b), s.mauve, s.mauve_std, e[0], e[1], e[11], s.frontier_integral,
                 s.frontier_integral_std, e[2], e[3], s.mauve_star, e[4], (long long)info.pca_dims, e[8],
                 info.inertia, e[10], (long long)info.iterations);
    cr_expect(info.pca_dims == (int64_t)e[8], "%s: pca_dims %lld, NumPy SVD %g", c->name,
              (long long)info.pca_dims, e[8]);
    cr_expect(fabs(info.explained - e[9]) <= 1e-6, "%s: explained %.9f, NumPy %.9f", c->name, info.explained, e[9]);
    /* the kept start of the first seed is no worse than scikit-learn's best of 5 (+1%) */
    cr_expect(info.inertia <= e[10] * 1.01, "%s: inertia %.9g, scikit-learn %.9g", c->name, info.inertia, e[10]);
    if (!isnan(e[12])) {
      /* the clusters are recovered: every seed gives the true histograms' scores */
      const double got[4] = {s.mauve, s.frontier_integral, s.mauve_star, s.frontier_integral_star};
      for (int j = 0; j < 4; j++)
        cr_expect(fabs(got[j] - e[12 + j]) <= 1e-9, "%s: score %d = %.12g, true clusters %.12g", c->name, j,
                  got[j], e[12 + j]);
      cr_expect(s.mauve_std == 0, "%s: seed spread %g on recovered clusters", c->name, s.mauve_std);
      cr_expect(fabs(s.mauve - e[11]) <= 0.01, "%s: mauve %.4f, mauve-text median %.4f", c->name, s.mauve, e[11]);
    } else {
      /* no cluster structure: within the seed spread of mauve-text (5 seeds each) */
      const double tol = fmax(0.02, 3 * e[1]);
      cr_expect(fabs(s.mauve - e[0]) <= tol, "%s: mauve %.4f, mauve-text %.4f ± %.4f", c->name, s.mauve, e[0], e[1]);
      cr_expect(fabs(s.frontier_integral - e[2]) <= fmax(0.02, 3 * e[3]), "%s: fi %.4f, mauve-text %.4f", c->name,
                s.frontier_integral, e[2]);
      cr_expect(fabs(s.mauve_star - e[4]) <= fmax(0.02, 3 * e[5]), "%s: mauve* %.4f, mauve-text %.4f", c->name,
                s.mauve_star, e[4]);
      cr_expect(s.mauve_std > 0 && s.mauve_std < 0.05, "%s: seed spread %g", c->name, s.mauve_std);
    }
    free(e);
    free(p);
  }
  ie_context_destroy(ctx);
}

/* ---- identities, determinism, joint sets ------------------------------------------- */

static void run_identities(ie_backend b) {
  ie_context *ctx = tc_context(b);
  float *p, *q;
  const int64_t n_p = 300, n_q = 250, d = 96;
  make_features("lowrank", 5, n_p, n_q, d, 16, &p, &q);
  ie_mauve_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.seed = 3;
  ie_mauve_scores s, s2;
  ie_mauve_info info, info2;
  const int64_t k1 = ie_mauve_default_clusters(n_p, n_p), k = ie_mauve_default_clusters(n_p, n_q);
  cr_assert(k1 == 30 && k == 25 && ie_mauve_default_clusters(5, 25) == 2 && ie_mauve_default_clusters(250, 25) == 2 &&
            ie_mauve_default_clusters(45, 1000) == 4 && ie_mauve_default_clusters(55, 1000) == 6);
  int64_t *cnt = malloc(2 * (size_t)k1 * sizeof *cnt), *cnt2 = malloc(2 * (size_t)k1 * sizeof *cnt2);
  /* identical sets: MAUVE 1, frontier integral 0 */
  cr_assert(run(ctx, p, n_p, p, n_p, d, &o, &s, &info, cnt) == IE_OK, "%s", ie_errmsg(ctx));
  cr_expect(s.mauve == 1 && s.mauve_star == 1, "identical sets: mauve %.17g, mauve* %.17g", s.mauve, s.mauve_star);
  cr_expect(s.frontier_integral == 0 && s.frontier_integral_star == 0, "identical sets: fi %g", s.frontier_integral);
  for (int64_t j = 0; j < k1; j++) cr_expect(cnt[j] == cnt[k1 + j]);
  /* determinism: the same seed twice gives the same bits */
  cr_assert(run(ctx, p, n_p, q, n_q, d, &o, &s, &info, cnt) == IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(run(ctx, p, n_p, q, n_q, d, &o, &s2, &info2, cnt2) == IE_OK, "%s", ie_errmsg(ctx));
  cr_expect(memcmp(cnt, cnt2, 2 * (size_t)k * sizeof *cnt) == 0, "same seed, different clusters");
  cr_expect(memcmp(&s, &s2, sizeof s) == 0 && info.inertia == info2.inertia, "same seed, different bits");
  int64_t tp = 0, tq = 0;
  for (int64_t j = 0; j < k; j++) {
    tp += cnt[j];
    tq += cnt[k + j];
  }
  cr_expect(tp == n_p && tq == n_q, "counts sum to %lld and %lld", (long long)tp, (long long)tq);
  cr_expect(s.mauve > 0 && s.mauve < 1);
  /* disjoint sets: a cluster mixture against another far from it */
  float *a, *bq;
  make_features("mix", 21, 200, 1, d, 5, &a, &bq);
  float *far = malloc(200 * (size_t)d * sizeof *far);
  for (int64_t i = 0; i < 200 * d; i++) far[i] = -a[i]; /* the antipodes after normalising */
  o.clusters = 10;
  cr_assert(run(ctx, a, 200, far, 200, d, &o, &s, &info, NULL) == IE_OK, "%s", ie_errmsg(ctx));
  cr_expect(s.mauve < 0.01, "disjoint sets: mauve %g", s.mauve);
  cr_expect(fabs(s.frontier_integral - 1) < 1e-12, "disjoint sets: fi %.17g (all bins one-sided: 2·Σ(p+q)/4 = 1)",
            s.frontier_integral);
  /* joint Q sets: a copy of P beside Q scores 1; the counts add up */
  tc_tensor tpp, tqq, tp2;
  mat(&tpp, p, n_p, d);
  mat(&tqq, q, n_q, d);
  mat(&tp2, p, n_p, d);
  const DLTensor *qs[2] = {&tqq.t, &tp2.t};
  ie_mauve_scores two[2];
  o.clusters = 0;
  o.seeds = 3;
  int64_t *c3 = malloc(3 * (size_t)k * sizeof *c3);
  cr_assert(ie_mauve(ctx, &tpp.t, qs, 2, &o, two, &info, c3, NULL) == IE_OK, "%s", ie_errmsg(ctx));
  cr_expect(two[1].mauve == 1 && two[1].mauve_std == 0, "P against itself in a joint call: %.17g ± %g", two[1].mauve,
            two[1].mauve_std);
  cr_expect(two[0].mauve > 0 && two[0].mauve < 1 && two[0].mauve_std >= 0);
  cr_expect(memcmp(c3, c3 + 2 * k, (size_t)k * sizeof *c3) == 0);
  free(c3);
  free(far);
  free(a);
  free(cnt);
  free(cnt2);
  free(p);
  ie_context_destroy(ctx);
}

/* ---- bad input --------------------------------------------------------------------- */

static void expect_fail(ie_context *ctx, ie_status got, ie_status want, const char *needle) {
  cr_expect(got == want, "status %s, wanted %s (%s)", ie_status_name(got), ie_status_name(want), ie_errmsg(ctx));
  cr_expect(strstr(ie_errmsg(ctx), needle), "message '%s' lacks '%s'", ie_errmsg(ctx), needle);
}

/* ie_error_tensor/index/row/column name the failing element (-1: not named). */
static void expect_at(ie_context *ctx, const char *tensor, int64_t index, int64_t row, int64_t col) {
  const char *t = ie_error_tensor(ctx);
  cr_expect(t && strcmp(t, tensor) == 0, "error tensor '%s', wanted '%s' (%s)", t ? t : "(null)", tensor,
            ie_errmsg(ctx));
  cr_expect(ie_error_index(ctx) == index && ie_error_row(ctx) == row && ie_error_column(ctx) == col,
            "error at index %lld row %lld column %lld, wanted %lld, %lld, %lld (%s)", (long long)ie_error_index(ctx),
            (long long)ie_error_row(ctx), (long long)ie_error_column(ctx), (long long)index, (long long)row,
            (long long)col, ie_errmsg(ctx));
}

static void expect_nowhere(ie_context *ctx) {
  cr_expect(ie_error_tensor(ctx) == NULL && ie_error_index(ctx) == -1 && ie_error_row(ctx) == -1 &&
                ie_error_column(ctx) == -1,
            "a failure naming no element has a location (tensor %s, row %lld): %s",
            ie_error_tensor(ctx) ? ie_error_tensor(ctx) : "(null)", (long long)ie_error_row(ctx), ie_errmsg(ctx));
}

static void run_errors(ie_backend b) {
  ie_context *ctx = tc_context(b);
  float *p, *q;
  const int64_t d = 16;
  make_features("lowrank", 9, 40, 30, d, 4, &p, &q);
  ie_mauve_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  ie_mauve_scores s;
  q[7 * d + 3] = NAN;
  expect_fail(ctx, run(ctx, p, 40, q, 30, d, &o, &s, NULL, NULL), IE_NONFINITE, "q[0] row 7, column 3");
  expect_at(ctx, "q", 0, 7, 3);
  q[7 * d + 3] = 0;
  p[11 * d] = INFINITY;
  expect_fail(ctx, run(ctx, p, 40, q, 30, d, &o, &s, NULL, NULL), IE_NONFINITE, "p row 11, column 0");
  expect_at(ctx, "p", -1, 11, 0);
  p[11 * d] = 0;
  expect_fail(ctx, run2(ctx, p, 40, d, q, 30, 8, &o, &s, NULL, NULL), IE_BAD_SHAPE, "q[0] has 8 features");
  expect_nowhere(ctx);
  expect_fail(ctx, run(ctx, p, 40, q, 1, d, &o, &s, NULL, NULL), IE_INVALID_ARGUMENT, "q[0] has 1 row");
  o.clusters = 71;
  expect_fail(ctx, run(ctx, p, 40, q, 30, d, &o, &s, NULL, NULL), IE_INVALID_ARGUMENT, "71 clusters for 70 rows");
  o.clusters = 0;
  o.explained_variance = 1.5;
  expect_fail(ctx, run(ctx, p, 40, q, 30, d, &o, &s, NULL, NULL), IE_INVALID_ARGUMENT, "explained_variance");
  o.explained_variance = 0;
  /* a failed call leaves the outputs untouched; so does a cancelled one */
  {
    int64_t cnt[3 * 7];
    double curve[2 * 27];
    ie_mauve_scores sc;
    ie_mauve_info inf;
    for (int j = 0; j < 21; j++) cnt[j] = -7;
    for (int j = 0; j < 54; j++) curve[j] = -7;
    memset(&sc, 0xA5, sizeof sc);
    memset(&inf, 0xA5, sizeof inf);
    const ie_mauve_scores sc0 = sc;
    const ie_mauve_info inf0 = inf;
    tc_tensor tp, tq;
    mat(&tp, p, 40, d);
    mat(&tq, q, 30, d);
    const DLTensor *qs[1] = {&tq.t};
    o.clusters = 7;
    o.seeds = 3;
    q[29 * d + 15] = -INFINITY;
    expect_fail(ctx, ie_mauve(ctx, &tp.t, qs, 1, &o, &sc, &inf, cnt, curve), IE_NONFINITE, "q[0] row 29, column 15");
    expect_at(ctx, "q", 0, 29, 15);
    q[29 * d + 15] = 0;
    volatile int flag = 1;
    ie_context_set_cancel_flag(ctx, &flag);
    expect_fail(ctx, ie_mauve(ctx, &tp.t, qs, 1, &o, &sc, &inf, cnt, curve), IE_CANCELLED, "ie_mauve");
    ie_context_set_cancel_flag(ctx, NULL);
    for (int j = 0; j < 21; j++) cr_expect(cnt[j] == -7, "counts[%d] written by a failed call", j);
    for (int j = 0; j < 54; j++) cr_expect(curve[j] == -7, "curve[%d] written by a failed call", j);
    cr_expect(memcmp(&sc, &sc0, sizeof sc) == 0 && memcmp(&inf, &inf0, sizeof inf) == 0,
              "scores or info written by a failed call");
    cr_assert(ie_mauve(ctx, &tp.t, qs, 1, &o, &sc, &inf, cnt, curve) == IE_OK, "%s", ie_errmsg(ctx));
    int64_t tot = 0;
    for (int j = 0; j < 14; j++) tot += cnt[j]; /* (1 + 1 sets) x 7 clusters */
    cr_expect(tot == 70 && cnt[14] == -7 && curve[0] == 1 && curve[1] == 0 && curve[52] == 0 && curve[53] == 1,
              "counts total %lld", (long long)tot);
    o.clusters = 0;
    o.seeds = 0;
  }
  /* the context is usable afterwards, and clears its message */
  cr_assert(run(ctx, p, 40, q, 30, d, &o, &s, NULL, NULL) == IE_OK, "%s", ie_errmsg(ctx));
  cr_expect(ie_errcode(ctx) == IE_OK);
  cr_expect(ie_error_tensor(ctx) == NULL && ie_error_row(ctx) == -1, "a stale location after a success");
  double hp[3] = {1, -2, 3}, hq[3] = {1, 2, 3}, hz[3] = {0, 0, 0};
  tc_tensor tp, tq;
  tc_tensor_1d(&tp, hp, TC_F64, 3);
  tc_tensor_1d(&tq, hq, TC_F64, 3);
  expect_fail(ctx, ie_mauve_histograms(ctx, &tp.t, &tq.t, NULL, &s, NULL), IE_NEGATIVE, "p_counts[1]");
  expect_at(ctx, "p_counts", -1, 1, -1);
  expect_fail(ctx, ie_mauve_histograms(ctx, &tq.t, &tp.t, NULL, &s, NULL), IE_NEGATIVE, "q_counts[1]");
  expect_at(ctx, "q_counts", -1, 1, -1);
  tc_tensor_1d(&tp, hz, TC_F64, 3);
  expect_fail(ctx, ie_mauve_histograms(ctx, &tp.t, &tq.t, NULL, &s, NULL), IE_EMPTY_ROW, "p_counts sums to 0");
  expect_at(ctx, "p_counts", -1, -1, -1);
  hq[2] = NAN;
  expect_fail(ctx, ie_mauve_histograms(ctx, &tq.t, &tq.t, NULL, &s, NULL), IE_NONFINITE, "p_counts[2]");
  expect_at(ctx, "p_counts", -1, 2, -1);
  tc_tensor_1d(&tq, hq, TC_F64, 2);
  expect_fail(ctx, ie_mauve_histograms(ctx, &tp.t, &tq.t, NULL, &s, NULL), IE_BAD_SHAPE, "p_counts has 3 bins");
  free(p);
  ie_context_destroy(ctx);
}

/* ---- the backends against the CPU ---------------------------------------------------- */

static void run_against_cpu(ie_backend b) {
  if (!ie_backend_compiled(b)) cr_skip_test("SKIPPED: backend %s is not compiled in", ie_backend_name(b));
  ie_context *ctx = tc_context(b), *cpu = tc_context(IE_BACKEND_CPU);
  float *p, *q;
  const int64_t n_p = 400, n_q = 300, d = 128;
  make_features("mix", 31, n_p, n_q, d, 12, &p, &q);
  ie_mauve_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.clusters = 12;
  o.seed = 7;
  ie_mauve_scores s, sc;
  ie_mauve_info info, ic;
  int64_t cnt[24], cc[24];
  cr_assert(run(ctx, p, n_p, q, n_q, d, &o, &s, &info, cnt) == IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(run(cpu, p, n_p, q, n_q, d, &o, &sc, &ic, cc) == IE_OK, "%s", ie_errmsg(cpu));
  cr_expect(info.pca_dims == ic.pca_dims, "pca %lld vs cpu %lld", (long long)info.pca_dims, (long long)ic.pca_dims);
  cr_expect(memcmp(cnt, cc, sizeof cnt) == 0, "%s and cpu cluster differently", ie_backend_name(b));
  cr_expect(fabs(s.mauve - sc.mauve) <= 1e-6, "mauve %.12g vs cpu %.12g", s.mauve, sc.mauve);
  cr_expect(fabs(info.inertia - ic.inertia) <= 1e-4 * ic.inertia, "inertia %.9g vs cpu %.9g", info.inertia,
            ic.inertia);
  /* dense features: the clusterings may part on near ties, the scores hardly */
  free(p);
  make_features("lowrank", 12, 800, 800, 256, 32, &p, &q);
  o.clusters = 80;
  o.seed = 1;
  cr_assert(run(ctx, p, 800, q, 800, 256, &o, &s, &info, NULL) == IE_OK, "%s", ie_errmsg(ctx));
  cr_assert(run(cpu, p, 800, q, 800, 256, &o, &sc, &ic, NULL) == IE_OK, "%s", ie_errmsg(cpu));
  IE_TEST_NOTE("lowrank: %s mauve %.6f, cpu %.6f", ie_backend_name(b), s.mauve, sc.mauve);
  cr_expect(fabs(s.mauve - sc.mauve) <= 0.02, "mauve %.6f vs cpu %.6f", s.mauve, sc.mauve);
  free(p);
  ie_context_destroy(cpu);
  ie_context_destroy(ctx);
}

#define PER_BACKEND(name, fn)                                      \
  Test(mauve, name##_cpu) { fn(IE_BACKEND_CPU); }                  \
  Test(mauve, name##_cuda) {                                       \
    if (!IE_TEST_HAVE_CUDA) cr_skip_test("SKIPPED: no CUDA build"); \
    fn(IE_BACKEND_CUDA);                                           \
  }                                                                \
  Test(mauve, name##_opencl) {                                     \
    if (!IE_TEST_HAVE_OPENCL) cr_skip_test("SKIPPED: no OpenCL build"); \
    fn(IE_BACKEND_OPENCL);                                         \
  }

PER_BACKEND(histograms, run_hist)
PER_BACKEND(features, run_features)
PER_BACKEND(identities, run_identities)
PER_BACKEND(errors, run_errors)

Test(mauve, opencl_against_cpu) {
  if (!IE_TEST_HAVE_OPENCL) cr_skip_test("SKIPPED: no OpenCL build");
  run_against_cpu(IE_BACKEND_OPENCL);
}
Test(mauve, cuda_against_cpu) {
  if (!IE_TEST_HAVE_CUDA) cr_skip_test("SKIPPED: no CUDA build");
  run_against_cpu(IE_BACKEND_CUDA);
}
