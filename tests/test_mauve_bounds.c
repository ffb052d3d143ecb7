/*
 * test_mauve_bounds.c — the pieces of MAUVE's k-means that skip work
 * (docs/SPEC.md §8), checked against doing all of it.  Linked against the
 * static library to reach the private backend table (src/mauve.h):
 *   - the CPU assignment with Yinyang's group bounds gives, at every Lloyd step,
 *     the labels of measuring every row (the same op after `restart`), and
 *     those are the argmin of the exact squared distances up to the float
 *     formula's rounding (checked in double here);
 *   - exact ties (duplicate centres) go to the lowest index;
 *   - the float dot-product tiles (src/host/dots.c) on odd sizes: within a
 *     sum's rounding of double, bit for bit the same from the block tiles and
 *     from one row's strips, nothing written outside the block;
 *   - the k-means++ start picks rows, one in each of k far-apart clusters,
 *     the same centres for the same stream, the same when several starts
 *     run side by side as when each runs alone, and on any thread count.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/host/host.h"
#include "../src/cpu/mauve_seed.h"
#include "../src/kernels/kmeans_terms.h"
#include "../src/mauve.h"
#include "infoest.h"

static uint64_t rng_state;
static double unit(void) { return km_unit(&rng_state); }
static double gauss(void) {
  const double u1 = unit(), u2 = unit();
  return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* n rows of r in `groups` Gaussian clusters (centres spread `spread`, noise
 * `noise`), the first `dup` rows repeated at the end (ties). */
static float *clustered(int64_t n, int64_t r, int64_t groups, double spread, double noise, int64_t dup) {
  float *y = malloc((size_t)n * (size_t)r * sizeof *y);
  double *mu = malloc((size_t)groups * (size_t)r * sizeof *mu);
  cr_assert(y && mu);
  for (int64_t i = 0; i < groups * r; i++) mu[i] = spread * gauss() / sqrt((double)(1 + i % r));
  for (int64_t i = 0; i < n - dup; i++) {
    const int64_t g = (int64_t)(unit() * (double)groups);
    for (int64_t t = 0; t < r; t++) y[i * r + t] = (float)(mu[g * r + t] + noise * gauss());
  }
  memcpy(y + (n - dup) * r, y, (size_t)dup * (size_t)r * sizeof *y);
  free(mu);
  return y;
}

static ie_context *cpu_context(void) {
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.backend = IE_BACKEND_CPU;
  ie_context *ctx = NULL;
  cr_assert(ie_context_create(&ctx, &o) == IE_OK, "%s", ie_errmsg(ctx));
  return ctx;
}

/* Lloyd's update, in double, for the test's own loop. */
static void means(const float *y, const int32_t *lab, int64_t n, int64_t r, int64_t k, float *c) {
  double *s = calloc((size_t)(k * r + k), sizeof *s);
  cr_assert(s);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t t = 0; t < r; t++) s[lab[i] * r + t] += y[i * r + t];
    s[k * r + lab[i]] += 1;
  }
  for (int64_t j = 0; j < k; j++)
    if (s[k * r + j] > 0)
      for (int64_t t = 0; t < r; t++) c[j * r + t] = (float)(s[j * r + t] / s[k * r + j]);
  free(s);
}

Test(mauve_bounds, bounds_equal_measuring_every_row) {
  const int64_t n = 4000, r = 24, k = 90, dup = 50;
  rng_state = 19;
  float *y = clustered(n, r, 60, 1.0, 0.5, dup); /* overlapping: many rows near a boundary */
  float *c = malloc((size_t)k * (size_t)r * sizeof *c);
  int32_t *la = malloc((size_t)n * sizeof *la), *lb = malloc((size_t)n * sizeof *lb);
  cr_assert(c && la && lb);
  for (int64_t j = 0; j < k; j++) /* a poor start, so that many rows move */
    memcpy(c + j * r, y + (j * 7) * r, (size_t)r * sizeof *c);
  ie_context *ctx = cpu_context();
  const ie_mauve_ops *mo = &ie__cpu_mauve_ops;
  cr_assert(mo->begin && mo->restart);
  void *sa = NULL, *sb = NULL;
  cr_assert(mo->begin(ctx, &sa) == IE_OK && mo->begin(ctx, &sb) == IE_OK);
  const ie_mat ym = {y, 0, IE_DT_F32, n, r, r}, cm = {c, 0, IE_DT_F32, k, r, r};
  mo->restart(ctx, sa);
  cr_assert(mo->assign(ctx, sa, &ym, &cm, la, NULL, NULL) == IE_OK);
  int steps = 0, moved_total = 0;
  for (; steps < 60; steps++) {
    mo->restart(ctx, sb);
    cr_assert(mo->assign(ctx, sb, &ym, &cm, lb, NULL, NULL) == IE_OK);
    for (int64_t i = 0; i < n; i++)
      cr_assert(la[i] == lb[i], "step %d row %lld: bounds %d, every row measured %d", steps, (long long)i, la[i],
                lb[i]);
    /* the argmin of the exact distances, up to the float formula's error */
    for (int64_t i = 0; i < n; i++) {
      double best = INFINITY, mine = 0, yn = 0, cmax = 0;
      for (int64_t t = 0; t < r; t++) yn += (double)y[i * r + t] * y[i * r + t];
      for (int64_t j = 0; j < k; j++) {
        double d = 0, cn = 0;
        for (int64_t t = 0; t < r; t++) {
          const double e = (double)y[i * r + t] - c[j * r + t];
          d += e * e;
          cn += (double)c[j * r + t] * c[j * r + t];
        }
        if (cn > cmax) cmax = cn;
        if (d < best) best = d;
        if (j == la[i]) mine = d;
      }
      const double tol = 2 * (r + 4) * 0x1p-24 * pow(sqrt(yn) + sqrt(cmax), 2);
      cr_assert(mine <= best + tol, "row %lld: label at %.9g, nearest at %.9g", (long long)i, mine, best);
    }
    /* the duplicated rows go where their originals go */
    for (int64_t i = 0; i < dup; i++) cr_assert(la[n - dup + i] == la[i]);
    int32_t *prev = malloc((size_t)n * sizeof *prev);
    cr_assert(prev);
    memcpy(prev, la, (size_t)n * sizeof *prev);
    means(y, la, n, r, k, c);
    cr_assert(mo->assign(ctx, sa, &ym, &cm, la, NULL, NULL) == IE_OK); /* the next step's labels, bounded */
    int moved = 0;
    for (int64_t i = 0; i < n; i++) moved += la[i] != prev[i];
    free(prev);
    moved_total += moved;
    if (moved == 0) break;
  }
  cr_expect(moved_total > n / 10, "the start was too good to test the bounds (%d moves)", moved_total);
  cr_expect(steps > 10, "converged in %d steps", steps);
  /* every centre moved by about the same distance toward its nearest
   * neighbour: the bounds are at their tightest, and must not hold for a row
   * whose own centre left while another approached */
  int64_t changed = 0;
  float *c0 = malloc((size_t)k * (size_t)r * sizeof *c0);
  cr_assert(c0);
  for (int step = 0; step < 60; step++) {
    memcpy(lb, la, (size_t)n * sizeof *lb);
    memcpy(c0, c, (size_t)k * (size_t)r * sizeof *c0);
    const double scale = step % 3 == 0 ? 0.002 : step % 3 == 1 ? 0.01 : 0.04;
    for (int64_t j = 0; j < k; j++) {
      int64_t nn = -1;
      double dn = INFINITY;
      for (int64_t q = 0; q < k; q++) {
        double d = 0;
        for (int64_t t = 0; t < r; t++) d += pow((double)c0[q * r + t] - c0[j * r + t], 2);
        if (q != j && d < dn) dn = d, nn = q;
      }
      if (!(dn > 0)) continue;
      for (int64_t t = 0; t < r; t++)
        c[j * r + t] += (float)(scale * ((double)c0[nn * r + t] - c0[j * r + t]) / sqrt(dn));
    }
    cr_assert(mo->assign(ctx, sa, &ym, &cm, la, NULL, NULL) == IE_OK);
    for (int64_t i = 0; i < n; i++) changed += la[i] != lb[i];
    mo->restart(ctx, sb);
    cr_assert(mo->assign(ctx, sb, &ym, &cm, lb, NULL, NULL) == IE_OK);
    for (int64_t i = 0; i < n; i++)
      cr_assert(la[i] == lb[i], "move %d row %lld: bounds %d, every row measured %d", step, (long long)i, la[i],
                lb[i]);
  }
  cr_expect(changed > n / 10, "the moves changed only %lld labels", (long long)changed);
  free(c0);
  mo->end(ctx, sa);
  mo->end(ctx, sb);
  ie_context_destroy(ctx);
  free(y);
  free(c);
  free(la);
  free(lb);
}

Test(mauve_bounds, duplicate_centres_go_to_the_lowest_index) {
  const int64_t n = 300, r = 8, k = 6;
  rng_state = 5;
  float *y = clustered(n, r, 3, 1.0, 0.1, 0);
  float c[6 * 8];
  int32_t lab[300];
  for (int64_t j = 0; j < 3; j++) {
    memcpy(c + (2 * j) * r, y + j * 40 * r, (size_t)r * sizeof *c);
    memcpy(c + (2 * j + 1) * r, y + j * 40 * r, (size_t)r * sizeof *c); /* twin of 2j */
  }
  ie_context *ctx = cpu_context();
  const ie_mauve_ops *mo = &ie__cpu_mauve_ops;
  void *s = NULL;
  cr_assert(mo->begin(ctx, &s) == IE_OK);
  const ie_mat ym = {y, 0, IE_DT_F32, n, r, r}, cm = {c, 0, IE_DT_F32, k, r, r};
  for (int rep = 0; rep < 3; rep++) { /* the first measures, the others may use bounds */
    cr_assert(mo->assign(ctx, s, &ym, &cm, lab, NULL, NULL) == IE_OK);
    for (int64_t i = 0; i < n; i++) cr_assert(lab[i] % 2 == 0, "rep %d row %lld: label %d", rep, (long long)i, lab[i]);
  }
  mo->end(ctx, s);
  ie_context_destroy(ctx);
  free(y);
}

Test(mauve_bounds, seed_finds_every_far_cluster) {
  const int64_t n = 2000, r = 16, k = 25;
  rng_state = 7;
  /* 25 clusters, centres ~10 apart, noise 0.05 */
  float *y = clustered(n, r, k, 10.0, 0.05, 0);
  ie__mauve_seed sd;
  cr_assert(ie__mauve_seed_init(&sd, y, n, r, k, 3, 2) == 0);
  float *c1 = malloc((size_t)k * (size_t)r * sizeof *c1), *c2 = malloc((size_t)k * (size_t)r * sizeof *c2);
  float *c3 = malloc(3 * (size_t)k * (size_t)r * sizeof *c3);
  cr_assert(c1 && c2 && c3);
  uint64_t s1 = 123, s2 = 123;
  uint64_t *p1[1] = {&s1}, *p2[1] = {&s2};
  ie__mauve_seed_run(&sd, 1, p1, &c1);
  ie__mauve_seed_run(&sd, 1, p2, &c2);
  cr_assert(memcmp(c1, c2, (size_t)k * (size_t)r * sizeof *c1) == 0, "the same stream, other centres");
  /* three starts side by side: each as if run alone (the stream advanced
   * as far, the same centres) */
  uint64_t st[3] = {77, 123, 9};
  uint64_t *ps[3] = {&st[0], &st[1], &st[2]};
  float *cs[3] = {c3, c3 + k * r, c3 + 2 * k * r};
  ie__mauve_seed_run(&sd, 3, ps, cs);
  cr_assert(memcmp(cs[1], c1, (size_t)k * (size_t)r * sizeof *c1) == 0, "start 1 of 3 differs from running it alone");
  cr_assert(st[1] == s1, "the streams advanced differently");
  uint64_t a0 = 77, a2 = 9;
  uint64_t *pa[1] = {&a0};
  ie__mauve_seed_run(&sd, 1, pa, &c2);
  cr_assert(memcmp(cs[0], c2, (size_t)k * (size_t)r * sizeof *c2) == 0, "start 0 of 3 differs from running it alone");
  pa[0] = &a2;
  ie__mauve_seed_run(&sd, 1, pa, &c2);
  cr_assert(memcmp(cs[2], c2, (size_t)k * (size_t)r * sizeof *c2) == 0, "start 2 of 3 differs from running it alone");
  /* the threads do not matter: one thread, and more threads than blocks */
  for (int threads = 1; threads <= 64; threads += 63) {
    ie__mauve_seed one;
    cr_assert(ie__mauve_seed_init(&one, y, n, r, k, 1, threads) == 0);
    uint64_t s3 = 123;
    uint64_t *p3[1] = {&s3};
    ie__mauve_seed_run(&one, 1, p3, &c2);
    cr_assert(memcmp(c1, c2, (size_t)k * (size_t)r * sizeof *c1) == 0, "%d thread(s) gave other centres", threads);
    ie__mauve_seed_free(&one);
  }
  /* each centre is a row; the nearest centre of every row is within the noise */
  for (int64_t j = 0; j < k; j++) {
    int found = 0;
    for (int64_t i = 0; i < n && !found; i++) found = memcmp(y + i * r, c1 + j * r, (size_t)r * sizeof *y) == 0;
    cr_assert(found, "centre %lld is not a row", (long long)j);
  }
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double best = INFINITY;
    for (int64_t j = 0; j < k; j++) {
      double d = 0;
      for (int64_t t = 0; t < r; t++) d += pow((double)y[i * r + t] - c1[j * r + t], 2);
      if (d < best) best = d;
    }
    if (best > worst) worst = best;
  }
  /* two rows of one cluster are ~0.05·√(2r) ≈ 0.28 apart; clusters ≥ ~2 */
  cr_expect(worst < 1.0, "a cluster got no centre: a row is %.3g from every centre", sqrt(worst));
  ie__mauve_seed_free(&sd);
  free(y);
  free(c1);
  free(c2);
  free(c3);
}

/* ie__dots_f32 and ie__dots_f32_strips on every tail: rows not a multiple of
 * 4, 16-, 32- and 48-column blocks, strided rows and outputs. */
Test(mauve_bounds, dot_tiles_on_odd_sizes) {
  rng_state = 11;
  const int64_t rows_list[] = {1, 3, 4, 7, 13}, r_list[] = {1, 5, 32, 37}, cols_list[] = {16, 32, 48, 80};
  for (size_t a = 0; a < sizeof rows_list / sizeof *rows_list; a++)
    for (size_t b = 0; b < sizeof r_list / sizeof *r_list; b++)
      for (size_t c = 0; c < sizeof cols_list / sizeof *cols_list; c++) {
        const int64_t rows = rows_list[a], r = r_list[b], cols = cols_list[c];
        const size_t ys = (size_t)r + 3, ldc = (size_t)cols + 16, ldo = (size_t)cols + 5;
        float *y = malloc(sizeof *y * (size_t)rows * ys), *ct = malloc(sizeof *ct * (size_t)r * ldc);
        float *out = malloc(sizeof *out * (size_t)rows * ldo), *one = malloc(sizeof *one * (size_t)cols);
        int32_t *strips = malloc(sizeof *strips * (size_t)(cols / 16));
        cr_assert(y && ct && out && one && strips);
        for (size_t q = 0; q < (size_t)rows * ys; q++) y[q] = (float)gauss();
        for (size_t q = 0; q < (size_t)r * ldc; q++) ct[q] = (float)gauss();
        for (size_t q = 0; q < (size_t)rows * ldo; q++) out[q] = -12345.0f; /* the guard */
        ie__dots_f32(y, ys, rows, r, ct, ldc, cols, out, ldo);
        for (int64_t s = 0; s < cols / 16; s++) strips[s] = (int32_t)(cols / 16 - 1 - s); /* in any order */
        for (int64_t i = 0; i < rows; i++) {
          for (int64_t j = cols; j < (int64_t)ldo; j++)
            cr_assert(out[(size_t)i * ldo + (size_t)j] == -12345.0f, "rows %lld r %lld cols %lld: wrote column %lld",
                      (long long)rows, (long long)r, (long long)cols, (long long)j);
          ie__dots_f32_strips(y + (size_t)i * ys, r, ct, ldc, strips, cols / 16, one);
          for (int64_t j = 0; j < cols; j++) {
            double exact = 0, mag = 0;
            for (int64_t t = 0; t < r; t++) {
              const double p = (double)y[(size_t)i * ys + (size_t)t] * ct[(size_t)t * ldc + (size_t)j];
              exact += p;
              mag += fabs(p);
            }
            const float got = out[(size_t)i * ldo + (size_t)j];
            cr_assert(fabs(got - exact) <= (double)(r + 1) * 0x1p-24 * mag + 1e-30,
                      "rows %lld r %lld cols %lld: [%lld, %lld] = %.9g, exact %.17g", (long long)rows, (long long)r,
                      (long long)cols, (long long)i, (long long)j, got, exact);
            const int64_t s = cols / 16 - 1 - j / 16; /* the strip holding column j */
            cr_assert(one[s * 16 + j % 16] == got, "rows %lld r %lld cols %lld: [%lld, %lld] %.9g from the strips, %.9g "
                      "from the tiles", (long long)rows, (long long)r, (long long)cols, (long long)i, (long long)j,
                      one[s * 16 + j % 16], got);
          }
        }
        free(y), free(ct), free(out), free(one), free(strips);
      }
}

/* The k-means++ start on a GPU backend (src/kernels/kmeans_seed.cl, on the
 * device) picks the CPU's rows: every centre of every start, to the bit,
 * on overlapping clusters with repeated rows (ties in D²), n not a
 * multiple of the 64-row block. */
static void seed_as_cpu(ie_backend b) {
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = b;
  ie_context *ctx = NULL;
  if (ie_context_create(&ctx, &o) != IE_OK) {
    if (getenv("IE_REQUIRE_GPU")) cr_assert_fail("%s: %s", ie_backend_name(b), ie_errmsg(ctx));
    ie_context_destroy(ctx);
    cr_skip_test("SKIPPED: no %s device: %s", ie_backend_name(b), ie_errmsg(NULL));
  }
  const int64_t n = 3001, r = 12, k = 40, starts = 3;
  rng_state = 5;
  float *y = clustered(n, r, 30, 1.0, 0.4, 200);
  float *cc = malloc((size_t)(k * r) * sizeof *cc), *cg = malloc((size_t)(k * r) * sizeof *cg);
  cr_assert(y && cc && cg);
  ie_context *cpu = cpu_context();
  const ie_mauve_ops *co = &ie__cpu_mauve_ops, *go = ctx->ops->mauve;
  void *yd = NULL, *cd = NULL, *cs = NULL, *gs = NULL;
  cr_assert(ctx->ops->alloc(ctx, (size_t)(n * r) * sizeof *y, &yd) == IE_OK);
  cr_assert(ctx->ops->alloc(ctx, (size_t)(k * r) * sizeof *y, &cd) == IE_OK);
  cr_assert(ctx->ops->upload(ctx, yd, 0, y, (size_t)(n * r) * sizeof *y) == IE_OK);
  cr_assert(co->begin(cpu, &cs) == IE_OK);
  cr_assert(!go->begin || go->begin(ctx, &gs) == IE_OK, "%s", ie_errmsg(ctx));
  const ie_mat yh = {y, 0, IE_DT_F32, n, r, r}, ch = {cc, 0, IE_DT_F32, k, r, r};
  const ie_mat ydm = {yd, 0, IE_DT_F32, n, r, r}, cdm = {cd, 0, IE_DT_F32, k, r, r};
  for (int64_t start = 0; start < starts; start++) {
    cr_assert(co->seed(cpu, cs, &yh, 99, start, starts, &ch) == IE_OK);
    cr_assert(go->seed(ctx, gs, &ydm, 99, start, starts, &cdm) == IE_OK, "%s", ie_errmsg(ctx));
    cr_assert(ctx->ops->download(ctx, cg, cd, 0, (size_t)(k * r) * sizeof *cg) == IE_OK);
    for (int64_t j = 0; j < k; j++)
      cr_assert(memcmp(cc + j * r, cg + j * r, (size_t)r * sizeof *cc) == 0,
                "start %lld: centre %lld on %s is not the CPU's", (long long)start, (long long)j, ie_backend_name(b));
  }
  co->end(cpu, cs);
  if (go->end) go->end(ctx, gs);
  ctx->ops->free(ctx, yd);
  ctx->ops->free(ctx, cd);
  ie_context_destroy(cpu);
  ie_context_destroy(ctx);
  free(y);
  free(cc);
  free(cg);
}

Test(mauve_bounds, seed_opencl_as_cpu) {
  if (!IE_TEST_HAVE_OPENCL) cr_skip_test("SKIPPED: no OpenCL build");
  seed_as_cpu(IE_BACKEND_OPENCL);
}

Test(mauve_bounds, seed_cuda_as_cpu) {
  if (!IE_TEST_HAVE_CUDA) cr_skip_test("SKIPPED: no CUDA build");
  seed_as_cpu(IE_BACKEND_CUDA);
}
