/*
 * test_errors.c — docs/SPEC.md §1's bad input and the header's argument rules, on
 * every backend compiled in: the right status, a message that names the
 * tensor and the first offending row, inputs untouched, outputs untouched or
 * NaN; argument errors (NULL, shapes, dtypes, strides, devices, options);
 * unavailable backends; determinism.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct {
  int backend;
} bparam;

static void free_params(struct criterion_test_params *crp) { cr_free(crp->params); }

static struct criterion_test_params backend_params(void) {
  ie_backend bs[3];
  int nb = tc_backends(bs);
  bparam *p = cr_malloc(sizeof(bparam) * (size_t)nb);
  for (int i = 0; i < nb; i++) p[i].backend = bs[i];
  return cr_make_param_array(bparam, p, (size_t)nb, free_params);
}

/* `word` appears in s bounded by characters that are not [A-Za-z0-9_]. */
static int has_word(const char *s, const char *word) {
  size_t k = strlen(word);
  for (const char *p = s; (p = strstr(p, word)) != NULL; p++) {
    int before = p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
    int after = !(isalnum((unsigned char)p[k]) || p[k] == '_');
    if (before && after) return 1;
  }
  return 0;
}

static int has_number(const char *s, long long n) {
  char w[32];
  snprintf(w, sizeof w, "%lld", n);
  size_t k = strlen(w);
  for (const char *p = s; (p = strstr(p, w)) != NULL; p++) {
    int before = p == s || !isdigit((unsigned char)p[-1]);
    int after = !isdigit((unsigned char)p[k]) && p[k] != '.';
    if (before && after) return 1;
  }
  return 0;
}

/* ---- bad values --------------------------------------------------------------------- */

enum { B = 50, V = 13, BAD_ROW = 37, BAD_ROW2 = 45 };
static const double SENT = 4242.0;

static unsigned lcg_state = 12345u;
static double urand(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return ((lcg_state >> 8) + 0.5) / 16777216.0;
}

typedef enum { OP_ENTROPY, OP_LSE, OP_LOG_SOFTMAX, OP_NLL, OP_DIV_P, OP_DIV_Q } bad_op;

typedef struct {
  const char *what;
  bad_op op;
  ie_input_kind input;
  DLDataType dt;
  int inject; /* 0 NaN, 1 +inf, 2 whole row -inf, 3 negative, 4 whole row 0, 5 -inf in probs,
                 6 bad label V, 7 label -1 */
  ie_status want;
  const char *names[4]; /* acceptable names for the tensor in the message */
  ie_status want2;      /* also acceptable when two faults apply (-inf in probs) */
} bad_case;

#define XN {"x", "logits", "probs", NULL}
static const bad_case BAD[] = {
    {"entropy logits NaN", OP_ENTROPY, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 0, IE_NONFINITE, XN, IE_OK},
    {"entropy logits +inf", OP_ENTROPY, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 1, IE_NONFINITE, XN, IE_OK},
    {"entropy logits all -inf row", OP_ENTROPY, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 2, IE_EMPTY_ROW, XN, IE_OK},
    {"entropy probs negative", OP_ENTROPY, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 3, IE_NEGATIVE, XN, IE_OK},
    {"entropy probs NaN", OP_ENTROPY, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 0, IE_NONFINITE, XN, IE_OK},
    {"entropy probs +inf", OP_ENTROPY, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 1, IE_NONFINITE, XN, IE_OK},
    {"entropy probs -inf", OP_ENTROPY, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 5, IE_NEGATIVE, XN, IE_NONFINITE},
    {"entropy probs all-zero row", OP_ENTROPY, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 4, IE_EMPTY_ROW, XN, IE_OK},
    {"entropy f16 logits NaN", OP_ENTROPY, IE_INPUT_LOGITS, {kDLFloat, 16, 1}, 0, IE_NONFINITE, XN, IE_OK},
    {"entropy bf16 logits +inf", OP_ENTROPY, IE_INPUT_LOGITS, {kDLBfloat, 16, 1}, 1, IE_NONFINITE, XN, IE_OK},
    {"entropy f16 probs negative", OP_ENTROPY, IE_INPUT_PROBS, {kDLFloat, 16, 1}, 3, IE_NEGATIVE, XN, IE_OK},
    {"logsumexp NaN", OP_LSE, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 0, IE_NONFINITE, {"logits", "x", NULL, NULL}, IE_OK},
    {"logsumexp all -inf row", OP_LSE, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 2, IE_EMPTY_ROW, {"logits", "x", NULL, NULL}, IE_OK},
    {"log_softmax NaN", OP_LOG_SOFTMAX, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 0, IE_NONFINITE, {"logits", "x", NULL, NULL}, IE_OK},
    {"log_softmax +inf (bf16)", OP_LOG_SOFTMAX, IE_INPUT_LOGITS, {kDLBfloat, 16, 1}, 1, IE_NONFINITE, {"logits", "x", NULL, NULL}, IE_OK},
    {"log_softmax all -inf row", OP_LOG_SOFTMAX, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 2, IE_EMPTY_ROW, {"logits", "x", NULL, NULL}, IE_OK},
    {"nll logits NaN", OP_NLL, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 0, IE_NONFINITE, {"logits", NULL, NULL, NULL}, IE_OK},
    {"nll label = V", OP_NLL, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 6, IE_BAD_LABEL, {"labels", "label", NULL, NULL}, IE_OK},
    {"nll label = -1", OP_NLL, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 7, IE_BAD_LABEL, {"labels", "label", NULL, NULL}, IE_OK},
    {"divergence p logits NaN", OP_DIV_P, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 0, IE_NONFINITE, {"p", NULL, NULL, NULL}, IE_OK},
    {"divergence q logits +inf", OP_DIV_Q, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 1, IE_NONFINITE, {"q", NULL, NULL, NULL}, IE_OK},
    {"divergence q all -inf row", OP_DIV_Q, IE_INPUT_LOGITS, {kDLFloat, 32, 1}, 2, IE_EMPTY_ROW, {"q", NULL, NULL, NULL}, IE_OK},
    {"divergence p probs negative", OP_DIV_P, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 3, IE_NEGATIVE, {"p", NULL, NULL, NULL}, IE_OK},
    {"divergence q probs zero row", OP_DIV_Q, IE_INPUT_PROBS, {kDLFloat, 32, 1}, 4, IE_EMPTY_ROW, {"q", NULL, NULL, NULL}, IE_OK},
    {"divergence q probs NaN (f16)", OP_DIV_Q, IE_INPUT_PROBS, {kDLFloat, 16, 1}, 0, IE_NONFINITE, {"q", NULL, NULL, NULL}, IE_OK},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void fill_good(void *buf, DLDataType dt, ie_input_kind in) {
  for (size_t k = 0; k < (size_t)B * V; k++)
    tc_set(buf, dt, k, in == IE_INPUT_PROBS ? urand() + 0.01 : 4.0 * (urand() - 0.5));
}

static void inject(void *buf, DLDataType dt, int how, int row, int col) {
  switch (how) {
  case 0: tc_set(buf, dt, (size_t)row * V + col, NAN); break;
  case 1: tc_set(buf, dt, (size_t)row * V + col, INFINITY); break;
  case 2: for (int j = 0; j < V; j++) tc_set(buf, dt, (size_t)row * V + j, -INFINITY); break;
  case 3: tc_set(buf, dt, (size_t)row * V + col, -0.25); break;
  case 4: for (int j = 0; j < V; j++) tc_set(buf, dt, (size_t)row * V + j, 0.0); break;
  case 5: tc_set(buf, dt, (size_t)row * V + col, -INFINITY); break;
  default: break;
  }
}

static int sent_or_nan(double v) { return v == SENT || isnan(v); }

ParameterizedTestParameters(bad_values, all) { return backend_params(); }

ParameterizedTest(bparam *bp, bad_values, all, .timeout = 120) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  ie_context *ctx = tc_context(b);
  for (size_t ci = 0; ci < NBAD; ci++) {
    const bad_case *c = &BAD[ci];
    size_t es = tc_dtype_size(c->dt);
    void *x = malloc((size_t)B * V * es), *y = malloc((size_t)B * V * es);
    fill_good(x, c->dt, c->input);
    fill_good(y, c->dt, c->input);
    int64_t lab[B];
    for (int i = 0; i < B; i++) lab[i] = (int64_t)(urand() * V) % V;
    /* the first offending row is BAD_ROW (last column), a later one BAD_ROW2 (first column) */
    if (c->inject == 6) {
      lab[BAD_ROW] = V;
      lab[BAD_ROW2] = V + 5;
    } else if (c->inject == 7) {
      lab[BAD_ROW] = -1;
      lab[BAD_ROW2] = -7;
    } else {
      void *t = c->op == OP_DIV_Q ? y : x;
      inject(t, c->dt, c->inject, BAD_ROW, V - 1);
      inject(t, c->dt, c->inject, BAD_ROW2, 0);
    }
    void *x0 = malloc((size_t)B * V * es), *y0 = malloc((size_t)B * V * es);
    memcpy(x0, x, (size_t)B * V * es);
    memcpy(y0, y, (size_t)B * V * es);
    int64_t lab0[B];
    memcpy(lab0, lab, sizeof lab);

    double pr[B];
    float out[B * V];
    for (int i = 0; i < B; i++) tc_set(pr, tc_rowdt, (size_t)i, SENT);
    for (int i = 0; i < B * V; i++) out[i] = (float)SENT;
    ie_summary s = {-7, -7, SENT, SENT, SENT, SENT, SENT};
    tc_tensor X, Y, L, O, OM;
    tc_tensor_2d(&X, x, c->dt, B, V, 0);
    tc_tensor_2d(&Y, y, c->dt, B, V, 0);
    tc_tensor_1d(&L, lab, TC_I64, B);
    tc_tensor_1d(&O, pr, tc_rowdt, B);
    tc_tensor_2d(&OM, out, TC_F32, B, V, 0);
    ie_status st = IE_OK;
    const char *call = "";
    switch (c->op) {
    case OP_ENTROPY: {
      ie_entropy_options o;
      memset(&o, 0, sizeof o);
      o.input = c->input;
      st = ie_entropy(ctx, &X.t, &O.t, &o, &s);
      call = "entropy";
      break;
    }
    case OP_LSE:
      st = ie_logsumexp(ctx, &X.t, &O.t, NULL);
      call = "logsumexp";
      break;
    case OP_LOG_SOFTMAX:
      st = ie_log_softmax(ctx, &X.t, &OM.t, NULL);
      call = "log_softmax";
      break;
    case OP_NLL:
      st = ie_nll(ctx, &X.t, &L.t, &O.t, NULL, &s);
      call = "nll";
      break;
    case OP_DIV_P:
    case OP_DIV_Q: {
      ie_divergence_options o;
      memset(&o, 0, sizeof o);
      o.p_input = o.q_input = c->input;
      st = ie_divergence(ctx, IE_DIV_KL, &X.t, &Y.t, &O.t, &o, &s);
      call = "divergence";
      break;
    }
    }
    const char *msg = ie_errmsg(ctx);
    cr_expect(st == c->want || (c->want2 != IE_OK && st == c->want2),
              "[%s] %s: status %s, expected %s (%s)", bn, c->what,
              ie_status_name(st), ie_status_name(c->want), msg);
    cr_expect(ie_errcode(ctx) == st, "[%s] %s: ie_errcode %s != returned %s", bn, c->what,
              ie_status_name(ie_errcode(ctx)), ie_status_name(st));
    if (st != IE_OK) {
      int named = 0;
      for (int k = 0; k < 4 && c->names[k]; k++) named |= has_word(msg, c->names[k]);
      cr_expect(named, "[%s] %s: message does not name the tensor ('%s'): \"%s\"", bn, c->what,
                c->names[0], msg);
      cr_expect(has_number(msg, BAD_ROW), "[%s] %s: message does not name the first bad row %d: \"%s\"",
                bn, c->what, BAD_ROW, msg);
      cr_expect(strstr(msg, call) != NULL, "[%s] %s: message does not name the call (%s): \"%s\"",
                bn, c->what, call, msg);
    }
    cr_expect(memcmp(x, x0, (size_t)B * V * es) == 0, "[%s] %s: input modified", bn, c->what);
    cr_expect(memcmp(y, y0, (size_t)B * V * es) == 0, "[%s] %s: input q modified", bn, c->what);
    cr_expect(memcmp(lab, lab0, sizeof lab) == 0, "[%s] %s: labels modified", bn, c->what);
    int bad_out = -1;
    for (int i = 0; i < B && bad_out < 0; i++)
      if (!sent_or_nan(tc_get(pr, tc_rowdt, (size_t)i))) bad_out = i;
    cr_expect(bad_out < 0, "[%s] %s: failed call left a plausible per-row value %.17g at row %d",
              bn, c->what, bad_out >= 0 ? tc_get(pr, tc_rowdt, (size_t)bad_out) : 0.0, bad_out);
    bad_out = -1;
    for (int i = 0; i < B * V && bad_out < 0; i++)
      if (!sent_or_nan(out[i])) bad_out = i;
    cr_expect(bad_out < 0, "[%s] %s: failed call left a plausible output %.9g at row %d col %d",
              bn, c->what, bad_out >= 0 ? out[bad_out] : 0.0, bad_out / V, bad_out % V);
    cr_expect(sent_or_nan(s.sum) && sent_or_nan(s.mean) && sent_or_nan(s.min) && sent_or_nan(s.max),
              "[%s] %s: failed call left a plausible summary (sum %.17g mean %.17g min %.17g max %.17g)",
              bn, c->what, s.sum, s.mean, s.min, s.max);
    free(x);
    free(y);
    free(x0);
    free(y0);
  }
  /* the context still works after failures, and the message resets */
  float g[2 * 3] = {0, 1, 2, 3, 4, 5};
  double pr[2];
  tc_tensor X, O;
  tc_tensor_2d(&X, g, TC_F32, 2, 3, 0);
  tc_tensor_1d(&O, pr, tc_rowdt, 2);
  ie_status st = ie_entropy(ctx, &X.t, &O.t, NULL, NULL);
  cr_expect(st == IE_OK, "[%s] good call after failures: %s", bn, ie_status_name(st));
  cr_expect(ie_errcode(ctx) == IE_OK, "[%s] errcode not reset by a good call", bn);
  cr_expect(strcmp(ie_errmsg(ctx), "not an error") == 0, "[%s] errmsg after success: \"%s\"", bn,
            ie_errmsg(ctx));
  ie_context_destroy(ctx);
}

/* Rows of several chunks: the CPU's fast loops (one exp a pair for the KL
 * family, Shannon entropy's and TV's own loops) take the chunks after the
 * first on their own; a NaN or +inf there must still give IE_NONFINITE
 * naming the row, and a −inf logit there a value equal to the one with that
 * logit far below the rest (−1e4), or +inf where it makes q 0 under p > 0. */
enum { LB = 4, LV = 1500, LBAD = 2, LCOL = 1100 };

static ie_status long_call(ie_context *ctx, int op, DLTensor *x, DLTensor *y, DLTensor *o) {
  static const ie_divergence_kind kinds[] = {IE_DIV_KL, IE_DIV_REVERSE_KL, IE_DIV_JEFFREYS,
                                             IE_DIV_TV, IE_DIV_JS};
  if (op == 0) return ie_entropy(ctx, x, o, NULL, NULL);
  if (op == 1) return ie_logsumexp(ctx, x, o, NULL);
  return ie_divergence(ctx, kinds[op - 2], x, y, o, NULL, NULL);
}

ParameterizedTestParameters(bad_values, past_first_chunk) { return backend_params(); }

ParameterizedTest(bparam *bp, bad_values, past_first_chunk, .timeout = 120) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  static const char *ops[] = {"entropy", "logsumexp", "kl", "reverse-kl", "jeffreys", "tv", "js"};
  const DLDataType dts[] = {TC_F32, TC_F16, TC_BF16};
  ie_context *ctx = tc_context(b);
  for (int di = 0; di < 3; di++)
    for (int op = 0; op < 7; op++)
      for (int how = 0; how < 3; how++) { /* NaN, +inf, −inf; in p, then (divergences) q */
        for (int side = 0; side < (op >= 2 ? 2 : 1); side++) {
          const DLDataType dt = dts[di];
          const size_t es = tc_dtype_size(dt), n = (size_t)LB * LV;
          void *x = malloc(n * es), *y = malloc(n * es);
          for (size_t k = 0; k < n; k++) {
            const double v = 3 * sin(0.37 * (double)k) - 1e-3 * (double)(k % LV);
            tc_set(x, dt, k, v);
            tc_set(y, dt, k, v + 0.4 * cos(1.3 * (double)k));
          }
          double pr[LB], ref[LB];
          tc_tensor X, Y, O;
          tc_tensor_2d(&X, x, dt, LB, LV, 0);
          tc_tensor_2d(&Y, y, dt, LB, LV, 0);
          tc_tensor_1d(&O, how == 2 ? ref : pr, tc_rowdt, LB);
          void *t = side ? y : x;
          const size_t at = (size_t)LBAD * LV + LCOL;
          if (how == 2) { /* the reference: the logit far below the rest */
            tc_set(t, dt, at, -1e4);
            cr_expect(long_call(ctx, op, &X.t, &Y.t, &O.t) == IE_OK, "[%s] %s reference: %s", bn,
                      ops[op], ie_errmsg(ctx));
            tc_tensor_1d(&O, pr, tc_rowdt, LB);
          }
          tc_set(t, dt, at, how == 0 ? NAN : how == 1 ? INFINITY : -INFINITY);
          const ie_status st = long_call(ctx, op, &X.t, &Y.t, &O.t);
          if (how < 2) {
            cr_expect(st == IE_NONFINITE && has_number(ie_errmsg(ctx), LBAD),
                      "[%s] %s, %s at row %d col %d of %s: %s, \"%s\"", bn, ops[op],
                      how ? "+inf" : "NaN", LBAD, LCOL, side ? "q" : "p", ie_status_name(st),
                      ie_errmsg(ctx));
          } else {
            cr_expect(st == IE_OK, "[%s] %s, -inf: %s (%s)", bn, ops[op], ie_status_name(st),
                      ie_errmsg(ctx));
            /* q = 0 where p > 0 (KL's q, reverse KL's p, either for Jeffreys): +inf */
            const int infinite = (op == 2 && side) || (op == 3 && !side) || op == 4;
            for (int r = 0; r < LB && st == IE_OK; r++) {
              const double g = tc_get(pr, tc_rowdt, (size_t)r), e = tc_get(ref, tc_rowdt, (size_t)r);
              if (infinite && r == LBAD)
                cr_expect(isinf(g) && g > 0, "[%s] %s, -inf in %s row %d: %.10g, not +inf", bn,
                          ops[op], side ? "q" : "p", r, g);
              else cr_expect(fabs(g - e) <= 1e-5 * fabs(e) + 1e-6,
                        "[%s] %s (dtype %d/%d), -inf in %s row %d: %.10g, with -1e4 %.10g", bn,
                        ops[op], dt.code, dt.bits, side ? "q" : "p", r, g, e);
            }
          }
          free(x);
          free(y);
        }
      }
  ie_context_destroy(ctx);
}

/* ---- argument errors -------------------------------------------------------------------- */

#define EXPECT_ST(expr, want, what)                                                            \
  do {                                                                                         \
    ie_status st_ = (expr);                                                                    \
    cr_expect(st_ == (want), "[%s] %s: %s, expected %s (%s)", bn, what, ie_status_name(st_),   \
              ie_status_name(want), ctx ? ie_errmsg(ctx) : "");                                \
    if (st_ != IE_OK && ctx)                                                                   \
      cr_expect(strlen(ie_errmsg(ctx)) > 0 && ie_errcode(ctx) == st_,                          \
                "[%s] %s: no message / errcode", bn, what);                                    \
  } while (0)

#define EXPECT_FAIL(expr, what)                                                                \
  do {                                                                                         \
    ie_status st_ = (expr);                                                                    \
    cr_expect(st_ != IE_OK, "[%s] %s: accepted (IE_OK)", bn, what);                            \
  } while (0)

ParameterizedTestParameters(arguments, all) { return backend_params(); }

ParameterizedTest(bparam *bp, arguments, all, .timeout = 120) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  ie_context *ctx = tc_context(b);
  enum { R = 4, C = 6 };
  float x[R * 8], y[R * 8];
  for (int i = 0; i < R * 8; i++) {
    x[i] = (float)(0.3 * i - 2);
    y[i] = (float)(1.0 / (i + 1));
  }
  double pr[2 * R + 2];
  int64_t lab[R + 1] = {0, 1, 2, 3, 4};
  tc_tensor X, Y, O, L, T;
  tc_tensor_2d(&X, x, TC_F32, R, C, 0);
  tc_tensor_2d(&Y, y, TC_F32, R, C, 0);
  tc_tensor_1d(&O, pr, tc_rowdt, R);
  tc_tensor_1d(&L, lab, TC_I64, R);
  ie_entropy_options eo;
  memset(&eo, 0, sizeof eo);
  ie_divergence_options dopt;
  memset(&dopt, 0, sizeof dopt);
  ie_summary s;

  /* sanity: the good call works */
  EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, &s), IE_OK, "good entropy");
  EXPECT_ST(ie_entropy(ctx, &X.t, NULL, &eo, &s), IE_OK, "per_row NULL");
  EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, NULL, NULL), IE_OK, "opt and summary NULL");
  /* 1-D [V] is one row */
  tc_tensor_1d(&T, x, TC_F32, C);
  {
    tc_tensor O1;
    tc_tensor_1d(&O1, pr, tc_rowdt, 1);
    EXPECT_ST(ie_entropy(ctx, &T.t, &O1.t, NULL, NULL), IE_OK, "1-D input, per_row [1]");
  }

  /* NULL pointers */
  {
    ie_status st = ie_entropy(NULL, &X.t, &O.t, NULL, NULL);
    cr_expect(st == IE_INVALID_ARGUMENT, "[%s] NULL context: %s", bn, ie_status_name(st));
  }
  EXPECT_ST(ie_entropy(ctx, NULL, &O.t, NULL, NULL), IE_INVALID_ARGUMENT, "NULL x");
  EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, &X.t, NULL, &O.t, NULL, NULL), IE_INVALID_ARGUMENT, "NULL q");
  EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, NULL, &Y.t, &O.t, NULL, NULL), IE_INVALID_ARGUMENT, "NULL p");
  EXPECT_ST(ie_nll(ctx, &X.t, NULL, &O.t, NULL, NULL), IE_INVALID_ARGUMENT, "NULL labels");
  EXPECT_ST(ie_log_softmax(ctx, &X.t, NULL, NULL), IE_INVALID_ARGUMENT, "NULL out");
  EXPECT_ST(ie_logsumexp(ctx, &X.t, NULL, NULL), IE_INVALID_ARGUMENT, "NULL lse out");
  {
    tc_tensor Z;
    tc_tensor_2d(&Z, NULL, TC_F32, R, C, 0);
    EXPECT_FAIL(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), "NULL data pointer");
    Z.t.shape = NULL;
    Z.t.data = x;
    EXPECT_FAIL(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), "NULL shape pointer");
  }

  /* shapes */
  {
    tc_tensor Z = X;
    Z.t.shape = Z.shape;
    Z.t.ndim = 3;
    int64_t sh3[3] = {1, R, C};
    Z.t.shape = sh3;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "ndim 3");
    Z.t.ndim = 0;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "ndim 0");
    int64_t shz[2] = {R, 0};
    Z.t.ndim = 2;
    Z.t.shape = shz;
    EXPECT_FAIL(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), "V = 0 (no support)");
    int64_t shn[2] = {-1, C};
    Z.t.shape = shn;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "negative dimension");
  }
  {
    tc_tensor Q;
    tc_tensor_2d(&Q, y, TC_F32, R, C + 1, 0);
    EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, &X.t, &Q.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "q wider than p");
    tc_tensor_2d(&Q, y, TC_F32, R - 1, C, 0);
    EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, &X.t, &Q.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "q fewer rows");
    tc_tensor O2;
    tc_tensor_1d(&O2, pr, tc_rowdt, R + 1);
    EXPECT_ST(ie_entropy(ctx, &X.t, &O2.t, NULL, NULL), IE_BAD_SHAPE, "per_row [B+1]");
    tc_tensor_2d(&O2, pr, tc_rowdt, R, 1, 0);
    EXPECT_ST(ie_entropy(ctx, &X.t, &O2.t, NULL, NULL), IE_BAD_SHAPE, "per_row 2-D");
    tc_tensor L2;
    tc_tensor_1d(&L2, lab, TC_I64, R - 1);
    EXPECT_ST(ie_nll(ctx, &X.t, &L2.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "labels [B-1]");
    float om[R * C];
    tc_tensor OM;
    tc_tensor_2d(&OM, om, TC_F32, R, C - 1, 0);
    EXPECT_ST(ie_log_softmax(ctx, &X.t, &OM.t, NULL), IE_BAD_SHAPE, "log_softmax out narrower");
    tc_tensor W;
    float w[R + 1] = {1, 1, 1, 1, 1};
    tc_tensor_1d(&W, w, TC_F32, R + 1);
    eo.row_weights = &W.t;
    EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, &s), IE_BAD_SHAPE, "row_weights [B+1]");
    eo.row_weights = NULL;
  }

  /* strides */
  {
    tc_tensor Z;
    tc_tensor_2d(&Z, x, TC_F32, R, C, C);
    Z.strides[1] = 2;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "column stride 2");
    Z.strides[0] = C - 1;
    Z.strides[1] = 1;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "row stride < V");
    Z.strides[0] = -C;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_SHAPE, "negative row stride");
    Z.strides[0] = 8; /* larger row stride is fine: x has R*8 floats */
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_OK, "row stride 8 > V");
    /* a per-row output with stride 2: refused, or written at the strided places */
    tc_tensor O2;
    tc_tensor_1d(&O2, pr, tc_rowdt, R);
    O2.strides[0] = 2;
    O2.t.strides = O2.strides;
    double ref[R];
    tc_tensor OR;
    tc_tensor_1d(&OR, ref, tc_rowdt, R);
    EXPECT_ST(ie_entropy(ctx, &X.t, &OR.t, NULL, NULL), IE_OK, "compact per_row");
    for (int i = 0; i < 2 * R + 2; i++) tc_set(pr, tc_rowdt, (size_t)i, 4242.0);
    ie_status st2 = ie_entropy(ctx, &X.t, &O2.t, NULL, NULL);
    if (st2 == IE_OK) {
      for (int i = 0; i < R; i++) {
        double g = tc_get(pr, tc_rowdt, (size_t)(2 * i)), r = tc_get(ref, tc_rowdt, (size_t)i);
        cr_expect(g == r, "[%s] strided per_row [%d]: %.17g vs %.17g", bn, i, g, r);
        cr_expect(tc_get(pr, tc_rowdt, (size_t)(2 * i + 1)) == 4242.0,
                  "[%s] strided per_row wrote the gap after %d", bn, i);
      }
    } else {
      cr_expect(st2 == IE_BAD_SHAPE, "[%s] strided per_row refused with %s", bn, ie_status_name(st2));
    }
  }

  /* dtypes */
  {
    tc_tensor Z = X;
    Z.t.shape = Z.shape;
    Z.t.dtype = TC_I32;
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_DTYPE, "int32 logits");
    Z.t.dtype = (DLDataType){kDLFloat, 32, 2};
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_DTYPE, "float32x2 lanes");
    Z.t.dtype = (DLDataType){kDLComplex, 64, 1};
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_DTYPE, "complex64");
    Z.t.dtype = (DLDataType){kDLFloat, 8, 1};
    EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_BAD_DTYPE, "float8");
    tc_tensor O2;
    uint16_t h[R];
    tc_tensor_1d(&O2, h, TC_F16, R);
    EXPECT_ST(ie_entropy(ctx, &X.t, &O2.t, NULL, NULL), IE_BAD_DTYPE, "per_row f16");
    int32_t pi[R];
    tc_tensor_1d(&O2, pi, TC_I32, R);
    EXPECT_ST(ie_entropy(ctx, &X.t, &O2.t, NULL, NULL), IE_BAD_DTYPE, "per_row int32");
    EXPECT_ST(ie_logsumexp(ctx, &X.t, &O2.t, NULL), IE_BAD_DTYPE, "lse out int32");
    float lf[R] = {0, 1, 2, 3};
    tc_tensor L2;
    tc_tensor_1d(&L2, lf, TC_F32, R);
    EXPECT_ST(ie_nll(ctx, &X.t, &L2.t, &O.t, NULL, NULL), IE_BAD_DTYPE, "float labels");
    int32_t om[R * C];
    tc_tensor OM;
    tc_tensor_2d(&OM, om, TC_I32, R, C, 0);
    EXPECT_ST(ie_log_softmax(ctx, &X.t, &OM.t, NULL), IE_BAD_DTYPE, "log_softmax out int32");
  }

  /* devices */
  {
    tc_tensor Z = X;
    Z.t.shape = Z.shape;
    if (b == IE_BACKEND_CPU) {
      Z.t.device.device_type = kDLCUDA;
      EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_WRONG_DEVICE, "kDLCUDA tensor on a CPU context");
      Z.t.device.device_type = kDLOpenCL;
      EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_WRONG_DEVICE, "kDLOpenCL tensor on a CPU context");
    } else if (b == IE_BACKEND_OPENCL) {
      Z.t.device.device_type = kDLCUDA;
      EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_WRONG_DEVICE, "kDLCUDA tensor on an OpenCL context");
    } else if (b == IE_BACKEND_CUDA) {
      Z.t.device.device_type = kDLOpenCL;
      EXPECT_ST(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), IE_WRONG_DEVICE, "kDLOpenCL tensor on a CUDA context");
    }
    Z.t.device.device_type = (DLDeviceType)99;
    EXPECT_FAIL(ie_entropy(ctx, &Z.t, &O.t, NULL, NULL), "device type 99");
  }

  /* options */
  {
    ie_softmax_options so = {sizeof so, -1.0};
    EXPECT_ST(ie_logsumexp(ctx, &X.t, &O.t, &so), IE_INVALID_ARGUMENT, "temperature -1");
    so.temperature = NAN;
    EXPECT_ST(ie_logsumexp(ctx, &X.t, &O.t, &so), IE_INVALID_ARGUMENT, "temperature NaN");
    so.temperature = INFINITY;
    EXPECT_ST(ie_logsumexp(ctx, &X.t, &O.t, &so), IE_INVALID_ARGUMENT, "temperature +inf");
    eo.temperature = -2;
    EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, NULL), IE_INVALID_ARGUMENT, "entropy temperature -2");
    eo.temperature = 0;
    eo.kind = IE_ENTROPY_RENYI;
    eo.alpha = -0.5;
    EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, NULL), IE_INVALID_ARGUMENT, "renyi entropy alpha -0.5");
    eo.alpha = NAN;
    EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, NULL), IE_INVALID_ARGUMENT, "renyi entropy alpha NaN");
    eo.kind = (ie_entropy_kind)7;
    eo.alpha = 2;
    EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, NULL), IE_INVALID_ARGUMENT, "entropy kind 7");
    eo.kind = IE_ENTROPY_SHANNON;
    eo.input = (ie_input_kind)5;
    EXPECT_ST(ie_entropy(ctx, &X.t, &O.t, &eo, NULL), IE_INVALID_ARGUMENT, "input kind 5");
    eo.input = IE_INPUT_LOGITS;

    const double betas[] = {1.0, 1.5, -0.2, NAN};
    for (size_t k = 0; k < 4; k++) {
      dopt.beta = betas[k];
      char w[64];
      snprintf(w, sizeof w, "js beta %g", betas[k]);
      EXPECT_ST(ie_divergence(ctx, IE_DIV_JS, &X.t, &Y.t, &O.t, &dopt, NULL), IE_INVALID_ARGUMENT, w);
    }
    dopt.beta = 0;
    dopt.alpha = -1;
    EXPECT_ST(ie_divergence(ctx, IE_DIV_RENYI, &X.t, &Y.t, &O.t, &dopt, NULL), IE_INVALID_ARGUMENT, "renyi divergence alpha -1");
    dopt.alpha = 0;
    EXPECT_ST(ie_divergence(ctx, IE_DIV_RENYI, &X.t, &Y.t, &O.t, &dopt, NULL), IE_INVALID_ARGUMENT, "renyi divergence alpha 0");
    dopt.alpha = NAN;
    EXPECT_ST(ie_divergence(ctx, IE_DIV_TSALLIS, &X.t, &Y.t, &O.t, &dopt, NULL), IE_INVALID_ARGUMENT, "tsallis alpha NaN");
    dopt.alpha = 0.5;
    EXPECT_ST(ie_divergence(ctx, (ie_divergence_kind)99, &X.t, &Y.t, &O.t, &dopt, NULL), IE_INVALID_ARGUMENT, "divergence kind 99");
    EXPECT_ST(ie_divergence(ctx, IE_DIV_COUNT_, &X.t, &Y.t, &O.t, &dopt, NULL), IE_INVALID_ARGUMENT, "divergence kind COUNT_");

    /* row weights: negative or NaN are refused (status: any failure) */
    double w[R] = {1, -1, 1, 1};
    tc_tensor W;
    tc_tensor_1d(&W, w, TC_F64, R);
    eo.row_weights = &W.t;
    EXPECT_FAIL(ie_entropy(ctx, &X.t, &O.t, &eo, &s), "negative row weight");
    w[1] = NAN;
    EXPECT_FAIL(ie_entropy(ctx, &X.t, &O.t, &eo, &s), "NaN row weight");
    w[1] = INFINITY;
    EXPECT_FAIL(ie_entropy(ctx, &X.t, &O.t, &eo, &s), "+inf row weight");
    uint16_t wh[R] = {0x3C00, 0x3C00, 0x3C00, 0x3C00};
    tc_tensor_1d(&W, wh, TC_F16, R);
    EXPECT_FAIL(ie_entropy(ctx, &X.t, &O.t, &eo, &s), "f16 row weights (not in the header's list)");
    eo.row_weights = NULL;
  }
  ie_context_destroy(ctx);
}

/* The header: per_row and logsumexp's out are "f32 or f64", with no backend
 * restriction (f64 *inputs* are CPU-only; outputs are not). */
ParameterizedTestParameters(arguments, rows_f64) { return backend_params(); }

ParameterizedTest(bparam *bp, arguments, rows_f64) {
  ie_backend b = (ie_backend)bp->backend;
  ie_context *ctx = tc_context(b);
  float x[2 * 3] = {0, 1, 2, 3, 4, 5};
  double v[2] = {0, 0};
  tc_tensor X, O;
  tc_tensor_2d(&X, x, TC_F32, 2, 3, 0);
  tc_tensor_1d(&O, v, TC_F64, 2);
  ie_status st = ie_entropy(ctx, &X.t, &O.t, NULL, NULL);
  cr_expect(st == IE_OK, "[%s] f64 per_row refused: %s: %s", ie_backend_name(b), ie_status_name(st),
            ie_errmsg(ctx));
  st = ie_logsumexp(ctx, &X.t, &O.t, NULL);
  cr_expect(st == IE_OK, "[%s] f64 logsumexp out refused: %s: %s", ie_backend_name(b),
            ie_status_name(st), ie_errmsg(ctx));
  ie_context_destroy(ctx);
}

/* ---- backends with no device ------------------------------------------------------------- */

Test(backends, unavailable) {
  const ie_backend gpus[2] = {IE_BACKEND_CUDA, IE_BACKEND_OPENCL};
  for (int k = 0; k < 2; k++) {
    ie_backend b = gpus[k];
    ie_context *ctx = NULL;
    ie_context_options o = {.size = sizeof o, .backend = b, .device = 9999};
    ie_status st = ie_context_create(&ctx, &o);
    cr_expect(st == IE_BACKEND_UNAVAILABLE, "%s device 9999: %s, expected IE_BACKEND_UNAVAILABLE",
              ie_backend_name(b), ie_status_name(st));
    cr_expect(ctx != NULL, "%s: a failed create must still give a context holding the message",
              ie_backend_name(b));
    if (ctx) {
      cr_expect(strlen(ie_errmsg(ctx)) > 0, "%s: empty message", ie_backend_name(b));
      cr_expect(ie_errcode(ctx) == IE_BACKEND_UNAVAILABLE, "%s: errcode %s", ie_backend_name(b),
                ie_status_name(ie_errcode(ctx)));
      /* calls on a failed context fail cleanly */
      float x[3] = {1, 2, 3};
      double pr[1];
      tc_tensor X, O;
      tc_tensor_1d(&X, x, TC_F32, 3);
      tc_tensor_1d(&O, pr, TC_F64, 1);
      ie_status s2 = ie_entropy(ctx, &X.t, &O.t, NULL, NULL);
      cr_expect(s2 != IE_OK, "%s: a call on a failed context returned IE_OK", ie_backend_name(b));
    }
    ie_context_destroy(ctx);

    if (!ie_backend_compiled(b)) {
      ctx = NULL;
      ie_context_options o0 = {.size = sizeof o0, .backend = b, .device = 0};
      st = ie_context_create(&ctx, &o0);
      cr_expect(st == IE_BACKEND_UNAVAILABLE, "%s not compiled in: %s, expected IE_BACKEND_UNAVAILABLE",
                ie_backend_name(b), ie_status_name(st));
      ie_context_destroy(ctx);
    } else {
      ctx = NULL;
      ie_context_options o0 = {.size = sizeof o0, .backend = b, .device = 0};
      st = ie_context_create(&ctx, &o0);
      cr_expect(st == IE_OK || st == IE_BACKEND_UNAVAILABLE, "%s device 0: %s", ie_backend_name(b),
                ie_status_name(st));
      if (st == IE_BACKEND_UNAVAILABLE)
        cr_log_info("%s is compiled in but has no device here: %s", ie_backend_name(b), ie_errmsg(ctx));
      ie_context_destroy(ctx);
    }
  }
  /* CPU and AUTO always work */
  ie_context *ctx = NULL;
  cr_expect(ie_context_create(&ctx, NULL) == IE_OK, "auto context with NULL options");
  cr_expect(ctx && ie_context_backend(ctx) != IE_BACKEND_AUTO, "auto context reports AUTO");
  cr_expect(ctx && ie_context_device_name(ctx) && strlen(ie_context_device_name(ctx)) > 0,
            "no device name");
  ie_context_destroy(ctx);
  ie_context_options oc = {.size = 0, .backend = IE_BACKEND_CPU};
  ctx = NULL;
  cr_expect(ie_context_create(&ctx, &oc) == IE_OK, "cpu context with size 0");
  ie_context_destroy(ctx);
  oc.backend = (ie_backend)42;
  ctx = NULL;
  ie_status st = ie_context_create(&ctx, &oc);
  cr_expect(st == IE_INVALID_ARGUMENT || st == IE_BACKEND_UNAVAILABLE, "backend 42: %s",
            ie_status_name(st));
  ie_context_destroy(ctx);
  cr_expect(ie_context_create(NULL, NULL) == IE_INVALID_ARGUMENT, "ie_context_create(NULL)");
}

/* ---- determinism ------------------------------------------------------------------------- */

ParameterizedTestParameters(determinism, bit_identical) { return backend_params(); }

ParameterizedTest(bparam *bp, determinism, bit_identical, .timeout = 240) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  const int64_t R = 777, C = 4099;
  float *x = malloc(sizeof(float) * (size_t)(R * C)), *y = malloc(sizeof(float) * (size_t)(R * C));
  for (int64_t i = 0; i < R * C; i++) {
    x[i] = (float)(6.0 * (urand() - 0.5));
    y[i] = (float)(urand() + 1e-3);
  }
  double *r1 = malloc(sizeof(double) * (size_t)R), *r2 = malloc(sizeof(double) * (size_t)R);
  float *o1 = malloc(sizeof(float) * (size_t)(R * C)), *o2 = malloc(sizeof(float) * (size_t)(R * C));
  tc_tensor X, Y, O1, O2, M1, M2;
  tc_tensor_2d(&X, x, TC_F32, R, C, 0);
  tc_tensor_2d(&Y, y, TC_F32, R, C, 0);
  memset(r1, 0, sizeof(double) * (size_t)R);
  memset(r2, 0, sizeof(double) * (size_t)R);
  tc_tensor_2d(&M1, o1, TC_F32, R, C, 0);
  tc_tensor_2d(&M2, o2, TC_F32, R, C, 0);
  ie_summary s1, s2;
  for (int run = 0; run < 3; run++) {
    ie_context *c1 = tc_context(b), *c2 = tc_context(b);
    tc_tensor_1d(&O1, r1, tc_rowdt, R);
    tc_tensor_1d(&O2, r2, tc_rowdt, R);
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    ie_status a, d;
    const char *what = "";
    if (run == 0) {
      what = "entropy";
      a = ie_entropy(c1, &X.t, &O1.t, NULL, &s1);
      d = ie_entropy(c2, &X.t, &O2.t, NULL, &s2);
    } else if (run == 1) {
      what = "js divergence (probs)";
      ie_divergence_options o;
      memset(&o, 0, sizeof o);
      o.p_input = IE_INPUT_LOGITS;
      o.q_input = IE_INPUT_PROBS;
      a = ie_divergence(c1, IE_DIV_JS, &X.t, &Y.t, &O1.t, &o, &s1);
      d = ie_divergence(c1, IE_DIV_JS, &X.t, &Y.t, &O2.t, &o, &s2);
    } else {
      what = "log_softmax";
      a = ie_log_softmax(c1, &X.t, &M1.t, NULL);
      d = ie_log_softmax(c2, &X.t, &M2.t, NULL);
    }
    cr_assert(a == IE_OK && d == IE_OK, "[%s] %s: %s / %s: %s", bn, what, ie_status_name(a),
              ie_status_name(d), ie_errmsg(c1));
    if (run < 2) {
      cr_expect(memcmp(r1, r2, sizeof(double) * (size_t)R) == 0, "[%s] %s: per-row values differ between runs", bn, what);
      cr_expect(memcmp(&s1.sum, &s2.sum, sizeof(double)) == 0 && memcmp(&s1.mean, &s2.mean, sizeof(double)) == 0 &&
                    memcmp(&s1.min, &s2.min, sizeof(double)) == 0 && memcmp(&s1.max, &s2.max, sizeof(double)) == 0,
                "[%s] %s: summaries differ between runs (sum %.17g vs %.17g)", bn, what, s1.sum, s2.sum);
    } else {
      cr_expect(memcmp(o1, o2, sizeof(float) * (size_t)(R * C)) == 0, "[%s] %s: outputs differ between runs", bn, what);
    }
    ie_context_destroy(c1);
    ie_context_destroy(c2);
  }
  free(x);
  free(y);
  free(r1);
  free(r2);
  free(o1);
  free(o2);
}

/* A row's bits do not depend on where it lies: the rows of a batch of odd
 * width (so each row starts at another alignment) against the same rows
 * from row 1, 2 or 3 on, copied 1, 2 or 3 floats into another buffer (on a
 * GPU, staged copies whose rows start elsewhere). */
ParameterizedTestParameters(determinism, any_address) { return backend_params(); }

ParameterizedTest(bparam *bp, determinism, any_address, .timeout = 240) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  enum { R = 64, C = 4099 };
  float *x = malloc(sizeof(float) * R * C), *y = malloc(sizeof(float) * R * C);
  float *m0 = malloc(sizeof(float) * R * C), *m1 = malloc(sizeof(float) * R * C);
  float *xs = malloc(sizeof(float) * (R * C + 4)), *ys = malloc(sizeof(float) * (R * C + 4));
  int64_t lab[R];
  for (int i = 0; i < R * C; i++) { /* language-model-like: a Zipf-like bias, noise */
    const double bias = -1.2 * log(1.0 + i % C);
    x[i] = (float)(bias + 2.5 * (urand() - 0.5) + (i % C == 7 * (i / C) % C && i / C % 3 == 0 ? 25 : 0));
    y[i] = (float)(x[i] + 0.5 * (urand() - 0.5) + 0.5);
  }
  for (int r = 0; r < R; r++) lab[r] = (r * 37) % C;
  double v0[R], v1[R];
  ie_context *ctx = tc_context(b);
  static const struct {
    const char *what;
    int op; /* 0 entropy, 1 nll, 2 divergence, 3 log-softmax */
    ie_divergence_kind kind;
  } ops[] = {{"entropy", 0, IE_DIV_KL},          {"nll", 1, IE_DIV_KL},
             {"kl", 2, IE_DIV_KL},               {"reverse kl", 2, IE_DIV_REVERSE_KL},
             {"js", 2, IE_DIV_JS},               {"tv", 2, IE_DIV_TV},
             {"alpha 0.5", 2, IE_DIV_ALPHA},     {"cross-entropy", 2, IE_DIV_CROSS_ENTROPY},
             {"log-softmax", 3, IE_DIV_KL}};
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
    for (int shift = 0; shift <= 3; shift++) {
      const int64_t n = R - shift, at = (int64_t)shift * C;
      memcpy(xs + shift, x + at, sizeof(float) * (size_t)(n * C));
      memcpy(ys + shift, y + at, sizeof(float) * (size_t)(n * C));
      tc_tensor X, Y, O, L, M;
      tc_tensor_2d(&X, shift ? xs + shift : x, TC_F32, n, C, 0);
      tc_tensor_2d(&Y, shift ? ys + shift : y, TC_F32, n, C, 0);
      tc_tensor_1d(&L, lab + shift, TC_I64, n);
      double *v = shift ? v1 : v0;
      float *m = shift ? m1 : m0;
      tc_tensor_1d(&O, v, TC_F64, n);
      tc_tensor_2d(&M, m, TC_F32, n, C, 0);
      ie_divergence_options o;
      memset(&o, 0, sizeof o);
      o.alpha = 0.5;
      ie_status st = ops[k].op == 0   ? ie_entropy(ctx, &X.t, &O.t, NULL, NULL)
                     : ops[k].op == 1 ? ie_nll(ctx, &X.t, &L.t, &O.t, NULL, NULL)
                     : ops[k].op == 2 ? ie_divergence(ctx, ops[k].kind, &X.t, &Y.t, &O.t, &o, NULL)
                                      : ie_log_softmax(ctx, &X.t, &M.t, NULL);
      if (st == IE_BAD_DTYPE && ops[k].op != 3) { /* (a backend without f64 outputs) */
        float vf[R];
        tc_tensor_1d(&O, vf, TC_F32, n);
        st = ops[k].op == 0   ? ie_entropy(ctx, &X.t, &O.t, NULL, NULL)
             : ops[k].op == 1 ? ie_nll(ctx, &X.t, &L.t, &O.t, NULL, NULL)
                              : ie_divergence(ctx, ops[k].kind, &X.t, &Y.t, &O.t, &o, NULL);
        for (int64_t r = 0; r < n; r++) v[r] = vf[r];
      }
      cr_assert(st == IE_OK, "[%s] %s: %s", bn, ops[k].what, ie_errmsg(ctx));
      if (!shift) continue;
      if (ops[k].op == 3)
        cr_expect(memcmp(m0 + at, m1, sizeof(float) * (size_t)(n * C)) == 0,
                  "[%s] %s: rows %d.. differ copied %d floats on", bn, ops[k].what, shift, shift);
      else
        for (int64_t r = 0; r < n; r++)
          cr_expect(memcmp(&v0[r + shift], &v1[r], sizeof(double)) == 0,
                    "[%s] %s: row %lld is %.17g, and %.17g copied %d floats on", bn,
                    ops[k].what, (long long)(r + shift), v0[r + shift], v1[r], shift);
    }
  ie_context_destroy(ctx);
  free(x);
  free(y);
  free(m0);
  free(m1);
  free(xs);
  free(ys);
}

/* An output may share no memory with another argument: inputs are never
 * modified.  Apart is fine, also within one buffer (columns side by side). */
ParameterizedTestParameters(arguments, outputs_apart) { return backend_params(); }

ParameterizedTest(bparam *bp, arguments, outputs_apart, .timeout = 120) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  ie_context *ctx = tc_context(b);
  enum { R = 3, C = 5 };
  float buf[2 * R * 2 * C], keep[2 * R * 2 * C];
  for (int i = 0; i < 2 * R * 2 * C; i++) buf[i] = (float)(0.25 * (i % 7) - 0.5);
  memcpy(keep, buf, sizeof buf);
  tc_tensor X, O, P;
  /* log-softmax into the same memory, one element on, or into a row of it */
  tc_tensor_2d(&X, buf, TC_F32, R, C, 0);
  tc_tensor_2d(&O, buf + 1, TC_F32, R, C, 0);
  EXPECT_ST(ie_log_softmax(ctx, &X.t, &O.t, NULL), IE_INVALID_ARGUMENT, "out one element past logits");
  cr_expect(strstr(ie_errmsg(ctx), "'out'") && strstr(ie_errmsg(ctx), "'logits'"), "[%s] message: %s", bn,
            ie_errmsg(ctx));
  tc_tensor_2d(&O, buf, TC_F32, R, C, 0);
  EXPECT_ST(ie_softmax(ctx, &X.t, &O.t, NULL), IE_INVALID_ARGUMENT, "out is logits");
  /* per-row values inside the logits */
  tc_tensor_1d(&P, buf + C, TC_F32, R);
  EXPECT_ST(ie_entropy(ctx, &X.t, &P.t, NULL, NULL), IE_INVALID_ARGUMENT, "per_row inside the logits");
  EXPECT_ST(ie_logsumexp(ctx, &X.t, &P.t, NULL), IE_INVALID_ARGUMENT, "lse out inside the logits");
  cr_expect(memcmp(buf, keep, sizeof buf) == 0, "[%s] a refused call wrote", bn);
  /* side by side in one buffer of row stride 2C: logits in columns [0, C),
   * out in [C, 2C); p and q likewise, per_row apart */
  tc_tensor_2d(&X, buf, TC_F32, R, C, 2 * C);
  tc_tensor_2d(&O, buf + C, TC_F32, R, C, 2 * C);
  if (b == IE_BACKEND_CPU) { /* (strided host outputs: the CPU writes in place) */
    EXPECT_ST(ie_log_softmax(ctx, &X.t, &O.t, NULL), IE_OK, "out beside logits");
    for (int r = 0; r < R; r++)
      cr_expect(memcmp(buf + r * 2 * C, keep + r * 2 * C, sizeof(float) * C) == 0, "[%s] logits row %d changed",
                bn, r);
    EXPECT_ST(ie_log_softmax(ctx, &O.t, &X.t, NULL), IE_OK, "out beside logits, before them");
    memcpy(buf, keep, sizeof buf);
  }
  float pr[R];
  tc_tensor_1d(&P, pr, TC_F32, R);
  EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, &X.t, &O.t, &P.t, NULL, NULL), IE_OK, "p and q side by side");
  /* the count table as its own PMI output; x inside the table it counts into */
  {
    int64_t t[4] = {3, 1, 2, 5}, xy[4] = {0, 1, 1, 0};
    tc_tensor T, Xl, Yl, Q;
    tc_tensor_2d(&T, t, TC_I64, 2, 2, 0);
    float pm[4], tf[4] = {3, 1, 2, 5};
    tc_tensor_2d(&Q, pm, TC_F32, 2, 2, 0);
    ie_status st = ie_pmi(ctx, &T.t, &Q.t, NULL, NULL);
    if (st != IE_UNSUPPORTED) {
      EXPECT_ST(st, IE_OK, "pmi apart");
      tc_tensor_2d(&Q, tf, TC_F32, 2, 2, 0);
      EXPECT_ST(ie_pmi(ctx, &Q.t, &Q.t, NULL, NULL), IE_INVALID_ARGUMENT, "pmi into its own counts");
      cr_expect(tf[0] == 3 && tf[3] == 5, "[%s] a refused pmi wrote", bn);
      tc_tensor_1d(&Xl, t, TC_I64, 2);
      tc_tensor_1d(&Yl, xy + 2, TC_I64, 2);
      EXPECT_ST(ie_count_pairs(ctx, &Xl.t, &Yl.t, &T.t, NULL), IE_INVALID_ARGUMENT, "x inside the table");
      const int64_t t0[4] = {3, 1, 2, 5};
      cr_expect(memcmp(t, t0, sizeof t) == 0, "[%s] a refused count wrote", bn);
    }
  }
  ie_context_destroy(ctx);
}

/* A row's bits do not depend on its batch: rows of 150000 logits (more
 * than one block of a CPU row's logsumexp, so that a row alone is split
 * over the threads) alone against the same rows in one batch. */
ParameterizedTestParameters(determinism, row_alone) { return backend_params(); }

ParameterizedTest(bparam *bp, determinism, row_alone, .timeout = 240) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  enum { R = 3, C = 150000 };
  float *x = malloc(sizeof(float) * R * C), *m0 = malloc(sizeof(float) * R * C);
  float *m1 = malloc(sizeof(float) * C);
  for (int i = 0; i < R * C; i++)
    x[i] = (float)(-1.2 * log(1.0 + i % C) + 2.5 * (urand() - 0.5) + (i % C == 5 && i / C != 1 ? 25 : 0));
  ie_context *ctx = tc_context(b);
  tc_tensor X, M;
  tc_tensor_2d(&X, x, TC_F32, R, C, 0);
  tc_tensor_2d(&M, m0, TC_F32, R, C, 0);
  for (int soft = 0; soft < 2; soft++) {
    const char *what = soft ? "softmax" : "log-softmax";
    ie_status st = soft ? ie_softmax(ctx, &X.t, &M.t, NULL) : ie_log_softmax(ctx, &X.t, &M.t, NULL);
    cr_assert(st == IE_OK, "[%s] %s: %s", bn, what, ie_errmsg(ctx));
    for (int r = 0; r < R; r++) {
      tc_tensor X1, M1;
      tc_tensor_1d(&X1, x + (size_t)r * C, TC_F32, C);
      tc_tensor_1d(&M1, m1, TC_F32, C);
      st = soft ? ie_softmax(ctx, &X1.t, &M1.t, NULL) : ie_log_softmax(ctx, &X1.t, &M1.t, NULL);
      cr_assert(st == IE_OK, "[%s] %s row %d alone: %s", bn, what, r, ie_errmsg(ctx));
      cr_expect(memcmp(m0 + (size_t)r * C, m1, sizeof(float) * C) == 0, "[%s] %s: row %d alone differs", bn,
                what, r);
    }
  }
  ie_context_destroy(ctx);
  free(x);
  free(m0);
  free(m1);
}

/* ---- the edges of the domain ---------------------------------------------------------- */

/* Finite logits more than FLT_MAX apart (x − max overflows float), and the
 * smallest temperature: values, not NaN; below it a clear error. */
ParameterizedTestParameters(edges, far_logits_and_tiny_temperature) { return backend_params(); }

ParameterizedTest(bparam *bp, edges, far_logits_and_tiny_temperature, .timeout = 60) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  ie_context *ctx = tc_context(b);
  float rows[4][4] = {{3e38f, 3e38f, -3e38f}, {2e38f, 0, -2e38f}, /* and with a masked entry: */
                      {3e38f, 3e38f, -3e38f, -INFINITY}, {2e38f, 0, -2e38f, -INFINITY}};
  /* p = (½, ½, 0) and (1, 0, 0); the third entry is in the support (order 0) */
  const struct {
    ie_entropy_kind kind;
    double alpha, want[2];
  } cases[] = {{IE_ENTROPY_SHANNON, 1, {M_LN2, 0}}, {IE_ENTROPY_RENYI, 2, {M_LN2, 0}},
               {IE_ENTROPY_TSALLIS, 2, {0.5, 0}},    {IE_ENTROPY_RENYI, 0.5, {M_LN2, 0}},
               {IE_ENTROPY_RENYI, 0, {log(3.0), log(3.0)}}};
  for (int r = 0; r < 4; r++)
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
      tc_tensor X, O;
      double v = NAN;
      tc_tensor_1d(&X, rows[r], TC_F32, r < 2 ? 3 : 4);
      tc_tensor_1d(&O, &v, TC_F64, 1);
      float vf = NAN;
      ie_entropy_options o;
      memset(&o, 0, sizeof o);
      o.kind = cases[k].kind;
      o.alpha = cases[k].alpha;
      ie_status st = ie_entropy(ctx, &X.t, &O.t, &o, NULL);
      if (st == IE_BAD_DTYPE) {
        tc_tensor_1d(&O, &vf, TC_F32, 1);
        st = ie_entropy(ctx, &X.t, &O.t, &o, NULL);
        v = vf;
      }
      cr_expect(st == IE_OK && tc_close(v, cases[k].want[r % 2]), "[%s] row %d, entropy kind %d order %g: %s %.9g, want %.9g",
                bn, r, (int)cases[k].kind, cases[k].alpha, ie_status_name(st), v, cases[k].want[r % 2]);
    }
  /* T = 3e-39 (1/T a float): [1, 2, 3] → [−inf, −1/T, 0]; T = 1e-39: refused */
  float x[3] = {1, 2, 3}, out[3] = {0, 0, 0};
  tc_tensor X, M;
  tc_tensor_1d(&X, x, TC_F32, 3);
  tc_tensor_1d(&M, out, TC_F32, 3);
  ie_softmax_options so;
  memset(&so, 0, sizeof so);
  so.temperature = 3e-39;
  EXPECT_ST(ie_log_softmax(ctx, &X.t, &M.t, &so), IE_OK, "log-softmax at T = 3e-39");
  cr_expect(out[0] == -INFINITY && tc_close(out[1], -1 / 3e-39) && out[2] == 0, "[%s] T = 3e-39: %g %g %g", bn,
            out[0], out[1], out[2]);
  so.temperature = 1e-39;
  EXPECT_ST(ie_log_softmax(ctx, &X.t, &M.t, &so), IE_INVALID_ARGUMENT, "log-softmax at T = 1e-39");
  cr_expect(strstr(ie_errmsg(ctx), "temperature") != NULL, "[%s] message: %s", bn, ie_errmsg(ctx));
  ie_divergence_options dopt;
  memset(&dopt, 0, sizeof dopt);
  dopt.temperature = 1e-300;
  EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, &X.t, &X.t, NULL, &dopt, NULL), IE_INVALID_ARGUMENT, "kl at T = 1e-300");
  ie_context_destroy(ctx);
}

/* ---- OpenCL host code and messages (contexts from threads, reserve, names) ------------ */

#include <pthread.h>

/* One OpenCL context per thread, made at once from 8 threads of a cold
 * process (PoCL's discovery raced: a crash in ocl_open, or "no OpenCL
 * device found" for most threads), several rounds: every one opens. */
typedef struct {
  pthread_barrier_t *go;
  ie_status st;
  char msg[256];
} ctx_thread;

static void *make_opencl_context(void *arg) {
  ctx_thread *t = arg;
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = IE_BACKEND_OPENCL;
  ie_context *c = NULL;
  pthread_barrier_wait(t->go);
  t->st = ie_context_create(&c, &o);
  snprintf(t->msg, sizeof t->msg, "%s", t->st == IE_OK ? "" : ie_errmsg(c));
  ie_context_destroy(c);
  return NULL;
}

Test(opencl_host, contexts_from_threads_at_once, .timeout = 300) {
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("SKIPPED: no OpenCL backend in this build");
  enum { THREADS = 8, ROUNDS = 4 };
  for (int round = 0; round < ROUNDS; round++) {
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    ctx_thread t[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
      memset(&t[i], 0, sizeof t[i]);
      t[i].go = &go;
      cr_assert(pthread_create(&th[i], NULL, make_opencl_context, &t[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    int failed = 0;
    for (int i = 0; i < THREADS; i++) failed += t[i].st != IE_OK;
    if (failed && round == 0) {
      /* No device at all (then no thread can open one), or the race? */
      ie_context_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.backend = IE_BACKEND_OPENCL;
      ie_context *c = NULL;
      const ie_status one = ie_context_create(&c, &o);
      ie_context_destroy(c);
      if (one == IE_BACKEND_UNAVAILABLE && failed == THREADS)
        cr_skip_test("SKIPPED: no OpenCL device here: %s", t[0].msg);
    }
    for (int i = 0; i < THREADS; i++)
      cr_expect(t[i].st == IE_OK, "round %d, thread %d: %s: %s", round, i, ie_status_name(t[i].st), t[i].msg);
  }
}

/* ie_workspace_reserve of more than any device holds: IE_OUT_OF_MEMORY,
 * with a message that names the call (not only the runtime's words). */
Test(opencl_host, workspace_reserve_too_much_names_the_call, .timeout = 60) {
  ie_backend bs[3];
  const int nb = tc_backends(bs);
  int ran = 0;
  for (int k = 0; k < nb; k++) {
    if (bs[k] == IE_BACKEND_CPU) continue;
    ie_context_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.backend = bs[k];
    ie_context *ctx = NULL;
    if (ie_context_create(&ctx, &o) != IE_OK) {
      IE_TEST_NOTE("workspace_reserve_too_much: %s has no device here: %s", ie_backend_name(bs[k]), ie_errmsg(ctx));
      ie_context_destroy(ctx);
      continue;
    }
    ran++;
    const ie_status s = ie_workspace_reserve(ctx, (size_t)1 << 50);
    cr_expect(s == IE_OUT_OF_MEMORY, "[%s] reserve 2^50 bytes: %s, expected IE_OUT_OF_MEMORY (%s)",
              ie_backend_name(bs[k]), ie_status_name(s), ie_errmsg(ctx));
    cr_expect(strncmp(ie_errmsg(ctx), "ie_workspace_reserve: ", 22) == 0, "[%s] the message names no call: %s",
              ie_backend_name(bs[k]), ie_errmsg(ctx));
    /* the context is still usable, and a modest reserve works */
    cr_expect(ie_workspace_reserve(ctx, 1 << 20) == IE_OK, "[%s] reserve 1 MiB after: %s", ie_backend_name(bs[k]),
              ie_errmsg(ctx));
    ie_context_destroy(ctx);
  }
  if (!ran) cr_skip_test("SKIPPED: no GPU backend with a device here");
}

/* ie_mauve_histograms with a histogram of zero total: IE_EMPTY_ROW naming
 * the histogram (ie_error_tensor), no bin. */
Test(opencl_host, mauve_histograms_zero_total_names_the_tensor) {
  ie_context *ctx = tc_context(IE_BACKEND_CPU);
  double p[4] = {1, 2, 3, 4}, q[4] = {0, 0, 0, 0};
  tc_tensor P, Q;
  tc_tensor_1d(&P, p, TC_F64, 4);
  tc_tensor_1d(&Q, q, TC_F64, 4);
  ie_mauve_scores sc;
  ie_status s = ie_mauve_histograms(ctx, &P.t, &Q.t, NULL, &sc, NULL);
  cr_expect(s == IE_EMPTY_ROW, "zero q: %s (%s)", ie_status_name(s), ie_errmsg(ctx));
  cr_expect(ie_error_tensor(ctx) && strcmp(ie_error_tensor(ctx), "q_counts") == 0, "zero q: tensor %s",
            ie_error_tensor(ctx) ? ie_error_tensor(ctx) : "NULL");
  cr_expect(ie_error_row(ctx) == -1 && ie_error_column(ctx) == -1, "zero q: row %lld column %lld",
            (long long)ie_error_row(ctx), (long long)ie_error_column(ctx));
  s = ie_mauve_histograms(ctx, &Q.t, &P.t, NULL, &sc, NULL);
  cr_expect(s == IE_EMPTY_ROW && ie_error_tensor(ctx) && strcmp(ie_error_tensor(ctx), "p_counts") == 0,
            "zero p: %s, tensor %s", ie_status_name(s), ie_error_tensor(ctx) ? ie_error_tensor(ctx) : "NULL");
  ie_context_destroy(ctx);
}

/* After a failed ie_context_create, ie_context_backend names the backend
 * asked for (or the one auto tried last): never AUTO. */
Test(opencl_host, failed_context_reports_its_backend) {
  ie_backend bs[3];
  const int nb = tc_backends(bs);
  for (int k = 0; k < nb; k++) {
    ie_context_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.backend = bs[k];
    o.device = bs[k] == IE_BACKEND_CPU ? 0 : 999; /* no such GPU */
    o.threads = bs[k] == IE_BACKEND_CPU ? -1 : 0; /* the CPU never lacks a device: a bad option */
    ie_context *ctx = NULL;
    const ie_status s = ie_context_create(&ctx, &o);
    cr_expect(s != IE_OK, "[%s] creation should fail", ie_backend_name(bs[k]));
    cr_expect(ie_context_backend(ctx) == bs[k], "[%s] failed context reports %s", ie_backend_name(bs[k]),
              ie_backend_name(ie_context_backend(ctx)));
    ie_context_destroy(ctx);
  }
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.threads = -1; /* auto, refused before any backend is tried */
  ie_context *ctx = NULL;
  cr_expect(ie_context_create(&ctx, &o) == IE_INVALID_ARGUMENT, "auto with threads -1");
  cr_expect(ie_context_backend(ctx) != IE_BACKEND_AUTO, "a failed auto context reports auto");
  ie_context_destroy(ctx);
}

/* A row-weights dtype error lists every dtype taken, bool included. */
Test(opencl_host, row_weights_dtype_list_says_bool) {
  ie_context *ctx = tc_context(IE_BACKEND_CPU);
  float x[6] = {1, 2, 3, 4, 5, 6};
  uint16_t w[2] = {0, 0};
  uint8_t wb[2] = {1, 0};
  tc_tensor X, W, WB;
  tc_tensor_2d(&X, x, TC_F32, 2, 3, 0);
  tc_tensor_1d(&W, w, TC_F16, 2);
  tc_tensor_1d(&WB, wb, TC_U8, 2);
  WB.t.dtype.code = 6; /* kDLBool */
  ie_entropy_options eo;
  memset(&eo, 0, sizeof eo);
  eo.size = sizeof eo;
  eo.row_weights = &W.t;
  ie_summary sm;
  ie_status s = ie_entropy(ctx, &X.t, NULL, &eo, &sm);
  cr_expect(s == IE_BAD_DTYPE, "f16 weights: %s", ie_status_name(s));
  cr_expect(has_word(ie_errmsg(ctx), "bool") && has_word(ie_errmsg(ctx), "uint8"), "the list lacks bool: %s",
            ie_errmsg(ctx));
  eo.row_weights = &WB.t; /* and bool is indeed taken */
  s = ie_entropy(ctx, &X.t, NULL, &eo, &sm);
  cr_expect(s == IE_OK && sm.rows_kept == 1, "bool weights: %s (%s), %lld kept", ie_status_name(s), ie_errmsg(ctx),
            (long long)sm.rows_kept);
  ie_context_destroy(ctx);
}

/* A row left out (weight 0, an ignored label) is not checked: a NaN or a
 * negative probability there fails nothing, its value is NaN, and the
 * summary is the kept rows' (docs/SPEC.md §1). */
ParameterizedTestParameters(bad_values, rows_left_out) { return backend_params(); }

ParameterizedTest(bparam *bp, bad_values, rows_left_out, .timeout = 60) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  ie_context *ctx = tc_context(b);
  float x[3][4] = {{1, 2, 3, 4}, {NAN, 0, 0, 0}, {0.5f, 0.25f, 0.25f, 0}};
  float pr[3][4] = {{0.25f, 0.25f, 0.25f, 0.25f}, {-1, 2, 0, 0}, {0.5f, 0.5f, 0, 0}};
  uint8_t keep[3] = {1, 0, 1};
  double per[3];
  tc_tensor X, P, W, O, L;
  tc_tensor_2d(&X, x, TC_F32, 3, 4, 0);
  tc_tensor_2d(&P, pr, TC_F32, 3, 4, 0);
  tc_tensor_1d(&W, keep, TC_U8, 3);
  tc_tensor_1d(&O, per, TC_F64, 3);
  ie_entropy_options eo;
  memset(&eo, 0, sizeof eo);
  eo.row_weights = &W.t;
  ie_summary s;
  ie_status st = ie_entropy(ctx, &X.t, &O.t, &eo, &s);
  if (st == IE_BAD_DTYPE) { /* (a backend without f64 outputs: the summary alone) */
    st = ie_entropy(ctx, &X.t, NULL, &eo, &s);
    per[0] = per[2] = 0, per[1] = NAN;
  }
  cr_expect(st == IE_OK, "[%s] entropy, NaN in a masked row: %s (%s)", bn, ie_status_name(st), ie_errmsg(ctx));
  cr_expect(st != IE_OK || (isnan(per[1]) && s.rows_kept == 2), "[%s] masked row's value %g, rows kept %lld", bn,
            per[1], (long long)s.rows_kept);
  ie_divergence_options dopt;
  memset(&dopt, 0, sizeof dopt);
  dopt.p_input = dopt.q_input = IE_INPUT_PROBS;
  dopt.row_weights = &W.t;
  EXPECT_ST(ie_divergence(ctx, IE_DIV_KL, &P.t, &P.t, NULL, &dopt, &s), IE_OK, "kl, a negative in a masked row");
  cr_expect(s.rows_kept == 2 && s.sum == 0, "[%s] kl of kept identical rows: sum %g, kept %lld", bn, s.sum,
            (long long)s.rows_kept);
  keep[1] = 1; /* kept again: the call fails as before */
  EXPECT_ST(ie_entropy(ctx, &X.t, NULL, &eo, &s), IE_NONFINITE, "entropy, NaN in a kept row");
  int64_t lab[3] = {0, -100, 1};
  tc_tensor_1d(&L, lab, TC_I64, 3);
  ie_nll_options no;
  memset(&no, 0, sizeof no);
  no.has_ignore_index = 1;
  no.ignore_index = -100;
  EXPECT_ST(ie_nll(ctx, &X.t, &L.t, NULL, &no, &s), IE_OK, "nll, NaN in an ignored row");
  ie_context_destroy(ctx);
}

/* Two found by a differential fuzzer (CPU against OpenCL against float64):
 * at order 0 a term with p = 0 adds nothing (0^0 is not 1 there: Tsallis
 * of p = (1, 0), q = (½, ½) is (Σ_{p>0} q − 1)/(0 − 1) = ½); and identical
 * rows shorter than a vector give Cauchy–Schwarz exactly +0 (the tail's
 * Σ e1² and Σ e1·e2 had rounded apart: 1e-7). */
ParameterizedTestParameters(edges, order_zero_and_short_identical_rows) { return backend_params(); }

ParameterizedTest(bparam *bp, edges, order_zero_and_short_identical_rows, .timeout = 60) {
  ie_backend b = (ie_backend)bp->backend;
  const char *bn = ie_backend_name(b);
  ie_context *ctx = tc_context(b);
  float p[2] = {0, -INFINITY}, q[2] = {0, 0};
  tc_tensor P, Q;
  tc_tensor_1d(&P, p, TC_F32, 2);
  tc_tensor_1d(&Q, q, TC_F32, 2);
  ie_divergence_options o;
  memset(&o, 0, sizeof o);
  o.alpha = 0;
  ie_summary s;
  EXPECT_ST(ie_divergence(ctx, IE_DIV_TSALLIS, &P.t, &Q.t, NULL, &o, &s), IE_OK, "tsallis of order 0");
  cr_expect(tc_close(s.sum, 0.5), "[%s] tsallis of order 0 with p = (1, 0): %.9g, want 0.5", bn, s.sum);
  for (int v = 3; v <= 11; v++)
    for (int shape = 0; shape < 2; shape++) {
      float x[11], y[11];
      for (int i = 0; i < v; i++) x[i] = y[i] = shape ? (float)(0.37 * i * i - 1.5 * i) : (float)i;
      tc_tensor X, Y;
      tc_tensor_1d(&X, x, TC_F32, v);
      tc_tensor_1d(&Y, y, TC_F32, v);
      EXPECT_ST(ie_divergence(ctx, IE_DIV_CAUCHY_SCHWARZ, &X.t, &Y.t, NULL, NULL, &s), IE_OK, "cauchy-schwarz");
      cr_expect(s.sum == 0 && !signbit(s.sum), "[%s] cauchy-schwarz of identical rows of %d (shape %d): %g", bn, v,
                shape, s.sum);
    }
  ie_context_destroy(ctx);
}
