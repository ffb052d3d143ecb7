/*
 * rows.c — the CPU reference for the row kernels of docs/KERNELS.md, in
 * double precision, OpenMP across rows.  Each row is read in chunks that
 * stay in L1: a chunk is widened to log-weights z, its max moves the running
 * max (rescaling the accumulators), then its terms are summed.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../backend.h"
#include "convert.h"

enum { CHUNK = 256 };

/* Widen elements [i0, i0 + n) of row r to log-weights (KERNELS.md, "Reading
 * a row").  Returns an ie_rowerr code. */
static int load_z(const ie_mat *x, int64_t r, int64_t i0, int n,
                  ie_input_kind kind, double inv_t, double *z) {
  const char *base = (const char *)x->buf + x->offset +
                     ((size_t)r * (size_t)x->stride + (size_t)i0) * ie__dtype_size(x->dtype);
  switch (x->dtype) {
  case IE_DT_F32: for (int i = 0; i < n; i++) z[i] = ((const float *)base)[i]; break;
  case IE_DT_F64: for (int i = 0; i < n; i++) z[i] = ((const double *)base)[i]; break;
  case IE_DT_F16: for (int i = 0; i < n; i++) z[i] = ie__half_to_float(((const uint16_t *)base)[i]); break;
  case IE_DT_BF16: for (int i = 0; i < n; i++) z[i] = ie__bf16_to_float(((const uint16_t *)base)[i]); break;
  default: return IE_ROW_NONFINITE;
  }
  int bad = 0;
  if (kind == IE_INPUT_LOGITS) {
    for (int i = 0; i < n; i++) {
      bad |= !(z[i] < INFINITY); /* NaN or +inf */
      z[i] *= inv_t;
    }
    return bad ? IE_ROW_NONFINITE : IE_ROW_OK;
  }
  int neg = 0;
  for (int i = 0; i < n; i++) {
    bad |= !(z[i] < INFINITY) || isnan(z[i]);
    neg |= z[i] < 0;
    z[i] = inv_t == 1.0 ? log(z[i]) : inv_t * log(z[i]);
  }
  return bad ? IE_ROW_NONFINITE : neg ? IE_ROW_NEGATIVE : IE_ROW_OK;
}

static double chunk_max(const double *z, int n) {
  double m = -INFINITY;
  for (int i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
  return m;
}

/* ---- One matrix: lse, entropies, NLL ---------------------------------------- */

typedef struct {
  double m, s; /* running max, Σ e^{z−m} */
  double t;    /* Σ e^{z−m}(z − m) */
  double u;    /* Σ e^{α(z−m)} */
} one_state;

static int pass1_one(const ie_mat *x, int64_t r, ie_input_kind kind, double inv_t,
                     int want_t, int want_u, double alpha, one_state *st) {
  double z[CHUNK];
  one_state a = {-INFINITY, 0, 0, 0};
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    int e = load_z(x, r, i0, n, kind, inv_t, z);
    if (e) return e;
    double cm = chunk_max(z, n);
    if (cm == -INFINITY) continue;
    if (cm > a.m) {
      if (a.m > -INFINITY) {
        double k = exp(a.m - cm);
        a.t = k * (a.t + (a.m - cm) * a.s);
        a.s *= k;
        a.u *= exp(alpha * (a.m - cm));
      }
      a.m = cm;
    }
    for (int i = 0; i < n; i++) {
      if (z[i] == -INFINITY) continue;
      double d = z[i] - a.m, e1 = exp(d);
      a.s += e1;
      if (want_t) a.t += e1 * d;
      if (want_u) a.u += alpha == 0 ? 1.0 : exp(alpha * d);
    }
  }
  if (a.m == -INFINITY) return IE_ROW_EMPTY;
  *st = a;
  return IE_ROW_OK;
}

static double entropy_value(const ie_rowargs *ra, const one_state *st) {
  double ls = log(st->s), al = ra->alpha;
  switch (ra->ent) {
  case IE_ENTROPY_SHANNON:
    return ls - st->t / st->s;
  case IE_ENTROPY_RENYI:
    if (isinf(al)) return ls; /* −log max p */
    return (log(st->u) - al * ls) / (1 - al);
  case IE_ENTROPY_TSALLIS:
    return -expm1(log(st->u) - al * ls) / (al - 1);
  }
  return NAN;
}

static int row_one(const ie_rowargs *ra, const ie_mat *x, const ie_vec *labels,
                   int64_t r, double *val) {
  int want_t = ra->op == IE_OP_ENTROPY && ra->ent == IE_ENTROPY_SHANNON;
  int want_u = ra->op == IE_OP_ENTROPY && ra->ent != IE_ENTROPY_SHANNON && !isinf(ra->alpha);
  int64_t y = 0;
  if (ra->op == IE_OP_NLL) {
    const char *lp = (const char *)labels->buf + labels->offset +
                     (size_t)r * (size_t)labels->stride * ie__dtype_size(labels->dtype);
    y = labels->dtype == IE_DT_I32 ? *(const int32_t *)lp : *(const int64_t *)lp;
    if (ra->has_ignore_index && y == ra->ignore_index) {
      *val = 0;
      return IE_ROW_OK;
    }
    if (y < 0 || y >= x->cols) return IE_ROW_BAD_LABEL;
  }
  one_state st;
  int e = pass1_one(x, r, ra->input, ra->inv_temp, want_t, want_u, ra->alpha, &st);
  if (e) return e;
  switch (ra->op) {
  case IE_OP_LSE:
    *val = st.m + log(st.s);
    break;
  case IE_OP_ENTROPY:
    *val = entropy_value(ra, &st);
    break;
  case IE_OP_NLL: {
    double zy = NAN;
    load_z(x, r, y, 1, IE_INPUT_LOGITS, ra->inv_temp, &zy);
    *val = zy == -INFINITY ? INFINITY : (st.m - zy) + log(st.s);
    break;
  }
  default:
    *val = NAN;
  }
  return IE_ROW_OK;
}

/* ---- Two matrices: divergences ----------------------------------------------- */

typedef struct {
  double mp, sp, mq, sq;
  double a, aq, b;       /* Σ e^{dp}(zp−zq), Σ e^{dq}(zq−zp), Σ e^{dp}(zq−mq) */
  int inf_a, inf_aq, inf_b;
} two_state;

static int is_kl_family(ie_divergence_kind k) {
  return k == IE_DIV_KL || k == IE_DIV_REVERSE_KL || k == IE_DIV_JEFFREYS || k == IE_DIV_CROSS_ENTROPY;
}

static int pass1_two(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y, int64_t r,
                     two_state *st) {
  double zp[CHUNK], zq[CHUNK];
  two_state a = {-INFINITY, 0, -INFINITY, 0, 0, 0, 0, 0, 0, 0};
  const ie_divergence_kind k = ra->div;
  const int want_a = k == IE_DIV_KL || k == IE_DIV_JEFFREYS;
  const int want_aq = k == IE_DIV_REVERSE_KL || k == IE_DIV_JEFFREYS;
  const int want_b = k == IE_DIV_CROSS_ENTROPY;
  int ep = 0, eq = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    ep = load_z(x, r, i0, n, ra->input, ra->inv_temp, zp);
    eq = load_z(y, r, i0, n, ra->q_input, ra->inv_temp, zq);
    if (ep || eq) return ep ? ep : eq;
    double cp = chunk_max(zp, n), cq = chunk_max(zq, n);
    if (cp > a.mp) {
      if (a.mp > -INFINITY) {
        double k1 = exp(a.mp - cp);
        a.sp *= k1;
        a.a *= k1;
        a.b *= k1;
      }
      a.mp = cp;
    }
    if (cq > a.mq) {
      if (a.mq > -INFINITY) {
        double k1 = exp(a.mq - cq);
        a.b += (a.mq - cq) * a.sp;
        a.sq *= k1;
        a.aq *= k1;
      }
      a.mq = cq;
    }
    for (int i = 0; i < n; i++) {
      double ppos = zp[i] > -INFINITY, qpos = zq[i] > -INFINITY;
      double e1 = ppos ? exp(zp[i] - a.mp) : 0, e2 = qpos ? exp(zq[i] - a.mq) : 0;
      a.sp += e1;
      a.sq += e2;
      if (!is_kl_family(k)) continue;
      if (ppos) {
        if (!qpos) a.inf_a = a.inf_b = 1;
        else {
          if (want_a) a.a += e1 * (zp[i] - zq[i]);
          if (want_b) a.b += e1 * (zq[i] - a.mq);
        }
      }
      if (qpos) {
        if (!ppos) a.inf_aq = 1;
        else if (want_aq) a.aq += e2 * (zq[i] - zp[i]);
      }
    }
  }
  if (a.mp == -INFINITY || a.mq == -INFINITY) return IE_ROW_EMPTY;
  *st = a;
  return IE_ROW_OK;
}

/* log(e^x + e^y) */
static double logaddexp(double x, double y) {
  double hi = x > y ? x : y, lo = x > y ? y : x;
  if (lo == -INFINITY) return hi;
  return hi + log1p(exp(lo - hi));
}

/* Σ p^α q^{1−α} term in shifted logs (KERNELS.md pass 2). */
static double mix_term(double dp, double dq, double al) {
  if (dp == -INFINITY && dq == -INFINITY) return 0;
  if (dp == dq) return exp(dp);
  if (dp == -INFINITY) return al >= 0 ? 0 : INFINITY;
  if (dq == -INFINITY) return al < 1 ? 0 : INFINITY;
  return exp(al * dp + (1 - al) * dq);
}

static double pass2_two(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y, int64_t r,
                        const two_state *st) {
  double zp[CHUNK], zq[CHUNK];
  const double lsp = log(st->sp), lsq = log(st->sq), al = ra->alpha, be = ra->beta;
  const double lb = log(be), lb1 = log1p(-be);
  const ie_divergence_kind k = ra->div;
  /* sp2, sq2: Σ e^{dp}, Σ e^{dq} summed in the same order as s1, so that
   * identical rows give exactly 0 where s1 is normalised by them. */
  double s1 = 0, s2 = 0, s3 = 0, sp2 = 0, sq2 = 0, mx = -INFINITY;
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    load_z(x, r, i0, n, ra->input, ra->inv_temp, zp);
    load_z(y, r, i0, n, ra->q_input, ra->inv_temp, zq);
    for (int i = 0; i < n; i++) {
      double dp = zp[i] - st->mp, dq = zq[i] - st->mq;
      double lp = dp - lsp, lq = dq - lsq;
      sp2 += exp(dp);
      sq2 += exp(dq);
      switch (k) {
      case IE_DIV_JS:
        if (lp != lq) {
          double lm = logaddexp(lb + lp, lb1 + lq);
          if (lp > -INFINITY) s1 += be * exp(lp) * (lp - lm);
          if (lq > -INFINITY) s1 += (1 - be) * exp(lq) * (lq - lm);
        }
        break;
      case IE_DIV_TV:
        s1 += fabs(exp(lp) - exp(lq));
        break;
      case IE_DIV_HELLINGER: {
        double h = exp(0.5 * lp) - exp(0.5 * lq);
        s1 += h * h;
        break;
      }
      case IE_DIV_BHATTACHARYYA:
        if (dp > -INFINITY && dq > -INFINITY) s1 += exp(0.5 * (dp + dq));
        break;
      case IE_DIV_CHI2: {
        double p = exp(lp), q = exp(lq);
        if (q > 0) s1 += (p - q) * (p - q) / q;
        else if (lq > -INFINITY) s1 += exp(2 * lp - lq); /* q underflows: p dominates */
        else if (lp > -INFINITY) s1 = INFINITY;
        break;
      }
      case IE_DIV_ALPHA:
      case IE_DIV_TSALLIS:
        s1 += mix_term(dp, dq, al);
        break;
      case IE_DIV_RENYI:
        if (isinf(al)) {
          if (lp > -INFINITY) {
            double d = lq == -INFINITY ? INFINITY : lp - lq;
            mx = d > mx ? d : mx;
          }
        } else {
          s1 += mix_term(dp, dq, al);
        }
        break;
      case IE_DIV_CAUCHY_SCHWARZ:
        if (dp > -INFINITY && dq > -INFINITY) s1 += exp(dp + dq);
        if (dp > -INFINITY) s2 += exp(2 * dp);
        if (dq > -INFINITY) s3 += exp(2 * dq);
        break;
      default:
        break;
      }
    }
  }
  switch (k) {
  case IE_DIV_JS: return s1;
  case IE_DIV_TV: return 0.5 * s1;
  case IE_DIV_HELLINGER: return 0.5 * s1;
  case IE_DIV_BHATTACHARYYA: return -(log(s1) - 0.5 * log(sp2) - 0.5 * log(sq2));
  case IE_DIV_CHI2: return s1;
  case IE_DIV_CAUCHY_SCHWARZ: return -(log(s1) - 0.5 * log(s2) - 0.5 * log(s3));
  case IE_DIV_RENYI:
    if (isinf(al)) return mx;
    /* fall through */
  case IE_DIV_ALPHA:
  case IE_DIV_TSALLIS: {
    double l = log(s1) - log(sq2) - al * (log(sp2) - log(sq2));
    if (k == IE_DIV_RENYI) return l / (al - 1);
    if (k == IE_DIV_TSALLIS) return expm1(l) / (al - 1);
    return -expm1(l) / (al * (1 - al));
  }
  default:
    return NAN;
  }
}

static int row_two(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y, int64_t r,
                   double *val) {
  two_state st;
  int e = pass1_two(ra, x, y, r, &st);
  if (e) return e;
  double dlse = (st.mp - st.mq) + (log(st.sp) - log(st.sq)); /* lse_p − lse_q */
  switch (ra->div) {
  case IE_DIV_KL:
    *val = st.inf_a ? INFINITY : st.a / st.sp - dlse;
    break;
  case IE_DIV_REVERSE_KL:
    *val = st.inf_aq ? INFINITY : st.aq / st.sq + dlse;
    break;
  case IE_DIV_JEFFREYS:
    *val = st.inf_a || st.inf_aq ? INFINITY : st.a / st.sp + st.aq / st.sq;
    break;
  case IE_DIV_CROSS_ENTROPY:
    *val = st.inf_b ? INFINITY : log(st.sq) - st.b / st.sp;
    break;
  default:
    *val = pass2_two(ra, x, y, r, &st);
  }
  return IE_ROW_OK;
}

ie_status ie__cpu_rows(ie_context *ctx, const ie_rowargs *ra, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
#pragma omp parallel for schedule(dynamic, 8) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    int e = ra->op == IE_OP_DIVERGENCE ? row_two(ra, x, y, r, &val[r])
                                       : row_one(ra, x, labels, r, &val[r]);
    err[r] = e;
    if (e) val[r] = NAN;
  }
  return IE_OK;
}

/* ---- Softmax output --------------------------------------------------------- */

static void store(const ie_mat *o, int64_t r, int64_t i0, int n, const double *v) {
  char *base = (char *)o->buf + o->offset +
               ((size_t)r * (size_t)o->stride + (size_t)i0) * ie__dtype_size(o->dtype);
  switch (o->dtype) {
  case IE_DT_F32: for (int i = 0; i < n; i++) ((float *)base)[i] = (float)v[i]; break;
  case IE_DT_F64: memcpy(base, v, (size_t)n * sizeof *v); break;
  case IE_DT_F16: for (int i = 0; i < n; i++) ((uint16_t *)base)[i] = ie__float_to_half((float)v[i]); break;
  case IE_DT_BF16: for (int i = 0; i < n; i++) ((uint16_t *)base)[i] = ie__float_to_bf16((float)v[i]); break;
  default: break;
  }
}

static void store_nan(const ie_mat *o, int64_t r) {
  char *base = (char *)o->buf + o->offset + (size_t)r * (size_t)o->stride * ie__dtype_size(o->dtype);
  memset(base, 0xff, (size_t)o->cols * ie__dtype_size(o->dtype));
}

ie_status ie__cpu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err) {
  (void)ctx;
  const int64_t rows = x->rows;
#pragma omp parallel for schedule(dynamic, 8) if (rows * x->cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    one_state st;
    double z[CHUNK];
    int e = pass1_one(x, r, IE_INPUT_LOGITS, inv_temp, 0, 0, 0, &st);
    err[r] = e;
    if (e) {
      store_nan(out, r);
      continue;
    }
    const double ls = log(st.s);
    for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
      int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
      load_z(x, r, i0, n, IE_INPUT_LOGITS, inv_temp, z);
      if (log_out)
        for (int i = 0; i < n; i++) z[i] = (z[i] - st.m) - ls;
      else
        for (int i = 0; i < n; i++) z[i] = exp((z[i] - st.m) - ls);
      store(out, r, i0, n, z);
    }
  }
  return IE_OK;
}

ie_status ie__cpu_fill_nan(ie_context *ctx, const ie_mat *m) {
  (void)ctx;
  for (int64_t r = 0; r < m->rows; r++) store_nan(m, r);
  return IE_OK;
}
