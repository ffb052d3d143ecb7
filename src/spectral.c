/*
 * spectral.c — spectral measures of similarity matrices (docs/SPEC.md §6): argument
 * checks, the choice of the primal or dual eigenproblem, and the one place
 * where eigenvalues become results (rounding clamps, numerical rank, Vendi
 * scores and matrix-based Rényi entropies).  Backends only build similarity
 * matrices (ops->gram) and find eigenvalues (ops->eigvalsh).  (The host
 * LAPACK eigen step that the CPU and OpenCL backends share is in
 * src/host/eigen.c.)
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "threads.h"

static int has_spectral(const ie_context *ctx) {
  return ctx && ctx->ops && ctx->ops->gram && ctx->ops->eigvalsh;
}

/* ---- Eigenvalues to results -------------------------------------------------- */

/* Rényi entropy H_q of a distribution p (k > 0 entries, all > 0, sum 1), in
 * nats (docs/SPEC.md §2): log(Σ p^q)/(1 − q); q = 1 Shannon; q = ∞: −log max p;
 * q = 0: log k.  Near q = 1 it is log1p(Σ p·expm1((q−1) log p)) / (1 − q),
 * whose terms share one sign, so the limit is approached without
 * cancellation; elsewhere log Σ p^q is a log-sum-exp of q·log p (no
 * underflow for large q). */
static double renyi(const double *p, int64_t k, double q) {
  if (q == INFINITY) {
    double mx = 0;
    for (int64_t i = 0; i < k; i++) mx = p[i] > mx ? p[i] : mx;
    return -log(mx);
  }
  if (q == 0) return log((double)k);
  if (q == 1) {
    double h = 0;
    for (int64_t i = 0; i < k; i++) h -= p[i] * log(p[i]);
    return h;
  }
  const double dl = q - 1;
  if (fabs(dl) < 1e-3) {
    double s = 0;
    for (int64_t i = 0; i < k; i++) s += p[i] * expm1(dl * log(p[i]));
    return log1p(s) / -dl;
  }
  double mx = -INFINITY, s = 0;
  for (int64_t i = 0; i < k; i++) {
    double t = q * log(p[i]);
    mx = t > mx ? t : mx;
  }
  for (int64_t i = 0; i < k; i++) s += exp(q * log(p[i]) - mx);
  return (mx + log(s)) / (1 - q);
}

/* What a set's eigenproblem was, for the tolerances. */
typedef struct {
  int64_t m;     /* order of the eigenproblem */
  int64_t d;     /* features behind each Gram entry (n for a given K) */
  double eps_w;  /* working precision */
  double eps_k;  /* a given K's dtype epsilon, or 0 (samples are exact and
                    computed kernels PSD) */
} eigctx;

/* Turn one set's eigenvalues (w, ascending, overwritten) into the kept,
 * normalised λ > 0 at the front of w; returns their count in *k, the largest
 * clamp in *clamp.  |λ| <= tol = 2 (m + d) max(ε, ε_K) λmax is zero (the
 * rule of infoest.h); a given K with an eigenvalue below −tol is not PSD. */
static ie_status keep_positive(ie_context *ctx, const char *fn, const char *name,
                               const eigctx *e, int64_t set, int64_t sets, double *w,
                               int64_t *k, double *clamp) {
  const int64_t m = e->m;
  double mx = -INFINITY;
  for (int64_t i = 0; i < m; i++) {
    if (isnan(w[i]))
      return ie__error(ctx, IE_BACKEND_FAILURE, "%s: the eigensolver returned NaN%s", fn,
                       sets > 1 ? " (in a set of the batch)" : "");
    mx = w[i] > mx ? w[i] : mx;
  }
  if (!(mx > 0))
    return ie__error(ctx, IE_INTERNAL, "%s: K/n of '%s' has no positive eigenvalue (largest %g)",
                     fn, name, mx);
  const double tol = 2.0 * (double)(m + e->d) * fmax(e->eps_w, e->eps_k) * mx;
  int64_t kept = 0;
  double sum = 0, cl = 0;
  for (int64_t i = 0; i < m; i++) {
    double l = w[i];
    if (l < -tol && e->eps_k > 0) {
      char where[48] = "";
      if (sets > 1) snprintf(where, sizeof where, " of set %lld", (long long)set);
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: the given similarity matrix '%s'%s is not positive semi-definite: "
                       "K/n has eigenvalue %.6g (largest %.6g)",
                       fn, name, where, l, mx);
    }
    if (l < 0) cl = -l > cl ? -l : cl; /* a rounding clamp to 0 */
    if (l > tol) {
      w[kept++] = l;
      sum += l;
    }
  }
  for (int64_t i = 0; i < kept; i++) w[i] /= sum; /* Σλ = 1 up to rounding */
  *k = kept;
  *clamp = cl;
  return IE_OK;
}

/* ---- Inputs ------------------------------------------------------------------- */

typedef struct {
  ie__arg a;
  DLTensor view;       /* [S·n, d] view of a 3-D batch */
  int64_t view_shape[2], view_strides[2];
  ie_kernel kernel;
  double gamma;        /* rbf: 1/(2σ²) */
  int64_t sets, n, d;  /* d = n for a given K */
} input;

static ie_status kernel_params(ie_context *ctx, const char *fn, const char *name,
                               ie_kernel k, double sigma, double *gamma) {
  if ((int)k < IE_KERNEL_COSINE || k > IE_KERNEL_PRECOMPUTED)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown kernel %d for '%s'", fn, (int)k, name);
  *gamma = 0;
  if (k == IE_KERNEL_RBF) {
    if (!(sigma > 0) || isinf(sigma))
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: the rbf kernel for '%s' needs a bandwidth sigma > 0 and finite (got %g)",
                       fn, name, sigma);
    *gamma = 1.0 / (2.0 * sigma * sigma);
    if (!(*gamma > 0) || isinf(*gamma))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: sigma %g for '%s' is out of range", fn, sigma, name);
  }
  return IE_OK;
}

/* Check `t`: [n, d] (batch = 0) or [S, n, d] (batch = 1); [.., n, n] for a
 * given K. */
static ie_status check_input(ie_context *ctx, const char *fn, const char *name,
                             const DLTensor *t, int batch, ie_kernel kernel,
                             double sigma, input *in) {
  memset(in, 0, sizeof *in);
  in->kernel = kernel;
  IE__CHECK(kernel_params(ctx, fn, name, kernel, sigma, &in->gamma));
  const DLTensor *use = t;
  int64_t sets = 1;
  if (batch) {
    if (!t) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor '%s' is NULL", fn, name);
    if (t->ndim != 3 || !t->shape)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must be 3-D [sets, n, %s]; it has %d dimensions",
                       fn, name, kernel == IE_KERNEL_PRECOMPUTED ? "n" : "d", t->ndim);
    int64_t S = t->shape[0], n = t->shape[1], d = t->shape[2];
    if (S < 0 || n < 0 || d < 0)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has a negative dimension", fn, name);
    if (n > 0 && S > INT64_MAX / n)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' is too large to address", fn, name);
    in->view = *t;
    in->view.ndim = 2;
    in->view_shape[0] = S * n;
    in->view_shape[1] = d;
    in->view.shape = in->view_shape;
    in->view.strides = NULL;
    if (t->strides) {
      int64_t rs = n > 1 ? t->strides[1] : d;
      if (d > 1 && t->strides[2] != 1)
        return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has feature stride %lld; the last dimension must be contiguous",
                         fn, name, (long long)t->strides[2]);
      if (S > 1 && n > 0 && t->strides[0] != n * rs)
        return ie__error(ctx, IE_BAD_SHAPE,
                         "%s: tensor '%s' has set stride %lld; sets must follow each other: set stride = n x row stride = %lld",
                         fn, name, (long long)t->strides[0], (long long)(n * rs));
      in->view_strides[0] = rs;
      in->view_strides[1] = 1;
      in->view.strides = in->view_strides;
    }
    sets = S;
    use = &in->view;
  } else if (t && t->ndim != 2) {
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must be 2-D [n, %s]; it has %d dimensions", fn,
                     name, kernel == IE_KERNEL_PRECOMPUTED ? "n" : "d", t->ndim);
  }
  IE__CHECK(ie__check_matrix(ctx, &in->a, fn, name, use, IE__FLOATS));
  in->sets = sets;
  in->n = sets ? in->a.m.rows / sets : 0;
  in->d = in->a.m.cols;
  if (in->n == 0 || (kernel != IE_KERNEL_PRECOMPUTED && in->d == 0))
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' holds no samples (n = %lld, d = %lld); a score needs n >= 1%s",
                     fn, name, (long long)in->n, (long long)in->d,
                     kernel == IE_KERNEL_PRECOMPUTED ? "" : " and d >= 1");
  if (kernel == IE_KERNEL_PRECOMPUTED && in->d != in->n)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: the given similarity matrix '%s' must be square; it is %lld x %lld",
                     fn, name, (long long)in->n, (long long)in->d);
  return IE_OK;
}

static ie_spectral_path choose_path(const input *in, ie_spectral_path want) {
  if (want == IE_SPECTRAL_AUTO)
    return in->kernel == IE_KERNEL_COSINE && in->d < in->n ? IE_SPECTRAL_DUAL : IE_SPECTRAL_PRIMAL;
  return want;
}

static ie_status check_path(ie_context *ctx, const char *fn, ie_spectral_path p, ie_kernel k) {
  if ((int)p < IE_SPECTRAL_AUTO || p > IE_SPECTRAL_DUAL)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown path %d", fn, (int)p);
  if (p == IE_SPECTRAL_DUAL && k != IE_KERNEL_COSINE)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: the dual path (d x d) exists only for the cosine kernel", fn);
  return IE_OK;
}

/* ---- Bad rows of the Gram step ------------------------------------------------ */

/* Flat row r of the [sets·n, cols] view, in words; and the failure's place
 * on ctx (index = set for a 3-D tensor), column `col`. */
static void set_row(ie_context *ctx, const input *in, int64_t r, int64_t col, char *buf, size_t cap) {
  if (in->sets > 1 || in->a.t->ndim == 3) {
    snprintf(buf, cap, "set %lld, row %lld", (long long)(r / in->n), (long long)(r % in->n));
    ie__locate(ctx, in->a.name, r / in->n, r % in->n, col);
  } else {
    snprintf(buf, cap, "row %lld", (long long)r);
    ie__locate(ctx, in->a.name, -1, r, col);
  }
}

/* The first row the Gram step flagged, as a status. */
static ie_status report_gram(ie_context *ctx, const char *fn, input *in,
                             const ie_rowerr *err, const double *dev) {
  const int64_t rows = in->a.m.rows;
  char where[64];
  for (int64_t r = 0; r < rows; r++) {
    if (!err[r]) continue;
    set_row(ctx, in, r, -1, where, sizeof where);
    if (err[r] == IE_ROW_EMPTY)
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: tensor '%s' %s is all zeros: its cosine similarity is undefined", fn,
                       in->a.name, where);
    double *v = NULL;
    int64_t col = -1;
    double val = NAN;
    if (ie__fetch_row(ctx, &in->a, r, &v) == IE_OK) {
      for (int64_t i = 0; i < in->a.m.cols && col < 0; i++)
        if (!isfinite(v[i])) col = i, val = v[i];
      free(v);
    }
    if (col >= 0) set_row(ctx, in, r, col, where, sizeof where);
    if (col >= 0)
      return ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' %s, column %lld: %s", fn, in->a.name,
                       where, (long long)col, isnan(val) ? "NaN" : val > 0 ? "+inf" : "-inf");
    return ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' %s holds NaN or an infinity", fn,
                     in->a.name, where);
  }
  if (!dev) return IE_OK;
  /* A given K: symmetric and unit diagonal, each within 16 ulps of its dtype. */
  const double tol = IE_GIVEN_ULPS * ie__dtype_eps(in->a.m.dtype);
  for (int64_t r = 0; r < rows; r++) {
    if (!(dev[r] > tol)) continue;
    const int64_t i = r % in->n, base = r - i;
    set_row(ctx, in, r, -1, where, sizeof where);
    double *row = NULL, *other = NULL;
    ie_status s = ie__fetch_row(ctx, &in->a, r, &row);
    if (s != IE_OK) return s;
    if (fabs(row[i] - 1) > tol) {
      set_row(ctx, in, r, i, where, sizeof where);
      double kii = row[i];
      free(row);
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: the given similarity matrix '%s' must have a unit diagonal: %s has K[%lld][%lld] = %.9g",
                       fn, in->a.name, where, (long long)i, (long long)i, kii);
    }
    for (int64_t j = 0; j < in->n; j++) {
      if (ie__fetch_row(ctx, &in->a, base + j, &other) != IE_OK) break;
      double kji = other[i];
      free(other);
      if (fabs(row[j] - kji) > tol) {
        set_row(ctx, in, r, j, where, sizeof where);
        double kij = row[j];
        free(row);
        return ie__error(ctx, IE_INVALID_ARGUMENT,
                         "%s: the given similarity matrix '%s' is not symmetric: %s has K[%lld][%lld] = %.9g "
                         "but K[%lld][%lld] = %.9g",
                         fn, in->a.name, where, (long long)i, (long long)j, kij, (long long)j,
                         (long long)i, kji);
      }
    }
    free(row);
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: the given similarity matrix '%s' %s is not symmetric with a unit diagonal", fn,
                     in->a.name, where);
  }
  return IE_OK;
}

/* ---- The eigen driver ------------------------------------------------------------ */

/* Eigenvalues of, for each set, K_x/n (one input) or (K_x∘K_y)/n (two: the
 * joint matrix A∘B / tr(A∘B)), on the primal or dual path.  *w (host,
 * sets·m; the caller gives it back with ie__tmp_host_done) and *e
 * describe them. */
static ie_status eigen(ie_context *ctx, const char *fn, input *in, int nin,
                       ie_spectral_path path, int single, double **w_out, eigctx *e) {
  const int64_t sets = in[0].sets, n = in[0].n, rows = in[0].a.m.rows;
  const int dual = path == IE_SPECTRAL_DUAL;
  const int64_t m = dual ? in[0].d : n;
  const ie_dtype wdt = single ? IE_DT_F32 : IE_DT_F64;
  const size_t esz = ie__dtype_size(wdt);
  if ((uint64_t)m > (uint64_t)(SIZE_MAX / esz / (size_t)m / (size_t)sets) || m > INT32_MAX)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: %lld eigenproblems of order %lld are too large", fn,
                     (long long)sets, (long long)m);
  const size_t bytes = (size_t)sets * (size_t)m * (size_t)m * esz;

  e->m = m;
  e->d = 0;
  e->eps_w = ie__dtype_eps(wdt);
  e->eps_k = 0;
  for (int k = 0; k < nin; k++) {
    e->d += in[k].d;
    if (in[k].kernel == IE_KERNEL_PRECOMPUTED) e->eps_k = fmax(e->eps_k, ie__dtype_eps(in[k].a.m.dtype));
  }

  /* Temporaries: the matrices (slot 0 of the family's device range), the
   * row flags and eigenvalues (host slots 0 and 1). */
  void *buf = NULL, *flags = NULL;
  double *w = NULL, *dev = NULL;
  ie_rowerr *err = NULL;
  ie_status s = IE_OK;
  int staged = 0;
  const size_t flag_bytes = (size_t)rows * (sizeof *err + sizeof *dev);
  for (; staged < nin; staged++)
    if ((s = ie__stage_in(ctx, &in[staged].a)) != IE_OK) goto done;
  if ((s = ie__tmp_host(ctx, IE_WSH_SPECTRAL + 0, flag_bytes, &flags)) != IE_OK) goto done;
  dev = (double *)flags;
  err = (ie_rowerr *)(dev + rows);
  if ((s = ie__tmp_host(ctx, IE_WSH_SPECTRAL + 1, (size_t)sets * (size_t)m * sizeof *w, (void **)&w)) != IE_OK)
    goto done;
  if ((s = ie__tmp_device(ctx, IE_WS_SPECTRAL + 0, bytes, &buf)) != IE_OK) goto done;
  /* The cancel flag is read here between the steps, and by the backends
   * between sets (a single large eigenproblem is one LAPACK or cuSOLVER call). */
  for (int k = 0; k < nin; k++) {
    /* scale·K: 1/n for the first factor, 1 for the second (K_x∘K_y/n). */
    const int pre = in[k].kernel == IE_KERNEL_PRECOMPUTED;
    memset(flags, 0, flag_bytes);
    if (ie__cancelled(ctx)) {
      s = IE_CANCELLED;
      goto done;
    }
    s = IE__BE(ctx, gram, &in[k].a.m, sets, in[k].kernel, in[k].gamma, dual,
                       k == 0 ? 1.0 / (double)n : 1.0, k > 0, wdt, buf, err, pre ? dev : NULL);
    if (s != IE_OK) goto done;
    if ((s = report_gram(ctx, fn, &in[k], err, pre ? dev : NULL)) != IE_OK) goto done;
  }
  if (ie__cancelled(ctx)) s = IE_CANCELLED;
  else s = IE__BE(ctx, eigvalsh, buf, wdt, sets, m, w);
  if (s == IE_OK && ie__cancelled(ctx)) s = IE_CANCELLED;

done:
  if (s == IE_CANCELLED) s = ie__cancel(ctx, fn); /* named after the public call */
  ie__tmp_device_done(ctx, buf);
  for (int k = 0; k < staged; k++) ie__release(ctx, &in[k].a);
  ie__tmp_host_done(ctx, flags);
  if (s != IE_OK) {
    ie__tmp_host_done(ctx, w);
    return s;
  }
  *w_out = w;
  return IE_OK;
}

/* The order parameter: q (or α) >= 0 or +inf; NaN or negative is an error. */
static ie_status check_order(ie_context *ctx, const char *fn, const char *name, double q) {
  if (!(q >= 0))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the order %s = %g must be >= 0 (or INFINITY)", fn,
                     name, q);
  return IE_OK;
}

typedef enum { MEASURE_VENDI, MEASURE_ENTROPY } measure;

/* One score of every set: Vendi exp(H_q(λ)) or the entropy H_α(λ). */
static ie_status scores(ie_context *ctx, const char *fn, input *in, int nin,
                        ie_spectral_path path, int single, measure what, double order,
                        double *val, ie_spectral_result *res) {
  double *w = NULL;
  eigctx e = {0};
  IE__CHECK(eigen(ctx, fn, in, nin, path, single, &w, &e));
  const int64_t sets = in[0].sets;
  res->max_clamp = 0;
  for (int64_t s = 0; s < sets; s++) {
    double *ws = w + (size_t)s * (size_t)e.m, clamp = 0;
    int64_t k = 0;
    ie_status st = keep_positive(ctx, fn, in[nin - 1].a.name, &e, s, sets, ws, &k, &clamp);
    if (st != IE_OK) {
      ie__tmp_host_done(ctx, w);
      return st;
    }
    double h = renyi(ws, k, order);
    val[s] = what == MEASURE_VENDI ? (order == 0 ? (double)k : exp(h)) : h;
    res->max_clamp = fmax(res->max_clamp, clamp);
    res->positive = s == 0 || k < res->positive ? k : res->positive; /* (the fewest) */
  }
  ie__tmp_host_done(ctx, w);
  res->path = path;
  res->n = in[0].n;
  return IE_OK;
}

/* ---- Public calls ------------------------------------------------------------------ */

static ie_status vendi_common(ie_context *ctx, const char *fn, const DLTensor *x,
                              DLTensor *out, int batch, const ie_vendi_options *opt,
                              ie_spectral_result *result) {
  IE__CHECK(ie__begin(ctx, fn, has_spectral(ctx), "spectral measures"));
  if (!batch && !result)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: 'result' is NULL", fn);
  ie_vendi_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, single_precision));
  const double q = o.has_q ? o.q : 1.0;
  IE__CHECK(check_order(ctx, fn, "q", q));
  IE__CHECK(check_path(ctx, fn, o.path, o.kernel));
  input in;
  IE__CHECK(check_input(ctx, fn, "x", x, batch, o.kernel, o.sigma, &in));
  ie__arg outa;
  if (batch) {
    if (!out) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'scores' is NULL", fn);
    IE__CHECK(ie__check_vector(ctx, &outa, fn, "scores", out, in.sets, (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__OUTPUT));
  }
  ie_spectral_result r = {0};
  if (in.sets == 0) { /* an empty batch: nothing to score */
    r.value = NAN;
    r.path = choose_path(&in, o.path);
    r.n = in.n;
    if (result) *result = r;
    return IE_OK;
  }
  double *val = NULL;
  IE__CHECK(ie__tmp_host(ctx, IE_WSH_SPECTRAL + 2, (size_t)in.sets * sizeof *val, (void **)&val));
  ie_status s = scores(ctx, fn, &in, 1, choose_path(&in, o.path), o.single_precision,
                       MEASURE_VENDI, q, val, &r);
  if (s == IE_OK) {
    double sum = 0;
    for (int64_t i = 0; i < in.sets; i++) sum += val[i];
    r.value = sum / (double)in.sets;
    if (batch) s = ie__write_per_row(ctx, &outa, val);
  }
  ie__tmp_host_done(ctx, val);
  if (s == IE_OK && result) *result = r;
  return s;
}

IE_API ie_status ie_vendi(ie_context *ctx, const DLTensor *x, const ie_vendi_options *opt,
                          ie_spectral_result *result) {
  return vendi_common(ctx, "ie_vendi", x, NULL, 0, opt, result);
}

IE_API ie_status ie_vendi_batch(ie_context *ctx, const DLTensor *x, DLTensor *scores_out,
                                const ie_vendi_options *opt, ie_spectral_result *result) {
  return vendi_common(ctx, "ie_vendi_batch", x, scores_out, 1, opt, result);
}

/* Options shared by the matrix-entropy calls, checked. */
static ie_status entropy_setup(ie_context *ctx, const char *fn, const ie_matrix_entropy_options *opt,
                               ie_spectral_result *result, ie_matrix_entropy_options *o,
                               double *alpha) {
  IE__CHECK(ie__begin(ctx, fn, has_spectral(ctx), "spectral measures"));
  if (!result) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: 'result' is NULL", fn);
  IE__CHECK(IE__OPTIONS(ctx, fn, *o, opt, single_precision));
  *alpha = o->has_alpha ? o->alpha : 1.0;
  IE__CHECK(check_order(ctx, fn, "alpha", *alpha));
  IE__CHECK(check_path(ctx, fn, o->path, o->kernel));
  if (!o->separate_y) {
    o->kernel_y = o->kernel;
    o->sigma_y = o->sigma;
  }
  return IE_OK;
}

IE_API ie_status ie_matrix_entropy(ie_context *ctx, const DLTensor *x,
                                   const ie_matrix_entropy_options *opt,
                                   ie_spectral_result *result) {
  const char *fn = "ie_matrix_entropy";
  ie_matrix_entropy_options o = {0};
  double alpha = 1, v = 0;
  IE__CHECK(entropy_setup(ctx, fn, opt, result, &o, &alpha));
  input in;
  IE__CHECK(check_input(ctx, fn, "x", x, 0, o.kernel, o.sigma, &in));
  ie_spectral_result r = {0};
  IE__CHECK(scores(ctx, fn, &in, 1, choose_path(&in, o.path), o.single_precision, MEASURE_ENTROPY,
               alpha, &v, &r));
  r.value = v;
  *result = r;
  return IE_OK;
}

/* x and y: paired samples, n rows each. */
static ie_status check_pair(ie_context *ctx, const char *fn, const DLTensor *x, const DLTensor *y,
                            const ie_matrix_entropy_options *o, input in[2]) {
  IE__CHECK(check_input(ctx, fn, "x", x, 0, o->kernel, o->sigma, &in[0]));
  IE__CHECK(check_input(ctx, fn, "y", y, 0, o->kernel_y, o->sigma_y, &in[1]));
  if (in[0].n != in[1].n)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: 'x' has %lld samples but 'y' has %lld; they must be paired",
                     fn, (long long)in[0].n, (long long)in[1].n);
  return IE_OK;
}

IE_API ie_status ie_matrix_joint_entropy(ie_context *ctx, const DLTensor *x, const DLTensor *y,
                                         const ie_matrix_entropy_options *opt,
                                         ie_spectral_result *result) {
  const char *fn = "ie_matrix_joint_entropy";
  ie_matrix_entropy_options o = {0};
  double alpha = 1, v = 0;
  IE__CHECK(entropy_setup(ctx, fn, opt, result, &o, &alpha));
  input in[2];
  IE__CHECK(check_pair(ctx, fn, x, y, &o, in));
  ie_spectral_result r = {0};
  IE__CHECK(scores(ctx, fn, in, 2, IE_SPECTRAL_PRIMAL, o.single_precision, MEASURE_ENTROPY, alpha, &v, &r));
  r.value = v;
  *result = r;
  return IE_OK;
}

/* I = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B)). */
IE_API ie_status ie_matrix_mutual_information(ie_context *ctx, const DLTensor *x, const DLTensor *y,
                                              const ie_matrix_entropy_options *opt,
                                              ie_spectral_result *result) {
  const char *fn = "ie_matrix_mutual_information";
  ie_matrix_entropy_options o = {0};
  double alpha = 1, sa = 0, sb = 0, sab = 0;
  IE__CHECK(entropy_setup(ctx, fn, opt, result, &o, &alpha));
  if (o.path == IE_SPECTRAL_DUAL && o.kernel_y != IE_KERNEL_COSINE)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the dual path exists only for the cosine kernel (y's kernel is not)", fn);
  input in[2];
  IE__CHECK(check_pair(ctx, fn, x, y, &o, in));
  ie_spectral_result ra = {0}, rb = {0}, rab = {0};
  IE__CHECK(scores(ctx, fn, &in[0], 1, choose_path(&in[0], o.path), o.single_precision, MEASURE_ENTROPY,
               alpha, &sa, &ra));
  IE__CHECK(scores(ctx, fn, &in[1], 1, choose_path(&in[1], o.path), o.single_precision, MEASURE_ENTROPY,
               alpha, &sb, &rb));
  IE__CHECK(scores(ctx, fn, in, 2, IE_SPECTRAL_PRIMAL, o.single_precision, MEASURE_ENTROPY, alpha, &sab,
               &rab));
  rab.value = sa + sb - sab;
  rab.max_clamp = fmax(rab.max_clamp, fmax(ra.max_clamp, rb.max_clamp));
  *result = rab;
  return IE_OK;
}
