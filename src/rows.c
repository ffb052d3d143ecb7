/*
 * rows.c — the per-row families (docs/SPEC.md §2, §3): argument checks, staging,
 * the backend call, bad-row reports and summaries.  Everything a backend
 * does not have to repeat lives here, once.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/rows_outcome.h"

static ie_status temperature(ie_context *ctx, const char *fn, double t, double *inv) {
  if (t == 0) t = 1;
  if (!(t > 0) || isinf(t))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: temperature %g must be finite and > 0", fn, t);
  /* the kernels take 1/T as a float (the limit T → 0 is the argmax) */
  if (1.0 / t > FLT_MAX)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: temperature %g is below 1/FLT_MAX (%.3g), where 1/T is no float; "
                     "take the argmax instead",
                     fn, t, 1.0 / FLT_MAX);
  *inv = 1.0 / t;
  return IE_OK;
}

/* ---- Bad rows ------------------------------------------------------------- */

/* Look at row `row` of `a` on the host and describe its first bad value.
 * Returns 1 (and fills status and text) if the row is bad. */
static int describe_bad_row(ie_context *ctx, const ie__arg *a, ie_input_kind kind, double inv_t,
                            int64_t row, ie_status *st, char *text, size_t cap) {
  double *v = NULL;
  if (ie__fetch_row(ctx, a, row, &v) != IE_OK) return 0;
  int64_t n = a->m.cols, support = 0;
  int bad = 0;
  int64_t col = -1;
  for (int64_t i = 0; i < n && !bad; i++) {
    col = i;
    double x = v[i];
    if (kind == IE_INPUT_LOGITS) {
      if (isnan(x) || x == INFINITY) {
        *st = IE_NONFINITE;
        snprintf(text, cap, "tensor '%s' row %lld, column %lld: %s in logits",
                 a->name, (long long)row, (long long)i, isnan(x) ? "NaN" : "+inf");
        bad = 1;
      } else if (x * inv_t == INFINITY) { /* float64 logits near DBL_MAX, T < 1 */
        *st = IE_NONFINITE;
        snprintf(text, cap, "tensor '%s' row %lld, column %lld: logit %g over the temperature (%g) passes double's range",
                 a->name, (long long)row, (long long)i, x, 1 / inv_t);
        bad = 1;
      }
      support += x > -INFINITY;
    } else {
      if (isnan(x) || isinf(x)) {
        *st = IE_NONFINITE;
        snprintf(text, cap, "tensor '%s' row %lld, column %lld: %s in probabilities",
                 a->name, (long long)row, (long long)i, isnan(x) ? "NaN" : "an infinity");
        bad = 1;
      } else if (x < 0) {
        *st = IE_NEGATIVE;
        snprintf(text, cap, "tensor '%s' row %lld, column %lld: negative probability %g",
                 a->name, (long long)row, (long long)i, x);
        bad = 1;
      }
      support += x > 0;
    }
  }
  if (!bad && support == 0) {
    *st = IE_EMPTY_ROW;
    snprintf(text, cap, "tensor '%s' row %lld has no support (%s)", a->name, (long long)row,
             n == 0 ? "the rows are empty" : kind == IE_INPUT_LOGITS ? "every logit is -inf" : "its sum is zero");
    col = -1;
    bad = 1;
  }
  if (bad) ie__locate(ctx, a->name, -1, row, col);
  free(v);
  return bad;
}

/* The status and message of bad row `first` (kernel code `code`), one of
 * `count` bad rows. */
static ie_status report_first(ie_context *ctx, const char *fn, int64_t first, ie_rowerr code,
                              int64_t count, double inv_t, const ie__arg *x, ie_input_kind xk,
                              const ie__arg *y, ie_input_kind yk, const ie__arg *labels) {
  char text[512] = "", more[64] = "";
  if (count > 1) snprintf(more, sizeof more, " (%lld bad rows in all)", (long long)count);
  ie_status st = IE_INTERNAL;
  if (code == IE_ROW_BAD_LABEL && labels) {
    double *lab = NULL, y_val = NAN;
    /* Labels are a column: fetch the single element of row `first`. */
    if (ie__fetch_row(ctx, labels, first, &lab) == IE_OK) {
      y_val = lab[0];
      free(lab);
    }
    ie__locate(ctx, labels->name, -1, first, -1);
    return ie__error(ctx, IE_BAD_LABEL, "%s: tensor '%s' row %lld: label %.0f is outside [0, %lld)%s",
                     fn, labels->name, (long long)first, y_val, (long long)x->m.cols, more);
  }
  if (!describe_bad_row(ctx, x, xk, inv_t, first, &st, text, sizeof text) &&
      !(y && describe_bad_row(ctx, y, yk, inv_t, first, &st, text, sizeof text))) {
    /* The kernel saw something the host does not: report the code. */
    static const ie_status by_code[] = {IE_OK, IE_NONFINITE, IE_NEGATIVE, IE_EMPTY_ROW, IE_BAD_LABEL};
    st = (unsigned)code < 5 ? by_code[code] : IE_INTERNAL;
    snprintf(text, sizeof text, "row %lld: %s", (long long)first, ie_status_string(st));
    ie__locate(ctx, NULL, -1, first, -1);
  }
  return ie__error(ctx, st, "%s: %s%s", fn, text, more);
}

/* Turn the first non-zero per-row error into a status and message. */
static ie_status report_rows(ie_context *ctx, const char *fn, const ie_rowerr *err,
                             int64_t rows, double inv_t, const ie__arg *x, ie_input_kind xk,
                             const ie__arg *y, ie_input_kind yk, const ie__arg *labels) {
  int64_t first = -1, count = 0;
  for (int64_t r = 0; r < rows; r++)
    if (err[r]) {
      if (first < 0) first = r;
      count++;
    }
  if (first < 0) return IE_OK;
  return report_first(ctx, fn, first, err[first], count, inv_t, x, xk, y, yk, labels);
}

/* ---- Summaries -------------------------------------------------------------- */

/* The `kind` of a call's partial state (include/infoest.h): FNV-1a over the
 * operation, its inputs' kinds, the entropy or divergence kind and the
 * parameters that kind uses, so that states of two quantities do not
 * merge.  Never 0 (0 is a state of any kind). */
static uint32_t quantity_kind(const ie_rowargs *ra) {
  int64_t code[4] = {ra->op, ra->input, 0, 0};
  double param[3] = {ra->inv_temp, 0, 0};
  if (ra->op == IE_OP_ENTROPY) {
    code[2] = ra->ent;
    if (ra->ent != IE_ENTROPY_SHANNON) param[1] = ra->alpha;
  } else if (ra->op == IE_OP_DIVERGENCE) {
    code[2] = ra->div;
    code[3] = ra->q_input;
    if (ra->div == IE_DIV_ALPHA || ra->div == IE_DIV_RENYI || ra->div == IE_DIV_TSALLIS) param[1] = ra->alpha;
    if (ra->div == IE_DIV_JS) param[2] = ra->beta;
  }
  unsigned char bytes[sizeof code + sizeof param];
  memcpy(bytes, code, sizeof code);
  memcpy(bytes + sizeof code, param, sizeof param);
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < sizeof bytes; i++) h = (h ^ bytes[i]) * 16777619u;
  return h ? h : 1;
}

/* The summary and the partial state of one call's rows (partial.c: exact
 * sums, so a summary of pieces is the summary of the whole).  Both are
 * written only when everything succeeded. */
static ie_status summarize(ie_context *ctx, const char *fn, const double *val, const double *w,
                           int64_t rows, int64_t first_row, uint32_t kind, ie_summary *sm, ie_partial *pt) {
  ie_partial p;
  ie_partial_init(&p, first_row);
  p.kind = kind;
  ie__partial_add_rows(&p, val, w, rows);
  if (sm) {
    ie_summary s;
    IE__CHECK(ie__partial_summary(ctx, fn, &p, &s));
    *sm = s;
  }
  if (pt) *pt = p;
  return IE_OK;
}

/* ---- The row-reduction driver ---------------------------------------------- */

typedef struct {
  const char *fn;
  ie_rowargs ra;
  ie__arg *x, *y, *labels; /* checked, not yet staged */
  ie_input_kind xk, yk;
  DLTensor *per_row;
  const char *per_row_name; /* its name in the call; NULL: "per_row" */
  const DLTensor *weights;
  ie_summary *summary;
  ie_partial *partial; /* from the options: the rows' partial state */
  int64_t first_row;   /* the first row's number in the caller's whole */
} rowjob;

/* docs/SPEC.md §1: divergences and entropies are never below 0.  The KL
 * family is summed in a form with non-negative terms; the other kinds'
 * final formulas (a log of a normalised sum, an expm1) can land an ulp
 * below an exact 0, which is 0, or on −0 (0 divided by a negative order
 * term), which is +0.  Once here, for every backend. */
static void clamp_nonneg(const ie_rowargs *ra, double *val, int64_t rows) {
  if (ra->op != IE_OP_DIVERGENCE && ra->op != IE_OP_ENTROPY) return;
  for (int64_t r = 0; r < rows; r++)
    if (val[r] <= 0) val[r] = 0;
}

/* ---- The device-resident path ---------------------------------------------------
 * On a GPU backend with rows_device, the per-row values go straight into the
 * caller's per_row (device memory), and the device reduces the rest into an
 * outcome (src/kernels/rows_outcome.h: bad rows, bad weights, the summary's
 * exact sums) that is read back in one small copy; here it becomes the
 * status, message and summary.  In the asynchronous mode that happens in
 * ie_synchronize, from a copy of a devjob. */

typedef struct {
  const char *fn;
  ie__arg x, y, labels, weights, out; /* those present (has_*) */
  unsigned char has_y, has_labels, has_weights, has_out;
  ie_input_kind xk, yk;
  ie_summary *summary;
  ie_partial *partial;
  uint32_t kind; /* the partial state's */
  int64_t first_row, rows;
  const uint64_t *oc; /* the outcome, in host memory */
} devjob;
_Static_assert(sizeof(devjob) <= IE__ASYNC_JOB_BYTES, "a devjob fits a pending record");

static ie_status finish_device(ie_context *ctx, void *job, ie_status prior) {
  devjob *j = job;
  const uint64_t *oc = j->oc;
  ie_status s = prior;
  if (s == IE_OK && oc[ROWS_OC_WBAD]) {
    const int64_t row = (int64_t)~oc[ROWS_OC_WFIRST];
    double *v = NULL, wv = NAN;
    if (ie__fetch_row(ctx, &j->weights, row, &v) == IE_OK) {
      wv = v[0];
      free(v);
    }
    ie__locate(ctx, "row_weights", -1, row, -1);
    s = ie__error(ctx, IE_INVALID_ARGUMENT,
                  "%s: row_weights[%lld] is %g; weights must be finite and >= 0", j->fn,
                  (long long)row, wv);
  }
  if (s == IE_OK && oc[ROWS_OC_BAD]) {
    const uint64_t key = ~oc[ROWS_OC_FIRST];
    /* (inv_t 0: the device kernels take no float64 input, whose x/T could
     * pass double's range) */
    s = report_first(ctx, j->fn, (int64_t)(key >> 8), (ie_rowerr)(key & 0xff),
                     (int64_t)oc[ROWS_OC_BAD], 0, &j->x, j->xk, j->has_y ? &j->y : NULL, j->yk,
                     j->has_labels ? &j->labels : NULL);
  }
  ie_partial p;
  ie_summary sm;
  memset(&p, 0, sizeof p);
  memset(&sm, 0, sizeof sm);
  if (s == IE_OK && (j->summary || j->partial)) {
    ie_partial_init(&p, j->first_row);
    p.kind = j->kind;
    ie__partial_add_outcome(&p, oc, j->rows);
    if (j->summary) s = ie__partial_summary(ctx, j->fn, &p, &sm);
  }
  /* A staged host output (synchronous calls only) is copied back before any
   * result is written: a failed copy leaves no summary behind. */
  if (s == IE_OK && j->has_out && j->out.owned) s = ie__unstage_out(ctx, &j->out);
  if (s == IE_OK && j->summary) *j->summary = sm;
  if (s == IE_OK && j->partial) *j->partial = p;
  if (s != IE_OK && j->has_out) ie__spoil(ctx, &j->out); /* nothing may look like a result */
  return s;
}

/* After the work of a device-resident call is enqueued (its outcome read
 * blocking unless `async`): finish it now, or leave it to ie_synchronize. */
static ie_status settle_device(ie_context *ctx, devjob *dj, int async) {
  if (async) {
    /* The caller's DLTensor structs need not outlive the call (only their
     * memory does): the record keeps the views, never the structs. */
    dj->x.t = dj->y.t = dj->labels.t = dj->weights.t = dj->out.t = NULL;
    if (ie__async_push(ctx, dj->fn, finish_device, dj, sizeof *dj) == IE_OK) {
      ie__async_outcome_keep(ctx);
      return IE_OK;
    }
    /* No record: finish it here, once the device is done. */
    ie_status w = ctx->ops->synchronize(ctx);
    return finish_device(ctx, dj, w);
  }
  return finish_device(ctx, dj, IE_OK);
}

/* 1 when a 1-D device view can be handed to the kernels (whole elements). */
static int aligned_view(const ie__arg *a) { return a->m.offset % ie__dtype_size(a->m.dtype) == 0; }

/* The row reduction on the device.  *fell = 1: this call cannot run there
 * (nothing was done; take the host path). */
static ie_status run_rows_device(ie_context *ctx, rowjob *j, ie__arg *out, int *fell) {
  const int64_t rows = j->x->m.rows;
  *fell = 1;
  if (!ctx->ops->rows_device || rows <= 0 || j->x->m.cols == 0 || rows >= ((int64_t)1 << 31) ||
      (out && !out->on_host && !aligned_view(out)))
    return IE_OK;
  devjob dj;
  memset(&dj, 0, sizeof dj);
  if (j->weights) {
    IE__CHECK(ie__check_vector(ctx, &dj.weights, j->fn, "row_weights", j->weights, rows,
                               IE__INTS | (1u << IE_DT_U8) | (1u << IE_DT_F32) | (1u << IE_DT_F64)));
    if (!dj.weights.on_host && !aligned_view(&dj.weights)) return IE_OK;
    dj.has_weights = 1;
  }
  *fell = 0;
  ie__arg *x = j->x, *y = j->y, *lab = j->labels, *w = dj.has_weights ? &dj.weights : NULL;
  ie_status s = ie__stage_in(ctx, x);
  if (s == IE_OK && y) s = ie__stage_in(ctx, y);
  if (s == IE_OK && lab) s = ie__stage_in(ctx, lab);
  if (s == IE_OK && w) s = ie__stage_in(ctx, w);
  if (s == IE_OK && out) s = ie__stage_out(ctx, out); /* host per_row: written back after */
  void *dev = NULL;
  size_t dev_off = 0;
  uint64_t *host = NULL;
  const int async = ctx->async && ctx->ops->synchronize && !x->on_host && !(y && y->on_host) &&
                    !(lab && lab->on_host) && !(w && w->on_host) && !(out && out->on_host);
  if (s == IE_OK) s = ie__async_outcome(ctx, j->fn, !async, &dev, &dev_off, &host);
  if (s == IE_OK) {
    ie_rows_sink k;
    memset(&k, 0, sizeof k);
    if (out) k.per_row = (ie_vec){out->m.buf, out->m.offset, out->m.dtype, rows, out->m.stride};
    if (w) k.weights = (ie_vec){w->m.buf, w->m.offset, w->m.dtype, rows, w->m.stride};
    k.clamp = j->ra.op == IE_OP_DIVERGENCE || j->ra.op == IE_OP_ENTROPY; /* as clamp_nonneg */
    k.sums = j->summary || j->partial;
    k.outcome = dev;
    k.outcome_offset = dev_off;
    k.host = host;
    k.blocking = !async;
    ie_vec lv, *lp = NULL;
    if (lab) {
      lv = (ie_vec){lab->m.buf, lab->m.offset, lab->m.dtype, lab->m.rows, lab->m.stride};
      lp = &lv;
    }
    s = IE__BE(ctx, rows_device, &j->ra, &x->m, y ? &y->m : NULL, lp, &k);
    if (s == IE_UNSUPPORTED) {
      /* This device cannot reduce on the device (or the kind is not the
       * kernels'): the host path says which. */
      *fell = 1;
      ie__clear_error(ctx);
    } else if (s == IE_OK) {
      dj.fn = j->fn;
      dj.x = *x;
      if (y) dj.y = *y, dj.has_y = 1;
      if (lab) dj.labels = *lab, dj.has_labels = 1;
      if (out) dj.out = *out, dj.has_out = 1;
      dj.xk = j->xk;
      dj.yk = j->yk;
      dj.summary = j->summary;
      dj.partial = j->partial;
      dj.kind = quantity_kind(&j->ra);
      dj.first_row = j->first_row;
      dj.rows = rows;
      dj.oc = host;
      s = settle_device(ctx, &dj, async);
    } else if (out && !out->owned) {
      ie__spoil(ctx, out); /* some rows may have been written */
    }
  }
  /* Staging slots are given back last taken, first given. */
  if (out) ie__release(ctx, out);
  if (w) ie__release(ctx, w);
  if (lab) ie__release(ctx, lab);
  if (y) ie__release(ctx, y);
  ie__release(ctx, x);
  return s;
}

static ie_status run_rows(ie_context *ctx, rowjob *j) {
  const int64_t rows = j->x->m.rows;
  ie__arg out;
  double *w = NULL, *val = NULL;
  ie_rowerr *err = NULL;
  ie_status s = IE_OK;
  if (j->per_row) IE__CHECK(ie__check_vector(ctx, &out, j->fn, j->per_row_name ? j->per_row_name : "per_row", j->per_row, rows,
                                         (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__OUTPUT));
  if (j->partial && (j->first_row < 0 || rows > INT64_MAX - j->first_row))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: first_row %lld must be >= 0 and leave room for %lld rows",
                     j->fn, (long long)j->first_row, (long long)rows);
  int fell = 1;
  s = run_rows_device(ctx, j, j->per_row ? &out : NULL, &fell);
  if (!fell) return s;
  IE__CHECK(ie__read_weights(ctx, j->fn, j->weights, rows, &w));

  if (j->labels && j->ra.has_ignore_index) {
    /* Ignored rows are not kept: fold them into the weights. */
    double *lab = ie__malloc((size_t)(rows ? rows : 1) * sizeof *lab);
    if (!w) {
      w = ie__malloc((size_t)(rows ? rows : 1) * sizeof *w);
      for (int64_t i = 0; w && i < rows; i++) w[i] = 1;
    }
    if (!lab || !w) {
      free(lab);
      free(w);
      return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", j->fn);
    }
    if (rows > 0) s = ie__read_vector(ctx, j->labels, lab);
    for (int64_t i = 0; i < rows && s == IE_OK; i++)
      if ((double)j->ra.ignore_index == lab[i]) w[i] = 0;
    free(lab);
    if (s != IE_OK) goto done;
  }

  if ((s = ie__stage_in(ctx, j->x)) != IE_OK) goto done;
  if (j->y && (s = ie__stage_in(ctx, j->y)) != IE_OK) goto done;
  if (j->labels && (s = ie__stage_in(ctx, j->labels)) != IE_OK) goto done;

  val = ie__malloc((size_t)(rows ? rows : 1) * sizeof *val);
  err = ie__calloc((size_t)(rows ? rows : 1), sizeof *err);
  if (!val || !err) {
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld row results", j->fn, (long long)rows);
    goto done;
  }
  if (rows > 0 && j->x->m.cols == 0) {
    ie__locate(ctx, j->x->name, -1, 0, -1);
    s = ie__error(ctx, IE_EMPTY_ROW, "%s: tensor '%s' row 0 has no support (the rows are empty, V = 0)",
                  j->fn, j->x->name);
    goto done;
  }
  if (rows > 0) {
    ie_vec lv, *lp = NULL;
    if (j->labels) {
      lv = (ie_vec){j->labels->m.buf, j->labels->m.offset, j->labels->m.dtype,
                    j->labels->m.rows, j->labels->m.stride};
      lp = &lv;
    }
    s = IE__BE(ctx, rows, &j->ra, &j->x->m, j->y ? &j->y->m : NULL, lp, val, err);
    if (s != IE_OK) goto done;
  }
  for (int64_t r = 0; w && r < rows; r++)
    if (w[r] == 0 && err[r]) err[r] = IE_ROW_OK, val[r] = NAN; /* left out: not checked (SPEC §1) */
  if ((s = report_rows(ctx, j->fn, err, rows, j->ra.inv_temp, j->x, j->xk, j->y, j->yk, j->labels)) != IE_OK) goto done;
  clamp_nonneg(&j->ra, val, rows);
  if ((j->summary || j->partial) &&
      (s = summarize(ctx, j->fn, val, w, rows, j->first_row, quantity_kind(&j->ra), j->summary,
                     j->partial)) != IE_OK)
    goto done;
  if (j->per_row) s = ie__write_per_row(ctx, &out, val);

done:
  ie__release(ctx, j->x);
  if (j->y) ie__release(ctx, j->y);
  if (j->labels) ie__release(ctx, j->labels);
  free(w);
  free(val);
  free(err);
  return s;
}

/* ---- Softmax family ----------------------------------------------------- */

/* Softmax on the device: the rows' errors reduced into the outcome. */
static ie_status softmax_device(ie_context *ctx, const char *fn, ie__arg *x, ie__arg *y,
                                int log_out, double inv, int *fell) {
  *fell = 0;
  ie_status s = ie__stage_in(ctx, x);
  if (s == IE_OK) s = ie__stage_out(ctx, y);
  void *dev = NULL;
  size_t dev_off = 0;
  uint64_t *host = NULL;
  const int async = ctx->async && ctx->ops->synchronize && !x->on_host && !y->on_host;
  if (s == IE_OK) s = ie__async_outcome(ctx, fn, !async, &dev, &dev_off, &host);
  if (s == IE_OK) {
    ie_rows_sink k;
    memset(&k, 0, sizeof k);
    k.outcome = dev;
    k.outcome_offset = dev_off;
    k.host = host;
    k.blocking = !async;
    s = IE__BE(ctx, softmax_device, &x->m, &y->m, log_out, inv, &k);
    if (s == IE_UNSUPPORTED) {
      *fell = 1;
      ie__clear_error(ctx);
    } else if (s == IE_OK) {
      devjob dj;
      memset(&dj, 0, sizeof dj);
      dj.fn = fn;
      dj.x = *x;
      dj.out = *y;
      dj.has_out = 1;
      dj.xk = dj.yk = IE_INPUT_LOGITS;
      dj.rows = x->m.rows;
      dj.oc = host;
      s = settle_device(ctx, &dj, async);
    } else if (!y->owned) {
      ie__spoil(ctx, y); /* some rows may have been written */
    }
  }
  ie__release(ctx, y);
  ie__release(ctx, x);
  return s;
}

static ie_status softmax_out(ie_context *ctx, const char *fn, const DLTensor *logits,
                             DLTensor *out, const ie_softmax_options *opt, int log_out) {
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_softmax_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, temperature));
  double inv = 1;
  IE__CHECK(temperature(ctx, fn, o.temperature, &inv));
  ie__arg x, y;
  IE__CHECK(ie__check_matrix(ctx, &x, fn, "logits", logits, IE__FLOATS));
  IE__CHECK(ie__check_matrix(ctx, &y, fn, "out", out, IE__FLOATS | IE__OUTPUT));
  if (y.m.rows != x.m.rows || y.m.cols != x.m.cols || out->ndim != logits->ndim)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: 'out' is %lld x %lld but 'logits' is %lld x %lld", fn,
                     (long long)y.m.rows, (long long)y.m.cols, (long long)x.m.rows, (long long)x.m.cols);
  const int64_t rows = x.m.rows;
  if (rows > 0 && x.m.cols == 0) ie__locate(ctx, "logits", -1, 0, -1);
  if (rows > 0 && x.m.cols == 0)
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'logits' row 0 has no support (V = 0)", fn);
  if (ctx->ops->softmax_device && rows > 0 && rows < ((int64_t)1 << 31)) {
    int fell = 1;
    ie_status s = softmax_device(ctx, fn, &x, &y, log_out, inv, &fell);
    if (!fell) return s;
  }
  ie_rowerr *err = ie__calloc((size_t)(rows ? rows : 1), sizeof *err);
  if (!err) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  ie_status s = ie__stage_in(ctx, &x);
  if (s == IE_OK) s = ie__stage_out(ctx, &y);
  int wrote = 0; /* the backend has written into the caller's memory */
  if (s == IE_OK && rows > 0) {
    wrote = !y.owned;
    s = IE__BE(ctx, softmax, &x.m, &y.m, log_out, inv, err);
  }
  if (s == IE_OK) s = report_rows(ctx, fn, err, rows, inv, &x, IE_INPUT_LOGITS, NULL, IE_INPUT_LOGITS, NULL);
  if (s != IE_OK && wrote) ie__spoil(ctx, &y); /* nothing may look like a result */
  if (s == IE_OK) s = ie__unstage_out(ctx, &y);
  ie__release(ctx, &x);
  ie__release(ctx, &y);
  free(err);
  return s;
}

ie_status ie_log_softmax(ie_context *ctx, const DLTensor *logits, DLTensor *out,
                         const ie_softmax_options *opt) {
  return softmax_out(ctx, "ie_log_softmax", logits, out, opt, 1);
}

ie_status ie_softmax(ie_context *ctx, const DLTensor *logits, DLTensor *out,
                     const ie_softmax_options *opt) {
  return softmax_out(ctx, "ie_softmax", logits, out, opt, 0);
}

ie_status ie_logsumexp(ie_context *ctx, const DLTensor *logits, DLTensor *out,
                       const ie_softmax_options *opt) {
  const char *fn = "ie_logsumexp";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_softmax_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, temperature));
  if (!out) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'out' is NULL", fn);
  ie__arg x;
  rowjob j = {fn, {0}, &x, NULL, NULL, IE_INPUT_LOGITS, IE_INPUT_LOGITS, out, "out", NULL, NULL, NULL, 0};
  j.ra.op = IE_OP_LSE;
  IE__CHECK(temperature(ctx, fn, o.temperature, &j.ra.inv_temp));
  IE__CHECK(ie__check_matrix(ctx, &x, fn, "logits", logits, IE__FLOATS));
  return run_rows(ctx, &j);
}

ie_status ie_entropy(ie_context *ctx, const DLTensor *xt, DLTensor *per_row,
                     const ie_entropy_options *opt, ie_summary *summary) {
  const char *fn = "ie_entropy";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_entropy_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, row_weights));
  ie__arg x;
  rowjob j = {fn, {0}, &x, NULL, NULL, o.input, o.input, per_row, NULL, o.row_weights, summary, NULL, 0};
  j.partial = o.partial;
  j.first_row = o.first_row;
  j.ra.op = IE_OP_ENTROPY;
  j.ra.input = o.input;
  j.ra.ent = o.kind;
  j.ra.alpha = o.alpha;
  IE__CHECK(temperature(ctx, fn, o.temperature, &j.ra.inv_temp));
  if (o.input != IE_INPUT_LOGITS && o.input != IE_INPUT_PROBS)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown input kind %d", fn, (int)o.input);
  switch (o.kind) {
  case IE_ENTROPY_SHANNON:
    break;
  case IE_ENTROPY_RENYI:
    if (!(o.alpha >= 0))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: Renyi order alpha = %g must be >= 0 (inf allowed)", fn, o.alpha);
    if (o.alpha == 1) j.ra.ent = IE_ENTROPY_SHANNON; /* the limit */
    break;
  case IE_ENTROPY_TSALLIS:
    if (!(o.alpha >= 0) || isinf(o.alpha))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: Tsallis index q = %g must be finite and >= 0", fn, o.alpha);
    if (o.alpha == 1) j.ra.ent = IE_ENTROPY_SHANNON;
    break;
  default:
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown entropy kind %d", fn, (int)o.kind);
  }
  IE__CHECK(ie__check_matrix(ctx, &x, fn, o.input == IE_INPUT_PROBS ? "probs" : "logits", xt, IE__FLOATS));
  return run_rows(ctx, &j);
}

ie_status ie_nll(ie_context *ctx, const DLTensor *logits, const DLTensor *labels,
                 DLTensor *per_row, const ie_nll_options *opt, ie_summary *summary) {
  const char *fn = "ie_nll";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_nll_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, row_weights));
  ie__arg x, l;
  rowjob j = {fn, {0}, &x, NULL, &l, IE_INPUT_LOGITS, IE_INPUT_LOGITS, per_row, NULL, o.row_weights, summary, NULL, 0};
  j.partial = o.partial;
  j.first_row = o.first_row;
  j.ra.op = IE_OP_NLL;
  j.ra.ignore_index = o.ignore_index;
  j.ra.has_ignore_index = o.has_ignore_index;
  IE__CHECK(temperature(ctx, fn, o.temperature, &j.ra.inv_temp));
  IE__CHECK(ie__check_matrix(ctx, &x, fn, "logits", logits, IE__FLOATS));
  IE__CHECK(ie__check_vector(ctx, &l, fn, "labels", labels, x.m.rows, IE__INTS));
  return run_rows(ctx, &j);
}

ie_status ie_divergence(ie_context *ctx, ie_divergence_kind kind, const DLTensor *pt,
                        const DLTensor *qt, DLTensor *per_row,
                        const ie_divergence_options *opt, ie_summary *summary) {
  const char *fn = "ie_divergence";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_divergence_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, row_weights));
  ie__arg p, q;
  rowjob j = {fn, {0}, &p, &q, NULL, o.p_input, o.q_input, per_row, NULL, o.row_weights, summary, NULL, 0};
  j.partial = o.partial;
  j.first_row = o.first_row;
  j.ra.op = IE_OP_DIVERGENCE;
  j.ra.input = o.p_input;
  j.ra.q_input = o.q_input;
  j.ra.div = kind;
  j.ra.alpha = o.alpha;
  j.ra.beta = o.beta == 0 ? 0.5 : o.beta;
  IE__CHECK(temperature(ctx, fn, o.temperature, &j.ra.inv_temp));
  if ((o.p_input != IE_INPUT_LOGITS && o.p_input != IE_INPUT_PROBS) ||
      (o.q_input != IE_INPUT_LOGITS && o.q_input != IE_INPUT_PROBS))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown input kind", fn);
  if ((unsigned)kind >= (unsigned)IE_DIV_COUNT_)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown divergence kind %d", fn, (int)kind);
  if (kind == IE_DIV_JS && !(j.ra.beta > 0 && j.ra.beta < 1))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: js weight beta = %g must lie in (0, 1)", fn, o.beta);
  /* Orders at their limits become the limit's kind (docs/SPEC.md §3). */
  if (kind == IE_DIV_ALPHA) {
    if (!isfinite(o.alpha))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: alpha-divergence order %g must be finite", fn, o.alpha);
    if (o.alpha == 1) j.ra.div = IE_DIV_KL;
    if (o.alpha == 0) j.ra.div = IE_DIV_REVERSE_KL;
  } else if (kind == IE_DIV_RENYI) {
    if (!(o.alpha > 0))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: Renyi order alpha = %g must be > 0 (inf allowed)", fn, o.alpha);
    if (o.alpha == 1) j.ra.div = IE_DIV_KL;
  } else if (kind == IE_DIV_TSALLIS) {
    if (!(o.alpha >= 0) || isinf(o.alpha))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: Tsallis index q = %g must be finite and >= 0", fn, o.alpha);
    if (o.alpha == 1) j.ra.div = IE_DIV_KL;
  }
  IE__CHECK(ie__check_matrix(ctx, &p, fn, "p", pt, IE__FLOATS));
  IE__CHECK(ie__check_matrix(ctx, &q, fn, "q", qt, IE__FLOATS));
  if (p.m.rows != q.m.rows || p.m.cols != q.m.cols)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: 'p' is %lld x %lld but 'q' is %lld x %lld", fn,
                     (long long)p.m.rows, (long long)p.m.cols, (long long)q.m.rows, (long long)q.m.cols);
  return run_rows(ctx, &j);
}
