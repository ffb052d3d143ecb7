/*
 * discrete.c (cpu) — the discrete-information sub-table (src/discrete.h) on
 * the host: counting pairs, table sums, the PMI map, the MI terms and the
 * per-joint PID, with the cell formulas of src/kernels/discrete.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../discrete.h"
#include "../kernels/discrete.h"

static const ie_u8 *base_of(const ie_mat *m) { return (const ie_u8 *)m->buf + m->offset; }

static int64_t label_at(const void *p, ie_dtype dt, int64_t i) {
  return dt == IE_DT_I32 ? (int64_t)((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

static ie_status cpu_count(ie_context *ctx, const ie_vec *x, const ie_mat *y, int64_t X,
                           int64_t Y, int has_ignore, int64_t ignore, void *table,
                           size_t table_off, int64_t *bad) {
  (void)ctx;
  const char *xb = (const char *)x->buf + x->offset;
  const char *yb = (const char *)y->buf + y->offset;
  const int64_t n = x->n, k = y->cols;
  int64_t first = -1;
  /* The check: the first bad pair in row order. */
  for (int64_t i = 0; i < n && first < 0; i++) {
    const int64_t a = label_at(xb, x->dtype, i * x->stride);
    if (has_ignore && a == ignore) continue;
    for (int64_t j = 0; j < k; j++) {
      const int64_t b = label_at(yb, y->dtype, i * y->stride + j);
      if (has_ignore && b == ignore) continue;
      if (a < 0 || a >= X || b < 0 || b >= Y) {
        first = i * k + j;
        break;
      }
    }
  }
  *bad = first;
  if (first >= 0) return IE_OK;
  int64_t *tab = (int64_t *)((char *)table + table_off);
  for (int64_t i = 0; i < n; i++) {
    const int64_t a = label_at(xb, x->dtype, i * x->stride);
    if (has_ignore && a == ignore) continue;
    int64_t *row = tab + a * Y;
    for (int64_t j = 0; j < k; j++) {
      const int64_t b = label_at(yb, y->dtype, i * y->stride + j);
      if (has_ignore && b == ignore) continue;
      row[b]++;
    }
  }
  return IE_OK;
}

static ie_status cpu_sums(ie_context *ctx, const ie_mat *t, int64_t sets, double *rowsum,
                          double *colsum, double *rowmax, double *colmax, int64_t *bad,
                          ie_rowerr *code) {
  (void)ctx;
  const ie_u8 *b = base_of(t);
  const int dt = (int)t->dtype;
  const int64_t X = t->rows / sets, Y = t->cols;
  *bad = -1;
  *code = IE_ROW_OK;
  for (int64_t i = 0; i < t->rows * Y; i++) {
    const double v = disc_load(b, dt, i);
    if (!isfinite(v) || v < 0) {
      *bad = i;
      *code = isfinite(v) ? IE_ROW_NEGATIVE : IE_ROW_NONFINITE;
      return IE_OK;
    }
  }
  memset(colsum, 0, (size_t)(sets * Y) * sizeof *colsum);
  if (colmax) memset(colmax, 0, (size_t)(sets * Y) * sizeof *colmax);
  for (int64_t r = 0; r < t->rows; r++) {
    double s = 0, m = 0;
    double *cs = colsum + (r / X) * Y;
    double *cm = colmax ? colmax + (r / X) * Y : NULL;
    for (int64_t c = 0; c < Y; c++) {
      const double v = disc_load(b, dt, r * Y + c);
      s += v;
      cs[c] += v;
      m = fmax(m, v);
      if (cm) cm[c] = fmax(cm[c], v);
    }
    rowsum[r] = s;
    if (rowmax) rowmax[r] = m;
  }
  return IE_OK;
}

static ie_status cpu_pmi(ie_context *ctx, const ie_mat *t, const ie_disc_pmi_args *a,
                         const double *rowm, const double *colm, const ie_mat *out,
                         double *stats) {
  (void)ctx;
  const ie_u8 *b = base_of(t);
  const int dt = (int)t->dtype;
  const int64_t X = t->rows, Y = t->cols;
  const double logn = log(a->n), k = a->smooth;
  const double kx = k * (double)Y, ky = k * (double)X;
#pragma omp parallel for schedule(static) if (X * Y > 65536)
  for (int64_t r = 0; r < X; r++) {
    double mn = INFINITY, mx = -INFINITY, nmn = INFINITY, nmx = -INFINITY;
    for (int64_t c = 0; c < Y; c++) {
      const double raw = disc_load(b, dt, r * Y + c);
      double pmi, npmi;
      disc_pmi_cell(raw, raw + k, rowm[r] + kx, colm[c] + ky, logn, a->min_count, &pmi, &npmi);
      const double v = disc_pmi_pick(a->kind, pmi, npmi);
      mn = fmin(mn, v);
      mx = fmax(mx, v);
      nmn = fmin(nmn, npmi);
      nmx = fmax(nmx, npmi);
      if (out) {
        char *o = (char *)out->buf + out->offset;
        if (out->dtype == IE_DT_F64) ((double *)o)[r * Y + c] = v;
        else ((float *)o)[r * Y + c] = (float)v;
      }
    }
    stats[4 * r] = mn;
    stats[4 * r + 1] = mx;
    stats[4 * r + 2] = nmn;
    stats[4 * r + 3] = nmx;
  }
  return IE_OK;
}

static ie_status cpu_mi_rows(ie_context *ctx, const ie_mat *t, int64_t sets, const double *rowsum,
                             const double *colsum, const double *n, double *rowmi) {
  (void)ctx;
  const ie_u8 *b = base_of(t);
  const int dt = (int)t->dtype;
  const int64_t X = t->rows / sets, Y = t->cols;
#pragma omp parallel for schedule(static) if (t->rows * Y > 65536)
  for (int64_t r = 0; r < t->rows; r++) {
    const int64_t s = r / X;
    const double N = n[s], logn = log(N);
    double acc = 0;
    for (int64_t c = 0; c < Y; c++)
      acc += disc_mi_term(disc_load(b, dt, r * Y + c), rowsum[r], colsum[s * Y + c], N, logn);
    rowmi[r] = acc;
  }
  return IE_OK;
}

static ie_status cpu_pid(ie_context *ctx, const ie_mat *j, int64_t S1, int64_t S2, int64_t T,
                         int measure, double *res, ie_rowerr *err) {
  (void)ctx;
  const ie_u8 *b = base_of(j);
  const int dt = (int)j->dtype;
  const int64_t n = S1 * S2 * T;
#pragma omp parallel for schedule(dynamic, 16) if (j->rows > 64)
  for (int64_t r = 0; r < j->rows; r++) {
    double total = 0;
    err[r] = disc_joint_check(b, dt, r * n, n, &total);
    if (err[r] == DISC_OK) disc_pid_joint(b, dt, r * n, S1, S2, T, total, measure, res + 7 * r);
  }
  return IE_OK;
}

static ie_status cpu_pointwise(ie_context *ctx, const ie_mat *i1, const ie_mat *i2,
                               const ie_mat *i12, const ie_mat *out[4], int64_t *bad) {
  (void)ctx;
  const ie_u8 *a = base_of(i1), *b = base_of(i2), *c = base_of(i12);
  const int64_t n = i1->cols;
  *bad = -1;
  for (int64_t e = 0; e < n; e++) {
    const double x = disc_load(a, (int)i1->dtype, e), y = disc_load(b, (int)i2->dtype, e),
                 z = disc_load(c, (int)i12->dtype, e);
    if (!isfinite(x) || !isfinite(y) || !isfinite(z)) {
      *bad = e;
      return IE_OK;
    }
    const double r = fmin(x, y);
    const double v[4] = {r, x - r, y - r, z - fmax(x, y)};
    for (int o = 0; o < 4; o++) {
      if (!out[o]) continue;
      char *p = (char *)out[o]->buf + out[o]->offset;
      if (out[o]->dtype == IE_DT_F64) ((double *)p)[e] = v[o];
      else ((float *)p)[e] = (float)v[o];
    }
  }
  return IE_OK;
}

const ie_disc_ops ie__cpu_disc_ops = {
    .count = cpu_count,
    .sums = cpu_sums,
    .pmi = cpu_pmi,
    .mi_rows = cpu_mi_rows,
    .pid = cpu_pid,
    .pointwise = cpu_pointwise,
};
