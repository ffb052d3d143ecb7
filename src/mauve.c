/*
 * mauve.c — MAUVE (docs/SPEC.md §8; Pillutla et al., NeurIPS 2021): argument
 * checks, the principal axes (host LAPACK on a covariance the backend
 * computes: only the leading vectors), the k-means starts and the Lloyd
 * loop driving the backend's ops (src/mauve.h: the rows, labels and
 * centres stay in backend memory), the seed ensemble and the frontier of
 * each Q set's histogram against P's.
 */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mauve.h"
#include "threads.h"

int64_t ie_mauve_default_clusters(int64_t n_p, int64_t n_q) {
  const int64_t n = n_p < n_q ? n_p : n_q;
  /* Python's round(n / 10): half to even */
  const int64_t k = (int64_t)nearbyint((double)n / 10.0);
  return k > 2 ? k : 2;
}

/* ---- Options ------------------------------------------------------------------ */

typedef struct {
  int64_t clusters, redo, max_iter, seeds, grid;
  double ev, scaling;
  uint64_t seed;
} mauve_opts;

static ie_status resolve(ie_context *ctx, const char *fn, const ie_mauve_options *in,
                         mauve_opts *o) {
  ie_mauve_options v;
  IE__CHECK(IE__OPTIONS(ctx, fn, v, in, scaling));
  o->clusters = v.clusters;
  o->redo = v.redo ? v.redo : 5;
  o->max_iter = v.max_iter ? v.max_iter : 500;
  o->seeds = v.seeds ? v.seeds : 1;
  o->grid = v.grid ? v.grid : 25;
  o->ev = v.explained_variance != 0 ? v.explained_variance : 0.9;
  o->scaling = v.scaling != 0 ? v.scaling : 5;
  o->seed = v.seed;
  if (o->clusters < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: clusters is %lld; it must be >= 2 (or 0 for the default)",
                     fn, (long long)o->clusters);
  if (o->clusters == 1)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: clusters is 1; it must be >= 2", fn);
  if (o->redo < 0 || o->max_iter < 0 || o->seeds < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: redo, max_iter and seeds must be >= 0 (0 is the default)", fn);
  if (o->grid < 2 || o->grid > 1000000)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: grid is %lld; it must be in [2, 1e6] (or 0 for 25)",
                     fn, (long long)o->grid);
  if (!(o->ev > 0 && o->ev <= 1))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: explained_variance is %g; it must be in (0, 1]", fn, o->ev);
  if (!(o->scaling > 0) || isinf(o->scaling))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: scaling is %g; it must be finite and > 0", fn, o->scaling);
  return IE_OK;
}

/* ---- Histograms given ------------------------------------------------------------ */

static ie_status read_counts(ie_context *ctx, const char *fn, const char *name, const DLTensor *t,
                             int64_t k, double *out) {
  ie__arg a;
  IE__CHECK(ie__check_vector(ctx, &a, fn, name, t, k,
                             IE__INTS | (1u << IE_DT_F32) | (1u << IE_DT_F64)));
  IE__CHECK(ie__read_vector(ctx, &a, out));
  double sum = 0;
  for (int64_t i = 0; i < k; i++) {
    if (isnan(out[i]) || isinf(out[i])) {
      ie__locate(ctx, name, -1, i, -1);
      return ie__error(ctx, IE_NONFINITE, "%s: %s[%lld] is %g; counts must be finite", fn, name,
                       (long long)i, out[i]);
    }
    if (out[i] < 0) {
      ie__locate(ctx, name, -1, i, -1);
      return ie__error(ctx, IE_NEGATIVE, "%s: %s[%lld] is %g; counts must be >= 0", fn, name,
                       (long long)i, out[i]);
    }
    sum += out[i];
  }
  if (!(sum > 0) || isinf(sum)) {
    ie__locate(ctx, name, -1, -1, -1); /* the whole histogram: no one bin */
    return ie__error(ctx, IE_EMPTY_ROW, "%s: %s sums to %g; it needs a positive finite total", fn, name, sum);
  }
  return IE_OK;
}

ie_status ie_mauve_histograms(ie_context *ctx, const DLTensor *p_counts, const DLTensor *q_counts,
                              const ie_mauve_options *opt, ie_mauve_scores *scores, double *curve) {
  static const char fn[] = "ie_mauve_histograms";
  IE__CHECK(ie__begin(ctx, fn, 1, "MAUVE"));
  if (!p_counts || !q_counts || !scores)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: p_counts, q_counts and scores must not be NULL", fn);
  mauve_opts o;
  IE__CHECK(resolve(ctx, fn, opt, &o));
  if (p_counts->ndim != 1 || q_counts->ndim != 1)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: p_counts and q_counts must be 1-D (they are %d-D and %d-D)", fn,
                     p_counts->ndim, q_counts->ndim);
  const int64_t k = p_counts->shape[0];
  if (q_counts->shape[0] != k)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: p_counts has %lld bins, q_counts %lld", fn, (long long)k,
                     (long long)q_counts->shape[0]);
  if (k < 1) return ie__error(ctx, IE_BAD_SHAPE, "%s: the histograms have no bins", fn);
  double *buf = ie__malloc(((size_t)k * 5 + 2 * (size_t)(o.grid + 2)) * sizeof *buf);
  if (!buf) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld bins", fn, (long long)k);
  ie_status s = read_counts(ctx, fn, "p_counts", p_counts, k, buf);
  if (s == IE_OK) s = read_counts(ctx, fn, "q_counts", q_counts, k, buf + k);
  if (s == IE_OK) ie__frontier(buf, buf + k, k, o.grid, o.scaling, buf + 2 * k, scores, curve);
  free(buf);
  return s;
}

/* ---- The principal axes ------------------------------------------------------------- */

/* The r leading eigenvectors of the covariance (d × d, both triangles,
 * destroyed), the fewest whose eigenvalues' share of the positive total
 * reaches ev: Householder to tridiagonal (dsytrd), every eigenvalue of
 * that (dsterf, no vectors) to choose r, the r vectors of the tridiagonal
 * by MRRR (dstemr), back to the covariance's basis (dormtr).  That is
 * d³·4/3 + O(d²·r) flops where the whole eigendecomposition (dsyevd) costs
 * ~3× more.  *v: d × r row-major, column c the c-th largest. */
static ie_status principal_axes(ie_context *ctx, const char *fn, double *cov, int64_t d, double ev,
                                int64_t *r_out, double *kept, double **v_out) {
  const lapack_int n = (lapack_int)d;
  double *dd = ie__malloc((size_t)d * 4 * sizeof *dd), *vc = NULL;
  lapack_int *supp = NULL;
  if (!dd) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the eigensolver", fn);
  double *ee = dd + d, *tau = dd + 2 * d, *lam = dd + 3 * d; /* e and tau: d − 1 used */
  ie_status s = IE_OK;
  /* the covariance is symmetric: its row-major upper triangle is the
   * column-major lower one */
  lapack_int li = LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', n, cov, n, dd, ee, tau);
  if (li != 0) {
    s = ie__error(ctx, IE_BACKEND_FAILURE, "%s: LAPACK dsytrd failed on the %lld x %lld covariance (info %d)", fn,
                  (long long)d, (long long)d, (int)li);
    goto out;
  }
  {
    double *dc = ie__malloc((size_t)d * 2 * sizeof *dc);
    if (!dc) {
      s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for the eigensolver", fn);
      goto out;
    }
    memcpy(dc, dd, (size_t)d * sizeof *dc);
    if (d > 1) memcpy(dc + d, ee, (size_t)(d - 1) * sizeof *dc);
    li = LAPACKE_dsterf(n, dc, dc + d);
    memcpy(lam, dc, (size_t)d * sizeof *lam); /* ascending */
    free(dc);
    if (li != 0) {
      s = ie__error(ctx, IE_BACKEND_FAILURE, "%s: LAPACK dsterf did not converge on the covariance (info %d)", fn,
                    (int)li);
      goto out;
    }
  }
  double total = 0;
  for (int64_t j = 0; j < d; j++) total += lam[j] > 0 ? lam[j] : 0;
  int64_t r = 1;
  *kept = 1;
  if (total > 0) {
    /* descending: the fewest leading components whose share reaches ev */
    double cum = 0;
    for (r = 1; r <= d; r++) {
      const double l = lam[d - r];
      cum += l > 0 ? l : 0;
      if (cum / total >= ev) break;
    }
    if (r > d) r = d;
    *kept = cum / total;
  }
  vc = ie__malloc((size_t)d * (size_t)r * sizeof *vc);
  supp = ie__malloc((size_t)r * 2 * sizeof *supp);
  if (!vc || !supp) {
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld eigenvectors", fn, (long long)r);
    goto out;
  }
  lapack_int found = 0;
  lapack_logical tryrac = 1;
  li = LAPACKE_dstemr(LAPACK_COL_MAJOR, 'V', 'I', n, dd, ee, 0, 0, (lapack_int)(d - r + 1), n, &found, lam, vc, n,
                      (lapack_int)r, supp, &tryrac);
  if (li != 0 || found != (lapack_int)r) {
    s = ie__error(ctx, IE_BACKEND_FAILURE, "%s: LAPACK dstemr failed on the covariance (info %d, %d of %lld vectors)",
                  fn, (int)li, (int)found, (long long)r);
    goto out;
  }
  li = LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'N', n, (lapack_int)r, cov, n, tau, vc, n);
  if (li != 0) {
    s = ie__error(ctx, IE_BACKEND_FAILURE, "%s: LAPACK dormtr failed (info %d)", fn, (int)li);
    goto out;
  }
  {
    double *v = ie__malloc((size_t)d * (size_t)r * sizeof *v);
    if (!v) {
      s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld eigenvectors", fn, (long long)r);
      goto out;
    }
    for (int64_t i = 0; i < d; i++) /* vc's columns ascend */
      for (int64_t c = 0; c < r; c++) v[(size_t)i * (size_t)r + (size_t)c] = vc[(size_t)(r - 1 - c) * (size_t)d + (size_t)i];
    *v_out = v;
    *r_out = r;
  }
out:
  free(dd);
  free(vc);
  free(supp);
  return s;
}

/* ---- The whole computation ------------------------------------------------------------ */

/* The driver's workspace slots (src/mauve.h): the unit rows, the projected
 * rows, the centres and three label buffers. */
enum { SLOT_Z = IE_WS_MAUVE, SLOT_Y, SLOT_C, SLOT_LAB };

typedef struct {
  ie__arg *in;     /* 1 + sets inputs */
  char (*names)[24];
  void *z, *y, *c; /* backend buffers */
  void *lab[3];    /* backend buffers, n int32: a start's labels, the next ones, the best start's */
  void *sess;      /* the backend's state for this call (ie_mauve_ops.begin) */
  int began;
  double *cov, *mean, *v, *hist, *hist0, *curve0, *fscratch;
  int64_t *rows;   /* the rows of each set */
  ie_mauve_scores *acc; /* seeds × sets */
} mauve_work;

static void work_free(ie_context *ctx, mauve_work *w, int64_t nin) {
  if (w->in)
    for (int64_t i = 0; i < nin; i++) ie__release(ctx, &w->in[i]);
  ie__tmp_device_done(ctx, w->z);
  ie__tmp_device_done(ctx, w->y);
  ie__tmp_device_done(ctx, w->c);
  for (int i = 0; i < 3; i++) ie__tmp_device_done(ctx, w->lab[i]);
  if (w->began && ctx->ops->mauve->end) ctx->ops->mauve->end(ctx, w->sess);
  void *host[] = {w->in, w->names, w->cov, w->mean, w->v, w->hist, w->hist0, w->curve0, w->fscratch, w->rows, w->acc};
  for (size_t i = 0; i < sizeof host / sizeof *host; i++) free(host[i]);
}

#define ALLOC(ptr, count)                                                                     \
  do {                                                                                        \
    const size_t n_ = (size_t)(count);                                                        \
    (ptr) = ie__malloc((n_ > 0 ? n_ : 1) * sizeof *(ptr));                                    \
    if (!(ptr)) {                                                                             \
      s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %s (%zu bytes)", fn, #ptr, \
                    n_ * sizeof *(ptr));                                                      \
      goto done;                                                                              \
    }                                                                                         \
  } while (0)

/* One clustering: `redo` starts of k-means from the streams of `seed`; the
 * kept labels end in w->lab[2].  *iters and *inert describe the kept
 * start.  Nothing but the counts of changed labels and the inertias
 * leaves the backend. */
static ie_status cluster(ie_context *ctx, const char *fn, const ie_mauve_ops *mo, mauve_work *w,
                         const ie_mat *ym, const ie_mat *cm, uint64_t seed, const mauve_opts *o,
                         double *inert, int64_t *iters) {
  double best = INFINITY;
  for (int64_t start = 0; start < o->redo; start++) {
    IE__CHECK(mo->seed(ctx, w->sess, ym, seed, start, o->redo, cm));
    if (mo->restart) mo->restart(ctx, w->sess);
    IE__CHECK(mo->assign(ctx, w->sess, ym, cm, w->lab[0], NULL, NULL));
    int64_t it = 0;
    while (it < o->max_iter) {
      if (ie__cancelled(ctx)) return ie__cancel(ctx, fn);
      IE__CHECK(mo->update(ctx, w->sess, ym, w->lab[0], cm));
      it++;
      int64_t changed = 0;
      IE__CHECK(mo->assign(ctx, w->sess, ym, cm, w->lab[1], w->lab[0], &changed));
      void *t = w->lab[0];
      w->lab[0] = w->lab[1];
      w->lab[1] = t;
      if (changed == 0) break;
    }
    double in = 0;
    IE__CHECK(mo->inertia(ctx, w->sess, ym, cm, w->lab[0], &in));
    if (in < best || start == 0) { /* the earliest on a tie */
      best = in;
      *iters = it;
      void *t = w->lab[2];
      w->lab[2] = w->lab[0];
      w->lab[0] = t;
    }
  }
  *inert = best;
  return IE_OK;
}

ie_status ie_mauve(ie_context *ctx, const DLTensor *p, const DLTensor *const *q, int64_t n_sets,
                   const ie_mauve_options *opt, ie_mauve_scores *scores, ie_mauve_info *info,
                   int64_t *counts, double *curves) {
  static const char fn[] = "ie_mauve";
  IE__CHECK(ie__begin(ctx, fn, ctx && ctx->ops && ctx->ops->mauve, "MAUVE"));
  const ie_mauve_ops *mo = ctx->ops->mauve;
  if (!p || !q || !scores)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: p, q and scores must not be NULL", fn);
  if (n_sets < 1 || n_sets > 1000000)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: n_sets is %lld; it must be in [1, 1e6]", fn,
                     (long long)n_sets);
  for (int64_t i = 0; i < n_sets; i++)
    if (!q[i]) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: q[%lld] is NULL", fn, (long long)i);
  mauve_opts o;
  IE__CHECK(resolve(ctx, fn, opt, &o));

  const int64_t nin = 1 + n_sets;
  double inert0 = 0;
  int64_t iters0 = 0;
  mauve_work w;
  memset(&w, 0, sizeof w);
  ie_status s = IE_OK;
  ALLOC(w.in, nin);
  memset(w.in, 0, (size_t)nin * sizeof *w.in); /* before anything can fail: work_free reads it */
  ALLOC(w.names, nin);
  int64_t N = 0, d = 0, nq_min = INT64_MAX;
  for (int64_t i = 0; i < nin; i++) {
    if (i == 0) snprintf(w.names[0], sizeof w.names[0], "p");
    else snprintf(w.names[i], sizeof w.names[i], "q[%lld]", (long long)(i - 1));
    s = ie__check_matrix(ctx, &w.in[i], fn, w.names[i], i ? q[i - 1] : p, IE__FLOATS);
    if (s != IE_OK) goto done;
    const ie_mat *m = &w.in[i].m;
    if ((i ? q[i - 1] : p)->ndim != 2) {
      s = ie__error(ctx, IE_BAD_SHAPE, "%s: %s must be 2-D [rows, features]", fn, w.names[i]);
      goto done;
    }
    if (i == 0) d = m->cols;
    else if (m->cols != d) {
      s = ie__error(ctx, IE_BAD_SHAPE, "%s: %s has %lld features a row, p has %lld", fn, w.names[i],
                    (long long)m->cols, (long long)d);
      goto done;
    }
    if (m->rows < 2) {
      s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: %s has %lld row(s); each set needs at least 2", fn,
                    w.names[i], (long long)m->rows);
      goto done;
    }
    if (i && m->rows < nq_min) nq_min = m->rows;
    N += m->rows;
  }
  if (d < 1) {
    s = ie__error(ctx, IE_BAD_SHAPE, "%s: the features have width 0", fn);
    goto done;
  }
  if (N > INT32_MAX || d > 65536) {
    s = ie__error(ctx, IE_BAD_SHAPE, "%s: %lld rows of %lld features is too large", fn, (long long)N,
                  (long long)d);
    goto done;
  }
  const int64_t n_p = w.in[0].m.rows;
  const int64_t k = o.clusters ? o.clusters : ie_mauve_default_clusters(n_p, nq_min);
  if (k > N) {
    s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: %lld clusters for %lld rows in all; k must not exceed the rows",
                  fn, (long long)k, (long long)N);
    goto done;
  }

  if (mo->begin) {
    if ((s = mo->begin(ctx, &w.sess)) != IE_OK) goto done;
    w.began = 1;
  }

  /* 1. unit rows, all sets stacked (P first) */
  const size_t zsz = ie__dtype_size(mo->zdt);
  s = ie__tmp_device(ctx, SLOT_Z, (size_t)N * (size_t)d * zsz, &w.z);
  if (s != IE_OK) goto done;
  ie_mat zm = {w.z, 0, mo->zdt, N, d, d};
  ALLOC(w.rows, nin);
  {
    int64_t row0 = 0;
    for (int64_t i = 0; i < nin; i++) {
      if ((s = ie__stage_in(ctx, &w.in[i])) != IE_OK) goto done;
      int64_t row = -1;
      if ((s = mo->unit_rows(ctx, w.sess, &w.in[i].m, &zm, row0, &row)) != IE_OK) goto done;
      if (row >= 0) {
        /* the column too when the caller's rows are host memory */
        int64_t col = -1;
        const ie__arg *a = &w.in[i];
        const size_t esz = ie__dtype_size(a->m.dtype);
        for (int64_t c = 0; a->on_host && col < 0 && c < d; c++)
          if (!isfinite(ie__load_double(a->host + ((size_t)row * (size_t)a->host_stride + (size_t)c) * esz,
                                        a->m.dtype)))
            col = c;
        ie__locate(ctx, i ? "q" : "p", i ? i - 1 : -1, row, col);
        if (col >= 0)
          s = ie__error(ctx, IE_NONFINITE, "%s: %s row %lld, column %lld holds NaN or inf", fn, w.names[i],
                        (long long)row, (long long)col);
        else
          s = ie__error(ctx, IE_NONFINITE, "%s: %s row %lld holds NaN or inf", fn, w.names[i], (long long)row);
        goto done;
      }
      w.rows[i] = w.in[i].m.rows;
      row0 += w.in[i].m.rows;
      ie__release(ctx, &w.in[i]);
    }
  }
  /* 2. PCA: covariance by the backend, eigenvectors by LAPACK */
  ALLOC(w.mean, d);
  ALLOC(w.cov, (size_t)d * (size_t)d);
  if ((s = mo->covariance(ctx, w.sess, &zm, w.mean, w.cov)) != IE_OK) goto done;
  if (ie__cancelled(ctx)) {
    s = ie__cancel(ctx, fn);
    goto done;
  }
  int64_t r = 1;
  double kept = 1;
  if ((s = principal_axes(ctx, fn, w.cov, d, o.ev, &r, &kept, &w.v)) != IE_OK) goto done;
  free(w.cov);
  w.cov = NULL;
  /* 3. project, then k-means on float rows */
  s = ie__tmp_device(ctx, SLOT_Y, (size_t)N * (size_t)r * sizeof(float), &w.y);
  if (s != IE_OK) goto done;
  ie_mat ym = {w.y, 0, IE_DT_F32, N, r, r};
  if ((s = mo->project(ctx, w.sess, &zm, w.v, r, &ym)) != IE_OK) goto done;
  ie__tmp_device_done(ctx, w.z);
  w.z = NULL;
  s = ie__tmp_device(ctx, SLOT_C, (size_t)k * (size_t)r * sizeof(float), &w.c);
  if (s != IE_OK) goto done;
  ie_mat cm = {w.c, 0, IE_DT_F32, k, r, r};
  for (int i = 0; i < 3; i++)
    if ((s = ie__tmp_device(ctx, SLOT_LAB + i, (size_t)N * sizeof(int32_t), &w.lab[i])) != IE_OK) goto done;
  ALLOC(w.hist, (size_t)nin * (size_t)k);
  ALLOC(w.hist0, (size_t)nin * (size_t)k);
  ALLOC(w.curve0, (size_t)n_sets * 2 * (size_t)(o.grid + 2));
  ALLOC(w.fscratch, 3 * (size_t)k + 2 * (size_t)(o.grid + 2));
  ALLOC(w.acc, (size_t)o.seeds * (size_t)n_sets);
  for (int64_t e = 0; e < o.seeds; e++) {
    double inert = 0;
    int64_t iters = 0;
    s = cluster(ctx, fn, mo, &w, &ym, &cm, o.seed + (uint64_t)e, &o, &inert, &iters);
    if (s != IE_OK) goto done;
    if (e == 0) {
      inert0 = inert;
      iters0 = iters;
    }
    /* 4. histograms: rows of each set in each cluster */
    if ((s = mo->histogram(ctx, w.sess, w.lab[2], w.rows, nin, k, w.hist)) != IE_OK) goto done;
    if (e == 0) memcpy(w.hist0, w.hist, (size_t)nin * (size_t)k * sizeof *w.hist);
    /* 5–6. the frontier of each Q set against P */
    for (int64_t i = 0; i < n_sets; i++)
      ie__frontier(w.hist, w.hist + (size_t)(i + 1) * (size_t)k, k, o.grid, o.scaling, w.fscratch,
                   &w.acc[(size_t)e * (size_t)n_sets + (size_t)i],
                   e == 0 ? w.curve0 + (size_t)i * 2 * (size_t)(o.grid + 2) : NULL);
  }
  /* the ensemble: means and sample standard deviations */
  for (int64_t i = 0; i < n_sets; i++) {
    double m[4] = {0, 0, 0, 0}, v[4] = {0, 0, 0, 0};
    /* (scores are written below, after every seed succeeded) */
    for (int64_t e = 0; e < o.seeds; e++) {
      const ie_mauve_scores *a = &w.acc[(size_t)e * (size_t)n_sets + (size_t)i];
      const double x[4] = {a->mauve, a->frontier_integral, a->mauve_star, a->frontier_integral_star};
      for (int j = 0; j < 4; j++) m[j] += x[j];
    }
    for (int j = 0; j < 4; j++) m[j] /= (double)o.seeds;
    for (int64_t e = 0; e < o.seeds; e++) {
      const ie_mauve_scores *a = &w.acc[(size_t)e * (size_t)n_sets + (size_t)i];
      const double x[4] = {a->mauve, a->frontier_integral, a->mauve_star, a->frontier_integral_star};
      for (int j = 0; j < 4; j++) v[j] += (x[j] - m[j]) * (x[j] - m[j]);
    }
    for (int j = 0; j < 4; j++) v[j] = o.seeds > 1 ? sqrt(v[j] / (double)(o.seeds - 1)) : 0;
    ie_mauve_scores *out = &scores[i];
    out->mauve = m[0];
    out->frontier_integral = m[1];
    out->mauve_star = m[2];
    out->frontier_integral_star = m[3];
    out->mauve_std = v[0];
    out->frontier_integral_std = v[1];
    out->mauve_star_std = v[2];
    out->frontier_integral_star_std = v[3];
  }
  /* the outputs only now, so that a failed call leaves them untouched */
  if (counts)
    for (size_t j = 0; j < (size_t)nin * (size_t)k; j++) counts[j] = (int64_t)w.hist0[j];
  if (curves) memcpy(curves, w.curve0, (size_t)n_sets * 2 * (size_t)(o.grid + 2) * sizeof *curves);
  if (info) {
    info->clusters = k;
    info->pca_dims = r;
    info->explained = kept;
    info->n_p = n_p;
    info->d = d;
    info->inertia = inert0;
    info->iterations = iters0;
  }
done:
  work_free(ctx, &w, nin);
  return s;
}
