/*
 * discrete.c — discrete information (docs/SPEC.md §9): counting pairs, the
 * PMI map, and MI / NMI / AMI of contingency tables.  Arguments are checked
 * here once; the backends (src/discrete.h) count, sum and run the per-cell
 * formulas; the per-table scalars (entropies, E[I], the conventions of
 * scikit-learn) are computed here from the marginals, in a fixed order.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discrete.h"
#include "discrete_private.h"
#include "internal.h"
#include "kernels/discrete.h"
#include "threads.h"

/* ---- Tensors of any rank, viewed as compact matrices ----------------------------- */

ie_status ie__disc_view(ie_context *ctx, ie__disc_tensor *v, const char *fn, const char *name,
                        const DLTensor *t, int min_nd, int max_nd, unsigned dtypes) {
  memset(v, 0, sizeof *v);
  if (!t) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor '%s' is NULL", fn, name);
  if (t->ndim < min_nd || t->ndim > max_nd || (t->ndim > 0 && !t->shape)) {
    if (min_nd == max_nd)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must have %d dimensions; it has %d", fn,
                       name, min_nd, t->ndim);
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must have %d to %d dimensions; it has %d",
                     fn, name, min_nd, max_nd, t->ndim);
  }
  v->ndim = t->ndim;
  int64_t lead = 1;
  for (int d = 0; d < t->ndim; d++) {
    if (t->shape[d] < 0)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has negative dimension %d", fn, name, d);
    v->dims[d] = t->shape[d];
    if (d < t->ndim - 1) lead *= t->shape[d];
  }
  if (t->strides) { /* only the compact row-major layout */
    int64_t want = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
      if (t->shape[d] > 1 && t->strides[d] != want)
        return ie__error(ctx, IE_BAD_SHAPE,
                         "%s: tensor '%s' must be compact and row-major; dimension %d has stride "
                         "%lld, not %lld",
                         fn, name, d, (long long)t->strides[d], (long long)want);
      want *= t->shape[d];
    }
  }
  v->shape[0] = lead;
  v->shape[1] = t->ndim ? t->shape[t->ndim - 1] : 1;
  v->flat = *t;
  v->flat.ndim = 2;
  v->flat.shape = v->shape;
  v->flat.strides = NULL;
  return ie__check_matrix(ctx, &v->a, fn, name, &v->flat, dtypes);
}

/* "row r, column c" (or "table b, row r, column c") of flat cell i. */
static void cell_name(char *buf, size_t cap, int64_t i, int64_t X, int64_t Y, int batched) {
  const int64_t r = i / Y, c = i % Y;
  if (batched)
    snprintf(buf, cap, "table %lld, row %lld, column %lld", (long long)(r / X), (long long)(r % X),
             (long long)c);
  else
    snprintf(buf, cap, "row %lld, column %lld", (long long)r, (long long)c);
}

/* `s` (an ie__error just made) with its place recorded (ie__locate). */
static ie_status located(ie_context *ctx, const char *tensor, int64_t index, int64_t row, int64_t col,
                         ie_status s) {
  ie__locate(ctx, tensor, index, row, col);
  return s;
}

/* Sums of a checked table (bad values named), into fresh host arrays:
 * rowsum and colsum NULL when they stay with a backend that
 * keeps_marginals and the host does not need them. */
typedef struct {
  double *rowsum, *colsum, *rowmax, *colmax, *totals;
} sums;

static void sums_free(sums *s) {
  free(s->rowsum);
  free(s->colsum);
  free(s->rowmax);
  free(s->colmax);
  free(s->totals);
  memset(s, 0, sizeof *s);
}

/* The marginals of `sets` tables m; maxima: the row and column maxima too;
 * host: the sums wanted on the host (else only where the backend does not
 * keep them). */
static ie_status table_sums(ie_context *ctx, const char *fn, const char *name, const ie_mat *m,
                            int64_t sets, int maxima, int host, int batched, sums *s) {
  memset(s, 0, sizeof *s);
  const size_t nr = (size_t)(m->rows ? m->rows : 1), nc = (size_t)(sets * m->cols) + 1;
  const int sums_here = host || !ctx->ops->discrete->keeps_marginals;
  if (sums_here) {
    s->rowsum = ie__malloc(nr * sizeof(double));
    s->colsum = ie__malloc(nc * sizeof(double));
  }
  if (maxima) {
    s->rowmax = ie__malloc(nr * sizeof(double));
    s->colmax = ie__malloc(nc * sizeof(double));
  }
  s->totals = ie__malloc((size_t)(sets > 0 ? sets : 1) * sizeof(double));
  if ((sums_here && (!s->rowsum || !s->colsum)) || (maxima && (!s->rowmax || !s->colmax)) || !s->totals) {
    sums_free(s);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the marginals of '%s'", fn, name);
  }
  int64_t bad = -1;
  ie_rowerr code = IE_ROW_OK;
  ie_status st = IE__BE(ctx, discrete->sums, m, sets, s->rowsum, s->colsum, s->rowmax, s->colmax,
                        s->totals, &bad, &code);
  if (st == IE_OK && bad >= 0) {
    char where[128];
    const int64_t X = m->rows / sets, r = bad / m->cols, col = bad % m->cols;
    cell_name(where, sizeof where, bad, X, m->cols, batched);
    st = code == IE_ROW_NEGATIVE
             ? ie__error(ctx, IE_NEGATIVE, "%s: tensor '%s', %s: a negative count", fn, name, where)
             : ie__error(ctx, IE_NONFINITE, "%s: tensor '%s', %s: NaN or inf", fn, name, where);
    ie__locate(ctx, name, batched ? r / X : -1, batched ? r % X : r, col);
  }
  if (st != IE_OK) sums_free(s);
  return st;
}

#define TABLE_DTYPES (IE__INTS | (1u << IE_DT_F32) | (1u << IE_DT_F64))
#define OUT_DTYPES ((1u << IE_DT_F32) | (1u << IE_DT_F64))

static int has_disc(const ie_context *ctx) { return ctx && ctx->ops && ctx->ops->discrete; }

/* ---- Counting -------------------------------------------------------------------- */

/* What names a bad pair: the labels (their views; the caller's structs need
 * not outlive an asynchronous call), the table's shape and the options. */
typedef struct {
  const char *fn;
  ie__arg x, y;
  int y_matrix, has_ignore;
  int64_t X, Y, ignore;
  const int64_t *verdict; /* an asynchronous call's: INT64_MAX, or the pair */
} count_job;
_Static_assert(sizeof(count_job) <= IE__ASYNC_JOB_BYTES, "an ie_count_pairs job fits a pending record");

/* The error of pair `bad` (flat index i·k + j), its labels read back from
 * the caller's memory: one row of each. */
static ie_status bad_pair(ie_context *ctx, const count_job *c, int64_t bad) {
  const int64_t k = c->y.m.cols, i = bad / k, j = bad % k;
  double *yr = NULL, *xr = NULL; /* a vector is a column: its row i is label i */
  ie_status s = ie__fetch_row(ctx, &c->y, i, &yr);
  if (s == IE_OK) s = ie__fetch_row(ctx, &c->x, i, &xr);
  const double yv = s == IE_OK ? yr[c->y_matrix ? j : 0] : NAN, xv = s == IE_OK ? xr[0] : NAN;
  free(yr);
  free(xr);
  if (s != IE_OK) return s;
  const int xbad = !(xv >= 0 && xv < (double)c->X) && !(c->has_ignore && xv == (double)c->ignore);
  if (xbad) {
    s = ie__error(ctx, IE_BAD_LABEL, "%s: tensor 'x', row %lld: label %.0f is outside [0, %lld)", c->fn,
                  (long long)i, xv, (long long)c->X);
    ie__locate(ctx, "x", -1, i, -1);
  } else if (!c->y_matrix) {
    s = ie__error(ctx, IE_BAD_LABEL, "%s: tensor 'y', row %lld: label %.0f is outside [0, %lld)", c->fn,
                  (long long)i, yv, (long long)c->Y);
    ie__locate(ctx, "y", -1, i, -1);
  } else {
    s = ie__error(ctx, IE_BAD_LABEL, "%s: tensor 'y', row %lld, column %lld: label %.0f is outside [0, %lld)",
                  c->fn, (long long)i, (long long)j, yv, (long long)c->Y);
    ie__locate(ctx, "y", -1, i, j);
  }
  return s;
}

/* An asynchronous count's end (ie_synchronize): nothing was added when a
 * label was bad. */
static ie_status count_finish(ie_context *ctx, void *job, ie_status prior) {
  const count_job *c = job;
  if (prior != IE_OK) return prior;
  return *c->verdict == INT64_MAX ? IE_OK : bad_pair(ctx, c, *c->verdict);
}

IE_API ie_status ie_count_pairs(ie_context *ctx, const DLTensor *x, const DLTensor *y,
                                DLTensor *table, const ie_count_options *opt) {
  static const char fn[] = "ie_count_pairs";
  IE__CHECK(ie__begin(ctx, fn, has_disc(ctx), "discrete information"));
  ie_count_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, has_ignore_label));
  ie__disc_tensor tv;
  IE__CHECK(ie__disc_view(ctx, &tv, fn, "table", table, 2, 2, (1u << IE_DT_I64) | IE__OUTPUT));
  const int64_t X = tv.dims[0], Y = tv.dims[1];
  if (!x) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'x' is NULL", fn);
  if (x->ndim != 1 || !x->shape)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'x' must be 1-D [N] labels; it has %d dimensions",
                     fn, x->ndim);
  const int64_t N = x->shape[0];
  count_job c;
  memset(&c, 0, sizeof c);
  IE__CHECK(ie__check_vector(ctx, &c.x, fn, "x", x, N, IE__INTS));
  if (!y) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'y' is NULL", fn);
  if (y->ndim == 1) {
    IE__CHECK(ie__check_vector(ctx, &c.y, fn, "y", y, N, IE__INTS));
  } else if (y->ndim == 2 && y->shape) {
    IE__CHECK(ie__check_matrix(ctx, &c.y, fn, "y", y, IE__INTS));
    if (c.y.m.rows != N)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'y' has %lld rows but 'x' has %lld labels", fn,
                       (long long)c.y.m.rows, (long long)N);
  } else {
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'y' must be [N] or [N, k]; it has %d dimensions",
                     fn, y->ndim);
  }
  if (N == 0 || c.y.m.cols == 0 || X == 0 || Y == 0) return IE_OK;
  c.fn = fn;
  c.y_matrix = y->ndim == 2;
  c.has_ignore = o.has_ignore_label;
  c.X = X;
  c.Y = Y;
  c.ignore = o.ignore_label;
  ie_vec xv = {c.x.m.buf, c.x.m.offset, c.x.m.dtype, N, c.x.m.stride};
  /* In the asynchronous mode, with every tensor in device memory: enqueued,
   * the check's verdict left to ie_synchronize. */
  if (ctx->async && ctx->ops->synchronize && !c.x.on_host && !c.y.on_host && !tv.a.on_host) {
    void *dev = NULL;
    size_t dev_off = 0;
    uint64_t *host = NULL;
    int64_t bad = -1;
    IE__CHECK(ie__async_outcome(ctx, fn, 0, &dev, &dev_off, &host));
    IE__CHECK(IE__BE(ctx, discrete->count, &xv, &c.y.m, X, Y, o.has_ignore_label, o.ignore_label, tv.a.m.buf,
                     tv.a.m.offset, &bad, (int64_t *)host));
    c.verdict = (const int64_t *)host;
    c.x.t = c.y.t = NULL;
    if (ie__async_push(ctx, fn, count_finish, &c, sizeof c) == IE_OK) {
      ie__async_outcome_keep(ctx);
      return IE_OK;
    }
    return count_finish(ctx, &c, ctx->ops->synchronize(ctx)); /* no record: finish it here */
  }
  ie_status s = ie__stage_in(ctx, &c.x);
  if (s == IE_OK) s = ie__stage_in(ctx, &c.y);
  if (s == IE_OK) s = ie__stage_in(ctx, &tv.a); /* the table is added to */
  int64_t bad = -1;
  if (s == IE_OK) {
    xv = (ie_vec){c.x.m.buf, c.x.m.offset, c.x.m.dtype, N, c.x.m.stride};
    s = IE__BE(ctx, discrete->count, &xv, &c.y.m, X, Y, o.has_ignore_label, o.ignore_label, tv.a.m.buf,
               tv.a.m.offset, &bad, NULL);
  }
  if (s == IE_OK && bad >= 0) s = bad_pair(ctx, &c, bad); /* named from the caller's labels */
  if (s == IE_OK) s = ie__unstage_out(ctx, &tv.a);
  ie__release(ctx, &c.x);
  ie__release(ctx, &c.y);
  ie__release(ctx, &tv.a);
  return s;
}

/* ---- PMI ------------------------------------------------------------------------ */

/* Read optional marginals and check them against the table's maxima. */
static ie_status given_marginals(ie_context *ctx, const char *fn, const ie_pmi_options *o,
                                 const ie__disc_tensor *tv, const sums *sm, double *rowm,
                                 double *colm, double *n) {
  const int64_t X = tv->dims[0], Y = tv->dims[1];
  ie__arg xa, ya;
  IE__CHECK(ie__check_vector(ctx, &xa, fn, "x_counts", o->x_counts, X, TABLE_DTYPES));
  IE__CHECK(ie__check_vector(ctx, &ya, fn, "y_counts", o->y_counts, Y, TABLE_DTYPES));
  if (X) IE__CHECK(ie__read_vector(ctx, &xa, rowm));
  if (Y) IE__CHECK(ie__read_vector(ctx, &ya, colm));
  double sx = 0;
  for (int64_t i = 0; i < X; i++) {
    if (!isfinite(rowm[i]) || rowm[i] < 0)
      return located(ctx, "x_counts", -1, i, -1,
                     !isfinite(rowm[i])
                         ? ie__error(ctx, IE_NONFINITE, "%s: tensor 'x_counts', element %lld is NaN or inf", fn,
                                     (long long)i)
                         : ie__error(ctx, IE_NEGATIVE, "%s: tensor 'x_counts', element %lld is negative", fn,
                                     (long long)i));
    sx += rowm[i];
  }
  for (int64_t j = 0; j < Y; j++) {
    if (!isfinite(colm[j]) || colm[j] < 0)
      return located(ctx, "y_counts", -1, j, -1,
                     !isfinite(colm[j])
                         ? ie__error(ctx, IE_NONFINITE, "%s: tensor 'y_counts', element %lld is NaN or inf", fn,
                                     (long long)j)
                         : ie__error(ctx, IE_NEGATIVE, "%s: tensor 'y_counts', element %lld is negative", fn,
                                     (long long)j));
  }
  *n = o->total > 0 ? o->total : sx;
  for (int64_t i = 0; i < X; i++)
    if (sm->rowmax[i] > rowm[i] || rowm[i] > *n) {
      if (rowm[i] > *n)
        return located(ctx, "x_counts", -1, i, -1,
                       ie__error(ctx, IE_INVALID_ARGUMENT,
                                 "%s: inconsistent counts: x_counts[%lld] = %.17g exceeds N = %.17g", fn,
                                 (long long)i, rowm[i], *n));
      double *row = NULL;
      IE__CHECK(ie__fetch_row(ctx, &tv->a, i, &row));
      int64_t c = 0;
      while (c < Y - 1 && !(row[c] > rowm[i])) c++;
      const double v = row[c];
      free(row);
      return located(ctx, "counts", -1, i, c,
                     ie__error(ctx, IE_INVALID_ARGUMENT,
                               "%s: inconsistent counts: cell (row %lld, column %lld) = %.17g exceeds its "
                               "row marginal x_counts[%lld] = %.17g",
                               fn, (long long)i, (long long)c, v, (long long)i, rowm[i]));
    }
  for (int64_t j = 0; j < Y; j++)
    if (sm->colmax[j] > colm[j] || colm[j] > *n) {
      if (colm[j] > *n)
        return located(ctx, "y_counts", -1, j, -1,
                       ie__error(ctx, IE_INVALID_ARGUMENT,
                                 "%s: inconsistent counts: y_counts[%lld] = %.17g exceeds N = %.17g", fn,
                                 (long long)j, colm[j], *n));
      for (int64_t i = 0; i < X; i++) {
        double *row = NULL;
        IE__CHECK(ie__fetch_row(ctx, &tv->a, i, &row));
        const double v = row[j];
        free(row);
        if (v > colm[j])
          return located(ctx, "counts", -1, i, j,
                         ie__error(ctx, IE_INVALID_ARGUMENT,
                                   "%s: inconsistent counts: cell (row %lld, column %lld) = %.17g exceeds "
                                   "its column marginal y_counts[%lld] = %.17g",
                                   fn, (long long)i, (long long)j, v, (long long)j, colm[j]));
      }
    }
  return IE_OK;
}

IE_API ie_status ie_pmi(ie_context *ctx, const DLTensor *counts, DLTensor *out,
                        const ie_pmi_options *opt, ie_pmi_result *result) {
  static const char fn[] = "ie_pmi";
  IE__CHECK(ie__begin(ctx, fn, has_disc(ctx), "discrete information"));
  ie_pmi_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, total));
  if ((unsigned)o.kind > IE_PMI_POSITIVE)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown kind %d", fn, (int)o.kind);
  if (!(o.smooth >= 0) || !isfinite(o.smooth))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: smooth must be finite and >= 0, not %g", fn, o.smooth);
  if (!(o.min_count >= 0) || !isfinite(o.min_count))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: min_count must be finite and >= 0, not %g", fn,
                     o.min_count);
  if (!(o.total >= 0) || !isfinite(o.total))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: total must be finite and >= 0, not %g", fn, o.total);
  if (!o.x_counts != !o.y_counts)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: give both x_counts and y_counts, or neither", fn);
  ie__disc_tensor tv, ov;
  IE__CHECK(ie__disc_view(ctx, &tv, fn, "counts", counts, 2, 2, TABLE_DTYPES));
  const int64_t X = tv.dims[0], Y = tv.dims[1];
  if (out) {
    IE__CHECK(ie__disc_view(ctx, &ov, fn, "out", out, 2, 2, OUT_DTYPES | IE__OUTPUT));
    if (ov.dims[0] != X || ov.dims[1] != Y)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'out' is [%lld, %lld]; 'counts' is [%lld, %lld]",
                       fn, (long long)ov.dims[0], (long long)ov.dims[1], (long long)X, (long long)Y);
  }
  if (X == 0 || Y == 0)
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'counts' is empty ([%lld, %lld])", fn,
                     (long long)X, (long long)Y);
  ie_status s = ie__stage_in(ctx, &tv.a);
  sums sm;
  memset(&sm, 0, sizeof sm);
  double *rowm = NULL, *colm = NULL, *stats = NULL;
  int out_staged = 0;
  /* the table's own marginals stay on a GPU: only its total crosses */
  if (s == IE_OK) s = table_sums(ctx, fn, "counts", &tv.a.m, 1, o.x_counts != NULL, 0, 0, &sm);
  double n = 0;
  if (s == IE_OK) {
    if (o.x_counts) {
      rowm = ie__malloc((size_t)X * sizeof *rowm);
      colm = ie__malloc((size_t)Y * sizeof *colm);
      if (!rowm || !colm) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
      else s = given_marginals(ctx, fn, &o, &tv, &sm, rowm, colm, &n);
    } else {
      rowm = sm.rowsum; /* NULL where the backend keeps them */
      colm = sm.colsum;
      n = o.total > 0 ? o.total : sm.totals[0];
    }
  }
  if (s == IE_OK && !o.x_counts && o.total > 0 && o.total < n)
    s = located(ctx, "counts", -1, -1, -1,
                ie__error(ctx, IE_INVALID_ARGUMENT, "%s: inconsistent counts: total %.17g is below the table's sum",
                          fn, o.total));
  const double n_s = n + o.smooth * (double)X * (double)Y;
  if (s == IE_OK && !(n_s > 0))
    s = located(ctx, "counts", -1, -1, -1,
                ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'counts' holds no counts (N = 0)", fn));
  if (s == IE_OK) {
    stats = ie__malloc((size_t)X * 4 * sizeof *stats);
    if (!stats) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    for (int64_t i = 0; stats && i < X; i++) /* neutral: a GPU folds into row 0 */
      memcpy(stats + 4 * i, (const double[4]){INFINITY, -INFINITY, INFINITY, -INFINITY}, sizeof(double[4]));
  }
  if (s == IE_OK && out) {
    s = ie__stage_out(ctx, &ov.a);
    out_staged = 1;
  }
  if (s == IE_OK) {
    ie_disc_pmi_args pa = {(int)o.kind, o.min_count, o.smooth, n_s};
    s = IE__BE(ctx, discrete->pmi, &tv.a.m, &pa, rowm, colm, out ? &ov.a.m : NULL, stats);
  }
  if (s == IE_OK && out) s = ie__unstage_out(ctx, &ov.a);
  if (s == IE_OK && result) {
    ie_pmi_result r = {n_s, X, Y, INFINITY, -INFINITY, INFINITY, -INFINITY};
    for (int64_t i = 0; i < X; i++) {
      r.min = fmin(r.min, stats[4 * i]);
      r.max = fmax(r.max, stats[4 * i + 1]);
      r.min_npmi = fmin(r.min_npmi, stats[4 * i + 2]);
      r.max_npmi = fmax(r.max_npmi, stats[4 * i + 3]);
    }
    *result = r;
  }
  if (s != IE_OK && out_staged) ie__spoil(ctx, &ov.a);
  if (out_staged) ie__release(ctx, &ov.a);
  if (rowm != sm.rowsum) free(rowm);
  if (colm != sm.colsum) free(colm);
  free(stats);
  sums_free(&sm);
  ie__release(ctx, &tv.a);
  return s;
}

/* ---- MI, NMI, AMI ----------------------------------------------------------------- */

/* One summand of emi_pair, (n/N) log(N n / (a b)), lab = log a + log b. */
static double emi_term(double n, double N, double logN, double lab) {
  return n > 0 ? (n / N) * ((logN + log(n)) - lab) : 0.0; /* (n = 0: no term) */
}

/* E over the hypergeometric law of n = n_ij (margins a, b of N) of
 * (n/N) log(N n / (a b)), the summand of Vinh, Epps and Bailey's (2010)
 * exact E[I].  The law is unimodal: start at its mode m, walk outwards with
 * the ratio of consecutive probabilities
 *   P(n+1)/P(n) = (a−n)(b−n) / ((n+1)(N−a−b+n+1)),
 * and stop where P(n)/P(m) < 1e-18 (the remaining terms shrink faster than
 * geometrically and are below double precision of the sum).  The weights
 * P(n)/P(m) walked are normalised by their own sum, which is 1/P(m) to that
 * precision: P(m) from log-gamma differences cancels terms of N log N
 * (margins of 1e15: an error of 100 in its log, and E[I] = 3.9e6 nats). */
static double emi_pair(double a, double b, double N, double logN) {
  const double lo = fmax(0.0, a + b - N), hi = fmin(a, b);
  if (hi < 1) return 0;
  double m = floor((a + 1) * (b + 1) / (N + 2));
  if (m < lo) m = lo;
  if (m > hi) m = hi;
  const double lab = log(a) + log(b);
  double acc = emi_term(m, N, logN, lab), total = 1;
  double w = 1;
  for (double n = m; n < hi;) { /* upwards */
    w *= (a - n) * (b - n) / ((n + 1) * (N - a - b + n + 1));
    n += 1;
    acc += w * emi_term(n, N, logN, lab);
    total += w;
    if (w < 1e-18) break;
  }
  w = 1;
  for (double n = m; n > lo;) { /* downwards, to n = 0 where the law reaches it (its mass counts) */
    w *= n * (N - a - b + n) / ((a - n + 1) * (b - n + 1));
    n -= 1;
    acc += w * emi_term(n, N, logN, lab);
    total += w;
    if (w < 1e-18) break;
  }
  return acc / total;
}

static int cmp_double(const void *p, const void *q) {
  const double a = *(const double *)p, b = *(const double *)q;
  return (a > b) - (a < b);
}

/* Distinct positive values of v[0..n) with their multiplicities, sorted. */
static int64_t distinct(const double *v, int64_t n, double *val, double *mult, double *scratch) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (v[i] > 0) scratch[k++] = v[i];
  qsort(scratch, (size_t)k, sizeof *scratch, cmp_double);
  int64_t d = 0;
  for (int64_t i = 0; i < k; i++) {
    if (d && val[d - 1] == scratch[i]) mult[d - 1] += 1;
    else {
      val[d] = scratch[i];
      mult[d] = 1;
      d++;
    }
  }
  return d;
}

/* E[I] of a table with row margins rm [X] and column margins cm [Y]:
 * Σ over distinct (a, b) of (multiplicity of a)(multiplicity of b)·emi_pair.
 * Rows of the outer sum run in parallel into their own slots, summed after
 * in order. */
static ie_status expected_mi(ie_context *ctx, const char *fn, const double *rm, int64_t X,
                             const double *cm, int64_t Y, double N, double *out) {
  const int64_t big = X > Y ? X : Y;
  double *buf = ie__malloc((size_t)(5 * big + 2) * sizeof *buf);
  if (!buf) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for E[I]", fn);
  double *av = buf, *am = buf + X, *bv = buf + 2 * X, *bm = bv + Y, *scratch = bm + Y;
  const int64_t na = distinct(rm, X, av, am, scratch);
  const int64_t nb = distinct(cm, Y, bv, bm, scratch);
  double *part = scratch; /* na slots (scratch is free again) */
  const double logN = log(N);
#pragma omp parallel for schedule(dynamic, 1) if (na * nb > 4096) num_threads(ie__threads(ctx))
  for (int64_t i = 0; i < na; i++) {
    double s = 0;
    for (int64_t j = 0; j < nb; j++) s += bm[j] * emi_pair(av[i], bv[j], N, logN);
    part[i] = am[i] * s;
  }
  double e = 0;
  for (int64_t i = 0; i < na; i++) e += part[i];
  free(buf);
  *out = e;
  return IE_OK;
}

/* −Σ (m/N)(log m − log N) over positive m: scikit-learn's entropy(). */
static double entropy_of(const double *m, int64_t n, double N) {
  const double logN = log(N);
  double h = 0;
  for (int64_t i = 0; i < n; i++)
    if (m[i] > 0) h -= m[i] / N * (log(m[i]) - logN);
  return h > 0 ? h : 0.0;
}

static double average(ie_average a, double u, double v) {
  switch (a) {
  case IE_AVERAGE_GEOMETRIC: return sqrt(u * v);
  case IE_AVERAGE_MIN: return fmin(u, v);
  case IE_AVERAGE_MAX: return fmax(u, v);
  default: return (u + v) / 2;
  }
}

IE_API ie_status ie_table_mi(ie_context *ctx, const DLTensor *counts,
                             const ie_table_mi_options *opt, ie_table_mi_result *results) {
  static const char fn[] = "ie_table_mi";
  IE__CHECK(ie__begin(ctx, fn, has_disc(ctx), "discrete information"));
  ie_table_mi_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, skip_ami));
  if ((unsigned)o.average > IE_AVERAGE_MAX)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown average %d", fn, (int)o.average);
  if (!results) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: results is NULL", fn);
  ie__disc_tensor tv;
  IE__CHECK(ie__disc_view(ctx, &tv, fn, "counts", counts, 2, 3, TABLE_DTYPES));
  const int batched = tv.ndim == 3;
  const int64_t B = batched ? tv.dims[0] : 1, X = tv.dims[tv.ndim - 2], Y = tv.dims[tv.ndim - 1];
  if (B == 0) return IE_OK;
  if (X == 0 || Y == 0)
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'counts' has an empty dimension", fn);
  ie_status s = ie__stage_in(ctx, &tv.a);
  sums sm;
  memset(&sm, 0, sizeof sm);
  double *n = NULL, *rowmi = NULL;
  /* the marginals are wanted here (the entropies, E[I]); a GPU keeps its
   * copy for the MI terms */
  if (s == IE_OK) s = table_sums(ctx, fn, "counts", &tv.a.m, B, 0, 1, batched, &sm);
  if (s == IE_OK) {
    n = ie__malloc((size_t)B * sizeof *n);
    rowmi = ie__calloc((size_t)(B * X), sizeof *rowmi); /* 0: a GPU sums into each table's row 0 */
    if (!n || !rowmi) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  }
  for (int64_t b = 0; s == IE_OK && b < B; b++) {
    const double t = sm.totals[b];
    n[b] = t;
    if (!(t > 0)) {
      if (batched)
        s = ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'counts', table %lld holds no counts", fn, (long long)b);
      else
        s = ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'counts' holds no counts", fn);
      ie__locate(ctx, "counts", batched ? b : -1, -1, -1);
    }
    if (s == IE_OK && !o.skip_ami) { /* E[I] needs integer margins */
      for (int64_t i = 0; i < X + Y && s == IE_OK; i++) {
        const double v = i < X ? sm.rowsum[b * X + i] : sm.colsum[b * Y + (i - X)];
        if (v != floor(v) || v > 9007199254740992.0) {
          char tb[48] = "";
          if (batched) snprintf(tb, sizeof tb, "table %lld, ", (long long)b);
          s = ie__error(ctx, IE_INVALID_ARGUMENT,
                        "%s: tensor 'counts', %s%s %lld sums to %.17g: AMI needs integer counts "
                        "(or set skip_ami)",
                        fn, tb, i < X ? "row" : "column", (long long)(i < X ? i : i - X), v);
          ie__locate(ctx, "counts", batched ? b : -1, i < X ? i : -1, i < X ? -1 : i - X);
        }
      }
    }
  }
  if (s == IE_OK) {
    const int kept = ctx->ops->discrete->keeps_marginals;
    s = IE__BE(ctx, discrete->mi_rows, &tv.a.m, B, kept ? NULL : sm.rowsum, kept ? NULL : sm.colsum, n, rowmi);
  }
  for (int64_t b = 0; s == IE_OK && b < B; b++) {
    ie_table_mi_result r;
    const double *rm = sm.rowsum + b * X, *cm = sm.colsum + b * Y;
    double mi = 0;
    for (int64_t i = 0; i < X; i++) mi += rowmi[b * X + i];
    r.mi = mi > 0 ? mi : 0.0;
    r.n = n[b];
    r.hx = entropy_of(rm, X, n[b]);
    r.hy = entropy_of(cm, Y, n[b]);
    int64_t kx = 0, ky = 0;
    for (int64_t i = 0; i < X; i++) kx += rm[i] > 0;
    for (int64_t j = 0; j < Y; j++) ky += cm[j] > 0;
    const int trivial = kx == ky && kx <= 1; /* scikit-learn's "no split" limit */
    const double mean = average(o.average, r.hx, r.hy);
    r.nmi = trivial ? 1.0 : r.mi == 0 ? 0.0 : r.mi / mean;
    r.ami = r.emi = NAN;
    if (!o.skip_ami) {
      s = expected_mi(ctx, fn, rm, X, cm, Y, n[b], &r.emi);
      if (s != IE_OK) break;
      if (trivial) r.ami = 1.0;
      /* E[I] at the normaliser: every relabelling gives I = H (each item its
       * own class on both sides), a perfect match.  The difference is then
       * rounding, which the guard below would divide by ε (AMI 0, or ±2 on
       * another backend's bits); scikit-learn's guard means 1 here. */
      else if (mean > 0 && fabs(mean - r.emi) <= 1e-12 * mean) r.ami = 1.0;
      else {
        double den = mean - r.emi;
        den = den < 0 ? fmin(den, -DBL_EPSILON) : fmax(den, DBL_EPSILON);
        r.ami = (r.mi - r.emi) / den;
      }
    }
    results[b] = r;
  }
  free(n);
  free(rowmi);
  sums_free(&sm);
  ie__release(ctx, &tv.a);
  return s;
}

/* ---- Pointwise MMI ------------------------------------------------------------------ */

/* Element k (flat) of a checked, compact tensor, widened (error paths). */
static ie_status element_at(ie_context *ctx, const ie__arg *a, int64_t k, double *v) {
  const size_t esz = ie__dtype_size(a->m.dtype);
  if (a->on_host) {
    *v = ie__load_double(a->host + (size_t)k * esz, a->m.dtype);
    return IE_OK;
  }
  unsigned char one[8];
  IE__CHECK(IE__BE(ctx, download, one, a->m.buf, a->m.offset + (size_t)k * esz, esz));
  *v = ie__load_double(one, a->m.dtype);
  return IE_OK;
}

/* Record flat element k of tensor v in its own shape (ie__locate): 1-D row;
 * 2-D row, column; 3-D and more: index over the leading dimensions, then
 * row and column of the last two. */
static void locate_flat(ie_context *ctx, const char *name, const ie__disc_tensor *v, int64_t k) {
  if (v->ndim == 0) ie__locate(ctx, name, -1, -1, -1);
  else if (v->ndim == 1) ie__locate(ctx, name, -1, k, -1);
  else {
    const int64_t C = v->dims[v->ndim - 1], R = v->dims[v->ndim - 2];
    ie__locate(ctx, name, v->ndim > 2 ? k / (R * C) : -1, k / C % R, k % C);
  }
}

IE_API ie_status ie_pid_pointwise(ie_context *ctx, const DLTensor *i1, const DLTensor *i2,
                                  const DLTensor *i12, DLTensor *r, DLTensor *u1, DLTensor *u2,
                                  DLTensor *s) {
  static const char fn[] = "ie_pid_pointwise";
  IE__CHECK(ie__begin(ctx, fn, has_disc(ctx), "discrete information"));
  const DLTensor *in[3] = {i1, i2, i12};
  static const char *const in_names[3] = {"i1", "i2", "i12"};
  DLTensor *outs[4] = {r, u1, u2, s};
  static const char *const out_names[4] = {"r", "u1", "u2", "s"};
  ie__disc_tensor iv[3], ovw[4];
  int64_t n = -1;
  for (int k = 0; k < 3; k++) {
    IE__CHECK(ie__disc_view(ctx, &iv[k], fn, in_names[k], in[k], 0, 8, OUT_DTYPES));
    const int64_t cnt = iv[k].shape[0] * iv[k].shape[1];
    if (k && (iv[k].ndim != iv[0].ndim || memcmp(iv[k].dims, iv[0].dims, sizeof iv[0].dims[0] * (size_t)iv[0].ndim)))
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' does not have the shape of 'i1'", fn, in_names[k]);
    n = cnt;
  }
  for (int k = 0; k < 4; k++) {
    if (!outs[k]) continue;
    IE__CHECK(ie__disc_view(ctx, &ovw[k], fn, out_names[k], outs[k], 0, 8, OUT_DTYPES | IE__OUTPUT));
    if (ovw[k].ndim != iv[0].ndim || memcmp(ovw[k].dims, iv[0].dims, sizeof iv[0].dims[0] * (size_t)iv[0].ndim))
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' does not have the shape of 'i1'", fn, out_names[k]);
  }
  if (n == 0) return IE_OK;
  /* As 1 × n rows. */
  for (int k = 0; k < 3; k++) {
    iv[k].a.m.rows = 1;
    iv[k].a.m.cols = iv[k].a.m.stride = n;
  }
  const ie_mat *om[4] = {NULL, NULL, NULL, NULL};
  ie_status st = IE_OK;
  int staged[4] = {0, 0, 0, 0};
  for (int k = 0; k < 3 && st == IE_OK; k++) st = ie__stage_in(ctx, &iv[k].a);
  for (int k = 0; k < 4 && st == IE_OK; k++) {
    if (!outs[k]) continue;
    ovw[k].a.m.rows = 1;
    ovw[k].a.m.cols = ovw[k].a.m.stride = n;
    ovw[k].a.host_stride = n;
    st = ie__stage_out(ctx, &ovw[k].a);
    staged[k] = 1;
    om[k] = &ovw[k].a.m;
  }
  int64_t bad = -1;
  if (st == IE_OK) st = IE__BE(ctx, discrete->pointwise, &iv[0].a.m, &iv[1].a.m, &iv[2].a.m, om, &bad);
  if (st == IE_OK && bad >= 0) {
    /* The backend names the element; which of the three holds it. */
    int which = -1;
    for (int k = 0; k < 3 && which < 0; k++) {
      double v = 0;
      if (element_at(ctx, &iv[k].a, bad, &v) == IE_OK && !isfinite(v)) which = k;
    }
    if (which >= 0) {
      st = ie__error(ctx, IE_NONFINITE, "%s: tensor '%s', element %lld (flat) is NaN or inf", fn,
                     in_names[which], (long long)bad);
      locate_flat(ctx, in_names[which], &iv[which], bad);
    } else {
      st = ie__error(ctx, IE_NONFINITE, "%s: element %lld of 'i1', 'i2' or 'i12' is NaN or inf", fn,
                     (long long)bad);
    }
  }
  for (int k = 0; k < 4 && st == IE_OK; k++)
    if (staged[k]) st = ie__unstage_out(ctx, &ovw[k].a);
  for (int k = 0; k < 4; k++)
    if (staged[k]) {
      if (st != IE_OK) ie__spoil(ctx, &ovw[k].a);
      ie__release(ctx, &ovw[k].a);
    }
  for (int k = 0; k < 3; k++) ie__release(ctx, &iv[k].a);
  return st;
}
