/*
 * demo_measure.c — one operation on one backend: warm-up, timing, the
 * value and its difference from the CPU.
 */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

/* ---- Backends and results ------------------------------------------------------------- */

/* |x - r| / max(|r|, 0.1): ≤ 1e-5 exactly when x is within docs/SPEC.md §1's
 * tolerance (1e-5 relative, or 1e-6 absolute near 0). */
double demo_rel_err(double x, double r) {
  if (x == r) return 0; /* also inf == inf */
  if (isnan(x) || isnan(r) || isinf(x) || isinf(r)) return INFINITY;
  double m = fabs(r) > 0.1 ? fabs(r) : 0.1;
  return fabs(x - r) / m;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void demo_measure(demo_backend *be, const demo_op *op, const demo_data *d, void *out,
                    demo_result *res) {
  ie_summary sm;
  res->ran = 1;
  /* Warm-up on a few rows: kernels built, buffers made, untimed. */
  int64_t wrows = d->B < 8 ? d->B : 8;
  ie_status st = demo_run_op(be->ctx, op, d, wrows, out, be->row_f32, &sm);
  if (st == IE_UNSUPPORTED && IS_FAMILY(op->op)) {
    res->unsupported = 1;
    snprintf(res->err, sizeof res->err, "%s", ie_errmsg(be->ctx));
    return;
  }
  if (st == IE_BAD_DTYPE && op->op != D_LSM && !IS_FAMILY(op->op) && !be->row_f32) {
    be->row_f32 = 1; /* a backend that writes per-row values as float32 only */
    st = demo_run_op(be->ctx, op, d, wrows, out, 1, &sm);
  }
  double t0 = cli_now();
  if (st == IE_OK) st = demo_run_op(be->ctx, op, d, d->B, out, be->row_f32, &sm); /* the result */
  double first = cli_now() - t0;
  if (st != IE_OK) {
    if (op->op == D_SINK && st == IE_INTERNAL && isnan(sm.mean))
      snprintf(res->err, sizeof res->err, "did not converge");
    else
      snprintf(res->err, sizeof res->err, "%s [%s]", ie_errmsg(be->ctx), ie_status_name(st));
    return;
  }
  res->ok = 1;
  if (op->op == D_LSM) {
    const float *o = out;
    double s = 0;
    size_t n = 0, all = (size_t)d->B * (size_t)d->V;
    for (size_t i = 0; i < all; i++)
      if (isfinite(o[i])) {
        s += o[i];
        n++;
      }
    res->value = n ? s / (double)n : NAN;
  } else {
    res->value = sm.mean;
  }
  enum { MAXREP = 15 };
  double t[MAXREP];
  t[0] = first;
  int reps = 1;
  double spent = first;
  /* More timed calls while they are quick: at least 3, up to 15 or about
   * 0.25 s in all.  A call slower than that is timed once. */
  while (first < 0.25 && reps < MAXREP && (reps < 3 || spent < 0.25) && !cli_interrupted) {
    double a = cli_now();
    st = demo_run_op(be->ctx, op, d, d->B, out, be->row_f32, &sm);
    double e = cli_now() - a;
    if (st != IE_OK) {
      res->ok = 0;
      snprintf(res->err, sizeof res->err, "%s [%s]", ie_errmsg(be->ctx), ie_status_name(st));
      return;
    }
    t[reps++] = e;
    spent += e;
  }
  if (op->op != D_LSM && !IS_FAMILY(op->op) && be->row_f32) { /* widen to float64, backwards */
    float *f = out;
    double *dd = out;
    for (int64_t i = d->B - 1; i >= 0; i--) {
      float v = f[i];
      dd[i] = v;
    }
  }
  qsort(t, (size_t)reps, sizeof t[0], cmp_double);
  double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
  res->ms = 1e3 * med;
  res->reps = reps;
  res->gbps = med > 0 ? (double)demo_op_bytes(op, d) / med / 1e9 : 0;
}
