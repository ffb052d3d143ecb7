/*
 * rel_ops.c — the table of public operations for the reliability suites
 * (see rel_ops.h).  Add a function: write its setup (slots and options), its
 * call, its bad values, and one line in ro_ops[].
 */
#include "rel_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const DLDataType F32 = {kDLFloat, 32, 1}, I64 = {kDLInt, 64, 1};
static const float SENT = 4242.0f;

size_t ro_dtype_size(DLDataType dt) {
  if (dt.bits == 0 || dt.bits % 8) return 0;
  return (size_t)dt.bits / 8 * dt.lanes;
}

/* ---- slots ----------------------------------------------------------------- */

static _Thread_local uint32_t lcg = 1; /* each thread builds its own inputs */
static double urand(void) {
  lcg = lcg * 1664525u + 1013904223u;
  return (lcg >> 8) / 16777216.0;
}

void ro_relayout(ro_slot *s) {
  s->t.ndim = s->t.ndim ? s->t.ndim : 1;
  int64_t st = 1;
  for (int k = s->t.ndim - 1; k >= 0; k--) {
    s->strides[k] = st;
    st *= s->shape[k];
  }
  s->t.shape = s->shape;
  s->t.strides = NULL;
}

/* Slot i: a host tensor of `dt` with the given shape.  Inputs are filled by
 * `fill` (0: uniform [-2, 2]; 1: positive (0.1, 1.1]; 2: integer labels in
 * [0, lab)); outputs with the sentinel. */
static void mk(ro_case *c, int i, const char *name, DLDataType dt, int ndim,
               const int64_t *shape, int output, int optional, int linked, int fill,
               int64_t lab) {
  ro_slot *s = &c->slot[i];
  memset(s, 0, sizeof *s);
  s->name = name;
  s->output = output;
  s->optional = optional;
  s->linked = linked;
  s->t.ndim = ndim;
  s->t.dtype = dt;
  s->t.device.device_type = kDLCPU;
  size_t n = 1;
  for (int k = 0; k < ndim; k++) {
    s->shape[k] = shape[k];
    n *= (size_t)shape[k];
  }
  ro_relayout(s);
  s->bytes = n * ro_dtype_size(dt);
  /* slack: a wrongly accepted layout reads garbage, not past the end */
  size_t cap = s->bytes * 4 + 256;
  s->data = calloc(1, cap);
  s->orig = malloc(cap);
  s->t.data = s->data;
  for (size_t k = 0; k < n; k++) {
    if (output) {
      ((float *)s->data)[k] = SENT;
    } else if (dt.code == kDLInt) {
      ((int64_t *)s->data)[k] = (int64_t)(urand() * (double)lab) % lab;
    } else {
      double v = fill == 1 ? 0.1 + urand() : 4 * urand() - 2;
      ((float *)s->data)[k] = (float)v;
    }
  }
  memcpy(s->orig, s->data, cap);
  if (i >= c->nslots) c->nslots = i + 1;
}

static const DLTensor *S(ro_case *c, int i) {
  return c->slot[i].is_null ? NULL : &c->slot[i].t;
}
static DLTensor *SO(ro_case *c, int i) { return c->slot[i].is_null ? NULL : &c->slot[i].t; }

/* ---- the per-row families ----------------------------------------------------- */

enum { RB = 6, RV = 9 };

static void setup_softmax(ro_case *c) {
  int64_t sh[2] = {RB, RV};
  mk(c, 0, "logits", F32, 2, sh, 0, 0, 0, 0, 0);
  mk(c, 1, "out", F32, 2, sh, 1, 0, 1, 0, 0);
}
static ie_status call_log_softmax(ro_case *c) {
  return ie_log_softmax(c->ctx, S(c, 0), SO(c, 1), &c->sm);
}
static ie_status call_softmax(ro_case *c) { return ie_softmax(c->ctx, S(c, 0), SO(c, 1), &c->sm); }

static void setup_lse(ro_case *c) {
  int64_t sh[2] = {RB, RV};
  mk(c, 0, "logits", F32, 2, sh, 0, 0, 0, 0, 0);
  mk(c, 1, "out", F32, 1, sh, 1, 0, 1, 0, 0);
}
static ie_status call_lse(ro_case *c) { return ie_logsumexp(c->ctx, S(c, 0), SO(c, 1), &c->sm); }

static void setup_entropy(ro_case *c) {
  int64_t sh[2] = {RB, RV};
  mk(c, 0, "logits", F32, 2, sh, 0, 0, 0, 0, 0);
  mk(c, 1, "per_row", F32, 1, sh, 1, 1, 1, 0, 0);
  mk(c, 2, "row_weights", F32, 1, sh, 0, 1, 1, 1, 0);
  c->use_summary = 1;
  c->en.kind = IE_ENTROPY_RENYI;
  c->en.alpha = 2;
}
static ie_status call_entropy(ro_case *c) {
  c->en.row_weights = S(c, 2);
  return ie_entropy(c->ctx, S(c, 0), SO(c, 1), &c->en, c->use_summary ? &c->summary : NULL);
}

static void setup_nll(ro_case *c) {
  int64_t sh[2] = {RB, RV};
  mk(c, 0, "logits", F32, 2, sh, 0, 0, 0, 0, 0);
  mk(c, 1, "labels", I64, 1, sh, 0, 0, 1, 2, RV);
  mk(c, 2, "per_row", F32, 1, sh, 1, 1, 1, 0, 0);
  mk(c, 3, "row_weights", F32, 1, sh, 0, 1, 1, 1, 0);
  c->use_summary = 1;
}
static ie_status call_nll(ro_case *c) {
  c->nl.row_weights = S(c, 3);
  return ie_nll(c->ctx, S(c, 0), S(c, 1), SO(c, 2), &c->nl, c->use_summary ? &c->summary : NULL);
}

static void setup_div(ro_case *c) {
  int64_t sh[2] = {RB, RV};
  mk(c, 0, "p", F32, 2, sh, 0, 0, 0, 0, 0);
  mk(c, 1, "q", F32, 2, sh, 0, 0, 1, 1, 0);
  mk(c, 2, "per_row", F32, 1, sh, 1, 1, 1, 0, 0);
  mk(c, 3, "row_weights", F32, 1, sh, 0, 1, 1, 1, 0);
  c->use_summary = 1;
  c->div_kind = IE_DIV_JS;
  c->dv.q_input = IE_INPUT_PROBS;
}
static ie_status call_div(ro_case *c) {
  c->dv.row_weights = S(c, 3);
  return ie_divergence(c->ctx, c->div_kind, S(c, 0), S(c, 1), SO(c, 2), &c->dv,
                       c->use_summary ? &c->summary : NULL);
}

/* ---- spectral ---------------------------------------------------------------------- */

enum { VN = 8, VD = 4, VS = 3, VSN = 5, VSD = 3 };

static void setup_vendi(ro_case *c) {
  int64_t sh[2] = {VN, VD};
  mk(c, 0, "x", F32, 2, sh, 0, 0, 0, 0, 0);
}
static ie_status call_vendi(ro_case *c) {
  return ie_vendi(c->ctx, S(c, 0), &c->vo, c->sres_null ? NULL : &c->sres);
}
static ie_status call_matrix_entropy(ro_case *c) {
  return ie_matrix_entropy(c->ctx, S(c, 0), &c->mo, c->sres_null ? NULL : &c->sres);
}

static void setup_vendi_batch(ro_case *c) {
  int64_t sh[3] = {VS, VSN, VSD};
  mk(c, 0, "x", F32, 3, sh, 0, 0, 0, 0, 0);
  mk(c, 1, "scores", F32, 1, sh, 1, 0, 1, 0, 0);
}
static ie_status call_vendi_batch(ro_case *c) {
  return ie_vendi_batch(c->ctx, S(c, 0), SO(c, 1), &c->vo, c->sres_null ? NULL : &c->sres);
}

static void setup_pair(ro_case *c) {
  int64_t sx[2] = {VN, VD}, sy[2] = {VN, 3};
  mk(c, 0, "x", F32, 2, sx, 0, 0, 0, 0, 0);
  mk(c, 1, "y", F32, 2, sy, 0, 0, 1, 0, 0);
  c->mo.kernel = IE_KERNEL_RBF;
  c->mo.sigma = 1.5;
  c->mo.alpha = 2;
  c->mo.has_alpha = 1;
}
static ie_status call_joint(ro_case *c) {
  return ie_matrix_joint_entropy(c->ctx, S(c, 0), S(c, 1), &c->mo, c->sres_null ? NULL : &c->sres);
}
static ie_status call_mi(ro_case *c) {
  return ie_matrix_mutual_information(c->ctx, S(c, 0), S(c, 1), &c->mo,
                                      c->sres_null ? NULL : &c->sres);
}

/* ---- k-nearest neighbours ------------------------------------------------------------- */

enum { KN = 24, KM = 20, KD = 3 };

static void setup_knn(ro_case *c) {
  int64_t sq[2] = {KN, KD}, sr[2] = {KM, KD}, so[2] = {KN, 4};
  mk(c, 0, "queries", F32, 2, sq, 0, 0, 0, 0, 0);
  mk(c, 1, "refs", F32, 2, sr, 0, 0, 0, 0, 0);
  mk(c, 2, "distances", F32, 2, so, 1, 1, 1, 0, 0);
  c->kk = 4;
}
static ie_status call_knn(ro_case *c) {
  return ie_knn(c->ctx, S(c, 0), S(c, 1), c->kk, NULL, SO(c, 2), &c->ko);
}
static void setup_knn_entropy(ro_case *c) {
  int64_t sx[2] = {KN, KD};
  mk(c, 0, "x", F32, 2, sx, 0, 0, 0, 0, 0);
  c->keo.k = 3;
}
static ie_status call_knn_entropy(ro_case *c) {
  return ie_knn_entropy(c->ctx, S(c, 0), &c->keo, c->kres_null ? NULL : &c->kres);
}
static void setup_knn_pair(ro_case *c) {
  int64_t sx[2] = {KN, KD}, sy[2] = {KM, KD};
  mk(c, 0, "x", F32, 2, sx, 0, 0, 0, 0, 0);
  mk(c, 1, "y", F32, 2, sy, 0, 0, 0, 0, 0);
  c->keo.k = 3;
  c->kdiv = IE_KNN_DIV_KL;
}
static ie_status call_knn_div(ro_case *c) {
  return ie_knn_divergence(c->ctx, c->kdiv, S(c, 0), S(c, 1), &c->keo, c->kres_null ? NULL : &c->kres);
}
static void setup_knn_mi(ro_case *c) {
  int64_t sx[2] = {KN, KD}, sy[2] = {KN, 2};
  mk(c, 0, "x", F32, 2, sx, 0, 0, 0, 0, 0);
  mk(c, 1, "y", F32, 2, sy, 0, 0, 1, 0, 0);
  c->keo.k = 3;
}
static ie_status call_knn_mi(ro_case *c) {
  return ie_knn_mutual_information(c->ctx, S(c, 0), S(c, 1), &c->keo, c->kres_null ? NULL : &c->kres);
}

/* ---- sinkhorn ------------------------------------------------------------------------ */

enum { SN = 5, SM = 4, SD = 2 };

static void setup_sk_cost(ro_case *c) {
  int64_t sa[1] = {SN}, sb[1] = {SM}, sc[2] = {SN, SM};
  mk(c, 0, "a", F32, 1, sa, 0, 0, 0, 1, 0);
  mk(c, 1, "b", F32, 1, sb, 0, 0, 0, 1, 0);
  mk(c, 2, "cost", F32, 2, sc, 0, 0, 1, 1, 0);
  mk(c, 3, "f", F32, 1, sa, 1, 1, 1, 0, 0);
  mk(c, 4, "g", F32, 1, sb, 1, 1, 1, 0, 0);
  mk(c, 5, "plan", F32, 2, sc, 1, 1, 1, 0, 0);
  c->so.epsilon = 0.5;
  c->so.max_iter = 200;
}
static ie_status call_sk_cost(ro_case *c) {
  return ie_sinkhorn(c->ctx, S(c, 0), S(c, 1), S(c, 2), NULL, NULL, &c->so,
                     c->skres_null ? NULL : c->skres, SO(c, 3), SO(c, 4), SO(c, 5));
}

static void setup_sk_points(ro_case *c) {
  int64_t sa[1] = {SN}, sb[1] = {SM}, sx[2] = {SN, SD}, sy[2] = {SM, SD};
  mk(c, 0, "a", F32, 1, sa, 0, 0, 0, 1, 0);
  mk(c, 1, "b", F32, 1, sb, 0, 0, 0, 1, 0);
  mk(c, 2, "x", F32, 2, sx, 0, 0, 1, 0, 0);
  mk(c, 3, "y", F32, 2, sy, 0, 0, 1, 0, 0);
  c->so.epsilon = 0.5;
  c->so.max_iter = 200;
  c->so.divergence = 1;
}
static ie_status call_sk_points(ro_case *c) {
  return ie_sinkhorn(c->ctx, S(c, 0), S(c, 1), NULL, S(c, 2), S(c, 3), &c->so,
                     c->skres_null ? NULL : c->skres, NULL, NULL, NULL);
}

/* ---- bad values and options -------------------------------------------------------- */

static void t_temp_neg(ro_case *c) {
  c->sm.temperature = c->en.temperature = c->nl.temperature = c->dv.temperature = -1;
}
static void t_temp_nan(ro_case *c) {
  c->sm.temperature = c->en.temperature = c->nl.temperature = c->dv.temperature = NAN;
}
static void t_temp_inf(ro_case *c) {
  c->sm.temperature = c->en.temperature = c->nl.temperature = c->dv.temperature = INFINITY;
}
static void t_probs(ro_case *c) {
  c->en.input = IE_INPUT_PROBS;
  float *x = c->slot[0].data;
  for (size_t k = 0; k < c->slot[0].bytes / sizeof *x; k++) x[k] = fabsf(x[k]) + 0.1f;
  memcpy(c->slot[0].orig, c->slot[0].data, c->slot[0].bytes);
}
static void t_bad_kind(ro_case *c) { c->en.kind = (ie_entropy_kind)77; }
static void t_bad_input(ro_case *c) { c->en.input = (ie_input_kind)5; }
static void t_alpha_neg(ro_case *c) { c->en.alpha = -0.5; }
static void t_alpha_nan(ro_case *c) { c->en.alpha = NAN; }
static void t_tsallis_inf(ro_case *c) {
  c->en.kind = IE_ENTROPY_TSALLIS;
  c->en.alpha = INFINITY;
}
static void t_no_summary(ro_case *c) { c->use_summary = 0; }
static void t_ignore3(ro_case *c) {
  c->nl.has_ignore_index = 1;
  c->nl.ignore_index = 3;
}
static void t_all_ignored(ro_case *c) {
  c->nl.has_ignore_index = 1;
  c->nl.ignore_index = 2;
  for (int i = 0; i < RB; i++) ((int64_t *)c->slot[1].data)[i] = 2;
  memcpy(c->slot[1].orig, c->slot[1].data, c->slot[1].bytes);
}
static void t_zero_weights(ro_case *c) {
  memset(c->slot[3].data, 0, c->slot[3].bytes);
  memcpy(c->slot[3].orig, c->slot[3].data, c->slot[3].bytes);
}
static void t_div_kind(ro_case *c) { c->div_kind = (ie_divergence_kind)99; }
static void t_div_neg_kind(ro_case *c) { c->div_kind = (ie_divergence_kind)-1; }
static void t_js_beta(ro_case *c) { c->dv.beta = 1.5; }
static void t_js_beta_nan(ro_case *c) { c->dv.beta = NAN; }
static void t_renyi0(ro_case *c) {
  c->div_kind = IE_DIV_RENYI;
  c->dv.alpha = 0;
}
static void t_alpha_div_inf(ro_case *c) {
  c->div_kind = IE_DIV_ALPHA;
  c->dv.alpha = INFINITY;
}
static void t_p_probs(ro_case *c) {
  c->dv.p_input = IE_INPUT_PROBS;
  float *x = c->slot[0].data;
  for (size_t k = 0; k < c->slot[0].bytes / sizeof *x; k++) x[k] = fabsf(x[k]) + 0.1f;
  memcpy(c->slot[0].orig, c->slot[0].data, c->slot[0].bytes);
}
static void t_size_huge(ro_case *c) { c->sm.size = c->en.size = c->dv.size = c->nl.size = (size_t)1 << 40; }
/* Every options struct with a size below its first version: a garbage size,
 * refused (an old binary's struct is never read past its end). */
static void t_size_small(ro_case *c) {
  c->sm.size = c->en.size = c->dv.size = c->nl.size = c->vo.size = c->mo.size = c->so.size =
      c->ko.size = c->keo.size = 1;
}
static void t_rbf_nosigma(ro_case *c) {
  c->vo.kernel = IE_KERNEL_RBF;
  c->mo.kernel = IE_KERNEL_RBF;
  c->vo.sigma = c->mo.sigma = 0;
}
static void t_rbf_nan_sigma(ro_case *c) {
  c->vo.kernel = c->mo.kernel = IE_KERNEL_RBF;
  c->vo.sigma = c->mo.sigma = NAN;
}
static void t_kernel_bad(ro_case *c) { c->vo.kernel = c->mo.kernel = (ie_kernel)9; }
static void t_q_neg(ro_case *c) {
  c->vo.q = -1;
  c->vo.has_q = 1;
  c->mo.alpha = -1;
  c->mo.has_alpha = 1;
}
static void t_q_nan(ro_case *c) {
  c->vo.q = NAN;
  c->vo.has_q = 1;
  c->mo.alpha = NAN;
  c->mo.has_alpha = 1;
}
static void t_dual_rbf(ro_case *c) {
  c->vo.kernel = c->mo.kernel = IE_KERNEL_RBF;
  c->vo.sigma = c->mo.sigma = 1;
  c->vo.path = c->mo.path = IE_SPECTRAL_DUAL;
}
static void t_path_bad(ro_case *c) { c->vo.path = c->mo.path = (ie_spectral_path)7; }
static void t_precomputed_rect(ro_case *c) { c->vo.kernel = c->mo.kernel = IE_KERNEL_PRECOMPUTED; }
static void t_sres_null(ro_case *c) { c->sres_null = 1; }
static void t_cos_zero_row(ro_case *c) {
  memset(c->slot[0].data, 0, ro_dtype_size(c->slot[0].t.dtype) * (size_t)c->slot[0].shape[c->slot[0].t.ndim - 1]);
  memcpy(c->slot[0].orig, c->slot[0].data, c->slot[0].bytes);
}
static void t_eps_zero(ro_case *c) { c->so.epsilon = 0; }
static void t_eps_neg(ro_case *c) { c->so.epsilon = -1; }
static void t_eps_nan(ro_case *c) { c->so.epsilon = NAN; }
static void t_eps_inf(ro_case *c) { c->so.epsilon = INFINITY; }
static void t_tol_neg(ro_case *c) { c->so.tol = -1; }
static void t_iter_neg(ro_case *c) { c->so.max_iter = -5; }
static void t_metric_bad(ro_case *c) { c->so.metric = (ie_cost_metric)9; }
static void t_rho_neg(ro_case *c) { c->so.rho = -1; }
static void t_factor_bad(ro_case *c) {
  c->so.eps_scaling = 1;
  c->so.eps_factor = 1.5;
}
static void t_skres_null(ro_case *c) { c->skres_null = 1; }
static void t_zero_mass(ro_case *c) {
  memset(c->slot[0].data, 0, c->slot[0].bytes);
  memcpy(c->slot[0].orig, c->slot[0].data, c->slot[0].bytes);
}
static void t_div_no_cxx(ro_case *c) { c->so.divergence = 1; }

#define IA IE_INVALID_ARGUMENT
static const ro_bad bad_softmax[] = {
    {"NaN logit", 0, 3 * RV + 4, NAN, NULL, IE_NONFINITE},
    {"+inf logit", 0, 5 * RV, INFINITY, NULL, IE_NONFINITE},
    {"-inf logit (a result)", 0, 2, -INFINITY, NULL, IE_OK},
    {"temperature -1", -1, 0, 0, t_temp_neg, IA},
    {"temperature NaN", -1, 0, 0, t_temp_nan, IA},
    {"temperature +inf", -1, 0, 0, t_temp_inf, IA},
    {"options size 2^40", -1, 0, 0, t_size_huge, IE_OK},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_entropy[] = {
    {"NaN logit", 0, 3 * RV + 4, NAN, NULL, IE_NONFINITE},
    {"+inf logit", 0, 1, INFINITY, NULL, IE_NONFINITE},
    {"negative probability", 0, RV + 2, -0.5, t_probs, IE_NEGATIVE},
    {"+inf probability", 0, RV + 2, INFINITY, t_probs, IE_NONFINITE},
    {"-inf probability", 0, RV + 2, -INFINITY, t_probs, IE_NONFINITE},
    {"NaN probability", 0, 4 * RV, NAN, t_probs, IE_NONFINITE},
    {"temperature -1", -1, 0, 0, t_temp_neg, IA},
    {"temperature NaN", -1, 0, 0, t_temp_nan, IA},
    {"unknown kind", -1, 0, 0, t_bad_kind, IA},
    {"unknown input kind", -1, 0, 0, t_bad_input, IA},
    {"Renyi alpha -0.5", -1, 0, 0, t_alpha_neg, IA},
    {"Renyi alpha NaN", -1, 0, 0, t_alpha_nan, IA},
    {"Tsallis q inf", -1, 0, 0, t_tsallis_inf, IA},
    {"weight NaN", 2, 1, NAN, NULL, IA},
    {"weight -1", 2, 1, -1, NULL, IA},
    {"weight +inf", 2, 1, INFINITY, NULL, IA},
    {"NaN logit, no summary", 0, 0, NAN, t_no_summary, IE_NONFINITE},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_nll[] = {
    {"NaN logit", 0, 3 * RV + 4, NAN, NULL, IE_NONFINITE},
    {"label = V", 1, 2, RV, NULL, IE_BAD_LABEL},
    {"label -1", 1, 4, -1, NULL, IE_BAD_LABEL},
    {"label 2^40", 1, 0, 1099511627776.0, NULL, IE_BAD_LABEL},
    {"label = V, ignored index 3 elsewhere", 1, 2, RV, t_ignore3, IE_BAD_LABEL},
    {"every row ignored", -1, 0, 0, t_all_ignored, IE_EMPTY_REDUCTION},
    {"every weight 0", -1, 0, 0, t_zero_weights, IE_EMPTY_REDUCTION},
    {"weight NaN", 3, 1, NAN, NULL, IA},
    {"temperature +inf", -1, 0, 0, t_temp_inf, IA},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_div[] = {
    {"NaN in p", 0, 3 * RV + 4, NAN, NULL, IE_NONFINITE},
    {"+inf in p", 0, 3, INFINITY, NULL, IE_NONFINITE},
    {"negative q", 1, RV + 1, -1, NULL, IE_NEGATIVE},
    {"NaN q", 1, RV + 1, NAN, NULL, IE_NONFINITE},
    {"+inf q", 1, RV + 1, INFINITY, NULL, IE_NONFINITE},
    {"negative p (probs)", 0, 7, -0.25, t_p_probs, IE_NEGATIVE},
    {"unknown kind 99", -1, 0, 0, t_div_kind, IA},
    {"unknown kind -1", -1, 0, 0, t_div_neg_kind, IA},
    {"js beta 1.5", -1, 0, 0, t_js_beta, IA},
    {"js beta NaN", -1, 0, 0, t_js_beta_nan, IA},
    {"renyi alpha 0", -1, 0, 0, t_renyi0, IA},
    {"alpha-divergence alpha inf", -1, 0, 0, t_alpha_div_inf, IA},
    {"temperature NaN", -1, 0, 0, t_temp_nan, IA},
    {"weight -1", 3, 0, -1, NULL, IA},
    {"every weight 0", -1, 0, 0, t_zero_weights, IE_EMPTY_REDUCTION},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_vendi[] = {
    {"NaN in x", 0, 5, NAN, NULL, IE_NONFINITE},
    {"+inf in x", 0, 9, INFINITY, NULL, IE_NONFINITE},
    {"-inf in x", 0, 9, -INFINITY, NULL, IE_NONFINITE},
    {"cosine zero row", -1, 0, 0, t_cos_zero_row, IA},
    {"rbf without sigma", -1, 0, 0, t_rbf_nosigma, IA},
    {"rbf sigma NaN", -1, 0, 0, t_rbf_nan_sigma, IA},
    {"unknown kernel", -1, 0, 0, t_kernel_bad, IA},
    {"order -1", -1, 0, 0, t_q_neg, IA},
    {"order NaN", -1, 0, 0, t_q_nan, IA},
    {"dual path with rbf", -1, 0, 0, t_dual_rbf, IA},
    {"unknown path", -1, 0, 0, t_path_bad, IA},
    {"precomputed K not square", -1, 0, 0, t_precomputed_rect, -1},
    {"result NULL", -1, 0, 0, t_sres_null, IA},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_vendi_batch[] = {
    {"NaN in x", 0, 17, NAN, NULL, IE_NONFINITE},
    {"+inf in x", 0, 2, INFINITY, NULL, IE_NONFINITE},
    {"cosine zero row", -1, 0, 0, t_cos_zero_row, IA},
    {"rbf without sigma", -1, 0, 0, t_rbf_nosigma, IA},
    {"unknown kernel", -1, 0, 0, t_kernel_bad, IA},
    {"order NaN", -1, 0, 0, t_q_nan, IA},
    {"result NULL (allowed)", -1, 0, 0, t_sres_null, IE_OK},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_pair[] = {
    {"NaN in x", 0, 5, NAN, NULL, IE_NONFINITE},
    {"+inf in y", 1, 4, INFINITY, NULL, IE_NONFINITE},
    {"rbf without sigma", -1, 0, 0, t_rbf_nosigma, IA},
    {"order NaN", -1, 0, 0, t_q_nan, IA},
    {"order -1", -1, 0, 0, t_q_neg, IA},
    {"unknown kernel", -1, 0, 0, t_kernel_bad, IA},
    {"result NULL", -1, 0, 0, t_sres_null, IA},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_sk_cost[] = {
    {"negative weight in a", 0, 1, -0.5, NULL, IE_NEGATIVE},
    {"NaN weight in b", 1, 2, NAN, NULL, IE_NONFINITE},
    {"+inf weight in a", 0, 0, INFINITY, NULL, IE_NONFINITE},
    {"NaN in the cost", 2, 7, NAN, NULL, IE_NONFINITE},
    {"+inf in the cost", 2, 3, INFINITY, NULL, IE_NONFINITE},
    {"zero mass in a", -1, 0, 0, t_zero_mass, IE_EMPTY_ROW},
    {"epsilon 0", -1, 0, 0, t_eps_zero, IA},
    {"epsilon -1", -1, 0, 0, t_eps_neg, IA},
    {"epsilon NaN", -1, 0, 0, t_eps_nan, IA},
    {"epsilon +inf", -1, 0, 0, t_eps_inf, IA},
    {"tol -1", -1, 0, 0, t_tol_neg, IA},
    {"max_iter -5", -1, 0, 0, t_iter_neg, IA},
    {"rho -1", -1, 0, 0, t_rho_neg, IA},
    {"eps_factor 1.5", -1, 0, 0, t_factor_bad, IA},
    {"divergence without cost_xx", -1, 0, 0, t_div_no_cxx, IA},
    {"results NULL", -1, 0, 0, t_skres_null, IA},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_sk_points[] = {
    {"NaN in x", 2, 1, NAN, NULL, IE_NONFINITE},
    {"-inf in y", 3, 2, -INFINITY, NULL, IE_NONFINITE},
    {"negative weight in b", 1, 3, -1, NULL, IE_NEGATIVE},
    {"zero mass in a", -1, 0, 0, t_zero_mass, IE_EMPTY_ROW},
    {"unknown metric", -1, 0, 0, t_metric_bad, IA},
    {"epsilon NaN", -1, 0, 0, t_eps_nan, IA},
    {"results NULL", -1, 0, 0, t_skres_null, IA},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
#undef IA

static void t_knn_k0(ro_case *c) { c->kk = 0; }
static void t_knn_k_big(ro_case *c) { c->kk = KM + 1; }
static void t_knn_metric(ro_case *c) { c->ko.metric = (ie_knn_metric)7; }
static void t_keo_k_big(ro_case *c) { c->keo.k = KN; }
static void t_keo_k_neg(ro_case *c) { c->keo.k = -2; }
static void t_keo_jitter_nan(ro_case *c) { c->keo.jitter = NAN; }
static void t_kres_null(ro_case *c) { c->kres_null = 1; }
static void t_kdiv_bad(ro_case *c) { c->kdiv = (ie_knn_divergence_method)9; }
static void t_kdiv_renyi_alpha(ro_case *c) {
  c->kdiv = IE_KNN_DIV_RENYI;
  c->keo.alpha = 9; /* needs k > |alpha - 1| */
  c->keo.has_alpha = 1;
}
static const ro_bad bad_knn[] = {
    {"NaN in queries", 0, 4, NAN, NULL, IE_NONFINITE},
    {"+inf in refs", 1, 7, INFINITY, NULL, IE_NONFINITE},
    {"k = 0", -1, 0, 0, t_knn_k0, -1},
    {"k > refs", -1, 0, 0, t_knn_k_big, -1},
    {"unknown metric", -1, 0, 0, t_knn_metric, -1},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_knn_one[] = {
    {"NaN in x", 0, 4, NAN, NULL, IE_NONFINITE},
    {"-inf in x", 0, 8, -INFINITY, NULL, IE_NONFINITE},
    {"k >= N", -1, 0, 0, t_keo_k_big, -1},
    {"k negative", -1, 0, 0, t_keo_k_neg, -1},
    {"jitter NaN", -1, 0, 0, t_keo_jitter_nan, -1},
    {"result NULL", -1, 0, 0, t_kres_null, -1},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_knn_pair[] = {
    {"NaN in x", 0, 4, NAN, NULL, IE_NONFINITE},
    {"+inf in y", 1, 5, INFINITY, NULL, IE_NONFINITE},
    {"k >= N", -1, 0, 0, t_keo_k_big, -1},
    {"unknown method", -1, 0, 0, t_kdiv_bad, -1},
    {"renyi order needs a larger k", -1, 0, 0, t_kdiv_renyi_alpha, -1},
    {"result NULL", -1, 0, 0, t_kres_null, -1},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};
static const ro_bad bad_knn_mi[] = {
    {"NaN in x", 0, 4, NAN, NULL, IE_NONFINITE},
    {"+inf in y", 1, 5, INFINITY, NULL, IE_NONFINITE},
    {"k >= N", -1, 0, 0, t_keo_k_big, -1},
    {"result NULL", -1, 0, 0, t_kres_null, -1},
    {"options size 1", -1, 0, 0, t_size_small, IE_INVALID_ARGUMENT},
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
const ro_op ro_ops[] = {
    {"ie_log_softmax", setup_softmax, call_log_softmax, bad_softmax, N(bad_softmax)},
    {"ie_softmax", setup_softmax, call_softmax, bad_softmax, N(bad_softmax)},
    {"ie_logsumexp", setup_lse, call_lse, bad_softmax, N(bad_softmax)},
    {"ie_entropy", setup_entropy, call_entropy, bad_entropy, N(bad_entropy)},
    {"ie_nll", setup_nll, call_nll, bad_nll, N(bad_nll)},
    {"ie_divergence", setup_div, call_div, bad_div, N(bad_div)},
    {"ie_vendi", setup_vendi, call_vendi, bad_vendi, N(bad_vendi)},
    {"ie_vendi_batch", setup_vendi_batch, call_vendi_batch, bad_vendi_batch, N(bad_vendi_batch)},
    {"ie_matrix_entropy", setup_vendi, call_matrix_entropy, bad_vendi, N(bad_vendi)},
    {"ie_matrix_joint_entropy", setup_pair, call_joint, bad_pair, N(bad_pair)},
    {"ie_matrix_mutual_information", setup_pair, call_mi, bad_pair, N(bad_pair)},
    {"ie_sinkhorn", setup_sk_cost, call_sk_cost, bad_sk_cost, N(bad_sk_cost)},
    {"ie_sinkhorn", setup_sk_points, call_sk_points, bad_sk_points, N(bad_sk_points)},
    {"ie_knn", setup_knn, call_knn, bad_knn, N(bad_knn)},
    {"ie_knn_entropy", setup_knn_entropy, call_knn_entropy, bad_knn_one, N(bad_knn_one)},
    {"ie_knn_divergence", setup_knn_pair, call_knn_div, bad_knn_pair, N(bad_knn_pair)},
    {"ie_knn_mutual_information", setup_knn_mi, call_knn_mi, bad_knn_mi, N(bad_knn_mi)},
};
const int ro_nops = N(ro_ops);

/* ---- case handling ---------------------------------------------------------------------- */

void ro_reset_outputs(ro_case *c) {
  for (int i = 0; i < c->nslots; i++) {
    ro_slot *s = &c->slot[i];
    if (!s->output) continue;
    size_t n = s->bytes / sizeof(float);
    for (size_t k = 0; k < n; k++) ((float *)s->data)[k] = SENT;
  }
  memset(&c->summary, 0xA5, sizeof c->summary);
  memset(&c->sres, 0xA5, sizeof c->sres);
  memset(c->skres, 0xA5, sizeof c->skres);
  memset(&c->kres, 0xA5, sizeof c->kres);
}

void ro_setup(const ro_op *op, ro_case *c, ie_context *ctx) {
  memset(c, 0, sizeof *c);
  c->ctx = ctx;
  lcg = 12345u;
  op->setup(c);
  ro_reset_outputs(c);
}

void ro_free(ro_case *c) {
  for (int i = 0; i < c->nslots; i++) {
    free(c->slot[i].data);
    free(c->slot[i].orig);
    c->slot[i].data = c->slot[i].orig = NULL;
  }
}

void *ro_results(const ro_case *c, size_t *n) {
  size_t total = sizeof c->summary + sizeof c->sres + sizeof c->skres + sizeof c->kres;
  for (int i = 0; i < c->nslots; i++)
    if (c->slot[i].output) total += c->slot[i].bytes;
  char *buf = malloc(total), *p = buf;
  for (int i = 0; i < c->nslots; i++)
    if (c->slot[i].output) {
      memcpy(p, c->slot[i].data, c->slot[i].bytes);
      p += c->slot[i].bytes;
    }
  memcpy(p, &c->summary, sizeof c->summary);
  p += sizeof c->summary;
  memcpy(p, &c->sres, sizeof c->sres);
  p += sizeof c->sres;
  memcpy(p, c->skres, sizeof c->skres);
  p += sizeof c->skres;
  memcpy(p, &c->kres, sizeof c->kres);
  *n = total;
  return buf;
}

static int untouched(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t k = 0; k < n; k++)
    if (b[k] != 0xA5) return 0;
  return 1;
}

int ro_outputs_clean(const ro_case *c, char *why, size_t cap) {
  for (int i = 0; i < c->nslots; i++) {
    const ro_slot *s = &c->slot[i];
    if (!s->output) continue;
    size_t n = s->bytes / sizeof(float);
    for (size_t k = 0; k < n; k++) {
      float v = ((const float *)s->data)[k];
      if (!(v == SENT || isnan(v))) {
        snprintf(why, cap, "output '%s'[%zu] = %g after a failed call (not untouched, not NaN)",
                 s->name, k, (double)v);
        return 0;
      }
    }
  }
  if (!untouched(&c->summary, sizeof c->summary) &&
      !(isnan(c->summary.sum) && isnan(c->summary.mean))) {
    snprintf(why, cap, "summary written by a failed call (mean %g)", c->summary.mean);
    return 0;
  }
  if (!untouched(&c->sres, sizeof c->sres) && !isnan(c->sres.value)) {
    snprintf(why, cap, "spectral result written by a failed call (value %g)", c->sres.value);
    return 0;
  }
  if (!untouched(&c->kres, sizeof c->kres) && !isnan(c->kres.estimate)) {
    snprintf(why, cap, "knn result written by a failed call (estimate %g)", c->kres.estimate);
    return 0;
  }
  for (int k = 0; k < 4; k++)
    if (!untouched(&c->skres[k], sizeof c->skres[k]) && !isnan(c->skres[k].transport_cost)) {
      snprintf(why, cap, "sinkhorn result %d written by a failed call (cost %g)", k,
               c->skres[k].transport_cost);
      return 0;
    }
  return 1;
}

int ro_inputs_unchanged(const ro_case *c) {
  for (int i = 0; i < c->nslots; i++) {
    const ro_slot *s = &c->slot[i];
    if (!s->output && memcmp(s->data, s->orig, s->bytes) != 0) return 0;
  }
  return 1;
}

void ro_count(const char *prog, const char *key, long long value) {
  printf("COUNT %s %s %lld\n", prog, key, value);
  const char *f = getenv("IE_RELIABILITY_COUNTS");
  if (f && *f) {
    FILE *o = fopen(f, "a");
    if (o) {
      fprintf(o, "%s %s %lld\n", prog, key, value);
      fclose(o);
    }
  }
}
