/*
 * test_count_bands.c — the CPU count of a table larger than the caches
 * (src/cpu/discrete.c: the pairs partitioned by bands of table rows, in
 * batches of rows), checked against a plain loop.  Linked against the
 * static library to lower the batch size (ie__cpu_count_batch_pairs) so
 * that small inputs go through many batches:
 *   - int32 y rows, no ignore label (the vector path) and int64 y with an
 *     ignore label (the general one), on 1 to 3 threads, added to a table
 *     that holds an earlier shard;
 *   - a bad label in a late batch (y, then x): IE_BAD_LABEL naming the
 *     first, and the table exactly as before, although earlier batches
 *     were good;
 *   - one batch and many give the same table.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/discrete.h"
#include "common.h"
#include "infoest.h"

enum { N = 40009, K = 3, X = 3000, Y = 200 }; /* 600 000 cells: banded */

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static ie_context *cpu_context(int threads) {
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = IE_BACKEND_CPU;
  o.threads = threads;
  ie_context *ctx = NULL;
  cr_assert_eq(ie_context_create(&ctx, &o), IE_OK);
  return ctx;
}

/* Zipf-like x (small labels often), uniform y; with `ignore`, some labels
 * are -7. */
static void labels(int64_t *x, int64_t *y, int ignore) {
  uint64_t s = 5;
  for (int64_t i = 0; i < N; i++) {
    const uint64_t r = lcg(&s) % 1000;
    x[i] = (int64_t)((r * r * r) / 333667); /* < 3000 */
    if (ignore && i % 53 == 4) x[i] = -7;
    for (int j = 0; j < K; j++) y[i * K + j] = ignore && (i + j) % 11 == 0 ? -7 : (int64_t)(lcg(&s) % Y);
  }
}

/* Counts y (int32 or int64 as given by y32) with x int64, compares with a
 * plain loop, then a bad label in a late row: nothing added. */
static void run(int threads, int ignore, int64_t batch_pairs) {
  const int64_t saved = ie__cpu_count_batch_pairs;
  ie__cpu_count_batch_pairs = batch_pairs;
  int64_t *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N * K);
  int32_t *y32 = malloc(sizeof *y32 * N * K);
  int64_t *tab = malloc(sizeof *tab * X * Y), *want = malloc(sizeof *want * X * Y);
  cr_assert(x && y && y32 && tab && want);
  labels(x, y, ignore);
  for (int64_t q = 0; q < (int64_t)N * K; q++) y32[q] = (int32_t)y[q];
  for (int64_t c = 0; c < X * Y; c++) tab[c] = want[c] = c % 5; /* an earlier shard */
  for (int64_t i = 0; i < N; i++)
    for (int j = 0; j < K; j++)
      if (!ignore || (x[i] != -7 && y[i * K + j] != -7)) want[x[i] * Y + y[i * K + j]]++;
  ie_context *ctx = cpu_context(threads);
  tc_tensor tx, ty, tt;
  tc_tensor_1d(&tx, x, TC_I64, N);
  if (ignore) tc_tensor_2d(&ty, y, TC_I64, N, K, 0);
  else tc_tensor_2d(&ty, y32, TC_I32, N, K, 0);
  tc_tensor_2d(&tt, tab, TC_I64, X, Y, 0);
  ie_count_options ign = {sizeof ign, -7, 1};
  const ie_count_options *opt = ignore ? &ign : NULL;
  cr_assert_eq(ie_count_pairs(ctx, &tx.t, &ty.t, &tt.t, opt), IE_OK, "%s", ie_errmsg(ctx));
  for (int64_t c = 0; c < X * Y; c++)
    cr_assert(tab[c] == want[c], "%d threads, batches of %lld pairs: cell %lld is %lld, expected %lld", threads,
              (long long)batch_pairs, (long long)c, (long long)tab[c], (long long)want[c]);
  /* a bad y near the end, then a bad x before it: the earliest is named */
  const int64_t late = N - 3, later = N - 2;
  y[late * K + 1] = Y;
  y32[late * K + 1] = Y;
  const int64_t x_keep = x[later];
  x[later] = X;
  for (int round = 0; round < 2; round++) {
    cr_assert_eq(ie_count_pairs(ctx, &tx.t, &ty.t, &tt.t, opt), IE_BAD_LABEL);
    const int64_t row = round == 0 ? late : later, col = round == 0 ? 1 : -1; /* a bad x names no column */
    cr_assert(ie_error_row(ctx) == row && ie_error_column(ctx) == col, "%d threads: row %lld column %lld named (%s)",
              threads, (long long)ie_error_row(ctx), (long long)ie_error_column(ctx), ie_errmsg(ctx));
    for (int64_t c = 0; c < X * Y; c++)
      cr_assert(tab[c] == want[c], "%d threads: a failed count changed cell %lld", threads, (long long)c);
    y[late * K + 1] = 0; /* mended: the bad x is next */
    y32[late * K + 1] = 0;
  }
  x[later] = x_keep;
  ie_context_destroy(ctx);
  ie__cpu_count_batch_pairs = saved;
  free(x), free(y), free(y32), free(tab), free(want);
}

Test(count_bands, int32_rows_in_batches) {
  for (int threads = 1; threads <= 3; threads++) run(threads, 0, 1000);
}

Test(count_bands, ignore_label_in_batches) {
  for (int threads = 1; threads <= 3; threads++) run(threads, 1, 999);
}

Test(count_bands, one_batch) {
  run(2, 0, (int64_t)1 << 25);
  run(2, 1, (int64_t)1 << 25);
}
