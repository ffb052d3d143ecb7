/*
 * test_partial.c — partial states (include/infoest.h "Partial states"):
 * exact sums rounded once, merging in row order, and the promise that a
 * summary made of pieces is the one-call summary to the last bit, whatever
 * the pieces.
 *
 * The exact references are made independently of the accumulator: sums of
 * integers times a power of two (exact in int64, rounded once by the
 * int64 → double conversion, which is correctly rounded), and hand-made
 * cases whose exact sum is known.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <string.h>

#include "common.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double unif(void) { return (double)(rng() >> 11) * 0x1p-53; }

static ie_context *cpu(void) { return tc_context(IE_BACKEND_CPU); }

/* The summary of `n` values added in one piece. */
static ie_summary sum_of(ie_context *ctx, const double *v, int64_t n) {
  ie_partial p;
  ie_partial_init(&p, 0);
  tc_tensor t;
  tc_tensor_1d(&t, (void *)v, TC_F64, n);
  cr_assert_eq(ie_partial_add(ctx, &p, &t.t, NULL), IE_OK, "%s", ie_errmsg(ctx));
  ie_summary s;
  cr_assert_eq(ie_partial_finalize(ctx, &p, &s), IE_OK, "%s", ie_errmsg(ctx));
  return s;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

Test(partial, exact_integer_sums) {
  ie_context *ctx = cpu();
  enum { N = 20000 };
  static double v[N];
  for (int scale = -1070; scale <= 960; scale += 101) {
    int64_t exact = 0;
    for (int i = 0; i < N; i++) {
      int64_t k = (int64_t)(rng() % ((uint64_t)1 << 41)) - ((int64_t)1 << 40);
      exact += k;
      v[i] = ldexp((double)k, scale);
    }
    ie_summary s = sum_of(ctx, v, N);
    double want = ldexp((double)exact, scale); /* one rounding: int64 -> double */
    cr_expect(same_bits(s.sum, want), "scale 2^%d: sum %.17g, exact %.17g", scale, s.sum, want);
    cr_expect_eq(s.rows, N);
    cr_expect_eq(s.rows_kept, N);
    cr_expect(same_bits(s.weight_sum, (double)N));
    cr_expect(same_bits(s.mean, want / N));
  }
  ie_context_destroy(ctx);
}

Test(partial, cancellation_rounding_and_extremes) {
  ie_context *ctx = cpu();
  const double tiny = 0x1p-1074;
  struct {
    double v[6];
    int n;
    double want;
  } cases[] = {
      {{1e300, 1.0, -1e300, tiny, -1.0}, 5, tiny},           /* a plain sum gives 0 */
      {{1.0, 0x1p-53}, 2, 1.0},                              /* a tie: to even */
      {{1.0, 0x1p-53, 0x1p-100}, 3, 1.0 + 0x1p-52},          /* past the tie */
      {{-1.0, -0x1p-53, -0x1p-100}, 3, -1.0 - 0x1p-52},      /* the same, negative */
      {{1.0 + 0x1p-52, 0x1p-53}, 2, 1.0 + 0x1p-51},          /* a tie to even, upwards */
      {{DBL_MAX, DBL_MAX, -DBL_MAX}, 3, DBL_MAX},            /* no overflow midway */
      {{DBL_MAX, DBL_MAX}, 2, INFINITY},                     /* overflow at the end */
      {{-DBL_MAX, -DBL_MAX}, 2, -INFINITY},
      {{tiny, tiny, tiny}, 3, 3 * tiny},                      /* subnormals, exact */
      {{0.1, 0.2, -0.3}, 3, 0x1p-55},                         /* 0.1+0.2-0.3 exactly */
      {{-0.0, -0.0}, 2, 0.0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    ie_summary s = sum_of(ctx, cases[c].v, cases[c].n);
    cr_expect(same_bits(s.sum, cases[c].want), "case %zu: sum %a, want %a", c, s.sum, cases[c].want);
  }
  /* 1 followed by 2^20 values of 2^-60: a running sum never moves off 1. */
  enum { M = (1 << 20) + 1 };
  double *many = malloc(M * sizeof *many);
  cr_assert_not_null(many);
  many[0] = 1.0;
  for (int i = 1; i < M; i++) many[i] = 0x1p-60;
  ie_summary s = sum_of(ctx, many, M);
  cr_expect(same_bits(s.sum, 1.0 + 0x1p-40), "sum %a", s.sum);
  free(many);
  /* Infinities and NaN are counted aside. */
  double inf1[] = {INFINITY, 1.0, 2.0};
  cr_expect_eq(sum_of(ctx, inf1, 3).sum, INFINITY);
  cr_expect_eq(sum_of(ctx, inf1, 3).max, INFINITY);
  double inf2[] = {INFINITY, -INFINITY, 2.0};
  cr_expect(isnan(sum_of(ctx, inf2, 3).sum));
  double nan1[] = {1.0, NAN, 3.0};
  ie_summary sn = sum_of(ctx, nan1, 3);
  cr_expect(isnan(sn.sum));
  cr_expect_eq(sn.min, 1.0);
  cr_expect_eq(sn.max, 3.0);
  ie_context_destroy(ctx);
}

Test(partial, weights_and_masks) {
  ie_context *ctx = cpu();
  double v[5] = {1.0, 2.0, 4.0, 8.0, 16.0};
  double w[5] = {0.5, 0.0, 3.0, 0.25, 1.0};
  tc_tensor tv, tw;
  tc_tensor_1d(&tv, v, TC_F64, 5);
  tc_tensor_1d(&tw, w, TC_F64, 5);
  ie_partial p;
  ie_partial_init(&p, 10);
  cr_assert_eq(ie_partial_add(ctx, &p, &tv.t, &tw.t), IE_OK, "%s", ie_errmsg(ctx));
  cr_expect_eq(p.row_begin, 10);
  cr_expect_eq(p.row_end, 15);
  ie_summary s;
  cr_assert_eq(ie_partial_finalize(ctx, &p, &s), IE_OK);
  cr_expect_eq(s.rows, 5);
  cr_expect_eq(s.rows_kept, 4);
  cr_expect_eq(s.weight_sum, 4.75);
  cr_expect_eq(s.sum, 0.5 + 12.0 + 2.0 + 16.0);
  cr_expect_eq(s.min, 1.0); /* the weight-0 row's 2 is not kept; min is over values */
  cr_expect_eq(s.max, 16.0);
  /* A mask. */
  uint8_t mask[5] = {0, 0, 0, 0, 0};
  tc_tensor tm;
  tc_tensor_1d(&tm, mask, TC_U8, 5);
  ie_partial q;
  ie_partial_init(&q, 0);
  cr_assert_eq(ie_partial_add(ctx, &q, &tv.t, &tm.t), IE_OK);
  cr_expect_eq(ie_partial_finalize(ctx, &q, &s), IE_EMPTY_REDUCTION);
  cr_expect_eq(q.row_end, 5);
  /* A negative weight is refused and names its row. */
  w[3] = -1;
  cr_expect_eq(ie_partial_add(ctx, &q, &tv.t, &tw.t), IE_INVALID_ARGUMENT);
  cr_expect_eq(ie_error_row(ctx), 3);
  cr_expect_eq(q.row_end, 5, "a failed add left the state changed");
  ie_context_destroy(ctx);
}

Test(partial, merge_order_and_garbage) {
  ie_context *ctx = cpu();
  double v[4] = {1, 2, 3, 4};
  tc_tensor t;
  tc_tensor_1d(&t, v, TC_F64, 4);
  ie_partial a, b, saved;
  ie_partial_init(&a, 0);
  ie_partial_init(&b, 4);
  cr_assert_eq(ie_partial_add(ctx, &a, &t.t, NULL), IE_OK);
  cr_assert_eq(ie_partial_add(ctx, &b, &t.t, NULL), IE_OK);
  /* b then a: out of order. */
  saved = b;
  cr_expect_eq(ie_partial_merge(ctx, &b, &a), IE_INVALID_ARGUMENT);
  cr_expect(strstr(ie_errmsg(ctx), "row order") != NULL, "%s", ie_errmsg(ctx));
  cr_expect(memcmp(&saved, &b, sizeof b) == 0, "a failed merge changed its target");
  /* a twice: a gap/overlap. */
  ie_partial a2 = a;
  cr_expect_eq(ie_partial_merge(ctx, &a2, &a), IE_INVALID_ARGUMENT);
  cr_expect_eq(ie_partial_merge(ctx, &a, &b), IE_OK, "%s", ie_errmsg(ctx));
  cr_expect_eq(a.row_end, 8);
  ie_summary s;
  cr_assert_eq(ie_partial_finalize(ctx, &a, &s), IE_OK);
  cr_expect_eq(s.sum, 20.0);
  cr_expect_eq(s.rows, 8);
  /* Not made by the library. */
  ie_partial g;
  memset(&g, 0, sizeof g);
  cr_expect_eq(ie_partial_finalize(ctx, &g, &s), IE_INVALID_ARGUMENT);
  ie_partial_init(&g, 8);
  g.sum[3] = -5; /* not normalised: garbage */
  cr_expect_eq(ie_partial_merge(ctx, &a, &g), IE_INVALID_ARGUMENT);
  cr_expect_eq(ie_partial_merge(ctx, &a, NULL), IE_INVALID_ARGUMENT);
  cr_expect_eq(ie_partial_finalize(ctx, &a, NULL), IE_INVALID_ARGUMENT);
  /* The empty state is the identity. */
  ie_partial e;
  ie_partial_init(&e, 8);
  ie_summary s2;
  cr_assert_eq(ie_partial_merge(ctx, &a, &e), IE_OK);
  cr_assert_eq(ie_partial_finalize(ctx, &a, &s2), IE_OK);
  cr_expect(memcmp(&s, &s2, sizeof s) == 0);
  ie_context_destroy(ctx);
}

/* States know what their values are: a call marks its state with its
 * quantity, and states of two quantities refuse to merge. */
Test(partial, states_of_two_quantities_do_not_merge) {
  ie_context *ctx = cpu();
  enum { N = 4, V = 5 };
  float x[N * V], y[N * V];
  for (int i = 0; i < N * V; i++) x[i] = (float)(i % 7) * 0.3f, y[i] = (float)(i % 5) * 0.2f;
  tc_tensor tx, ty;
  tc_tensor_2d(&tx, x, TC_F32, N, V, 0);
  tc_tensor_2d(&ty, y, TC_F32, N, V, 0);
  /* state i covers rows [4 i, 4 i + 4) */
  enum { SHANNON, SHANNON_ALPHA, RENYI_HALF, RENYI_TWO, KL, KL_ALPHA, KL_T2, STATES };
  ie_partial st[STATES];
  for (int i = 0; i < STATES; i++) {
    if (i <= RENYI_TWO) {
      ie_entropy_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.kind = i <= SHANNON_ALPHA ? IE_ENTROPY_SHANNON : IE_ENTROPY_RENYI;
      o.alpha = i == SHANNON_ALPHA ? 3.0 : i == RENYI_HALF ? 0.5 : 2.0; /* Shannon uses none */
      o.partial = &st[i];
      o.first_row = 4 * i;
      cr_assert_eq(ie_entropy(ctx, &tx.t, NULL, &o, NULL), IE_OK, "%s", ie_errmsg(ctx));
    } else {
      ie_divergence_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.alpha = i == KL_ALPHA ? 0.7 : 0; /* KL uses none */
      o.temperature = i == KL_T2 ? 2.0 : 0;
      o.partial = &st[i];
      o.first_row = 4 * i;
      cr_assert_eq(ie_divergence(ctx, IE_DIV_KL, &tx.t, &ty.t, NULL, &o, NULL), IE_OK, "%s", ie_errmsg(ctx));
    }
    cr_expect_neq(st[i].kind, 0u, "state %d carries no kind", i);
  }
  /* one quantity: its parameters unused by its kind do not count */
  cr_expect_eq(st[SHANNON].kind, st[SHANNON_ALPHA].kind);
  cr_expect_eq(st[KL].kind, st[KL_ALPHA].kind);
  const struct { int a, b; } other[] = {{SHANNON, RENYI_HALF}, {RENYI_HALF, RENYI_TWO}, {RENYI_TWO, KL},
                                         {KL_ALPHA, KL_T2}};
  for (size_t k = 0; k < sizeof other / sizeof *other; k++) {
    ie_partial a = st[other[k].a], b = st[other[k].b], saved;
    b.row_begin = a.row_end; /* adjacent: only the kinds differ */
    b.row_end = a.row_end + 4;
    saved = a;
    cr_expect_eq(ie_partial_merge(ctx, &a, &b), IE_INVALID_ARGUMENT, "states %d and %d merged", other[k].a,
                 other[k].b);
    cr_expect(strstr(ie_errmsg(ctx), "different quantities") != NULL, "%s", ie_errmsg(ctx));
    cr_expect(memcmp(&saved, &a, sizeof a) == 0, "a refused merge changed its target");
  }
  ie_partial a = st[SHANNON]; /* rows [0, 4), then [4, 8) */
  cr_assert_eq(ie_partial_merge(ctx, &a, &st[SHANNON_ALPHA]), IE_OK, "%s", ie_errmsg(ctx));
  /* an empty state takes the kind of what joins it; values of one's own
   * (ie_partial_add) are of any kind */
  ie_partial e, own;
  ie_partial_init(&e, 4);
  ie_partial_init(&own, 8);
  double v[2] = {1, 2};
  tc_tensor tv;
  tc_tensor_1d(&tv, v, TC_F64, 2);
  cr_assert_eq(ie_partial_add(ctx, &own, &tv.t, NULL), IE_OK, "%s", ie_errmsg(ctx));
  cr_expect_eq(own.kind, 0u);
  cr_assert_eq(ie_partial_merge(ctx, &e, &st[SHANNON_ALPHA]), IE_OK, "%s", ie_errmsg(ctx));
  cr_expect_eq(e.kind, st[SHANNON].kind);
  cr_assert_eq(ie_partial_merge(ctx, &e, &own), IE_OK, "%s", ie_errmsg(ctx));
  cr_expect_eq(e.kind, st[SHANNON].kind);
  ie_context_destroy(ctx);
}

/* ---- The calls' partial states, split anywhere --------------------------------- */

/* Language-model-like logits: a Zipf bias over the vocabulary, noise, and
 * every 7th row confident (one logit 25 above the rest). */
static void make_logits(float *x, int64_t rows, int64_t V, double shift) {
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t k = 0; k < V; k++)
      x[r * V + k] = (float)(-1.1 * log((double)k + 1) + 2.0 * (unif() - 0.5) + shift * (unif() - 0.5));
    if (r % 7 == 3) x[r * V + (r % V)] += 25.0f;
  }
}

typedef struct {
  const char *what;
  int op; /* 0 entropy, 1 nll, 2 divergence */
  ie_divergence_kind kind;
  int weighted;
} call_case;

static ie_status run_call(ie_context *ctx, const call_case *cc, const float *p, const float *q,
                          const int64_t *labels, const double *w, int64_t r0, int64_t n, int64_t V,
                          DLTensor *per_row, ie_summary *sm, ie_partial *pt) {
  tc_tensor tp, tq, tl, tw;
  tc_tensor_2d(&tp, (void *)(p + r0 * V), TC_F32, n, V, 0);
  tc_tensor_2d(&tq, (void *)(q + r0 * V), TC_F32, n, V, 0);
  tc_tensor_1d(&tl, (void *)(labels + r0), TC_I64, n);
  tc_tensor_1d(&tw, (void *)(w + r0), TC_F64, n);
  const DLTensor *wt = cc->weighted ? &tw.t : NULL;
  if (cc->op == 0) {
    ie_entropy_options o = {sizeof o, IE_INPUT_LOGITS, 0, IE_ENTROPY_SHANNON, 0, wt, pt, r0};
    return ie_entropy(ctx, &tp.t, per_row, &o, sm);
  }
  if (cc->op == 1) {
    ie_nll_options o = {sizeof o, 0, -100, 1, wt, pt, r0};
    return ie_nll(ctx, &tp.t, &tl.t, per_row, &o, sm);
  }
  ie_divergence_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.alpha = 0.5;
  o.row_weights = wt;
  o.partial = pt;
  o.first_row = r0;
  return ie_divergence(ctx, cc->kind, &tp.t, &tq.t, per_row, &o, sm);
}

Test(partial, pieces_give_the_one_call_bits) {
  enum { V = 48 };
  const int64_t rows = 3 * IE_PARTIAL_BLOCK_ROWS + 517; /* not a whole number of blocks */
  float *p = malloc((size_t)rows * V * sizeof *p), *q = malloc((size_t)rows * V * sizeof *q);
  int64_t *labels = malloc((size_t)rows * sizeof *labels);
  double *w = malloc((size_t)rows * sizeof *w), *vals = malloc((size_t)rows * sizeof *vals);
  cr_assert(p && q && labels && w && vals);
  make_logits(p, rows, V, 1.0);
  for (int64_t i = 0; i < rows * V; i++) q[i] = p[i] + (float)(0.3 * (unif() - 0.5)); /* a student near its teacher */
  for (int64_t r = 0; r < rows; r++) {
    labels[r] = r % 11 == 5 ? -100 : (int64_t)(rng() % V);
    w[r] = r % 13 == 0 ? 0.0 : 0.25 + unif();
  }
  const call_case cases[] = {
      {"entropy", 0, IE_DIV_KL, 0},          {"entropy weighted", 0, IE_DIV_KL, 1},
      {"nll ignore -100", 1, IE_DIV_KL, 0},  {"kl", 2, IE_DIV_KL, 0},
      {"js weighted", 2, IE_DIV_JS, 1},      {"renyi 0.5", 2, IE_DIV_RENYI, 0},
      {"hellinger", 2, IE_DIV_HELLINGER, 0},
  };
  const int64_t B = IE_PARTIAL_BLOCK_ROWS;
  /* Splits: at block boundaries (what the command does) and anywhere. */
  const int64_t splits[][4] = {
      {B, 2 * B, 3 * B, -1}, {B, -1, -1, -1}, {3 * B, -1, -1, -1}, {1, 2, rows - 1, -1},
      {777, 5000, 9001, -1}, {0, 0, rows, -1},
  };
  ie_backend bs[3];
  int nb = tc_backends(bs);
  for (int bi = 0; bi < nb; bi++) {
    ie_context *ctx = tc_context(bs[bi]);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      const call_case *cc = &cases[c];
      tc_tensor tv;
      tc_tensor_1d(&tv, vals, TC_F64, rows);
      ie_summary whole;
      ie_status st = run_call(ctx, cc, p, q, labels, w, 0, rows, V, &tv.t, &whole, NULL);
      cr_assert_eq(st, IE_OK, "%s: %s", cc->what, ie_errmsg(ctx));
      /* The summary against a long-double sum of the per-row values. */
      long double ref = 0, wref = 0;
      int64_t kept = 0;
      for (int64_t r = 0; r < rows; r++) {
        double wr = cc->weighted ? w[r] : (cc->op == 1 && labels[r] == -100 ? 0.0 : 1.0);
        if (cc->op == 1 && labels[r] == -100) wr = 0;
        if (wr == 0) continue;
        kept++;
        ref += (long double)(wr == 1.0 ? vals[r] : wr * vals[r]);
        wref += wr;
      }
      cr_expect_eq(whole.rows_kept, kept, "%s", cc->what);
      cr_expect(tc_close(whole.sum, (double)ref), "%s: sum %.17g, reference %.17Lg", cc->what, whole.sum, ref);
      cr_expect(tc_close(whole.weight_sum, (double)wref), "%s", cc->what);
      cr_expect(same_bits(whole.mean, whole.sum / whole.weight_sum), "%s", cc->what);

      for (size_t sp = 0; sp < sizeof splits / sizeof splits[0]; sp++) {
        int64_t cut[6];
        int nc = 0;
        cut[nc++] = 0;
        for (int k = 0; k < 4 && splits[sp][k] >= 0; k++) cut[nc++] = splits[sp][k];
        cut[nc++] = rows;
        ie_partial acc, piece[5];
        for (int k = 0; k + 1 < nc; k++) {
          ie_partial_init(&piece[k], -7); /* overwritten by the call */
          st = run_call(ctx, cc, p, q, labels, w, cut[k], cut[k + 1] - cut[k], V, NULL, NULL, &piece[k]);
          cr_assert_eq(st, IE_OK, "%s piece %d: %s", cc->what, k, ie_errmsg(ctx));
          cr_expect_eq(piece[k].row_begin, cut[k]);
          cr_expect_eq(piece[k].row_end, cut[k + 1]);
        }
        /* Left to right ... */
        acc = piece[0];
        for (int k = 1; k + 1 < nc; k++) cr_assert_eq(ie_partial_merge(ctx, &acc, &piece[k]), IE_OK, "%s", ie_errmsg(ctx));
        ie_summary got;
        ie_status fs = ie_partial_finalize(ctx, &acc, &got);
        cr_assert_eq(fs, IE_OK, "%s", ie_errmsg(ctx));
        cr_expect(memcmp(&got, &whole, sizeof got) == 0,
                  "%s [%s] split %zu: sum %a mean %a min %a max %a; one call: %a %a %a %a", cc->what,
                  ie_backend_name(bs[bi]), sp, got.sum, got.mean, got.min, got.max, whole.sum, whole.mean,
                  whole.min, whole.max);
        /* ... and right to left (a tree, as an engine may reduce). */
        ie_partial right = piece[nc - 2];
        for (int k = nc - 3; k >= 0; k--) {
          ie_partial left = piece[k];
          cr_assert_eq(ie_partial_merge(ctx, &left, &right), IE_OK, "%s", ie_errmsg(ctx));
          right = left;
        }
        cr_assert_eq(ie_partial_finalize(ctx, &right, &got), IE_OK);
        cr_expect(memcmp(&got, &whole, sizeof got) == 0, "%s split %zu right to left", cc->what, sp);
      }
    }
    /* A failed call leaves the partial state as it was. */
    p[(rows - 2) * V + 3] = NAN;
    ie_partial keep;
    ie_partial_init(&keep, 5);
    ie_partial before = keep;
    ie_status st = run_call(ctx, &cases[0], p, q, labels, w, 0, rows, V, NULL, NULL, &keep);
    cr_expect_eq(st, IE_NONFINITE);
    cr_expect_eq(ie_error_row(ctx), rows - 2);
    cr_expect(memcmp(&keep, &before, sizeof keep) == 0, "a failed call wrote its partial state");
    p[(rows - 2) * V + 3] = 0.5f;
    ie_context_destroy(ctx);
  }
  free(p);
  free(q);
  free(labels);
  free(w);
  free(vals);
}
